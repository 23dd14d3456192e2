// The ways forward of a finished export (rollback again, resume, try again), its history, and the progress
// of a running one in phases: checking, sending n of N, done.
import { ApiError } from "../api.js";
import { errorView, reasonText } from "../problems.js";
import { has, t } from "../i18n.js";
import { announce, clear, confirmDialog, dateTime, exportStarted, h, money, notice, shortDateTime } from "../ui.js";

const ACTIONS = {
  rollback: (item) => item.status === "COMPLETED" ? "undo" : "rollbackAgain",
  resume: () => "resume",
  retry: () => "retry",
};

/** The buttons of the export's actions (from the API's `actions`), each asking first what it will do. */
export function recoveryActions(ctx, item, refresh) {
  const actions = item.actions || [];
  if (!actions.length || item.status === "RUNNING") return null;
  const message = h("div", { role: "alert", "data-testid": "action-message" });
  const buttons = actions.map((action) => {
    const key = ACTIONS[action]?.(item) || action;
    const button = h("button", { type: "button", class: key === "undo" ? "danger" : "primary", "data-action": action, "data-testid": `action-${action}` },
      t(`action.${key}`));
    button.addEventListener("click", async () => {
      const ok = await confirmDialog({
        title: t(`action.${key}`),
        body: h("p", {}, t(`action.${key}.confirm`, { count: item.line_count, amount: money(item.total_amount), left: item.rollback?.left_behind_count ?? item.rollback?.left_behind?.length ?? 0 })),
        confirm: t(`action.${key}.yes`),
        danger: key === "undo",
      });
      if (!ok) return;
      clear(message);
      for (const other of buttons) other.disabled = true;
      try {
        if (action === "retry") {
          const body = { from: item.period.from, to: item.period.to };
          if (item.logbook_ids) body.logbook_ids = item.logbook_ids;
          const started = await ctx.api.post("/exports", body);
          announce(t("action.retry.started"));
          ctx.navigate(`#/exports/${started.export_id}`);
          return;
        }
        const answer = await ctx.api.post(`/exports/${encodeURIComponent(item.export_id)}/${action}`);
        announce(answer.status === "RUNNING" ? t(`action.${key}.started`) : t("action.nothingToDo"));
        refresh();
      } catch (failure) {
        for (const other of buttons) other.disabled = false;
        message.append(failure instanceof ApiError ? errorView(failure) : notice("bad", t("error.generic", { detail: failure.message })));
        message.querySelector("h1, h2, [tabindex]")?.focus?.();
      }
    });
    return button;
  });
  const hints = actions.map((action) => ACTIONS[action]?.(item) || action).filter((key) => has(`action.${key}.hint`));
  return h("section", { class: "card", "aria-labelledby": "actions-title", "data-testid": "actions" },
    h("h2", { id: "actions-title" }, t("action.title")),
    hints.map((key) => h("p", { class: "small" }, t(`action.${key}.hint`))),
    h("div", { class: "row" }, buttons), message);
}

const OUTCOME_TONE = { ROLLED_BACK: "ok", COMPLETED: "ok", STARTED: "info", ROLLBACK_INCOMPLETE: "bad", REFUSED: "warn", BLOCKED: "warn", NOT_STARTED: "bad" };

/** Who asked for what, when, and how it ended. */
export function historyView(item) {
  const entries = item.history || [];
  if (!entries.length) return null;
  const who = (by) => (!by || by === "system" ? t("history.system") : by);
  const describe = (entry) => {
    const key = `history.${entry.action}.${entry.outcome}`;
    const params = {
      deleted: entry.deleted ?? 0, left: entry.left_behind_count ?? (Array.isArray(entry.left_behind) ? entry.left_behind.length : (entry.left_behind ?? 0)),
      // Other exports by when they started, never by their id.
      created: entry.created ?? 0, exports: (entry.exports || []).map((id) => shortDateTime(exportStarted(id))).join(", "),
    };
    return has(key) ? t(key, params) : has(`history.${entry.action}`) ? t(`history.${entry.action}`) : t("history.other");
  };
  return h("section", { class: "card", "aria-labelledby": "history-title" },
    h("h2", { id: "history-title" }, t("history.title")),
    h("ol", { class: "history", "data-testid": "history" }, entries.map((entry) => h("li", { dataset: { outcome: entry.outcome, action: entry.action }, class: `history-${OUTCOME_TONE[entry.outcome] || "info"}` },
      h("span", { class: "small" }, `${dateTime(entry.at)} · ${who(entry.by)}`), " ",
      h("span", {}, describe(entry)),
      Array.isArray(entry.left_behind) && entry.left_behind.length
        ? h("ul", {}, entry.left_behind.map((line) => h("li", {},
          `${line.employee_name ? `${line.employee_name} (${line.employee_number})` : "–"}, ${line.pay_item_code || "–"}, ${money(line.amount)}, ${t("history.line", { id: line.salary_line_id })}: ${reasonText(line)}`)),
          (entry.left_behind_count ?? 0) > entry.left_behind.length
            ? h("li", { class: "muted" }, t("problem.shownOf", { shown: entry.left_behind.length, count: entry.left_behind_count })) : null)
        : null))));
}

/** A running export in phases (checking, sending n of N), with the line count and amount from the first render:
 * the preview's the user confirmed (marked so) until the export's own check has planned its lines. */
export function progressView(item) {
  const phase = item.phase || "VALIDATING";
  const count = item.line_count || 0;
  const pushed = Math.min(item.lines_pushed || 0, count);
  const sending = phase === "PUSHING";
  const key = { VALIDATING: "checking", RESUMING: "checking", PUSHING: "sending", ROLLING_BACK: "rollingBack" }[phase] || "checking";
  const totals = count ? t("progress.totals", { count, amount: money(item.total_amount) }) : null;
  const counting = count > 0 && key !== "rollingBack";
  return h("div", { class: "notice info", "data-testid": "progress", dataset: { phase: key, totals: item.totals_source || "none" } },
    h("p", { "data-testid": "phase" }, h("strong", {}, t(`progress.${key}`)), totals ? ` · ${totals}` : "",
      totals && item.totals_source === "preview" ? h("span", { class: "small" }, ` (${t("progress.fromPreview")})`) : null),
    h("label", { for: "push-progress" }, t("detail.progressLabel")), " ",
    sending && count
      ? h("progress", { id: "push-progress", class: "progress", max: String(count), value: String(pushed) })
      : h("progress", { id: "push-progress", class: "progress" }), " ",
    counting ? h("span", { "data-testid": "progress-text" }, t("detail.progress", { pushed, count })) : null,
    h("p", { class: "small" }, t("detail.running")));
}
