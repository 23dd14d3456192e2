// DOM helpers: elements are built with h() (text is never parsed as HTML), formatting and live announcements.
import { t, locale, has } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** When the company's setup (pay items, rates) last changed in this app: a search older than that is stale. */
export const setup = { changedAt: 0 };

export function clear(el, ...children) { el.replaceChildren(); append(el, children); return el; }

let liveTimer;
/** Say it to screen readers (and keep it visible to sighted users where a page shows its own notice). */
export function announce(message) {
  const live = document.getElementById("live");
  clearTimeout(liveTimer);
  live.textContent = "";
  liveTimer = setTimeout(() => { live.textContent = message; }, 50);
}

export function money(value) {
  if (value === null || value === undefined || value === "") return "–";
  return new Intl.NumberFormat(locale(), { style: "currency", currency: "NOK" }).format(Number(value));
}

export function number(value, digits = 2) {
  if (value === null || value === undefined || value === "") return "–";
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(Number(value));
}

export function dateTime(iso) {
  if (!iso) return "–";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "medium", timeZone: "Europe/Oslo" }).format(when);
}

export function day(iso) {
  if (!iso) return "–";
  const [y, m, d] = iso.split("-").map(Number);
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, d)));
}

export function period(p) { return p ? `${day(p.from)} – ${day(p.to)}` : "–"; }

/** A quantity in its unit: "1 154,50 kr", "118,40 km". */
export function quantity(value, unit) {
  if (unit === "NOK") return money(value);
  return `${number(value)} ${has(`unit.${unit}`) ? t(`unit.${unit}`) : unit || ""}`.trim();
}

export function monthName(month) {
  const [y, m] = String(month || "").split("-").map(Number);
  if (!y || !m) return month || "–";
  return new Intl.DateTimeFormat(locale(), { month: "long", year: "numeric", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, 1)));
}

/** When an export started, read from its id (yyyymmddThhmmss[mmm]Z-…): what a person knows it by. */
export function exportStarted(exportId) {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})/.exec(String(exportId || ""));
  if (!match) return null;
  const [, y, mo, d, hh, mm, ss] = match.map(Number);
  return new Date(Date.UTC(y, mo - 1, d, hh, mm, ss)).toISOString();
}

export function shortDateTime(iso) {
  if (!iso) return "–";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "–";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "short", timeZone: "Europe/Oslo" }).format(when);
}

/** A link to an earlier export, named by when it started (never by its id). */
export function exportLink(exportId) {
  const started = exportStarted(exportId);
  return h("a", { href: `#/exports/${encodeURIComponent(exportId)}` }, started ? t("export.from", { date: shortDateTime(started) }) : t("nav.exports"));
}

/** A logbook as people know it: driver, car (ABAX alias) and month. */
export function logbookLabel(logbook) {
  const car = logbook.vehicle_alias || t("new.vehicleUnknown");
  return `${logbook.driver_name || logbook.driver?.name || "–"}, ${car}, ${monthName(logbook.month)}`;
}

/** The app's own yes/no dialog (modal, focus kept inside, Esc = no). Resolves true when confirmed. */
export function confirmDialog({ title, body = [], confirm, cancel, danger = false, focusCancel = false }) {
  return new Promise((resolve) => {
    const yes = h("button", { type: "button", class: danger ? "danger" : "primary", "data-testid": "confirm-yes" }, confirm || t("dialog.yes"));
    const no = h("button", { type: "button", "data-testid": "confirm-no" }, cancel || t("dialog.cancel"));
    const opener = document.activeElement;
    const dialog = h("dialog", { "aria-labelledby": "confirm-title", "aria-describedby": "confirm-body", class: "confirm", "data-testid": "confirm-dialog" },
      h("div", { class: "dialog-body" },
        h("h2", { id: "confirm-title" }, title),
        h("div", { id: "confirm-body" }, body),
        h("div", { class: "actions" }, no, yes)));
    let answer = false;
    const close = (value) => { answer = value; dialog.close(); };
    yes.addEventListener("click", () => close(true));
    no.addEventListener("click", () => close(false));
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(false); });
    dialog.addEventListener("keydown", (event) => {
      if (event.key !== "Tab") return;
      const first = no;
      const last = yes;
      if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
      else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (!answer && opener && opener.isConnected) opener.focus();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    (danger || focusCancel ? no : yes).focus();
  });
}

export function category(name) { return has(`cat.${name}`) ? t(`cat.${name}`) : name; }

const STATUS = {
  RUNNING: ["run", "⟳"], COMPLETED: ["ok", "✓"], VALIDATION_FAILED: ["warn", "⚠"],
  ROLLED_BACK: ["warn", "↺"], ROLLBACK_INCOMPLETE: ["bad", "✗"], FAILED: ["bad", "✗"],
};

/** A status is said in words; the colour and the sign only repeat it. An export a user undid is "Angret", not a
 *  failure (`item.undone_by`). */
export function statusBadge(status, item = null) {
  const shown = status === "ROLLED_BACK" && item?.undone_by ? "UNDONE" : status;
  const [tone, sign] = shown === "UNDONE" ? ["off", "↶"] : STATUS[status] || ["off", "•"];
  return h("span", { class: `badge ${tone}`, dataset: { status, state: shown } }, h("span", { "aria-hidden": "true" }, sign),
    has(`status.${shown}`) ? t(`status.${shown}`) : status);
}

/** Redraw `container` without losing the keyboard's place: the element that had focus gets it back when the
 *  redraw has it again (by id, test id, action or value), else `fallback` (a selector) does. */
export function keepFocus(container, redraw, fallback) {
  const active = document.activeElement;
  const inside = active && active !== container && container.contains(active);
  const key = inside ? focusKey(active) : null;
  redraw();
  if (!inside) return;
  const again = (key && container.querySelector(key)) || (fallback && container.querySelector(fallback));
  if (again) {
    if (again.tabIndex < 0 && !again.hasAttribute("tabindex")) again.tabIndex = -1;
    again.focus();
  }
}

function focusKey(el) {
  if (el.id) return `#${CSS.escape(el.id)}`;
  for (const name of ["data-testid", "data-action", "data-fix", "data-show-all"]) {
    if (el.hasAttribute(name)) return `${el.tagName.toLowerCase()}[${name}="${CSS.escape(el.getAttribute(name))}"]`;
  }
  if (el.value && el.type === "checkbox") return `input[type=checkbox][value="${CSS.escape(el.value)}"]`;
  if (el.href) return `a[href="${CSS.escape(el.getAttribute("href"))}"]`;
  return null;
}

/** Logbooks as a sentence's list: "Nils Bakke (oktober 2026), Lise Moe (oktober 2026)". */
export function logbookList(logbooks) {
  return logbooks.map((logbook) => `${logbook.driver} (${monthName(logbook.month)})`).join(", ");
}

export function notice(tone, title, ...body) {
  return h("div", { class: `notice ${tone}` }, title ? h("h2", {}, title) : null, ...body);
}

export function field(id, label, control, hint) {
  const hintId = hint ? `${id}-hint` : undefined;
  control.id = id;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" }, h("label", { for: id }, label), hint ? h("span", { class: "hint", id: hintId }, hint) : null, control);
}
