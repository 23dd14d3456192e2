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

export function category(name) { return has(`cat.${name}`) ? t(`cat.${name}`) : name; }

const STATUS = {
  RUNNING: ["run", "⟳"], COMPLETED: ["ok", "✓"], VALIDATION_FAILED: ["warn", "⚠"],
  ROLLED_BACK: ["warn", "↺"], ROLLBACK_INCOMPLETE: ["bad", "✗"], FAILED: ["bad", "✗"],
};

/** A status is said in words; the colour and the sign only repeat it. */
export function statusBadge(status) {
  const [tone, sign] = STATUS[status] || ["off", "•"];
  return h("span", { class: `badge ${tone}`, dataset: { status } }, h("span", { "aria-hidden": "true" }, sign),
    has(`status.${status}`) ? t(`status.${status}`) : status);
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
