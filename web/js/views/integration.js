// Admin > Integrasjoner: PowerOffice Go status, Aktiver (client-key dialog) and Deaktiver; ABAX status, the form
// for the company's own API client (client id + secret) and Koble fra.
import { has, t } from "../i18n.js";
import { errorSentence, errorView } from "../problems.js";
import { announce, clear, confirmDialog, dateTime, field, h, notice } from "../ui.js";

export async function integrationView(ctx) {
  const [status, abaxStatus] = await Promise.all([ctx.api.get("/integrations/poweroffice"), ctx.api.get("/integrations/abax")]);
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
    h("h1", {}, t("integration.title")), message, card, abaxCard(ctx, abaxStatus, isAdmin));
}

/** ABAX: connected or not (when, by whom); for an admin the form for the API client, or Koble fra.
 *  The secret lives only in its password field and the request: emptied after every try, never shown back. */
function abaxCard(ctx, initial, isAdmin) {
  const card = h("section", { class: "card", "aria-labelledby": "abax-title", "data-testid": "abax-card" });
  const message = h("div", { id: "abax-message", tabindex: "-1" });

  function render(current) {
    const active = current.status === "active";
    const badge = h("span", { class: `badge ${active ? "ok" : "off"}`, dataset: { testid: "abax-status", status: current.status } },
      h("span", { "aria-hidden": "true" }, active ? "✓" : "○"), t(active ? "abax.connected" : "abax.notConnected"));
    const disconnectButton = active && isAdmin
      ? h("button", { type: "button", class: "danger", onclick: () => disconnect(disconnectButton) }, t("abax.disconnect")) : null;
    clear(card,
      h("div", { class: "integration" },
        h("div", { class: "logo abax", "aria-hidden": "true" }, "AB"),
        h("div", {},
          h("h2", { id: "abax-title" }, "ABAX"),
          h("p", { class: "muted small" }, t("abax.intro")),
          badge),
        h("div", {}, disconnectButton)),
      message,
      active ? h("dl", { class: "facts", style: "margin-top:1rem" },
        h("dt", {}, t("abax.connectedAt")), h("dd", { dataset: { testid: "abax-connected-at" } }, dateTime(current.activated_at)),
        h("dt", {}, t("abax.connectedBy")), h("dd", { dataset: { testid: "abax-connected-by" } }, current.activated_by || "–")) : null,
      !isAdmin ? h("p", { class: "muted small" }, t("abax.adminOnly")) : null,
      !active && isAdmin ? connectForm() : null);
    return disconnectButton;
  }

  function connectForm() {
    const clientId = h("input", { type: "text", name: "abax_client_id", autocomplete: "off", spellcheck: "false", required: true, "aria-required": "true" });
    const secret = h("input", { type: "password", name: "abax_client_secret", autocomplete: "off", spellcheck: "false", required: true, "aria-required": "true" });
    const error = h("div", { id: "abax-error" });
    const busy = h("p", { class: "muted small", role: "status" });
    const submit = h("button", { type: "submit", class: "primary" }, t("abax.connect"));
    const invalid = (inputs) => {
      for (const input of [clientId, secret]) {
        if (inputs.includes(input)) {
          input.setAttribute("aria-invalid", "true");
          input.setAttribute("aria-describedby", `${input.id}-hint abax-error`);
        } else {
          input.removeAttribute("aria-invalid");
          input.setAttribute("aria-describedby", `${input.id}-hint`);
        }
      }
    };
    const form = h("form", { class: "abax-form", novalidate: true, "aria-labelledby": "abax-form-title" },
      h("h3", { id: "abax-form-title" }, t("abax.formTitle")),
      field("abax-client-id", t("abax.clientId"), clientId, t("abax.clientIdHint")),
      field("abax-client-secret", t("abax.secret"), secret, t("abax.secretHint")),
      error, busy,
      h("div", { class: "actions" }, submit));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clear(error);
      const id = clientId.value.trim();
      const value = secret.value.trim();
      if (!id || !value) {
        const missing = [!id ? clientId : null, !value ? secret : null].filter(Boolean);
        invalid(missing);
        error.append(h("div", { class: "notice bad", role: "alert" }, h("p", {}, t("abax.empty"))));
        missing[0].focus();
        return;
      }
      submit.disabled = true;
      busy.textContent = t("abax.checking");
      try {
        const result = await ctx.api.post("/integrations/abax/activate", { client_id: id, client_secret: value });
        secret.value = "";
        render(result);
        clear(message, notice("ok", null, h("p", {}, t("abax.done"))));
        announce(t("abax.done"));
        message.focus();
      } catch (failure) {
        secret.value = ""; // never kept: the admin pastes it again
        const rejected = failure.code === "ABAX_CREDENTIALS_REJECTED" || failure.code === "INVALID_REQUEST";
        invalid(rejected ? [clientId, secret] : []);
        const explained = has(`abax.error.${failure.code}`) ? t(`abax.error.${failure.code}`) : errorSentence(failure);
        error.append(h("div", { class: "notice bad", role: "alert", dataset: { errorCode: failure.code } },
          h("h2", {}, t("abax.failedTitle")), h("p", {}, explained)));
        (rejected ? secret : submit).focus();
      } finally {
        submit.disabled = false;
        busy.textContent = "";
      }
    });
    return form;
  }

  async function disconnect(button) {
    const yes = await confirmDialog({
      title: t("abax.disconnectTitle"),
      body: h("p", {}, t("abax.confirmDisconnect")),
      confirm: t("abax.disconnect"),
      danger: true,
    });
    if (!yes) return;
    button.disabled = true;
    try {
      const result = await ctx.api.post("/integrations/abax/deactivate");
      render(result);
      clear(message, notice("ok", null, h("p", {}, t("abax.disconnected"))));
      announce(t("abax.disconnected"));
      message.focus();
    } catch (failure) {
      button.disabled = false;
      const explained = has(`abax.error.${failure.code}`) ? t(`abax.error.${failure.code}`) : errorSentence(failure);
      clear(message, h("div", { class: "notice bad", role: "alert", dataset: { errorCode: failure.code } }, h("p", {}, explained)));
    }
  }

  render(initial);
  return card;
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
