// The list of exports (newest first) and one export: progress while running, lines with PowerOffice ids, rollback.
import { t } from "../i18n.js";
import { errorView, moreLinesButton, problemTitle, problemView, reasonText, wholeProblem } from "../problems.js";
import { announce, category, clear, dateTime, day, h, keepFocus, logbookList, money, monthName, number, period, statusBadge } from "../ui.js";
import { exportState, historyView, outcomeView } from "./recovery.js";
import { leftOut } from "./new-export.js";

// A running export is followed every second at first, then less often, up to every 5 s, from the start of
// each phase (issue 21: many open tabs must not take the API's throttle from other companies); ctx.poll
// waits while the tab is hidden.
const POLL_FIRST_MS = 1000;
const POLL_MAX_MS = 5000;
const slower = (delay) => Math.min(POLL_MAX_MS, Math.round(delay * 1.5));

function trigger(value) { return t(`trigger.${value}`) !== `trigger.${value}` ? t(`trigger.${value}`) : value; }

export async function exportListView(ctx) {
  const first = await ctx.api.get("/exports?limit=20");
  const body = h("tbody");
  const more = h("div", { class: "row" });
  let nextToken = first.next_token;
  let shown = [...first.exports];

  const cell = (key, content, attrs = {}) => h("td", { ...attrs, "data-label": t(key) }, content);
  const row = (item) => h("tr", { dataset: { exportId: item.export_id, status: item.status } },
    cell("list.created", dateTime(item.created_at)),
    cell("list.period", period(item.period)),
    cell("list.status", [statusBadge(item.status, item),
      item.undone_by ? h("span", { class: "small muted" }, ` ${t("list.undoneBy", { who: item.undone_by })}`) : null]),
    cell("list.trigger", trigger(item.trigger)),
    cell("list.lines", item.status !== "RUNNING" ? item.line_count
      : item.phase === "PUSHING" ? `${item.lines_pushed} / ${item.line_count}` : t(`progress.${item.phase === "ROLLING_BACK" ? "rollingBack" : "checking"}`), { class: "num" }),
    cell("list.amount", money(item.total_amount), { class: "num" }),
    h("td", {}, h("a", { href: `#/exports/${item.export_id}`, "aria-label": t("list.openLabel", { date: dateTime(item.created_at) }) },
      t("list.open"))));

  const draw = () => {
    clear(body, shown.map(row));
    clear(more, nextToken ? h("button", { type: "button", onclick: loadMore }, t("list.more")) : null);
  };

  async function loadMore() {
    const page = await ctx.api.get(`/exports?limit=20&next_token=${encodeURIComponent(nextToken)}`);
    shown = shown.concat(page.exports);
    nextToken = page.next_token;
    draw();
    body.rows[body.rows.length - page.exports.length]?.querySelector("a")?.focus();
  }

  // While something runs, the first page refreshes itself (statuses and pushed lines).
  let delay = POLL_FIRST_MS;
  async function refresh() {
    if (!shown.some((item) => item.status === "RUNNING")) return;
    delay = slower(delay);
    ctx.poll(async () => {
      try {
        const page = await ctx.api.get("/exports?limit=20");
        const fresh = new Map(page.exports.map((item) => [item.export_id, item]));
        for (const item of shown) {
          const now = fresh.get(item.export_id);
          if (now && now.status !== item.status) announce(`${dateTime(now.created_at)}: ${t(`status.${now.status}`)}`);
        }
        shown = shown.map((item) => fresh.get(item.export_id) || item);
        keepFocus(body, draw);
      } catch { /* try again on the next tick */ }
      refresh();
    }, delay);
  }

  draw();
  refresh();
  return h("div", {},
    h("p", { class: "breadcrumb" }, `${t("nav.payroll")} › ${t("nav.exports")}`),
    h("div", { class: "row spread" }, h("h1", {}, t("list.title")), h("a", { class: "button primary", href: "#/export/new" }, t("list.new"))),
    h("p", {}, t("list.intro")),
    shown.length
      ? h("div", { class: "card table-wrap" }, h("table", { "data-testid": "exports", class: "stack" },
        h("thead", {}, h("tr", {}, ["list.created", "list.period", "list.status", "list.trigger", "list.lines", "list.amount"]
          .map((key) => h("th", { scope: "col", class: ["list.lines", "list.amount"].includes(key) ? "num" : "" }, t(key))),
          h("th", {}, h("span", { class: "visually-hidden" }, t("list.open"))))),
        body), more)
      : h("p", { class: "card muted" }, t("list.empty")));
}

/** For administrators, at the bottom: the export's id and its Step Functions execution. */
function technical(ctx, item) {
  if (ctx.session.role !== "admin") return null;
  return h("details", { class: "card technical", "data-testid": "technical" },
    h("summary", {}, t("detail.technical")),
    h("dl", { class: "facts" },
      h("dt", {}, t("detail.exportId")), h("dd", {}, h("code", {}, item.export_id)),
      h("dt", {}, t("detail.execution")), h("dd", {}, consoleLink(ctx, item.execution_arn))));
}

function consoleLink(ctx, arn) {
  if (!arn) return "–";
  const region = arn.split(":")[3];
  if (ctx.config.mode !== "cognito" || !region) return h("code", {}, arn);
  const href = `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(arn)}`;
  return h("a", { href, target: "_blank", rel: "noopener" }, t("detail.executionLink"));
}

/** The logbooks of the period the clerk took out of this export (remembered by this browser when it started):
 *  their km are not paid until a later export. */
function leftOutView(ctx, item) {
  const left = leftOut(ctx.session.tenant, item.export_id);
  if (!left.length || !["COMPLETED", "RUNNING"].includes(item.status)) return null;
  return h("div", { class: "notice info", "data-testid": "left-out" }, h("p", {}, t("detail.leftOut", { logbooks: logbookList(left) })));
}

/** How many lines a rollback left in Go: the record names the first of a long list (left_behind_count: all). */
const leftCount = (rollback) => rollback?.left_behind_count ?? (rollback?.left_behind || []).length;

function leftBehindTable(ctx, item) {
  const left = item.rollback?.left_behind || [];
  if (!left.length) return null;
  const count = leftCount(item.rollback);
  const section = h("section", { class: "card", "aria-labelledby": "left-title" });
  // A long list: the rest is read page by page, then the table is drawn whole.
  const showAll = count > left.length ? h("p", { class: "row" },
    h("span", { class: "muted" }, t("problem.shownOf", { shown: number(left.length, 0), count: number(count, 0) })),
    h("button", { type: "button", "data-testid": "left-behind-all", onclick: async (event) => {
      event.target.disabled = true;
      const base = `/exports/${encodeURIComponent(item.export_id)}/left-behind`;
      const all = [];
      try {
        for (let offset = 0; offset !== null && offset !== undefined;) {
          const page = await ctx.api.get(`${base}?offset=${offset}`);
          all.push(...page.left_behind);
          offset = page.next_offset;
        }
      } catch {
        event.target.disabled = false;
        return;
      }
      section.replaceWith(leftBehindTable(ctx, { ...item, rollback: { ...item.rollback, left_behind: all, left_behind_count: all.length } }));
    } }, t("problem.showAll", { count: number(count, 0) }))) : null;
  return clear(section,
    h("h2", { id: "left-title" }, t("detail.leftBehind", { count })),
    h("div", { class: "table-wrap" }, h("table", { "data-testid": "left-behind", class: "stack" },
      h("thead", {}, h("tr", {}, ["detail.salaryLineId", "new.employee", "new.code", "new.amount", "detail.reason"].map((key) => h("th", { scope: "col" }, t(key))))),
      h("tbody", {}, left.map((line) => h("tr", {},
        h("td", {}, String(line.salary_line_id)),
        h("td", {}, line.employee_name ? `${line.employee_name} (${line.employee_number})` : "–"),
        h("td", {}, line.pay_item_code || "–"),
        h("td", { class: "num" }, money(line.amount)),
        h("td", {}, reasonText(line))))))),
    showAll);
}

/** The whole report's CSV: its parts in order (X-Report-Parts says how many; part 0 has the BOM and header). */
async function reportCsv(ctx, exportId, onPart) {
  const base = `/exports/${encodeURIComponent(exportId)}/report.csv`;
  const texts = [];
  let parts = null;
  for (let part = 0; parts === null || part < parts; part += 1) {
    let answer;
    try {
      answer = await ctx.api.textWithHeaders(`${base}?part=${part}`, "text/csv");
    } catch (error) {
      // Without the header (a proxy that drops it), read on until the part after the last is not found.
      if (parts === null && part > 0 && error.status === 404) break;
      throw error;
    }
    const header = Number(answer.headers.get("X-Report-Parts"));
    if (parts === null && header > 0) parts = header;
    texts.push(answer.text);
    onPart(part + 1, parts);
  }
  // fetch's text() drops the BOM part 0 begins with; spreadsheets need it to read the file as UTF-8.
  if (texts.length && !texts[0].startsWith("\ufeff")) texts[0] = `\ufeff${texts[0]}`;
  return texts;
}

/** The documentation report of an export with lines: the CSV to keep, and a printable view. */
// An export that left nothing in PowerOffice Go paid nothing: no report to keep as proof (the API answers 409).
const NOTHING_PAID = new Set(["ROLLED_BACK", "VALIDATION_FAILED", "FAILED"]);

function documentation(ctx, item) {
  if (!item.line_count || NOTHING_PAID.has(item.status)) return null;
  const message = h("div", { "aria-live": "polite" });
  const download = async () => {
    clear(message);
    try {
      const texts = await reportCsv(ctx, item.export_id, (part, parts) => {
        if (parts > 1) clear(message, h("p", { class: "muted" }, t("report.downloading", { part, parts })));
      });
      clear(message);
      const link = h("a", { href: URL.createObjectURL(new Blob(texts, { type: "text/csv;charset=utf-8" })),
        download: `kjoregodtgjorelse-${item.export_id}.csv` });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      clear(message, errorView(error));
    }
  };
  return h("section", { class: "card", "aria-labelledby": "documentation-title" },
    h("h2", { id: "documentation-title" }, t("report.title")),
    h("p", { class: "muted" }, t("report.intro")),
    h("div", { class: "row" },
      h("button", { type: "button", onclick: download, "data-testid": "report-csv" }, t("report.csv")),
      h("a", { class: "button", href: `#/exports/${item.export_id}/report`, "data-testid": "report-print" }, t("report.printable"))),
    message);
}

/** The printable documentation report, one part at a time (a big company's report is tens of thousands of
 * trips): per employee and month, every trip with its parts and salary lines; "Del 1 av 3" with next/previous. */
export async function exportReportView(ctx, exportId) {
  const container = h("div", { class: "report" });
  const show = async (part) => {
    const report = await ctx.api.get(`/exports/${encodeURIComponent(exportId)}/report?part=${part}`);
    clear(container, ...reportPart(report, exportId, (next) => {
      show(next).then(() => window.scrollTo(0, 0), (error) => clear(container, errorView(error)));
    }));
  };
  await show(0);
  return container;
}

function reportPart(report, exportId, go) {
  const groups = new Map();
  for (const row of report.rows) {
    const key = `${row.employee_number}|${row.month}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(row);
  }
  const sum = (rows, name) => rows.reduce((total, row) => total + Number(row[name]), 0);
  // Nine columns that fit A4 portrait with every money column: the trip's facts stacked in two cells.
  const columns = ["report.date", "report.trip", "report.km", "report.passengers", "new.rate", "new.amount", "new.taxFree",
    "new.taxable", "report.salaryLine"];
  const numeric = new Set(["report.km", "new.rate", "new.amount", "new.taxFree", "new.taxable"]);
  const parts = report.parts || 1;
  const part = report.part || 0;
  const pager = () => parts > 1 ? h("nav", { class: "row no-print report-pager", "aria-label": t("report.parts") },
    h("button", { type: "button", disabled: part === 0, onclick: () => go(part - 1), "data-testid": "report-previous" }, `← ${t("report.previous")}`),
    h("span", { "data-testid": "report-part" }, t("report.part", { part: part + 1, parts })),
    h("button", { type: "button", disabled: part + 1 >= parts, onclick: () => go(part + 1), "data-testid": "report-next" }, `${t("report.next")} →`)) : null;
  const small = (...parts_) => h("div", { class: "muted small" }, ...parts_);
  const tripCell = (row) => h("td", {},
    h("div", {}, row.kind && row.kind !== "trip" ? category(row.category) : `${row.from || "–"} → ${row.to || "–"}`),
    row.kind && row.kind !== "trip" ? null : small(row.purpose || "–", row.notes ? ` · ${row.notes}` : ""),
    row.vehicle ? small(`${t("report.vehicle")}: ${row.vehicle}`) : null);
  const kmCell = (row) => h("td", { class: "num" }, row.km == null ? "" : number(row.km),
    Object.entries(row.supplement_km || {}).map(([name, km]) => small(`${category(name)} ${number(km)}`)));
  return [
    h("p", { class: "breadcrumb no-print" }, h("a", { href: `#/exports/${exportId}` }, `← ${t("detail.back")}`)),
    h("h1", {}, t("report.title")),
    h("dl", { class: "facts report-header", "data-testid": "report-header" },
      h("dt", {}, t("report.company")), h("dd", { "data-testid": "report-company" }, report.company || "–"),
      h("dt", {}, t("detail.period")), h("dd", {}, period(report.period)),
      // The export as people know it (when and by whom it was started); its id is in the CSV's header.
      h("dt", {}, t("report.export")), h("dd", {}, t("detail.started", { when: dateTime(report.created_at) }),
        report.created_by ? ` (${report.created_by})` : ""),
      h("dt", {}, t("report.status")), h("dd", {}, statusBadge(report.status))),
    report.covers === "lines_in_poweroffice" ? notice("warn", null, h("p", { "data-testid": "report-partly-undone" }, t("report.partlyUndone"))) : null,
    h("p", {}, t("report.legal"), parts > 1 ? ` · ${t("report.part", { part: part + 1, parts })}` : ""),
    h("p", { class: "no-print" }, h("button", { type: "button", class: "primary", onclick: () => window.print() }, t("report.print"))),
    pager(),
    [...groups.values()].map((rows) => h("section", { class: "card report-group", "data-testid": "report-group" },
      h("h2", {}, `${rows[0].employee_name} (${rows[0].employee_number}) – ${monthName(rows[0].month)}`),
      h("div", { class: "table-wrap" }, h("table", { class: "stack report-table" },
        h("thead", {}, h("tr", {}, columns.map((key) => h("th", { scope: "col", class: numeric.has(key) ? "num" : "" }, t(key))))),
        h("tbody", {}, rows.map((row) => h("tr", {},
          h("td", {}, day(row.date), row.departure ? small(`${row.departure}–${row.arrival || ""}`) : null),
          tripCell(row), kmCell(row),
          h("td", {}, row.passengers.join(", ") || "–"),
          h("td", { class: "num" }, row.rate == null ? "–" : money(row.rate)), h("td", { class: "num" }, money(row.amount)),
          h("td", { class: "num" }, money(row.tax_free_amount)), h("td", { class: "num" }, money(row.taxable_amount)),
          h("td", {}, row.salary_lines.map((line) => `${line.pay_item_code}${line.salary_line_id ? ` #${line.salary_line_id}` : ""}`).join(" + "))))),
        h("tfoot", {}, h("tr", { "data-testid": "report-sum" }, h("td", { colspan: "5" }, t(parts > 1 ? "report.partTotal" : "new.total")),
          h("td", { class: "num" }, money(sum(rows, "amount"))), h("td", { class: "num" }, money(sum(rows, "tax_free_amount"))),
          h("td", { class: "num" }, money(sum(rows, "taxable_amount"))), h("td", {}))))))),
    pager(),
  ];
}

export async function exportDetailView(ctx, exportId) {
  const container = h("div", { id: "export-detail" });
  const base = `/exports/${encodeURIComponent(exportId)}`;
  let previous = null;
  let latest = null;
  // A large export's detail holds its first lines; the pages read with "Vis flere linjer" stay across refreshes.
  let moreLines = [];
  let nextOffset;

  const draw = (item) => {
    latest = item;
    if (nextOffset === undefined || !moreLines.length) nextOffset = item.lines_next_offset;
    const lines = [...(item.lines || []), ...moreLines];
    const morePage = (page, next) => { moreLines = moreLines.concat(page); nextOffset = next; draw(latest); };
    // A line without an id: deleted by the user's undo, gone after a rollback, or not sent (yet).
    const state = exportState(item);
    const notInGo = t(state === "UNDONE" ? "detail.deleted" : ["ROLLED_BACK", "ROLLBACK_INCOMPLETE"].includes(state) ? "detail.notInGo" : "detail.notPushed");
    clear(container,
      h("p", { class: "breadcrumb" }, h("a", { href: "#/exports" }, `← ${t("detail.back")}`)),
      h("h1", { id: "export-title" }, t("detail.title", { period: period(item.period) })),
      h("p", { class: "muted subtitle" }, t("detail.started", { when: dateTime(item.created_at) })),
      h("div", { "aria-live": "polite", "data-testid": "outcome" }, outcomeView(ctx, item, () => tick())),
      leftOutView(ctx, item),
      h("section", { class: "card" }, h("dl", { class: "facts" },
        h("dt", {}, t("detail.status")), h("dd", { "data-testid": "status" }, statusBadge(item.status, item)),
        h("dt", {}, t("detail.period")), h("dd", {}, period(item.period)),
        h("dt", {}, t("detail.trigger")), h("dd", {}, trigger(item.trigger)),
        h("dt", {}, t("detail.createdBy")), h("dd", {}, item.created_by || "–"),
        h("dt", {}, t("detail.created")), h("dd", {}, dateTime(item.created_at)),
        h("dt", {}, t("detail.finished")), h("dd", {}, dateTime(item.finished_at)),
        h("dt", {}, t("detail.lines")), h("dd", {}, `${item.lines_pushed} / ${item.line_count}`),
        h("dt", {}, t("detail.amount")), h("dd", {}, money(item.total_amount)),
        item.taxable_amount !== null && item.taxable_amount !== undefined ? [
          h("dt", {}, t("new.taxFree")), h("dd", { "data-testid": "tax-free-amount" }, money(item.tax_free_amount)),
          h("dt", {}, t("new.taxable")), h("dd", { "data-testid": "taxable-amount" }, money(item.taxable_amount))] : null)),
      historyView(item),
      documentation(ctx, item),
      leftBehindTable(ctx, item),
      item.problems?.length ? h("section", { class: "card", "aria-labelledby": "detail-problems" },
        h("h2", { id: "detail-problems" }, t("detail.problems")),
        h("ul", { class: "problems", style: "list-style:none;padding:0" }, item.problems.map((problem) => problemView(problem, { loadAll: (code) => wholeProblem(ctx.api, base, code) })))) : null,
      lines.length ? h("section", { class: "card", "aria-labelledby": "detail-lines" },
        h("h2", { id: "detail-lines" }, t("detail.linesTitle", { count: item.line_count || lines.length })),
        h("div", { class: "table-wrap" }, h("table", { "data-testid": "export-lines", class: "stack" },
          h("thead", {}, h("tr", {}, ["new.employee", "new.categories", "new.code", "new.quantity", "new.rate", "new.amount", "new.taxFree", "new.taxable", "detail.salaryLineId"]
            .map((key) => h("th", { scope: "col", class: ["new.quantity", "new.rate", "new.amount", "new.taxFree", "new.taxable"].includes(key) ? "num" : "" }, t(key))))),
          h("tbody", {}, lines.map((line) => h("tr", {},
            h("td", {}, `${line.employee_name} (${line.employee_number})`),
            h("td", {}, (line.categories || []).map(category).join(", "),
              (line.warnings || []).map((code) => h("span", { class: "badge warn", dataset: { warning: code } }, " ⚠ ", problemTitle(code)))),
            h("td", {}, line.pay_item_code),
            h("td", { class: "num" }, line.quantity === null ? "–" : number(line.quantity)),
            h("td", { class: "num" }, line.rate === null ? "–" : number(line.rate)),
            h("td", { class: "num" }, money(line.amount)),
            h("td", { class: "num" }, money(line.tax_free_amount ?? line.amount)),
            h("td", { class: "num" }, money(line.taxable_amount ?? 0)),
            h("td", {}, line.salary_line_id ? String(line.salary_line_id) : h("span", { class: "muted" }, notInGo))))))),
        moreLinesButton(ctx.api, base, nextOffset, lines.length, item.line_count || lines.length, morePage)) : null,
      technical(ctx, item));
    container.dataset.status = item.status;
  };

  const tick = async () => {
    try {
      const item = await ctx.api.get(`/exports/${encodeURIComponent(exportId)}`);
      if (!ctx.isCurrent(id)) return;
      if (previous && previous !== item.status) announce(`${t("detail.status")}: ${t(`status.${item.status}`)}`);
      // A new phase (checking → sending) is followed closely again from its start.
      if (item.phase !== latest?.phase) delay = POLL_FIRST_MS;
      previous = item.status;
      // A re-render keeps the focus where it was, or, when that button is gone (the export ran), on the headline.
      keepFocus(container, () => draw(item), "#outcome-title");
      if (item.status === "RUNNING") follow();
      else delay = POLL_FIRST_MS;
    } catch {
      if (ctx.isCurrent(id)) follow();
    }
  };
  let delay = POLL_FIRST_MS;
  const follow = () => { ctx.poll(tick, delay); delay = slower(delay); };

  const id = ctx.renderId;
  const item = await ctx.api.get(`/exports/${encodeURIComponent(exportId)}`);
  previous = item.status;
  draw(item);
  if (item.status === "RUNNING") follow();
  return container;
}
