// Problems and errors in the user's language: the sentence is written here from the stable code and the
// structured values the API sends (never its English message), each item from its machine values, and a
// link (or an action) to where it is fixed. Internal keys (logbook ids, driver ids, processing types) are
// never shown.
import { has, lang, t } from "./i18n.js";
import { category, day, exportLink, h, logbookLabel, money, number, period, quantity } from "./ui.js";

const FIX_LINKS = {
  PAY_CODE_NOT_CONFIGURED: ["#/codes", "fix.codes"],
  PAY_ITEM_NOT_FOUND: ["#/codes", "fix.codes"],
  PAY_ITEM_INCOMPATIBLE: ["#/codes", "fix.codes"],
  RATE_MISSING: ["#/rates", "fix.rates"],
  INTEGRATION_INACTIVE: ["#/integration", "fix.integration"],
  ABAX_INACTIVE: ["#/integration", "fix.connectAbax"],
  ABAX_CREDENTIALS_REJECTED: ["#/integration", "fix.connectAbax"],
  TAXABLE_EXCESS_NOT_HANDLED: ["#/codes", "fix.codes"],
  PAY_ITEM_REPORTING_MISMATCH: ["#/codes", "fix.codes"],
};

// Item fields that are keys for programs, not words for people.
const INTERNAL = new Set(["logbook_id", "logbooks", "driver_id", "trip_id", "processing_type", "reason", "reason_code",
  "unit", "expects", "field", "value", "type", "status", "vehicle_id", "fix", "table", "severity", "dates"]);

export function problemTitle(code) { return has(`problem.${code}`) ? t(`problem.${code}`) : t("problem.other"); }

/** The logbook ids a problem concerns (to take them out of the selection). */
export function logbooksOf(problem) {
  const ids = new Set();
  for (const item of problem.items || []) {
    if (item.logbook_id) ids.add(item.logbook_id);
    for (const id of item.logbooks || []) ids.add(id);
  }
  return [...ids];
}

const list = (values, map = (value) => value) => (values || []).map(map).join(", ");
const fill = (text, parts) => {
  // t() with values that may be DOM nodes (links): split the sentence around {name}.
  const out = [];
  let rest = text;
  const pattern = /\{(\w+)\}/;
  for (let match = pattern.exec(rest); match; match = pattern.exec(rest)) {
    out.push(rest.slice(0, match.index), parts[match[1]] ?? "");
    rest = rest.slice(match.index + match[0].length);
  }
  out.push(rest);
  return out;
};
const reason = (item) => (item.reason_code && has(`reason.${item.reason_code}`) ? t(`reason.${item.reason_code}`) : t("reason.OTHER"));
const payItem = (item) => (item.pay_item_name ? t("item.payItemNamed", { code: item.code, name: item.pay_item_name }) : t("item.payItem", { code: item.code }));

/** How many items a problem has: an export keeps the first of a long list (item_count says how many in all). */
export function itemCount(problem) { return problem.item_count ?? (problem.items || []).length; }

/** One problem's sentence, from its code and values. */
export function problemSentence(problem) {
  const v = problem.params || {};
  const key = `sentence.${problem.code}`;
  if (!has(key)) return lang() === "en" && problem.message ? problem.message : t("sentence.other");
  // A summary's lists hold their beginning only: say that more follow.
  const names = (values, map) => list(values, map) + (problem.truncated && (values || []).length ? ` ${t("problem.andMore")}` : "");
  return t(key, {
    ...v,
    codes: names(v.codes),
    supplements: v.supplements ?? itemCount(problem),
    categories: list(v.categories, category),
    drivers: names(v.drivers),
    employee_numbers: names(v.employee_numbers),
    fields: list(v.fields),
    period: v.from ? period({ from: v.from, to: v.to }) : "",
    category: v.category ? category(v.category) : "",
    date: v.date ? day(v.date) : "",
    count: v.count ?? itemCount(problem),
    findings: v.findings ?? itemCount(problem),
    trips: v.trips ?? "",
    vehicles: names(v.vehicles),
    km: v.km ? quantity(v.km, "km") : "",
  });
}

const ITEMS = {
  PAY_ITEM_NOT_FOUND: (item) => `${payItem(item)} (${t("item.forCategories", { categories: list(item.categories, category) })}): ${reason(item)}`,
  PAY_ITEM_INCOMPATIBLE: (item) => {
    const outlay = item.unit === "NOK";
    return t("item.incompatible", {
      category: category(item.category),
      unit: t(`unit.${item.unit || "km"}`),
      needs: t(outlay ? "item.needs.amount" : "item.needs.quantity"),
      payItem: payItem(item),
      takes: t(outlay ? "item.needs.quantity" : "item.needs.amount"),
    });
  },
  EMPLOYEE_NUMBER_MISSING: (item) => t("item.noNumber", { driver: item.driver_name, logbooks: t("item.logbookCount", { count: (item.logbooks || []).length }) }),
  EMPLOYEE_NOT_FOUND: (item) => t("item.notFound", { driver: item.driver_name, number: item.employee_number, reason: reason(item) }),
  PAY_CODE_NOT_CONFIGURED: (item) => t("item.blocked", {
    category: category(item.category), total: quantity(item.total, item.unit), trips: item.trips, drivers: list(item.drivers),
  }),
  ALREADY_EXPORTED: (item) => fill(t("item.exported"), {
    logbook: logbookLabel(item),
    exports: (item.exports || []).flatMap((id, i) => [i ? ", " : "", exportLink(id)]),
  }),
  RATE_MISSING: (item) => t("item.rateMissing", {
    category: category(item.category), table: item.table === "tax_free" ? t("item.taxFreeTable") : "",
    dates: item.from === item.to ? day(item.from) : `${day(item.from)} – ${day(item.to)}`,
  }),
  TAXABLE_EXCESS_NOT_HANDLED: (item) => t("item.taxableExcess", {
    payItem: payItem(item), amount: money(item.taxable_amount), employees: (item.employees || []).length,
  }),
  PASSENGER_NAMES_MISSING: (item) => t("item.passengersUnnamed", { driver: item.driver_name, date: day(item.date), km: quantity(item.passenger_km, "passenger-km") }),
  SUPPLEMENT_CAPPED: (item) => t("item.supplementCapped", {
    driver: item.driver_name, date: day(item.date), category: category(item.category),
    claimed: quantity(item.claimed_km, "km"), paid: quantity(item.paid_km, "km"),
  }),
  TRIP_UNDOCUMENTED: (item) => t("item.tripUndocumented", {
    driver: item.driver_name, date: day(item.date), km: quantity(item.km, "km"),
    missing: (item.missing || []).map((name) => t(`item.missing.${name}`)).join(", "),
  }),
  VEHICLE_CLASS_UNKNOWN: (item) => t("item.vehicleUnknown", {
    vehicle: item.vehicle_alias || t("new.vehicleUnknown"), trips: item.trips, km: quantity(item.km, "km"),
    drivers: (item.drivers || []).join(", "),
  }),
  PAY_ITEM_REPORTING_MISMATCH: (item) => {
    if (item.reason_code === "TAXABLE_WITHOUT_WITHHOLDING") return t("item.reportingUntaxed", { payItem: payItem(item) });
    if (item.reason_code === "NOT_IN_INCOME_REPORT") return t("item.reportingNotReported", { payItem: payItem(item) });
    if (item.reason_code === "WRONG_DESCRIPTION") {
      return t("item.reportingMismatch", { payItem: payItem(item), category: category(item.category), expected: item.expected, actual: item.benefit_description });
    }
    return t("item.reportingUndescribed", { payItem: payItem(item), categories: list(item.categories, category) });
  },
  PAY_ITEM_RATE_OVERRIDDEN: (item) => t("item.rateOverridden", { payItem: payItem(item), own: money(item.pay_item_rate), rate: money(item.rate) }),
  INVALID_FIELD: (item) => t("item.field", { field: item.field, reason: has(`field.type.${item.type}`) ? t(`field.type.${item.type}`) : t("field.type.other") }),
};

/** INVALID_TRIP_DATA can hold hundreds of findings: one line per reason, with how many trips. */
function tripDataItems(items) {
  const counts = new Map();
  for (const item of items) {
    const key = reason(item);
    if (!counts.has(key)) counts.set(key, new Set());
    counts.get(key).add(item.trip_id);
  }
  return [...counts].map(([text, trips]) => h("li", {}, t("reason.trips", { reason: text, count: trips.size })));
}

/** An item of a problem this app has no words for: its readable fields, none of the internal keys. */
function genericItem(item) {
  const parts = [];
  for (const [key, raw] of Object.entries(item)) {
    if (INTERNAL.has(key) || raw === null || raw === undefined || raw === "" || typeof raw === "object" && !Array.isArray(raw)) continue;
    if (parts.length) parts.push("; ");
    const label = has(`item.${key}`) ? `${t(`item.${key}`)}: ` : "";
    let text;
    if (key === "category") text = category(raw);
    else if (key === "categories") text = list(raw, category);
    else if (key === "amount" || key === "total") text = money(raw);
    else if (key === "exports") text = raw.flatMap((id, i) => [i ? ", " : "", exportLink(id)]);
    else if (key === "month") text = raw;
    else if (/^\d{4}-\d{2}-\d{2}$/.test(String(raw))) text = day(String(raw));
    else text = Array.isArray(raw) ? raw.join(", ") : String(raw);
    if (!label && typeof text === "string" && /^[a-z]+(_[a-z]+)+$/.test(text)) continue; // a key, not a word
    parts.push(label ? h("span", { class: "muted" }, label) : null, text);
  }
  return parts.length ? h("li", {}, parts) : null;
}

function itemsView(problem) {
  const items = problem.items || [];
  if (!items.length) return null;
  let rows;
  if (problem.code === "INVALID_TRIP_DATA") rows = tripDataItems(items);
  else if (ITEMS[problem.code]) rows = items.map((item) => h("li", {}, ITEMS[problem.code](item)));
  else rows = items.map(genericItem).filter(Boolean);
  return rows.length ? h("ul", { "aria-label": problemTitle(problem.code) }, rows) : null;
}

/** What an export's summary leaves out of a long problem: how many are shown, and a button that reads them all
 *  (loadAll() resolves to the whole problem, paged from GET /exports/{id}/problems/{code}). */
function moreItems(problem, loadAll, replace) {
  if (!problem.truncated) return null;
  const shown = (problem.items || []).length;
  const status = h("span", { class: "muted", "aria-live": "polite" }, t("problem.shownOf", { shown: number(shown, 0), count: number(itemCount(problem), 0) }));
  const button = loadAll ? h("button", {
    type: "button", dataset: { showAll: problem.code },
    onclick: async () => {
      button.disabled = true;
      clearText(status, t("problem.loadingAll"));
      try {
        replace(await loadAll(problem.code));
      } catch {
        button.disabled = false;
        clearText(status, t("problem.loadFailed"));
      }
    },
  }, t("problem.showAll", { count: number(itemCount(problem), 0) })) : null;
  return h("p", { class: "row", "data-testid": "more-items" }, status, button);
}
const clearText = (element, text) => { element.textContent = text; };

/** One problem as a block; onDeselect(ids) is offered when the problem concerns logbooks that can be left out;
 *  loadAll(code) fetches the whole of a problem an export keeps in part. */
export function problemView(problem, { onDeselect, loadAll } = {}) {
  const fix = [];
  const link = FIX_LINKS[problem.code];
  if (link) fix.push(h("a", { href: link[0], class: "button" }, t(link[1])));
  if (has(`fix.${problem.code}`)) fix.push(h("span", {}, t(`fix.${problem.code}`)));
  const ids = logbooksOf(problem);
  if (onDeselect && ids.length) {
    // A summary names the first logbooks only: take the whole problem's out.
    const deselectAll = async () => onDeselect(problem.truncated && loadAll ? logbooksOf(await loadAll(problem.code)) : ids);
    fix.push(h("button", { type: "button", onclick: deselectAll, dataset: { fix: problem.code } }, t("fix.deselect")));
  }
  const block = h("li", { class: "problem", dataset: { code: problem.code } },
    h("h3", {}, h("span", { "aria-hidden": "true" }, "⚠ "), problemTitle(problem.code)),
    h("p", {}, problemSentence(problem)),
    itemsView(problem),
    moreItems(problem, loadAll, (whole) => block.replaceWith(problemView(whole, { onDeselect, loadAll }))),
    fix.length ? h("div", { class: "fix" }, fix) : null);
  return block;
}

/** One problem of an export or a search whole (`base`: /exports/{id} or /exports/previews/{id}): the answer holds
 *  the first items of a long list, the rest is read page by page. */
export async function wholeProblem(api, base, code) {
  const path = `${base}/problems/${encodeURIComponent(code)}`;
  const first = await api.get(`${path}?offset=0`);
  const items = [...first.items];
  for (let offset = first.next_offset; offset !== null && offset !== undefined;) {
    const page = await api.get(`${path}?offset=${offset}`);
    items.push(...page.items);
    offset = page.next_offset;
  }
  return { ...first, items, item_count: items.length, truncated: false };
}

/** "Vis flere linjer" under a table of the first lines: reads the next page of `base`/lines and hands it to onPage. */
export function moreLinesButton(api, base, nextOffset, shown, total, onPage) {
  if (nextOffset === null || nextOffset === undefined) return null;
  const button = h("button", { type: "button", "data-testid": "more-lines", onclick: async () => {
    button.disabled = true;
    try {
      const page = await api.get(`${base}/lines?offset=${nextOffset}`);
      onPage(page.lines, page.next_offset);
    } catch {
      button.disabled = false;
    }
  } }, t("lines.more"));
  return h("p", { class: "row" }, h("span", { class: "muted" }, t("lines.shownOf", { shown: number(shown, 0), count: number(total, 0) })), button);
}

/** An error answer's sentence, from its code and values. */
export function errorSentence(error) {
  const v = error.params || {};
  const params = { ...v, period: v.from ? period({ from: v.from, to: v.to }) : "", categories: list(v.categories, category),
    from: v.from ? day(v.from) : "", to: v.to ? day(v.to) : "", status: error.status,
    earliest: v.earliest ? day(v.earliest) : "", latest: v.latest ? day(v.latest) : "" };
  for (const key of [`error.${error.code}.${v.reason}`, error.code === "NOT_FOUND" && !v.export_id ? "error.NOT_FOUND.route" : null, `error.${error.code}`]) {
    if (key && has(key)) return t(key, params);
  }
  return lang() === "en" && error.detail ? error.detail : t("error.other", params);
}

/** An ApiError as a notice: its title, its sentence and what it concerns. A problem that only repeats the
 *  error (409 ALREADY_EXPORTED, 422 INVALID_REQUEST) gives its items; other problems are listed in full. */
export function errorView(error, options = {}) {
  const problems = error.problems || [];
  const repeats = problems.length === 1 && (problems[0].code === error.code || problems[0].code === "INVALID_FIELD");
  const ids = repeats ? logbooksOf(problems[0]) : [];
  return h("div", { class: "notice bad", role: "alert", dataset: { errorCode: error.code } },
    h("h2", {}, problemTitle(error.code)),
    h("p", {}, errorSentence(error)),
    repeats ? itemsView(problems[0]) : null,
    FIX_LINKS[error.code] && !problems.length ? h("p", {}, h("a", { href: FIX_LINKS[error.code][0] }, t(FIX_LINKS[error.code][1]))) : null,
    problems.length && !repeats ? h("ul", { class: "problems" }, problems.map((problem) => problemView(problem, options))) : null,
    options.onDeselect && ids.length
      ? h("div", { class: "fix" }, h("button", { type: "button", onclick: () => options.onDeselect(ids), dataset: { fix: error.code } }, t("fix.deselect")))
      : null);
}

/** What stopped an export (record.error): a sentence from problem_code + values, never "PushFailed: …". */
export function failureSentence(failure) {
  if (!failure) return "";
  const code = failure.problem_code || failure.code;
  const v = failure.params || {};
  if (code === "PUSH_FAILED" && v.employee_name) {
    const said = t("failure.PUSH_FAILED", { employee: v.employee_name, number: v.employee_number, code: v.pay_item_code, amount: money(v.amount) });
    return v.status ? `${said} ${statusReason(v)}` : said;
  }
  return has(`failure.${code}`) ? t(`failure.${code}`) : t("failure.other");
}

export function reasonText(item) { return reason(item); }

/** Why PowerOffice Go refused a line, from its HTTP status: what it means and where to look, never a bare code. */
function statusReason(v) {
  const status = Number(v.status);
  const key = status >= 500 ? "5xx" : status === 403 ? "401" : [401, 404, 409, 429].includes(status) ? String(status) : "4xx";
  return t(`failure.status.${key}`, { status, code: v.pay_item_code, number: v.employee_number });
}
