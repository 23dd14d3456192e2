// Admin > Integrasjoner: PowerOffice Go status, Aktiver (client-key dialog) and Deaktiver.
import { has, t } from "../i18n.js";
import { errorSentence, errorView } from "../problems.js";
import { announce, clear, confirmDialog, dateTime, field, h, notice } from "../ui.js";

export async function integrationView(ctx) {
  const status = await ctx.api.get("/integrations/poweroffice");
  const message = h("div", { id: "integration-message" });
  const card = h("section", { class: "card", "aria-labelledby": "po-title" });
  const isAdmin = ctx.session.role === "admin";

  function render(current) {
    const active = current.status === "active";
    const badge = h("span", { class: `badge ${active ? "ok" : "off"}`, dataset: { testid: "integration-status", status: current.status } },
      h("span", { "aria-hidden": "true" }, active ? "✓" : "○"), t(active ? "integration.active" : "integration.inactive"));
    const button = active
      ? h("button", { type: "button", class: "danger", disabled: !isAdmin, onclick: deactivate }, t("integration.deactivate"))
      : h("button", { type: "button", class: "primary", disabled: !isAdmin, onclick: () => openDialog(ctx, button, onActivated) },
        t("integration.activate"));
    clear(card,
      h("div", { class: "integration" },
        h("div", { class: "logo", "aria-hidden": "true" }, "PO"),
        h("div", {},
          h("h2", { id: "po-title" }, "PowerOffice Go"),
          h("p", { class: "muted small" }, t("integration.intro")),
          badge),
        h("div", {}, button)),
      active ? h("dl", { class: "facts", style: "margin-top:1rem" },
        h("dt", {}, t("integration.client")), h("dd", { dataset: { testid: "client-name" } }, current.client_name || "–"),
        h("dt", {}, t("integration.activatedAt")), h("dd", {}, dateTime(current.activated_at)),
        h("dt", {}, t("integration.activatedBy")), h("dd", {}, current.activated_by || "–")) : null,
      !isAdmin ? h("p", { class: "muted small" }, t("integration.adminOnly")) : null,
      active ? h("p", { class: "row" },
        h("a", { class: "button primary", href: "#/codes", "data-testid": "setup-pay-items" }, t("integration.codesLink")),
        h("a", { class: "button", href: "#/export/new" }, t("integration.exportLink"))) : null);
    return button;
  }

  // Once active, the first thing to do is to choose the pay items: that is what the page offers first.
  function onActivated(result) {
    const text = t("integration.activated", { client: result.client_name || "" });
    const next = h("a", { class: "button primary", href: "#/codes" }, t("integration.codesLink"));
    clear(message, notice("ok", null, h("p", {}, text), h("p", {}, t("integration.nextStep")), h("p", {}, next)));
    announce(`${text} ${t("integration.nextStep")}`);
    render(result);
    next.focus();
  }

  async function deactivate() {
    const yes = await confirmDialog({
      title: t("integration.deactivateTitle"),
      body: h("p", {}, t("integration.confirmDeactivate")),
      confirm: t("integration.deactivate"),
      danger: true,
    });
    if (!yes) return;
    try {
      const result = await ctx.api.post("/integrations/poweroffice/deactivate");
      clear(message, notice("ok", null, h("p", {}, t("integration.deactivated"))));
      announce(t("integration.deactivated"));
      render(result).focus();
    } catch (error) {
      clear(message, errorView(error));
    }
  }

  render(status);
  return h("div", {},
    h("p", { class: "breadcrumb" }, `${t("nav.admin")} › ${t("nav.integration")}`),
    h("h1", {}, t("integration.title")), message, card);
}

/** The client-key dialog: modal, focus kept inside, Esc closes, the key lives only in the input and the request. */
function openDialog(ctx, opener, onActivated) {
  const key = h("input", { type: "password", name: "client_key", autocomplete: "off", spellcheck: "false", required: true, "aria-required": "true" });
  const error = h("div", { id: "client-key-error", role: "alert" });
  const busy = h("p", { class: "muted small", role: "status" });
  const confirm = h("button", { type: "submit", class: "primary" }, t("dialog.confirm"));
  const cancel = h("button", { type: "button", onclick: () => close() }, t("dialog.cancel"));
  const form = h("form", { method: "dialog", novalidate: true },
    h("h2", { id: "dialog-title" }, t("dialog.title")),
    h("p", { id: "dialog-intro" }, t("dialog.intro")),
    field("client-key", t("dialog.key"), key, t("dialog.keyHint")),
    error, busy,
    h("div", { class: "actions" }, cancel, confirm));
  const dialog = h("dialog", { "aria-labelledby": "dialog-title", "aria-describedby": "dialog-intro", "data-testid": "client-key-dialog" }, form);

  function close() {
    key.value = "";
    dialog.close();
  }
  dialog.addEventListener("close", () => { key.value = ""; dialog.remove(); if (opener.isConnected) opener.focus(); });
  dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(); }); // Esc
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const focusable = [...dialog.querySelectorAll("input, button, a[href]")].filter((el) => !el.disabled);
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(error);
    const value = key.value.trim();
    if (!value) {
      key.setAttribute("aria-invalid", "true");
      error.append(notice("bad", null, h("p", {}, t("dialog.empty"))));
      key.focus();
      return;
    }
    confirm.disabled = true;
    busy.textContent = t("dialog.checking");
    try {
      const result = await ctx.api.post("/integrations/poweroffice/activate", { client_key: value });
      close();
      onActivated(result);
    } catch (failure) {
      key.setAttribute("aria-invalid", "true");
      key.setAttribute("aria-describedby", "client-key-hint client-key-error");
      const explained = has(`activate.${failure.code}`) ? t(`activate.${failure.code}`) : errorSentence(failure);
      // What exactly PowerOffice Go lacks, from the answer's values (never its English sentence).
      const values = failure.params || {};
      const which = [
        values.payroll_module_missing ? t("activate.moduleMissing") : null,
        values.privileges?.length ? t("activate.privilegesMissing", { privileges: values.privileges.join(", ") }) : null,
      ].filter(Boolean);
      error.append(notice("bad", t("dialog.failedTitle"),
        h("p", { dataset: { errorCode: failure.code } }, explained),
        which.length ? h("ul", { class: "small" }, which.map((text) => h("li", {}, text))) : null));
      key.focus();
      key.select();
    } finally {
      confirm.disabled = false;
      busy.textContent = "";
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  key.focus();
}
