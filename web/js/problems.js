// Validation problems: a title in the user's language, the service's own message, every item, and where to fix it.
import { has, t } from "./i18n.js";
import { category, h } from "./ui.js";

const FIX_LINKS = {
  PAY_CODE_NOT_CONFIGURED: ["#/codes", "fix.codes"],
  PAY_ITEM_NOT_FOUND: ["#/codes", "fix.codes"],
  PAY_ITEM_INCOMPATIBLE: ["#/codes", "fix.codes"],
  RATE_MISSING: ["#/rates", "fix.rates"],
  INTEGRATION_INACTIVE: ["#/integration", "fix.integration"],
};

const ITEM_KEYS = ["driver_name", "employee_number", "employee_name", "category", "categories", "code", "processing_type",
  "total", "trips", "drivers", "reason", "logbook_id", "logbooks", "exports", "driver_id", "trip_id", "field", "error"];

export function problemTitle(code) { return has(`problem.${code}`) ? t(`problem.${code}`) : code; }

/** The logbook ids a problem concerns (to take them out of the selection). */
export function logbooksOf(problem) {
  const ids = new Set();
  for (const item of problem.items || []) {
    if (item.logbook_id) ids.add(item.logbook_id);
    for (const id of item.logbooks || []) ids.add(id);
  }
  return [...ids];
}

function value(key, raw, item) {
  if (key === "category") return category(raw);
  if (key === "categories") return raw.map(category).join(", ");
  if (key === "total") return `${raw} ${item.unit ? t(`unit.${item.unit}`) : ""}`.trim();
  if (key === "exports") return raw.flatMap((id, i) => [i ? ", " : "", h("a", { href: `#/exports/${id}` }, id)]);
  if (Array.isArray(raw)) return raw.join(", ");
  if (raw && typeof raw === "object") return JSON.stringify(raw);
  return String(raw);
}

function itemView(item) {
  const parts = [];
  for (const key of ITEM_KEYS) {
    if (item[key] === undefined || item[key] === null || item[key] === "") continue;
    if (parts.length) parts.push("; ");
    parts.push(h("span", { class: "muted" }, `${has(`item.${key}`) ? t(`item.${key}`) : key}: `), value(key, item[key], item));
  }
  for (const [key, raw] of Object.entries(item)) {
    if (ITEM_KEYS.includes(key) || key === "unit") continue;
    if (parts.length) parts.push("; ");
    parts.push(h("span", { class: "muted" }, `${key}: `), value(key, raw, item));
  }
  return h("li", {}, parts);
}

/** One problem as a block; onDeselect(ids) is offered when the problem concerns logbooks that can be left out. */
export function problemView(problem, { onDeselect } = {}) {
  const fix = [];
  const link = FIX_LINKS[problem.code];
  if (link) fix.push(h("a", { href: link[0], class: "button" }, t(link[1])));
  if (has(`fix.${problem.code}`)) fix.push(h("span", {}, t(`fix.${problem.code}`)));
  const ids = logbooksOf(problem);
  if (onDeselect && ids.length) {
    fix.push(h("button", { type: "button", onclick: () => onDeselect(ids), dataset: { fix: problem.code } }, t("fix.deselect")));
  }
  return h("li", { class: "problem", dataset: { code: problem.code } },
    h("h3", {}, h("span", { "aria-hidden": "true" }, "⚠ "), problemTitle(problem.code)),
    h("p", {}, problem.message),
    problem.items?.length ? h("ul", { "aria-label": problemTitle(problem.code) }, problem.items.map(itemView)) : null,
    fix.length ? h("div", { class: "fix" }, fix) : null);
}

/** An ApiError as a notice: its title, its detail and any problems it carries. */
export function errorView(error, options = {}) {
  const problems = error.problems || [];
  return h("div", { class: "notice bad", role: "alert", dataset: { errorCode: error.code } },
    h("h2", {}, problemTitle(error.code) !== error.code ? problemTitle(error.code) : error.title || error.code),
    error.detail ? h("p", {}, error.detail) : null,
    FIX_LINKS[error.code] && !problems.length ? h("p", {}, h("a", { href: FIX_LINKS[error.code][0] }, t(FIX_LINKS[error.code][1]))) : null,
    problems.length ? h("ul", { class: "problems" }, problems.map((problem) => problemView(problem, options))) : null);
}
