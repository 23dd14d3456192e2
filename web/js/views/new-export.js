// Ny eksport: search a date range ("Søk"), choose logbooks, see every problem and the lines, then Eksporter.
import { locale, t } from "../i18n.js";
import { errorView, problemView } from "../problems.js";
import { announce, category, clear, field, h, money, notice, number } from "../ui.js";

let state = null; // kept while the app is open, so a language switch or a visit to the codes screen keeps the search

function previousMonth() {
  const today = new Date(new Date().toLocaleString("en-US", { timeZone: "Europe/Oslo" }));
  const first = new Date(Date.UTC(today.getFullYear(), today.getMonth() - 1, 1));
  const last = new Date(Date.UTC(today.getFullYear(), today.getMonth(), 0));
  return [first.toISOString().slice(0, 10), last.toISOString().slice(0, 10)];
}

function monthName(month) {
  const [y, m] = month.split("-").map(Number);
  if (!y || !m) return month;
  return new Intl.DateTimeFormat(locale(), { month: "long", year: "numeric", timeZone: "UTC" }).format(new Date(Date.UTC(y, m - 1, 1)));
}

export async function newExportView(ctx) {
  if (!state || state.tenant !== ctx.session.tenant) {
    const [from, to] = previousMonth();
    state = { tenant: ctx.session.tenant, from, to, preview: null, selected: new Set(), dirty: false, error: null };
  }
  const fromInput = h("input", { type: "date", value: state.from, required: true });
  const toInput = h("input", { type: "date", value: state.to, required: true });
  const results = h("div", { id: "results", "aria-live": "off" });
  const busy = h("p", { class: "muted", role: "status" });
  const searchButton = h("button", { type: "submit", class: "primary" }, t("new.search"));

  async function load(logbookIds) {
    const id = ctx.renderId;
    busy.textContent = t("new.searching");
    results.setAttribute("aria-busy", "true");
    results.dataset.state = "loading";
    searchButton.disabled = true;
    try {
      const body = { from: state.from, to: state.to };
      if (logbookIds) body.logbook_ids = logbookIds;
      const preview = await ctx.api.post("/exports/preview", body);
      if (!ctx.isCurrent(id)) return;
      state.preview = preview;
      state.error = null;
      state.selected = new Set(preview.logbooks.filter((logbook) => logbook.selected).map((logbook) => logbook.logbook_id));
      state.dirty = false;
      announce(preview.ready
        ? t("new.ready", { lines: preview.totals.lines, amount: money(preview.totals.amount) })
        : `${t("new.logbooks", { count: preview.logbooks.length })}. ${t("new.problems", { count: preview.problems.length })}.`);
    } catch (error) {
      if (!ctx.isCurrent(id)) return;
      state.preview = null;
      state.error = error;
      announce(error.detail || error.message);
    } finally {
      if (ctx.isCurrent(id)) {
        busy.textContent = "";
        searchButton.disabled = false;
        results.removeAttribute("aria-busy");
        render();
        results.dataset.state = "ready";
      }
    }
  }

  const search = (event) => {
    event.preventDefault();
    state.from = fromInput.value;
    state.to = toInput.value;
    load(null);
  };

  const deselect = (ids) => {
    for (const id of ids) state.selected.delete(id);
    load([...state.selected]);
  };

  async function startExport(button, message) {
    button.disabled = true;
    clear(message, h("p", { class: "muted", role: "status" }, t("new.exporting")));
    try {
      const started = await ctx.api.post("/exports", { from: state.from, to: state.to, logbook_ids: [...state.selected] });
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
      const box = h("input", { type: "checkbox", checked: state.selected.has(logbook.logbook_id), value: logbook.logbook_id,
        "aria-label": t("new.selectLogbook", { driver: logbook.driver.name, month: monthName(logbook.month) }),
        onchange: () => {
          if (box.checked) state.selected.add(logbook.logbook_id); else state.selected.delete(logbook.logbook_id);
          state.dirty = true;
          render();
          results.querySelector(`input[value="${CSS.escape(logbook.logbook_id)}"]`)?.focus();
        } });
      const exported = logbook.already_exported;
      return h("tr", { class: exported ? "exported" : "", dataset: { logbook: logbook.logbook_id } },
        h("td", {}, box),
        h("th", { scope: "row" }, logbook.driver.name),
        h("td", {}, logbook.driver.employee_number || h("span", { class: "badge warn" }, t("new.noNumber"))),
        h("td", {}, logbook.vehicle_id),
        h("td", {}, monthName(logbook.month)),
        h("td", { class: "num" }, logbook.trips),
        h("td", { class: "num" }, number(logbook.km)),
        h("td", {}, exported
          ? h("span", {}, h("span", { class: "badge off" }, h("span", { "aria-hidden": "true" }, "✓ "), t("new.exported")), " ",
            (logbook.exported_in || []).flatMap((id, i) => [i ? ", " : "", h("a", { href: `#/exports/${id}`, class: "small" }, id)]))
          : h("span", { class: "muted" }, t("new.notExported"))));
    });
    return h("section", { class: "card", "aria-labelledby": "logbooks-title" },
      h("h2", { id: "logbooks-title" }, t("new.logbooks", { count: preview.logbooks.length })),
      h("div", { class: "table-wrap" }, h("table", { "data-testid": "logbooks" },
        h("thead", {}, h("tr", {}, ["new.select", "new.driver", "new.employeeNo", "new.vehicle", "new.month", "new.trips", "new.km", "new.status"]
          .map((key) => h("th", { scope: "col", class: ["new.trips", "new.km"].includes(key) ? "num" : "" }, t(key))))),
        h("tbody", {}, rows))),
      state.dirty ? h("div", { class: "notice warn row spread" }, h("span", {}, t("new.selectionChanged")),
        h("button", { type: "button", class: "primary", onclick: () => load([...state.selected]) }, t("new.refresh"))) : null);
  }

  function lineTables(preview) {
    const lines = preview.lines;
    const lineRows = lines.map((line) => h("tr", {},
      h("td", {}, `${line.employee_name} (${line.employee_number})`),
      h("td", {}, line.categories.map(category).join(", ")),
      h("td", {}, line.pay_item_code),
      h("td", { class: "num" }, line.quantity === null ? "–" : number(line.quantity)),
      h("td", { class: "num" }, line.rate === null ? "–" : number(line.rate)),
      h("td", { class: "num" }, money(line.amount))));
    const employees = preview.totals.employees.map((employee) => h("tr", {},
      h("th", { scope: "row" }, `${employee.employee_name} (${employee.employee_number})`),
      h("td", { class: "num" }, money(employee.amount))));
    return [
      h("section", { class: "card", "aria-labelledby": "lines-title" },
        h("h2", { id: "lines-title" }, t("new.lines", { count: lines.length })),
        lines.length ? h("div", { class: "table-wrap" }, h("table", { "data-testid": "lines" },
          h("thead", {}, h("tr", {}, ["new.employee", "new.categories", "new.code", "new.quantity", "new.rate", "new.amount"]
            .map((key) => h("th", { scope: "col", class: ["new.quantity", "new.rate", "new.amount"].includes(key) ? "num" : "" }, t(key))))),
          h("tbody", {}, lineRows))) : h("p", { class: "muted" }, t("new.noLines"))),
      lines.length ? h("section", { class: "card", "aria-labelledby": "totals-title" },
        h("h2", { id: "totals-title" }, t("new.totals")),
        h("table", { "data-testid": "totals" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("new.employee")), h("th", { scope: "col", class: "num" }, t("new.amount")))),
          h("tbody", {}, employees),
          h("tfoot", {}, h("tr", {}, h("td", {}, t("new.total")), h("td", { class: "num", "data-testid": "grand-total" }, money(preview.totals.amount))))))
        : null,
    ];
  }

  function render() {
    if (state.error) { clear(results, errorView(state.error, { onDeselect: deselect })); return; }
    const preview = state.preview;
    if (!preview) { clear(results); return; }
    const problems = preview.problems;
    const message = h("div", { id: "export-message" });
    const canExport = preview.ready && !state.dirty && state.selected.size > 0;
    const reason = h("p", { id: "export-reason", class: "muted small" },
      state.dirty ? t("new.selectionChanged") : state.selected.size === 0 ? t("new.noSelection") : !preview.ready ? t("new.notReady") : "");
    const exportButton = h("button", { type: "button", class: "primary", disabled: !canExport, "aria-describedby": "export-reason",
      "data-testid": "export-button" }, t("new.export"));
    exportButton.addEventListener("click", () => startExport(exportButton, message));
    clear(results,
      problems.length
        ? h("section", { class: "notice bad", "aria-labelledby": "problems-title", "data-testid": "problems" },
          h("h2", { id: "problems-title" }, t("new.problems", { count: problems.length })),
          h("ul", { class: "problems", style: "list-style:none;padding:0" }, problems.map((problem) => problemView(problem, { onDeselect: deselect }))))
        : preview.ready ? notice("ok", null, h("p", { "data-testid": "ready" },
          t("new.ready", { lines: preview.totals.lines, amount: money(preview.totals.amount) }))) : null,
      logbookTable(preview),
      ...lineTables(preview),
      h("div", { class: "card row spread" }, reason, exportButton),
      message);
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
