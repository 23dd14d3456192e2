// Ny eksport: search a date range ("Søk"), choose logbooks, see every problem and the lines, then Eksporter.
import { ApiError } from "../api.js";
import { t } from "../i18n.js";
import { errorView, moreLinesButton, problemSentence, problemTitle, problemView, wholeProblem } from "../problems.js";
import { announce, category, clear, confirmDialog, exportLink, field, h, keepFocus, logbookList, money, monthName, notice, number, period, setup, shortDateTime } from "../ui.js";

const REFRESH_MS = 350; // a changed selection refreshes the preview after the last click settles

let state = null; // kept while the app is open, so a language switch or a visit to the codes screen keeps the search

// The logbooks a clerk took out of an export, remembered in this browser per company (the newest exports), so
// the export and the next search of its period can say whose km are still unpaid.
const LEFT_OUT_KEY = (tenant) => `abax-payroll.left-out.${tenant}`;
const LEFT_OUT_KEPT = 50;

function leftOutMemory(tenant) {
  try { return JSON.parse(localStorage.getItem(LEFT_OUT_KEY(tenant)) || "{}"); } catch { return {}; }
}

function rememberLeftOut(tenant, exportId, logbooks) {
  const memory = leftOutMemory(tenant);
  memory[exportId] = logbooks;
  const newest = Object.keys(memory).sort().slice(-LEFT_OUT_KEPT);
  try { localStorage.setItem(LEFT_OUT_KEY(tenant), JSON.stringify(Object.fromEntries(newest.map((id) => [id, memory[id]])))); } catch { /* full or private: not remembered */ }
}

/** The logbooks taken out of an export when it was started here: [{logbook_id, driver, month}]. */
export function leftOut(tenant, exportId) { return leftOutMemory(tenant)[exportId] || []; }

function previousMonth() {
  const today = new Date(new Date().toLocaleString("en-US", { timeZone: "Europe/Oslo" }));
  const first = new Date(Date.UTC(today.getFullYear(), today.getMonth() - 1, 1));
  const last = new Date(Date.UTC(today.getFullYear(), today.getMonth(), 0));
  return [first.toISOString().slice(0, 10), last.toISOString().slice(0, 10)];
}

export async function newExportView(ctx) {
  if (!state || state.tenant !== ctx.session.tenant) {
    const [from, to] = previousMonth();
    state = { tenant: ctx.session.tenant, from, to, preview: null, selected: new Set(), dirty: false, error: null, chosen: false };
  }
  // Back from another screen (Lønnsarter through "Til eksport", Satser ...): the result shown is the old one.
  if (state.preview && ctx.previousPath && ctx.previousPath !== "/export/new") state.returned = true;
  const fromInput = h("input", { type: "date", value: state.from, required: true });
  const toInput = h("input", { type: "date", value: state.to, required: true });
  const results = h("div", { id: "results", "aria-live": "off" });
  const busy = h("p", { class: "muted", role: "status" });
  const searchButton = h("button", { type: "submit", class: "primary" }, t("new.search"));

  let refreshTimer = null;
  let loadSeq = 0; // only the newest preview request draws (a quick second click must not be overwritten)
  let focusAfter = null; // where focus goes once the results are drawn again

  async function load(logbookIds) {
    clearTimeout(refreshTimer);
    const renderId = ctx.renderId;
    const seq = ++loadSeq;
    const current = () => ctx.isCurrent(renderId) && seq === loadSeq;
    busy.textContent = logbookIds ? t("new.updating") : t("new.searching");
    results.setAttribute("aria-busy", "true");
    results.dataset.state = "loading";
    searchButton.disabled = true;
    try {
      const body = { from: state.from, to: state.to };
      if (logbookIds) body.logbook_ids = logbookIds;
      let preview = await ctx.api.post("/exports/preview", body);
      // A large company: the search answered 202 and reads ABAX on in the background; poll it, showing how far.
      while (preview.status === "RUNNING") {
        const progress = preview.progress || {};
        busy.textContent = progress.trips_expected
          ? t("new.reading", { read: number(progress.trips_read, 0), expected: number(progress.trips_expected, 0) })
          : t("new.readingStart", { read: number(progress.trips_read || 0, 0) });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        if (!current()) return;
        preview = await ctx.api.get(`/exports/previews/${encodeURIComponent(preview.preview_id)}`);
      }
      if (preview.status === "FAILED") throw new ApiError(502, { code: preview.error?.code || "ABAX_UNAVAILABLE", detail: preview.error?.message });
      if (!current()) return;
      state.preview = preview;
      state.error = null;
      state.selected = new Set(preview.logbooks.filter((logbook) => logbook.selected).map((logbook) => logbook.logbook_id));
      state.dirty = false;
      state.searchedAt = Date.now();
      state.returned = false;
      if (!logbookIds) state.chosen = false;
      const blocking = preview.problems.filter((problem) => problem.code !== "NOTHING_TO_EXPORT" && problem.severity !== "warning");
      announce(preview.ready
        ? t("new.ready", { lines: preview.totals.lines, amount: money(preview.totals.amount) })
        : blocking.length ? `${t("new.logbooks", { count: preview.logbooks.length })}. ${t("new.problems", { count: blocking.length })}.`
          : preview.problems.map(problemSentence).join(" "));
    } catch (error) {
      if (!current()) return;
      state.preview = null;
      state.error = error;
      announce(problemTitle(error.code));
    } finally {
      if (current()) {
        busy.textContent = "";
        searchButton.disabled = false;
        results.removeAttribute("aria-busy");
        // The keyboard keeps its place (a ticked box refreshes the whole list); focus lost with the search button
        // (disabled while it searched) goes to the result's summary.
        keepFocus(results, render);
        results.dataset.state = "ready";
        if (focusAfter) { results.querySelector(focusAfter)?.focus(); focusAfter = null; }
        if (!document.activeElement || document.activeElement === document.body) {
          (results.querySelector("#results-summary") || searchButton).focus();
        }
      }
    }
  }

  // A changed selection refreshes the preview by itself (the lines, totals and problems follow it).
  const refreshSoon = () => {
    state.dirty = true;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => { if (ctx.isCurrent(id0)) load([...state.selected]); }, REFRESH_MS);
  };
  const id0 = ctx.renderId;

  const search = (event) => {
    event.preventDefault();
    state.from = fromInput.value;
    state.to = toInput.value;
    load(null);
  };

  const deselect = (ids) => {
    state.chosen = true;
    const before = state.selected.size;
    for (const id of ids) state.selected.delete(id);
    announce(t("new.removed", { count: before - state.selected.size }));
    focusAfter = "#results-summary"; // the problems that are left (or that it is ready), not the top of the page
    load([...state.selected]);
  };

  async function startExport(button, message) {
    const preview = state.preview;
    const employees = preview.totals.employees.length;
    const yes = await confirmDialog({
      title: t("new.confirmTitle"),
      body: h("p", {}, t("new.confirmBody", { lines: preview.totals.lines, amount: money(preview.totals.amount), employees, period: period(preview.period) })),
      confirm: t("new.confirm"),
    });
    if (!yes || !ctx.isCurrent(id0)) return;
    button.disabled = true;
    clear(message, h("p", { class: "muted", role: "status" }, t("new.exporting")));
    try {
      const started = await ctx.api.post("/exports", { from: state.from, to: state.to, logbook_ids: [...state.selected] });
      const left = preview.logbooks.filter((logbook) => !logbook.already_exported && !state.selected.has(logbook.logbook_id))
        .map((logbook) => ({ logbook_id: logbook.logbook_id, driver: logbook.driver.name, month: logbook.month }));
      if (left.length) rememberLeftOut(state.tenant, started.export_id, left);
      state.preview = null;
      announce(t("new.started"));
      ctx.navigate(`#/exports/${started.export_id}`);
    } catch (error) {
      clear(message, errorView(error, { onDeselect: deselect }));
      button.disabled = false;
    }
  }

  function logbookTable(preview) {
    const rows = preview.logbooks.map((logbook) => {
      const exported = logbook.already_exported;
      const box = h("input", { type: "checkbox", checked: state.selected.has(logbook.logbook_id), value: logbook.logbook_id,
        disabled: exported && !state.selected.has(logbook.logbook_id),
        "aria-label": t("new.selectLogbook", { driver: logbook.driver.name, month: monthName(logbook.month) }),
        onchange: () => {
          if (box.checked) state.selected.add(logbook.logbook_id); else state.selected.delete(logbook.logbook_id);
          state.chosen = true;
          refreshSoon();
          render();
          results.querySelector(`input[value="${CSS.escape(logbook.logbook_id)}"]`)?.focus();
        } });
      return h("tr", { class: exported ? "exported" : "", dataset: { logbook: logbook.logbook_id } },
        h("td", {}, box),
        h("th", { scope: "row" }, logbook.driver.name),
        h("td", {}, logbook.driver.employee_number || h("span", { class: "badge warn" }, t("new.noNumber"))),
        h("td", {}, logbook.vehicle_alias || t("new.vehicleUnknown")),
        h("td", {}, monthName(logbook.month)),
        h("td", { class: "num" }, logbook.trips),
        h("td", { class: "num" }, number(logbook.km)),
        h("td", {}, exported
          ? h("span", {}, h("span", { class: "badge off" }, h("span", { "aria-hidden": "true" }, "✓ "), t("new.exported")),
            (logbook.exported_in || []).length ? ` ${t("new.exportedIn")} ` : "",
            (logbook.exported_in || []).flatMap((id, i) => [i ? ", " : "", exportLink(id)]))
          : h("span", { class: "muted" }, t("new.notExported"))));
    });
    return h("section", { class: "card", "aria-labelledby": "logbooks-title" },
      h("h2", { id: "logbooks-title" }, t("new.logbooks", { count: preview.logbooks.length })),
      h("div", { class: "table-wrap" }, h("table", { "data-testid": "logbooks", class: "stack" },
        h("thead", {}, h("tr", {}, ["new.select", "new.driver", "new.employeeNo", "new.vehicle", "new.month", "new.trips", "new.km", "new.status"]
          .map((key) => h("th", { scope: "col", class: ["new.trips", "new.km"].includes(key) ? "num" : "" }, t(key))))),
        h("tbody", {}, rows))));
  }

  // A search's answer holds the first lines and a summary of a long problem; the rest is read from the search.
  const searchBase = (preview) => `/exports/previews/${encodeURIComponent(preview.preview_id)}`;
  const loadAll = (preview) => (preview.preview_id ? (code) => wholeProblem(ctx.api, searchBase(preview), code) : undefined);

  function lineTables(preview) {
    const lines = preview.lines;
    const morePage = (page, next) => {
      if (state.preview !== preview) return;
      preview.lines = preview.lines.concat(page);
      preview.lines_next_offset = next;
      render();
    };
    const lineRows = lines.map((line) => h("tr", {},
      h("td", {}, `${line.employee_name} (${line.employee_number})`),
      h("td", {}, line.categories.map(category).join(", "),
        (line.warnings || []).map((code) => h("span", { class: "badge warn", dataset: { warning: code } }, " ⚠ ", problemTitle(code)))),
      h("td", {}, line.pay_item_name ? `${line.pay_item_code} – ${line.pay_item_name}` : line.pay_item_code),
      h("td", { class: "num" }, line.quantity === null ? "–" : number(line.quantity)),
      h("td", { class: "num" }, line.rate === null ? "–" : money(line.rate),
        line.pay_item_rate ? h("span", { class: "muted small", "data-testid": "pay-item-rate" }, ` (${t("new.payItemRate", { rate: money(line.pay_item_rate) })})`) : null),
      h("td", { class: "num" }, money(line.amount)),
      h("td", { class: "num" }, money(line.tax_free_amount ?? line.amount)),
      h("td", { class: "num" }, money(line.taxable_amount ?? 0))));
    const employees = preview.totals.employees.map((employee) => h("tr", {},
      h("th", { scope: "row" }, `${employee.employee_name} (${employee.employee_number})`),
      h("td", { class: "num" }, money(employee.amount)),
      h("td", { class: "num" }, money(employee.tax_free_amount ?? employee.amount)),
      h("td", { class: "num" }, money(employee.taxable_amount ?? 0))));
    return [
      h("section", { class: "card", "aria-labelledby": "lines-title" },
        h("h2", { id: "lines-title" }, t("new.lines", { count: preview.totals.lines ?? lines.length })),
        lines.length ? h("div", { class: "table-wrap" }, h("table", { "data-testid": "lines", class: "stack" },
          h("thead", {}, h("tr", {}, ["new.employee", "new.categories", "new.code", "new.quantity", "new.rate", "new.amount", "new.taxFree", "new.taxable"]
            .map((key) => h("th", { scope: "col", class: ["new.quantity", "new.rate", "new.amount", "new.taxFree", "new.taxable"].includes(key) ? "num" : "" }, t(key))))),
          h("tbody", {}, lineRows))) : h("p", { class: "muted" }, t("new.noLines")),
        preview.preview_id ? moreLinesButton(ctx.api, searchBase(preview), preview.lines_next_offset, lines.length, preview.totals.lines, morePage) : null),
      lines.length ? h("section", { class: "card", "aria-labelledby": "totals-title" },
        h("h2", { id: "totals-title" }, t("new.totals")),
        h("div", { class: "table-wrap" }, h("table", { "data-testid": "totals", class: "stack" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("new.employee")), h("th", { scope: "col", class: "num" }, t("new.amount")),
            h("th", { scope: "col", class: "num" }, t("new.taxFree")), h("th", { scope: "col", class: "num" }, t("new.taxable")))),
          h("tbody", {}, employees),
          h("tfoot", {}, h("tr", {}, h("td", {}, t("new.total")), h("td", { class: "num", "data-testid": "grand-total" }, money(preview.totals.amount)),
            h("td", { class: "num", "data-testid": "tax-free-total" }, money(preview.totals.tax_free_amount ?? preview.totals.amount)),
            h("td", { class: "num", "data-testid": "taxable-total" }, money(preview.totals.taxable_amount ?? 0)))))))
        : null,
    ];
  }

  function render() {
    if (state.error) { clear(results, errorView(state.error, { onDeselect: deselect })); return; }
    const preview = state.preview;
    if (!preview) { clear(results); return; }
    // An empty period (or one whose logbooks are all exported) is news, not an error.
    const empty = preview.problems.find((problem) => problem.code === "NOTHING_TO_EXPORT");
    // No logbooks at all: that is the news; the mapping's problems are shown when there is something to export.
    const problems = preview.logbooks.length === 0 ? []
      : preview.problems.filter((problem) => problem.code !== "NOTHING_TO_EXPORT" && problem.severity !== "warning");
    const warnings = preview.problems.filter((problem) => problem.severity === "warning"); // shown, never blocking
    const message = h("div", { id: "export-message" });
    const canExport = preview.ready && !state.dirty && state.selected.size > 0;
    const reason = h("p", { id: "export-reason", class: "muted small" },
      state.dirty ? t("new.updating") : state.selected.size === 0 ? t("new.noSelection") : !preview.ready ? t("new.notReady") : "");
    const exportButton = h("button", { type: "button", class: "primary", disabled: !canExport, "aria-describedby": "export-reason",
      "data-testid": "export-button" },
    preview.ready ? t("new.exportCount", { lines: preview.totals.lines, amount: money(preview.totals.amount) }) : t("new.exportNothing"));
    exportButton.addEventListener("click", () => startExport(exportButton, message));
    const exportedCount = preview.logbooks.filter((logbook) => logbook.already_exported).length;
    const summaryHeading = (text) => h("h2", { id: "results-summary", tabindex: "-1" }, text);
    clear(results,
      staleView(),
      unpaidView(preview),
      problems.length
        ? h("section", { class: "notice bad", "aria-labelledby": "results-summary", "data-testid": "problems" },
          summaryHeading(t("new.problems", { count: problems.length })),
          h("ul", { class: "problems", style: "list-style:none;padding:0" }, problems.map((problem) => problemView(problem, { onDeselect: deselect, loadAll: loadAll(preview) }))))
        : preview.ready ? h("section", { class: "notice ok", "aria-labelledby": "results-summary" },
          summaryHeading(t("new.summary")), h("p", { "data-testid": "ready" },
            t("new.ready", { lines: preview.totals.lines, amount: money(preview.totals.amount) })))
          : (empty || preview.logbooks.length === 0) && exportedCount === preview.logbooks.length
            ? h("section", { class: "notice info", "aria-labelledby": "results-summary", "data-testid": "empty" },
              summaryHeading(exportedCount ? t("new.emptyExported", { count: exportedCount }) : t("new.empty")),
              exportedCount ? null : h("p", {}, t("new.emptyHint"))) : null,
      warnings.length ? h("section", { class: "notice warn", "aria-labelledby": "warnings-title", "data-testid": "warnings" },
        h("h2", { id: "warnings-title" }, t("new.warnings", { count: warnings.length })),
        h("ul", { class: "problems", style: "list-style:none;padding:0" }, warnings.map((problem) => problemView(problem, { loadAll: loadAll(preview) })))) : null,
      preview.logbooks.length ? logbookTable(preview) : null,
      ...(preview.logbooks.length ? lineTables(preview) : []),
      preview.logbooks.length ? h("div", { class: "card row spread" }, reason, exportButton) : null,
      message);
  }

  /** A result older than a change of the setup, or left for another screen, says so and re-runs in one click. */
  function staleView() {
    const changed = setup.changedAt > (state.searchedAt || 0);
    if (!changed && !state.returned) return null;
    const when = shortDateTime(new Date(state.searchedAt).toISOString());
    return h("section", { class: "notice warn", "aria-labelledby": "stale-title", "data-testid": "stale" },
      h("h2", { id: "stale-title" }, t("new.staleTitle")),
      h("p", {}, changed ? t("new.staleChanged", { when }) : t("new.stale", { when })),
      h("button", { type: "button", class: "primary", "data-testid": "rerun", onclick: () => {
        focusAfter = "#results-summary";
        load(state.chosen ? [...state.selected] : null);
      } }, t("new.rerun")));
  }

  /** Logbooks taken out of this selection, or a period partly exported: whose km are still unpaid (and which
   *  export left them out). */
  function unpaidView(preview) {
    const out = preview.logbooks.filter((logbook) => !logbook.already_exported && !state.selected.has(logbook.logbook_id));
    const outNotice = out.length ? h("section", { class: "notice info", "aria-labelledby": "left-out-title", "data-testid": "not-selected" },
      h("h2", { id: "left-out-title" }, t("new.notSelectedTitle")),
      h("p", {}, t("new.notSelected", { logbooks: logbookList(out.map((logbook) => ({ driver: logbook.driver.name, month: logbook.month }))) }))) : null;
    return [outNotice, partlyExported(preview)];
  }

  function partlyExported(preview) {
    if (!preview.logbooks.some((logbook) => logbook.already_exported)) return null;
    const unpaid = preview.logbooks.filter((logbook) => !logbook.already_exported);
    if (!unpaid.length) return null;
    const ids = new Set(unpaid.map((logbook) => logbook.logbook_id));
    const memory = leftOutMemory(state.tenant);
    const removedIn = Object.keys(memory).filter((id) => memory[id].some((logbook) => ids.has(logbook.logbook_id)));
    return h("section", { class: "notice info", "aria-labelledby": "unpaid-title", "data-testid": "unpaid" },
      h("h2", { id: "unpaid-title" }, t("new.unpaidTitle")),
      h("p", {}, t("new.unpaid", { logbooks: logbookList(unpaid.map((logbook) => ({ driver: logbook.driver.name, month: logbook.month }))) })),
      removedIn.map((id) => h("p", { class: "small" }, `${t("new.unpaidRemoved")} `, exportLink(id), ": ",
        logbookList(memory[id].filter((logbook) => ids.has(logbook.logbook_id))))));
  }

  render();
  return h("div", {},
    h("p", { class: "breadcrumb" }, `${t("nav.payroll")} › ${t("nav.newExport")}`),
    h("h1", {}, t("new.title")),
    h("p", {}, t("new.intro")),
    h("form", { class: "card row", onsubmit: search, "aria-label": t("new.title"), style: "align-items:flex-end" },
      field("export-from", t("new.from"), fromInput),
      field("export-to", t("new.to"), toInput),
      h("div", { class: "field" }, searchButton),
      h("div", { class: "field", style: "margin-left:auto" }, h("a", { href: "#/codes" }, t("new.codesLink")))),
    busy, results);
}
