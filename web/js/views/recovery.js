// The ways forward of a finished export (rollback again, resume, try again), its history, and the progress
// of a running one in phases: checking, sending n of N, done.
import { ApiError } from "../api.js";
import { errorView, failureSentence, reasonText } from "../problems.js";
import { has, t } from "../i18n.js";
import { announce, clear, confirmDialog, dateTime, exportStarted, h, money, notice, shortDateTime } from "../ui.js";

/** What an export's page says about it: one state, one headline, what it means for the employees' pay, and only
 *  the actions that agree with it. The state is read from the status, who undid it and the last recovery. */
export function exportState(item) {
  if (item.status === "ROLLED_BACK" && item.undone_by) return "UNDONE";
  if (item.status === "COMPLETED" && lastRollback(item)?.outcome === "REFUSED") return "REFUSED";
  return item.status;
}

/** The newest rollback entry of the history (the undo asked for last, or the automatic one). */
function lastRollback(item) {
  return [...(item.history || [])].reverse().find((entry) => entry.action === "rollback" && entry.outcome !== "STARTED");
}

const leftOf = (item) => item.rollback?.left_behind_count ?? (item.rollback?.left_behind || []).length;
const who = (by) => (!by || by === "system" ? t("history.system") : by);

// The API's actions, each under the name it has in this state (an undo of a completed export, a second undo
// of a refused one, a rollback again after a failure; a user's own undo is exported again, not "tried again").
const ACTION_KEY = {
  COMPLETED: { rollback: "undo" },
  REFUSED: { rollback: "undoAgain" },
  UNDONE: { retry: "exportAgain" },
  ROLLED_BACK: { retry: "retry" },
  FAILED: { retry: "retry" },
  ROLLBACK_INCOMPLETE: { resume: "resume", rollback: "rollbackAgain" },
};
const TONE = { COMPLETED: "ok", REFUSED: "warn", UNDONE: "info", ROLLED_BACK: "warn", FAILED: "bad", VALIDATION_FAILED: "warn", ROLLBACK_INCOMPLETE: "bad" };

/** The export's state as one notice: its headline, what happened and what it means, and its actions. */
export function outcomeView(ctx, item, refresh) {
  if (item.status === "RUNNING") return progressView(item);
  const state = exportState(item);
  const rollback = lastRollback(item);
  const left = state === "REFUSED" ? rollback.left_behind_count ?? (rollback.left_behind || []).length : leftOf(item);
  const when = rollback ? dateTime(rollback.at) : "";
  const deleted = item.rollback?.deleted ?? rollback?.deleted ?? 0;
  const said = [];
  if (item.error && state !== "UNDONE") {
    said.push(h("p", { "data-testid": "error", dataset: { code: item.error.problem_code || item.error.code } }, failureSentence(item.error)));
    if ((item.error.problem_code || item.error.code) === "ABAX_INACTIVE") {
      said.push(h("p", {}, h("a", { href: "#/integration", "data-testid": "connect-abax" }, t("fix.connectAbax"))));
    }
  }
  if (state === "COMPLETED") said.push(h("p", {}, t("detail.completed", { count: item.lines_pushed })));
  if (state === "REFUSED") {
    said.push(h("p", {}, t("state.REFUSED.body", { who: who(rollback.by), when })), h("p", {}, t("state.REFUSED.advice")));
    said.push(refusedLines(rollback));
  }
  if (state === "UNDONE") said.push(h("p", { "data-testid": "rollback-message" }, t("state.UNDONE.body", { who: who(item.undone_by), when, deleted })));
  if (state === "ROLLED_BACK") said.push(h("p", { "data-testid": "rollback-message" }, t("state.ROLLED_BACK.body", { deleted })));
  if (state === "FAILED") said.push(h("p", {}, t("state.FAILED.body")));
  if (state === "VALIDATION_FAILED") said.push(h("p", {}, t("state.VALIDATION_FAILED.body")));
  if (state === "ROLLBACK_INCOMPLETE") {
    const locked = (item.rollback?.left_behind || []).every((line) => line.reason_code === "LOCKED");
    said.push(h("p", { "data-testid": "rollback-message" }, t(`state.ROLLBACK_INCOMPLETE.${locked ? "locked" : "other"}`, { left })));
  }
  const title = state === "COMPLETED" ? t("state.COMPLETED.title") : t(`state.${state}.title`, { left });
  return h("section", { class: `notice ${TONE[state] || "info"}`, "aria-labelledby": "outcome-title", dataset: { state } },
    h("h2", { id: "outcome-title", tabindex: "-1" }, title),
    said,
    state === "VALIDATION_FAILED" ? h("p", {}, h("a", { class: "button", href: "#/export/new" }, t("state.newExport"))) : null,
    actionsView(ctx, item, state, refresh));
}

function refusedLines(entry) {
  const lines = entry.left_behind || [];
  if (!lines.length) return null;
  const count = entry.left_behind_count ?? lines.length;
  return h("div", {},
    h("h3", {}, t("state.REFUSED.lines", { count })),
    h("ul", { "data-testid": "refused-lines" }, lines.map((line) => h("li", {},
      `${line.employee_name ? `${line.employee_name} (${line.employee_number})` : "–"}, ${line.pay_item_code || "–"}, ${money(line.amount)}, ${t("history.line", { id: line.salary_line_id })}`))),
    count > lines.length ? h("p", { class: "muted" }, t("problem.shownOf", { shown: lines.length, count })) : null);
}

/** The buttons of the export's actions (from the API's `actions`), each asking first what it will do. */
function actionsView(ctx, item, state, refresh) {
  const names = ACTION_KEY[state] || {};
  const actions = (item.actions || []).filter((action) => names[action]);
  if (!actions.length) return null;
  const message = h("div", { role: "alert", "data-testid": "action-message" });
  const buttons = [];
  const choices = actions.map((action) => {
    const key = names[action];
    const button = h("button", { type: "button", class: ["undo", "undoAgain"].includes(key) ? "danger" : "primary", "data-action": action, "data-testid": `action-${action}` },
      t(`action.${key}`));
    buttons.push(button);
    button.addEventListener("click", async () => {
      const ok = await confirmDialog({
        title: t(`action.${key}`),
        body: h("p", {}, t(`action.${key}.confirm`, { count: item.line_count, amount: money(item.total_amount), left: leftOf(item) })),
        confirm: t(`action.${key}.yes`),
        danger: ["undo", "undoAgain"].includes(key),
      });
      if (!ok) return;
      clear(message);
      // The buttons are disabled, then gone once the run starts: the keyboard waits on the state's headline.
      document.getElementById("outcome-title")?.focus();
      for (const other of buttons) other.disabled = true;
      try {
        if (action === "retry") {
          const body = { from: item.period.from, to: item.period.to };
          if (item.logbook_ids) body.logbook_ids = item.logbook_ids;
          const started = await ctx.api.post("/exports", body);
          announce(t(`action.${key}.started`));
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
    // Each action under the condition it is for, so two actions never read as two contradicting pieces of advice.
    const hint = has(`action.${key}.hint`) ? h("p", { class: "small" }, t(`action.${key}.hint`)) : null;
    return [button, hint];
  });
  return h("div", { class: "actions-choice", "data-testid": "actions" },
    h("h3", { class: "visually-hidden" }, t("action.title")),
    choices.map(([button, hint]) => h("div", { class: "action" }, button, hint)), message);
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
    h("h2", { id: "outcome-title", tabindex: "-1" }, t(key === "rollingBack" ? "progress.rollingBackTitle" : "progress.title")),
    h("p", { "data-testid": "phase" }, h("strong", {}, t(`progress.${key}`)), totals ? ` · ${totals}` : "",
      totals && item.totals_source === "preview" ? h("span", { class: "small" }, ` (${t("progress.fromPreview")})`) : null),
    h("label", { for: "push-progress" }, t("detail.progressLabel")), " ",
    sending && count
      ? h("progress", { id: "push-progress", class: "progress", max: String(count), value: String(pushed) })
      : h("progress", { id: "push-progress", class: "progress" }), " ",
    counting ? h("span", { "data-testid": "progress-text" }, t("detail.progress", { pushed, count })) : null,
    h("p", { class: "small" }, t("detail.running")));
}
