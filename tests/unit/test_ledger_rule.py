"""The ledger rule (issue 15 §1): an export holds a trip exactly while one of the lines that pay it exists in Go."""

from __future__ import annotations

from abax_payroll.domain.ledger import held_trips
from abax_payroll.domain.lines import group_lines
from abax_payroll.domain.logbooks import build_logbooks
from abax_payroll.domain.period import Period
from abax_payroll.domain.rates import RateTable

from .conftest import KARI, build_trip

OCTOBER = Period.parse("2026-10-01", "2026-10-31")


def _lines(domain_codes):  # type: ignore[no-untyped-def]
    trips = [
        build_trip("t-km-and-toll", km="20", expenses={"toll_charge": "45"}),
        build_trip("t-km", started="2026-10-03T07:00:00Z", km="12"),
        build_trip("t-kari", driver=KARI, km="30"),
    ]
    return group_lines(build_logbooks(trips, OCTOBER), domain_codes, RateTable.default(), OCTOBER)


def test_each_line_knows_the_trips_it_pays(domain_codes) -> None:  # type: ignore[no-untyped-def]
    by_key = {(line.employee_number, line.pay_item_code): line.trip_ids for line in _lines(domain_codes)}
    assert by_key == {
        ("1001", "710"): ("t-km", "t-km-and-toll"),
        ("1001", "720"): ("t-km-and-toll",),
        ("1002", "710"): ("t-kari",),
    }


def test_only_trips_of_lines_that_exist_are_held() -> None:
    km_line = {"2026-10": ["t-km", "t-km-and-toll"]}
    toll_line = {"2026-10": ["t-km-and-toll"]}
    kari_line = {"2026-10": ["t-kari"]}

    assert held_trips([km_line, toll_line, kari_line]) == {"2026-10": ["t-kari", "t-km", "t-km-and-toll"]}
    # Kari's line was never created: her trip is free. Ola's toll line was deleted: the trip it shares with
    # the km line stays held (freeing it would pay its km twice).
    assert held_trips([km_line]) == {"2026-10": ["t-km", "t-km-and-toll"]}
    # Only the toll line is left: the km-only trip is free again.
    assert held_trips([toll_line]) == {"2026-10": ["t-km-and-toll"]}
    assert held_trips([]) == {}


def test_trips_are_held_in_the_month_they_belong_to() -> None:
    line = {"2026-10": ["t-oct"], "2026-11": ["t-nov"], "2026-12": []}
    assert held_trips([line]) == {"2026-10": ["t-oct"], "2026-11": ["t-nov"]}
