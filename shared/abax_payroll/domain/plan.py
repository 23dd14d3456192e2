"""An export plan: the logbooks found for a period, the salary lines they make, and what stops them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from . import problems as codes_
from .categories import Category
from .lines import MissingRates, SalaryLineDraft, group_lines
from .logbooks import Logbook, build_logbooks
from .payroll import Employee, PayItem
from .period import Period
from .problems import Problem
from .rates import RateTable
from .tax import apply_tax_rules, note_pay_item_rates
from .taxfree import UNDOCUMENTED_TAXABLE
from .trips import Trip
from .validation import (
    check_codes_configured,
    check_employees,
    check_pay_item_reporting,
    check_pay_items,
    check_trip_documentation,
    check_unknown_vehicles,
    rate_missing_problem,
)


@dataclass
class ExportPlan:
    period: Period
    logbooks: list[Logbook]  # the selected logbooks
    lines: list[SalaryLineDraft]
    problems: list[Problem]
    already_exported: dict[str, list[str]] = field(default_factory=dict)  # logbook id -> export ids
    all_logbooks: list[Logbook] = field(default_factory=list)  # everything found, selected or not

    @property
    def ready(self) -> bool:
        """Errors block an export; warnings are shown and kept with it."""
        return not self.errors and bool(self.lines)

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.blocking]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if not problem.blocking]

    @property
    def trip_ids(self) -> list[str]:
        return sorted(trip.trip_id for logbook in self.logbooks for trip in logbook.trips)


def plan_export(
    trips: Iterable[Trip],
    period: Period,
    codes: Mapping[Category, str | None],
    rates: RateTable,
    pay_items: Mapping[str, PayItem],
    employees: Mapping[str, Employee],
    exported_trips: Mapping[str, str] | None = None,
    data_problems: Iterable[Problem] = (),
    logbook_ids: Iterable[str] | None = None,
    tax_free: RateTable | None = None,
    taxable_excess_code: str | None = None,
    undocumented_trips: str = UNDOCUMENTED_TAXABLE,
) -> ExportPlan:
    """Build, select, validate and group. `exported_trips` maps trip ids already paid to their export."""
    trips = list(trips)
    all_logbooks = build_logbooks(trips, period)
    problems = list(data_problems)
    problems += check_unknown_vehicles(trip for trip in trips if trip.date in period)
    selected = all_logbooks
    if logbook_ids is not None:
        wanted = list(dict.fromkeys(logbook_ids))
        known = {logbook.logbook_id for logbook in all_logbooks}
        unknown = [logbook_id for logbook_id in wanted if logbook_id not in known]
        if unknown:
            problems.append(
                Problem(
                    codes_.LOGBOOK_NOT_FOUND,
                    f"Logbooks not found in the period {period.label()}: {', '.join(unknown)}.",
                    [{"logbook_id": logbook_id} for logbook_id in unknown],
                    params={
                        "count": len(unknown),
                        "from": period.start.isoformat(),
                        "to": period.end.isoformat(),
                    },
                )
            )
        wanted_set = set(wanted)
        selected = [logbook for logbook in all_logbooks if logbook.logbook_id in wanted_set]

    already: dict[str, list[str]] = {}
    exported = exported_trips or {}
    for logbook in all_logbooks:
        exports = sorted({exported[t.trip_id] for t in logbook.trips if t.trip_id in exported})
        if exports:
            already[logbook.logbook_id] = exports
    if logbook_ids is None:
        # A search of the whole period leaves what was exported out (shown as exported, not a problem);
        # only logbooks chosen by id can be blocked by an earlier export.
        selected = [logbook for logbook in selected if logbook.logbook_id not in already]
    blocked = [logbook for logbook in selected if logbook.logbook_id in already]
    if blocked:
        problems.append(
            Problem(
                codes_.ALREADY_EXPORTED,
                "Some logbooks hold trips that were already exported; leave them out of the export.",
                [{**lb.facts(), "exports": already[lb.logbook_id]} for lb in blocked],
                params={"count": len(blocked)},
            )
        )

    problems += check_pay_items(codes, pay_items, taxable_excess_code)
    problems += check_pay_item_reporting(codes, pay_items, taxable_excess_code)
    problems += check_employees(selected, employees)
    problems += check_codes_configured(selected, codes)
    names = {number: employee.name for number, employee in employees.items()}
    missing: MissingRates = {}
    lines = group_lines(selected, codes, rates, period, names, tax_free=tax_free, missing=missing)
    if missing:
        problems.append(rate_missing_problem(missing))
        lines = []
    lines, tax_problems = apply_tax_rules(lines, pay_items, taxable_excess_code)
    problems += tax_problems
    lines, rate_notes = note_pay_item_rates(lines, pay_items)
    problems += rate_notes
    problems += check_trip_documentation(selected, codes, undocumented_trips)
    if not selected and not any(problem.blocking for problem in problems):
        problems.append(
            Problem(
                codes_.NOTHING_TO_EXPORT,
                f"No delivered logbooks with business trips in {period.label()}.",
                [],
                params={
                    "from": period.start.isoformat(),
                    "to": period.end.isoformat(),
                    "exported": len(already),
                },
            )
        )
    return ExportPlan(period, selected, lines, problems, already, all_logbooks)
