// Payroll codes per category, the rate table and the monthly schedule.
import { lang, t } from "../i18n.js";
import { errorView } from "../problems.js";
import { announce, category, clear, confirmDialog, day, field, h, money, notice, setup } from "../ui.js";

const DISTANCE = ["mileage", "passenger", "trailer", "forest_road", "heavy_load"];
const OUTLAY = ["toll", "parking", "ferry"];
const UNITS = { passenger: "passenger-km", toll: "NOK", parking: "NOK", ferry: "NOK" };

function saved(message, text) {
  clear(message, notice("ok", null, h("p", {}, text)));
  announce(text);
}

/** PowerOffice Go's pay items (GET /pay-items), or null when they cannot be read: the screen then works on
 *  codes only and says why. 409 INTEGRATION_INACTIVE before activation; any other failure the same way. */
async function loadPayItems(ctx) {
  try {
    const { pay_items: items } = await ctx.api.get("/pay-items");
    return { items: Array.isArray(items) ? items : [], error: null };
  } catch (error) {
    return { items: null, error };
  }
}

const KIND = (name) => (OUTLAY.includes(name) ? "outlay" : "km");

export async function codesView(ctx) {
  const [{ codes, taxable_excess: taxableExcess, undocumented_trips: undocumented }, payItems] = await Promise.all([ctx.api.get("/payroll-codes"), loadPayItems(ctx)]);
  const byCode = new Map((payItems.items || []).map((item) => [String(item.code), item]));
  const named = payItems.items !== null;
  const message = h("div", { id: "codes-message" });
  const inputs = {};
  const benefits = {};
  // One list of suggestions per kind: the active pay items that fit it, as "code – name". The input stays
  // free text, so a code PowerOffice Go did not list can still be typed.
  const lists = named ? ["km", "outlay"].map((kind) => h("datalist", { id: `pay-items-${kind}` },
    (payItems.items || []).filter((item) => item.active && item.fits === kind)
      .sort((a, b) => String(a.code).localeCompare(String(b.code), undefined, { numeric: true }))
      .map((item) => h("option", { value: String(item.code) }, `${item.code} – ${item.name}`)))) : [];
  // What the typed code is in PowerOffice Go: its name, or why it will not do.
  const describe = (name, cell) => {
    const code = inputs[name].value.trim();
    const item = code ? byCode.get(code) : null;
    // Beside the name, the a-melding description: what the income report will say these amounts are.
    clear(benefits[name], item ? (item.benefit_description || t("codes.noDescription")) : "");
    cell.className = "pay-item-name";
    if (!code) { clear(cell); return; }
    if (!item) { cell.classList.add("warn"); clear(cell, t("codes.unknown")); return; }
    const problem = !item.active ? t("codes.inactive") : item.fits !== KIND(name) ? t(`codes.misfit.${KIND(name)}`) : null;
    if (problem) cell.classList.add("warn");
    clear(cell, h("span", { class: "name" }, item.name), problem ? h("span", { class: "problem" }, ` – ${problem}`) : null);
  };
  const section = (titleKey, names) => h("fieldset", { class: "card" },
    h("legend", {}, h("strong", {}, t(titleKey))),
    h("div", { class: "table-wrap" }, h("table", { class: "stack" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("codes.category")), h("th", { scope: "col" }, t("codes.unit")),
        h("th", { scope: "col" }, t("codes.code")), named ? h("th", { scope: "col" }, t("codes.payItem")) : null,
        named ? h("th", { scope: "col" }, t("codes.description")) : null)),
      h("tbody", {}, names.map((name) => {
        const cell = named ? h("td", { id: `code-name-${name}`, "data-testid": `pay-item-${name}` }) : null;
        benefits[name] = h("td", { class: "muted small", "data-testid": `benefit-${name}` });
        inputs[name] = h("input", { type: "text", id: `code-${name}`, name, value: codes[name] || "", inputmode: "numeric",
          size: 8, maxlength: 20, pattern: "[A-Za-z0-9._\\-]+", placeholder: t("codes.none"), autocomplete: "off",
          list: named ? `pay-items-${KIND(name)}` : undefined, "aria-describedby": cell ? cell.id : undefined,
          oninput: cell ? () => describe(name, cell) : undefined });
        if (cell) describe(name, cell);
        return h("tr", {},
          h("th", { scope: "row" }, h("label", { for: `code-${name}` }, category(name))),
          h("td", {}, t(`unit.${UNITS[name] || "km"}`)),
          h("td", {}, inputs[name]),
          cell, named ? benefits[name] : null);
      })))));
  // The pay item for the part of a km allowance above the tax-free rate (taxable salary), if one is used.
  const excess = h("input", { type: "text", id: "code-taxable_excess", value: taxableExcess || "", size: 8, maxlength: 20,
    pattern: "[A-Za-z0-9._\\-]+", placeholder: t("codes.none"), autocomplete: "off", list: named ? "pay-items-km" : undefined });
  const undocumentedSelect = h("select", { id: "undocumented-trips" }, ["taxable", "block"].map((value) =>
    h("option", { value, selected: value === (undocumented || "taxable") }, t(`codes.undocumented.${value}`))));
  const excessSection = h("fieldset", { class: "card" },
    h("legend", {}, h("strong", {}, t("codes.taxableExcess"))),
    h("p", { class: "muted small" }, t("codes.taxableExcessIntro")),
    field("code-taxable_excess", t("codes.taxableExcessLabel"), excess),
    field("undocumented-trips", t("codes.undocumentedLabel"), undocumentedSelect, t("codes.undocumentedHint")));
  const save = async (event) => {
    event.preventDefault();
    clear(message);
    const body = { codes: Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, input.value.trim() || null])),
      taxable_excess: excess.value.trim() || null, undocumented_trips: undocumentedSelect.value };
    try {
      const result = await ctx.api.put("/payroll-codes", body);
      for (const [name, input] of Object.entries(inputs)) {
        input.value = result.codes[name] || "";
        input.dispatchEvent(new Event("input"));
      }
      excess.value = result.taxable_excess || "";
      setup.changedAt = Date.now();
      saved(message, t("codes.saved"));
    } catch (error) {
      clear(message, errorView(error));
    }
  };
  const unavailable = payItems.error?.code === "INTEGRATION_INACTIVE" ? t("codes.namesInactive") : t("codes.namesUnavailable");
  return h("div", {},
    h("p", { class: "breadcrumb" }, `${t("nav.admin")} › ${t("nav.codes")}`),
    h("h1", {}, t("codes.title")),
    h("p", {}, t(named ? "codes.introNames" : "codes.intro")),
    named ? null : h("p", { class: "notice info small", "data-testid": "pay-items-unavailable" }, unavailable),
    lists,
    h("form", { onsubmit: save, "aria-label": t("codes.title") },
      section("codes.distance", DISTANCE), section("codes.outlay", OUTLAY), excessSection,
      message,
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, t("codes.save")),
        h("a", { href: "#/export/new" }, t("codes.toExport")))));
}

const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Oslo" }).format(new Date()); // YYYY-MM-DD

/** The rate in force today per category: the newest valid_from that is not in the future. */
function inForce(rates) {
  const now = today();
  const best = {};
  for (const rate of rates) {
    if (rate.valid_from > now || (rate.valid_to && rate.valid_to < now)) continue;
    if (!best[rate.category] || rate.valid_from > best[rate.category].valid_from) best[rate.category] = rate;
  }
  return best;
}

/** The state rate for a category on a date (the newest state rate that had started by then). */
function stateRate(stateRates, categoryName, date) {
  let found = null;
  for (const rate of stateRates) {
    if (rate.category !== categoryName || rate.valid_from > date) continue;
    if (!found || rate.valid_from > found.valid_from) found = rate;
  }
  return found || stateRates.filter((rate) => rate.category === categoryName).sort((a, b) => a.valid_from.localeCompare(b.valid_from))[0] || null;
}

const byCategoryAndDate = (a, b) => DISTANCE.indexOf(a.category) - DISTANCE.indexOf(b.category) || b.valid_from.localeCompare(a.valid_from);
const byYearAndCategory = (a, b) => b.valid_from.slice(0, 4).localeCompare(a.valid_from.slice(0, 4)) || byCategoryAndDate(a, b);

/** A rate as typed: "5,50" and "5.50" both mean 5.50 (Norwegian decimals); null when it is not a rate. */
export function parseRate(text) {
  const cleaned = String(text).trim().replace(/\s/g, "").replace(",", ".");
  return /^\d{1,4}(\.\d{1,2})?$/.test(cleaned) ? Number(cleaned).toFixed(2) : null;
}

/** A rate as shown: 5,50 in Norwegian, 5.50 in English. */
const shownRate = (value) => (value === "" || value == null ? "" : lang() === "nb" ? String(value).replace(".", ",") : String(value));

/** One editable rate table (paid or trekkfri) by year: rows per category and period, next year's rows added empty. */
function rateTable(kind, entries, current) {
  const body = h("tbody");
  const label = t(kind === "paid" ? "rates.paidTable" : "rates.trekkfriTable");
  let counter = 0;
  const addRow = (rate = { category: "mileage", valid_from: today(), rate: "" }) => {
    counter += 1;
    const id = `${kind}-${counter}`;
    const active = current[rate.category] === rate;
    const select = h("select", { id: `rate-cat-${id}`, "aria-label": t("rates.category") },
      DISTANCE.map((name) => h("option", { value: name, selected: name === rate.category }, category(name))));
    const from = h("input", { type: "date", value: rate.valid_from, required: true, "aria-label": t("rates.validFrom") });
    const to = h("input", { type: "date", value: rate.valid_to || "", "aria-label": t("rates.validTo") });
    // Text, not a number field: a browser's number field in a Norwegian locale turns "5,50" into 550 or nothing.
    const amount = h("input", { type: "text", inputmode: "decimal", value: shownRate(rate.rate), required: true,
      autocomplete: "off", "aria-label": t(kind === "paid" ? "rates.rate" : "rates.trekkfriRate"), style: "width:7rem",
      "data-testid": `${kind}-rate` });
    amount.addEventListener("blur", () => { const parsed = parseRate(amount.value); if (parsed !== null) amount.value = shownRate(parsed); });
    amount.addEventListener("input", () => amount.setCustomValidity(""));
    const row = h("tr", { class: active ? "in-force" : "", dataset: { inForce: active ? "true" : "false", year: rate.valid_from.slice(0, 4) } },
      h("td", { "data-label": t("rates.category") }, select),
      h("td", { "data-label": t("rates.validFrom") }, from, active ? h("span", { class: "badge ok in-force-badge" }, h("span", { "aria-hidden": "true" }, "✓"), t("rates.inForce")) : null),
      h("td", { "data-label": t("rates.validTo") }, to),
      h("td", { class: "num", "data-label": t(kind === "paid" ? "rates.rate" : "rates.trekkfriRate") }, amount),
      h("td", {}, h("button", { type: "button", "aria-label": t("rates.removeLabel", { category: category(rate.category), date: rate.valid_from }),
        onclick: () => { row.remove(); body.querySelector("select")?.focus(); } }, t("rates.remove"))));
    row.read = () => {
      const parsed = parseRate(amount.value);
      if (parsed === null) {
        amount.setCustomValidity(t("rates.badRate"));
        amount.reportValidity();
        throw new Error("bad rate");
      }
      return { category: select.value, valid_from: from.value, valid_to: to.value || null, rate: parsed };
    };
    row.amount = amount;
    body.append(row);
    return { select, amount };
  };
  [...entries].sort(byYearAndCategory).forEach((rate) => addRow(rate));
  /** Next year's rows, one per km category for the whole year, rates empty: each year's rates are agreed anew. */
  const addYear = (year) => {
    const added = DISTANCE.map((name) => addRow({ category: name, valid_from: `${year}-01-01`, valid_to: `${year}-12-31`, rate: "" }));
    return added[0].amount;
  };
  const element = h("fieldset", { class: "card", "data-testid": `${kind}-rates` },
    h("legend", {}, h("strong", {}, label)),
    h("p", { class: "muted small" }, t(kind === "paid" ? "rates.paidIntro" : "rates.trekkfriIntro")),
    h("div", { class: "table-wrap" }, h("table", { class: "rates stack", "aria-label": label },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("rates.category")), h("th", { scope: "col" }, t("rates.validFrom")),
        h("th", { scope: "col" }, t("rates.validTo")), h("th", { scope: "col", class: "num" }, t(kind === "paid" ? "rates.rate" : "rates.trekkfriRate")),
        h("th", {}, h("span", { class: "visually-hidden" }, t("rates.remove"))))), body)),
    h("button", { type: "button", onclick: () => addRow().select.focus() }, t(kind === "paid" ? "rates.add" : "rates.addTrekkfri")));
  return { element, read: () => [...body.rows].map((row) => row.read()), addYear };
}

export async function ratesView(ctx, addYearParam) {
  const answer = await ctx.api.get("/rates");
  const { state_rates: stateRates = [], in_force: inForceToday = [], warnings = [] } = answer;
  const message = h("div", { id: "rates-message" });
  const tables = h("div");
  let paid, trekkfri;
  const build = (rates) => {
    paid = rateTable("paid", rates.rates, inForce(rates.rates));
    trekkfri = rateTable("tax_free", rates.tax_free_rates || [], inForce(rates.tax_free_rates || []));
    clear(tables, paid.element, trekkfri.element);
  };
  build(answer);
  const basis = h("select", { id: "passenger-basis" },
    ["per_passenger", "per_km"].map((value) => h("option", { value, selected: value === (answer.passenger_supplement || "per_passenger") }, t(`rates.basis.${value}`))));
  // A rate above twice the state rate is most likely a typo (53 for 5.30): asked about before it is saved.
  const implausible = (entries) => entries.filter((entry) => {
    const state = stateRate(stateRates, entry.category, entry.valid_from);
    return state && Number(entry.rate) > 2 * Number(state.rate);
  }).map((entry) => t("rates.implausible", {
    category: category(entry.category), rate: money(entry.rate), date: day(entry.valid_from),
    state: money(stateRate(stateRates, entry.category, entry.valid_from).rate),
  }));
  const save = async (event) => {
    event.preventDefault();
    clear(message);
    let entries, free;
    try { entries = paid.read(); free = trekkfri.read(); } catch { return; }
    const doubts = implausible(entries);
    if (doubts.length) {
      // One Enter must never save 550 kr per km: the dialog opens on "Endre".
      const yes = await confirmDialog({
        title: t("rates.implausibleTitle"),
        body: [h("ul", {}, doubts.map((text) => h("li", {}, text))), h("p", {}, t("rates.implausibleAsk"))],
        confirm: t("rates.saveAnyway"),
        cancel: t("rates.change"),
        focusCancel: true,
      });
      if (!yes) return;
    }
    try {
      build(await ctx.api.put("/rates", { rates: entries, tax_free_rates: free, passenger_supplement: basis.value }));
      setup.changedAt = Date.now();
      if (location.hash !== "#/rates") history.replaceState(null, "", "#/rates"); // the year's rows are added
      saved(message, t("rates.saved"));
    } catch (error) {
      clear(message, errorView(error));
    }
  };
  const view = h("div", {},
    h("p", { class: "breadcrumb" }, `${t("nav.admin")} › ${t("nav.rates")}`),
    h("h1", {}, t("rates.title")), h("p", {}, t("rates.intro")),
    // From December: next year's rates are not in the tables yet (NEXT_YEAR_RATES_MISSING): the link adds them.
    warnings.map((warning) => h("div", { class: "notice warn", role: "status", dataset: { code: warning.code } },
      h("p", {}, t("rates.nextYearMissing", { year: warning.params?.year }), " ",
        h("a", { href: `#/rates/${warning.params?.year}`, "data-testid": "add-next-year" }, t("rates.addYear", { year: warning.params?.year }))))),
    inForceToday.some((rate) => rate.tax_free_rate) ? h("p", { class: "muted small", "data-testid": "tax-free-today" },
      `${t("rates.taxFreeToday")}: `, inForceToday.filter((rate) => rate.tax_free_rate)
        .map((rate) => `${category(rate.category)} ${money(rate.tax_free_rate)}`).join(" · ")) : null,
    h("form", { onsubmit: save, "aria-label": t("rates.title"), novalidate: true },
      tables,
      h("div", { class: "card" }, field("passenger-basis", t("rates.basis.label"), basis, t("rates.basis.hint"))),
      message,
      h("div", { class: "row", style: "margin-top:.8rem" },
        h("button", { type: "submit", class: "primary" }, t("rates.save")))));
  if (addYearParam) {
    const first = paid.addYear(addYearParam);
    trekkfri.addYear(addYearParam);
    setTimeout(() => first.focus(), 0);
  }
  return view;
}

export async function scheduleView(ctx) {
  const schedule = await ctx.api.get("/schedule");
  const message = h("div", { id: "schedule-message" });
  const enabled = h("input", { type: "checkbox", id: "schedule-enabled", checked: !!schedule.enabled });
  const dayInput = h("input", { type: "number", min: "1", max: "28", value: String(schedule.day_of_month || 5), required: true, style: "width:5rem" });
  // Who is e-mailed about each scheduled export (comma-separated; the API checks each address).
  const emailsInput = h("input", { type: "email", multiple: true, value: (schedule.notification_emails || []).join(", "), autocomplete: "off" });
  const summary = h("p", { class: "muted" });
  const describe = (s) => { summary.textContent = s.enabled ? t("schedule.summaryOn", { day: s.day_of_month }) : t("schedule.summaryOff"); };
  describe(schedule);
  const save = async (event) => {
    event.preventDefault();
    clear(message);
    try {
      const notification_emails = emailsInput.value.split(",").map((address) => address.trim()).filter(Boolean);
      const result = await ctx.api.put("/schedule", { enabled: enabled.checked, day_of_month: Number(dayInput.value), notification_emails });
      describe(result);
      saved(message, t("schedule.saved"));
    } catch (error) {
      clear(message, errorView(error));
    }
  };
  return h("div", {},
    h("p", { class: "breadcrumb" }, `${t("nav.admin")} › ${t("nav.schedule")}`),
    h("h1", {}, t("schedule.title")), h("p", {}, t("schedule.intro")),
    h("form", { class: "card", onsubmit: save, "aria-label": t("schedule.title") },
      h("div", { class: "row field" }, enabled, h("label", { for: "schedule-enabled" }, t("schedule.enabled"))),
      field("schedule-day", t("schedule.day"), dayInput),
      field("schedule-emails", t("schedule.emails"), emailsInput, t("schedule.emailsHelp")),
      summary, message,
      h("button", { type: "submit", class: "primary" }, t("schedule.save"))));
}
