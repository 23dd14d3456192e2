// The shell: sign-in, navigation, hash routes, language switch and one poll timer at a time.
import { ApiError, createApi } from "./api.js";
import { errorView } from "./problems.js";
import { cognitoLogin, completeCognitoLogin, currentSession, devLogin, forget, loadConfig, signOut } from "./auth.js";
import { lang, setLang, t } from "./i18n.js";
import { announce, clear, field, h, notice } from "./ui.js";
import { integrationView } from "./views/integration.js";
import { codesView, ratesView, scheduleView } from "./views/settings.js";
import { newExportView } from "./views/new-export.js";
import { exportDetailView, exportListView, exportReportView } from "./views/exports.js";

const ROUTES = [
  [/^\/?$/, integrationView],
  [/^\/integration$/, integrationView],
  [/^\/codes$/, codesView],
  [/^\/rates(?:\/(\d{4}))?$/, ratesView],
  [/^\/schedule$/, scheduleView],
  [/^\/export\/new$/, newExportView],
  [/^\/exports$/, exportListView],
  [/^\/exports\/([\w-]+)$/, exportDetailView],
  [/^\/exports\/([\w-]+)\/report$/, exportReportView],
];

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const ctx = { config: null, session: null, api: null, main, pollTimer: null, renderId: 0, loginMessage: "" };

// One timer at a time, for the page shown; while the tab is hidden nothing is fetched: the call waits until the
// tab is seen again.
ctx.poll = (fn, ms) => {
  clearTimeout(ctx.pollTimer);
  const id = ctx.renderId;
  const run = () => {
    if (id !== ctx.renderId) return;
    if (document.hidden) { document.addEventListener("visibilitychange", run, { once: true }); return; }
    fn();
  };
  ctx.pollTimer = setTimeout(run, ms);
};
ctx.navigate = (hash) => { if (location.hash === hash) route(); else location.hash = hash; };
ctx.isCurrent = (id) => id === ctx.renderId;
ctx.signedOut = (message) => {
  forget();
  ctx.session = null;
  ctx.loginMessage = message || "";
  route();
};

function chrome() {
  document.documentElement.lang = lang();
  document.title = `ABAX → PowerOffice Go`;
  document.querySelector(".skip-link").textContent = t("skip");
  const switcher = document.getElementById("lang-switch");
  switcher.textContent = t("lang.switch");
  switcher.setAttribute("aria-label", t("lang.switchLabel"));
  switcher.lang = lang() === "nb" ? "en" : "nb";
  const session = document.getElementById("session");
  if (ctx.session) {
    clear(session,
      h("span", { "data-testid": "who" }, t("signedInAs", { user: ctx.session.user, tenant: ctx.session.tenant, role: t(`role.${ctx.session.role}`) })),
      h("button", { type: "button", class: "link-button", onclick: () => { if (!signOut(ctx.config)) ctx.signedOut(); } }, t("signOut")));
  } else {
    clear(session);
  }
  nav.hidden = !ctx.session;
  nav.setAttribute("aria-label", t("nav.label"));
  const toggle = document.getElementById("menu-toggle");
  toggle.hidden = !ctx.session;
  toggle.textContent = t("nav.menu");
  toggle.setAttribute("aria-expanded", document.body.classList.contains("menu-open") ? "true" : "false");
  const current = (location.hash.replace(/^#/, "") || "/integration").replace(/^\/exports\/.+/, "/exports");
  const link = (path, key) => h("li", {}, h("a", { href: `#${path}`, "aria-current": current === path ? "page" : false }, t(key)));
  // Roles (README › Roles): an administrator and a payroll user both set up pay items, rates and the monthly
  // export; only an administrator switches an integration on or off (the Integrasjoner screen says so).
  clear(nav,
    h("h2", {}, t("nav.admin")),
    h("ul", {}, link("/integration", "nav.integration"), link("/codes", "nav.codes"), link("/rates", "nav.rates"), link("/schedule", "nav.schedule")),
    h("h2", {}, t("nav.payroll")),
    h("ul", {}, link("/export/new", "nav.newExport"), link("/exports", "nav.exports")));
}

function loginView() {
  const local = ctx.config.mode === "local";
  const error = h("div", { role: "alert" });
  if (ctx.loginMessage) error.append(notice("warn", null, h("p", {}, ctx.loginMessage)));
  if (!local) {
    return h("section", { class: "card login" },
      h("h1", { tabindex: "-1" }, t("login.title")), error, h("p", {}, t("login.cognitoIntro")),
      h("button", { type: "button", class: "primary", onclick: () => cognitoLogin(ctx.config) }, t("login.cognito")));
  }
  const tenant = h("input", { type: "text", name: "tenant", value: "acme", required: true, autocomplete: "organization", list: "tenants" });
  const role = h("select", { name: "role" }, h("option", { value: "admin" }, t("role.admin")), h("option", { value: "payroll" }, t("role.payroll")));
  const submit = async (event) => {
    event.preventDefault();
    clear(error);
    try {
      ctx.session = await devLogin(tenant.value.trim(), role.value);
      ctx.loginMessage = "";
      route();
    } catch (failure) {
      error.append(notice("bad", null, h("p", {}, t("login.failed", { detail: failure.message }))));
    }
  };
  return h("section", { class: "card login" },
    h("h1", { tabindex: "-1" }, t("login.devTitle")), h("p", {}, t("login.devIntro")), error,
    h("form", { onsubmit: submit, "aria-label": t("login.devTitle") },
      field("login-tenant", t("login.tenant"), tenant, t("login.tenantHint")),
      h("datalist", { id: "tenants" }, h("option", { value: "acme" }), h("option", { value: "beta" })),
      field("login-role", t("login.role"), role),
      h("button", { type: "submit", class: "primary" }, t("login.submit"))));
}

/** On a phone the menu is folded behind a button; following a link folds it again. */
function setMenu(open) {
  document.body.classList.toggle("menu-open", open);
  document.getElementById("menu-toggle").setAttribute("aria-expanded", open ? "true" : "false");
}

/** Tables marked "stack" show as label/value lists on a phone: each cell carries its column's name. */
function labelStackedCells(root) {
  for (const table of root.querySelectorAll("table.stack")) {
    const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr, tfoot tr")) {
      [...row.cells].forEach((cell, index) => { if (!cell.dataset.label && names[index]) cell.dataset.label = names[index]; });
    }
  }
}

/** A table wrapper that scrolls sideways is a named region in the tab order, so a keyboard can scroll it
 *  (WCAG 2.1.1; axe's scrollable-region-focusable); one that fits is not a tab stop. */
function markScrollRegions(root) {
  for (const wrap of root.querySelectorAll(".table-wrap")) {
    const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
    if (scrolls === wrap.hasAttribute("tabindex")) continue;
    if (scrolls) {
      const title = wrap.closest("section, fieldset, form")?.querySelector("h2, legend, h1")?.textContent?.trim();
      wrap.setAttribute("tabindex", "0");
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", title ? t("table.scrolls", { title }) : t("table.scrollsPlain"));
    } else {
      for (const name of ["tabindex", "role", "aria-label"]) wrap.removeAttribute(name);
    }
  }
}

/** The app's own sentence for a field the browser finds invalid (day 31 of a 1–28 field, an empty date ...). */
function validationMessage(input) {
  if (!input.setCustomValidity) return;
  input.setCustomValidity("");
  const v = input.validity;
  const reason = ["valueMissing", "badInput", "rangeUnderflow", "rangeOverflow", "stepMismatch", "patternMismatch", "typeMismatch", "tooLong"]
    .find((name) => v[name]);
  if (reason) input.setCustomValidity(t(`validation.${reason}`, { min: input.min, max: input.max || input.maxLength }));
}

async function route() {
  ctx.previousPath = ctx.currentPath;
  ctx.currentPath = location.hash.replace(/^#/, "") || "/integration";
  ctx.renderId += 1;
  setMenu(false);
  clearTimeout(ctx.pollTimer);
  const id = ctx.renderId;
  ctx.session = ctx.session || currentSession();
  chrome();
  if (!ctx.session) {
    clear(main, loginView());
    main.querySelector("h1")?.focus();
    return;
  }
  const path = location.hash.replace(/^#/, "") || "/integration";
  for (const [pattern, view] of ROUTES) {
    const match = path.match(pattern);
    if (!match) continue;
    clear(main, h("p", { class: "loading" }, t("loading")));
    try {
      const content = await view(ctx, ...match.slice(1));
      if (id !== ctx.renderId) return;
      clear(main, content);
    } catch (failure) {
      if (id !== ctx.renderId) return;
      clear(main, failure instanceof ApiError ? errorView(failure) : notice("bad", t("error.generic", { detail: failure.message })));
    }
    const heading = main.querySelector("h1");
    if (heading && !main.contains(document.activeElement)) { heading.tabIndex = -1; heading.focus(); }
    main.dataset.view = path;
    return;
  }
  ctx.navigate("#/integration");
}

async function start() {
  ctx.config = await loadConfig();
  ctx.api = createApi(ctx.config.apiUrl, () => ctx.session?.token, () => ctx.signedOut(t("login.expired")));
  if (ctx.config.mode === "cognito") {
    try {
      ctx.session = await completeCognitoLogin(ctx.config);
    } catch (failure) {
      ctx.loginMessage = t("login.failed", { detail: failure.message });
    }
  }
  const toggle = document.getElementById("menu-toggle");
  toggle.addEventListener("click", () => setMenu(!document.body.classList.contains("menu-open")));
  // The folded menu comes after the top bar in the page: Tab from "Meny" goes into it, Shift+Tab from its first
  // link back to "Meny", and Esc folds it and puts the focus back on "Meny".
  toggle.addEventListener("keydown", (event) => {
    if (event.key !== "Tab" || event.shiftKey || !document.body.classList.contains("menu-open")) return;
    event.preventDefault();
    nav.querySelector("a")?.focus();
  });
  nav.addEventListener("keydown", (event) => {
    if (!document.body.classList.contains("menu-open")) return;
    if (event.key === "Tab" && event.shiftKey && event.target === nav.querySelector("a")) { event.preventDefault(); toggle.focus(); }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.body.classList.contains("menu-open") && !document.querySelector("dialog[open]")) {
      setMenu(false);
      toggle.focus();
    }
  });
  // The browser's own validation messages follow its language, not the app's: each is said here instead.
  document.addEventListener("invalid", (event) => validationMessage(event.target), true);
  document.addEventListener("input", (event) => { if (event.target.setCustomValidity) event.target.setCustomValidity(""); }, true);
  new MutationObserver(() => { labelStackedCells(main); markScrollRegions(main); }).observe(main, { childList: true, subtree: true });
  window.addEventListener("resize", () => markScrollRegions(main));
  document.getElementById("lang-switch").addEventListener("click", () => {
    setLang(lang() === "nb" ? "en" : "nb");
    route();
    announce(t("lang.switch") === "English" ? "Norsk" : "English");
  });
  window.addEventListener("hashchange", route);
  await route();
  document.body.dataset.ready = "true";
}

start();
