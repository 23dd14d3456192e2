"""Property-based tests of grouping: exact sums, order independence, and no trip lost or counted twice."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from abax_payroll.domain.categories import ALL_CATEGORIES, Category
from abax_payroll.domain.lines import group_lines
from abax_payroll.domain.logbooks import build_logbooks
from abax_payroll.domain.money import ZERO
from abax_payroll.domain.payroll import Employee, PayItem
from abax_payroll.domain.period import Period
from abax_payroll.domain.plan import plan_export
from abax_payroll.domain.rates import RateTable
from abax_payroll.domain.trips import Driver, Trip, TripExpenses, TripExtras

# Across the 2026 rate change, so that lines split by rate.
PERIOD = Period(date(2025, 12, 1), date(2026, 1, 31))
FIRST = datetime(2025, 11, 30, 12, 0, tzinfo=UTC)
MINUTES = 64 * 24 * 60  # a little beyond both ends of the period
RATES = RateTable.default()
DRIVERS = [Driver(f"d-{n}", f"Driver {n}", str(n)) for n in (1001, 1002, 1003)]
EMPLOYEES = {
    driver.employee_number: Employee(i, driver.employee_number, driver.name)
    for i, driver in enumerate(DRIVERS)
}  # type: ignore[misc]
CODES = ["710", "711", "720", None]
PAY_ITEMS = {
    "710": PayItem("p-710", "710", "Bil", True, "QuantityAndRateSubjectToWithholdingTax"),
    "711": PayItem("p-711", "711", "Tillegg", True, "QuantityAndRateSubjectToWithholdingTax"),
    "720": PayItem("p-720", "720", "Utlegg", True, "ExpenseRefund"),
    "721": PayItem("p-721", "721", "Utlegg 2", True, "ExpenseRefund"),
}

km = st.integers(min_value=0, max_value=300_000).map(
    lambda n: Decimal(n).scaleb(-3)
)  # 3 decimals stress rounding
nok = st.integers(min_value=0, max_value=50_000).map(lambda n: Decimal(n).scaleb(-2))
small_km = st.one_of(st.just(ZERO), km)
small_nok = st.one_of(st.just(ZERO), nok)


@st.composite
def trips(draw: st.DrawFn, trip_id: str) -> Trip:
    driver = draw(st.sampled_from(DRIVERS))
    private = draw(st.sampled_from(["Private", "Private", "Private", "Company"]))
    kind = draw(st.sampled_from(["BusinessTrip", "BusinessTrip", "BusinessTrip", "PrivateTrip", "Commute"]))
    # Named (min 1): unnamed passengers make a wholly taxable line of their own (test_payroll_rules checks it).
    names = draw(
        st.lists(st.sampled_from(["Kari Hansen", "Per Olsen", "Ola Nordmann"]), min_size=1, max_size=3)
    )
    return Trip(
        trip_id=trip_id,
        driver=driver,
        vehicle_id=f"v-{driver.driver_id}",
        vehicle_class=private,
        trip_class=kind,
        started_at=FIRST + timedelta(minutes=draw(st.integers(0, MINUTES))),
        distance_km=draw(km),
        purpose="Kundemøte",  # documented: the tax-free split is what these properties check
        start_address="Bryggen 1, Bergen",
        end_address="Torget 2, Stord",
        expenses=TripExpenses(
            parking=draw(small_nok),
            easy_park_private=draw(small_nok),
            easy_park_corporate=draw(small_nok),
            toll_charge=draw(small_nok),
            toll_road_admin=draw(small_nok),
            ferry=draw(small_nok),
        ),
        extras=TripExtras(
            passenger_km=draw(small_km),
            passenger_names=tuple(names),
            trailer_km=draw(small_km),
            caravan_km=draw(small_km),
            bad_road_km=draw(small_km),
            heavy_load_km=draw(small_km),
        ),
    )


trip_lists = st.integers(min_value=0, max_value=25).flatmap(
    lambda n: st.tuples(*(trips(f"t-{i}") for i in range(n))).map(list)
)
distance_codes = st.sampled_from(["710", "711", None])
outlay_codes = st.sampled_from(["720", "721", None])
code_maps = st.fixed_dictionaries(
    {category: distance_codes if category.is_distance else outlay_codes for category in ALL_CATEGORIES}
)


def half_up(value: Decimal) -> Decimal:
    """The oracle's rounding, by hand in whole øre (not the code under test): 0.005 goes up, -0.005 down."""
    cents = math.floor(abs(value) * 100 + Decimal("0.5"))
    return (Decimal(cents) / 100 * (-1 if value < 0 else 1)).quantize(Decimal("0.01"))


def expected_groups(trip_list: list[Trip], codes: dict[Category, str | None]):
    """The oracle: exact sums and trip sets per (employee, pay item, rate), from the rules in the spec."""
    groups: dict[tuple, dict] = defaultdict(lambda: {"sum": ZERO, "trips": set()})
    for trip in trip_list:
        if not trip.reimbursable or trip.date not in PERIOD:
            continue
        for category, quantity in trip.quantities().items():
            code = codes[category]
            if code is None:
                continue
            rate = RATES.rate_for(category, trip.date) if category.is_distance else None
            group = groups[(trip.driver.employee_number, code, rate)]
            group["sum"] += quantity
            group["trips"].add(trip.trip_id)
    return groups


def lines_for(trip_list: list[Trip], codes: dict[Category, str | None]):
    return group_lines(build_logbooks(trip_list, PERIOD), codes, RATES, PERIOD)


@settings(max_examples=60, deadline=None)
@given(trip_list=trip_lists, codes=code_maps)
def test_each_line_is_the_exact_sum_of_its_trips_rounded_once(trip_list, codes):
    groups = expected_groups(trip_list, codes)
    lines = lines_for(trip_list, codes)
    seen = set()
    for line in lines:
        key = (line.employee_number, line.pay_item_code, line.rate)
        assert key in groups and key not in seen
        seen.add(key)
        exact = groups[key]["sum"]
        if line.rate is not None:
            assert line.quantity == half_up(exact)
            assert line.amount == half_up(half_up(exact) * line.rate)
        else:
            assert line.quantity is None
            assert line.amount == exact  # outlays in whole øre sum exactly
        assert line.trip_count == len(groups[key]["trips"])
    # A group is only left out when it rounds to nothing.
    for key, group in groups.items():
        if key not in seen:
            assert half_up(group["sum"]) == 0


@settings(max_examples=40, deadline=None)
@given(trip_list=trip_lists, codes=code_maps, order=st.randoms(use_true_random=False))
def test_the_order_of_trips_never_changes_the_lines(trip_list, codes, order):
    shuffled = list(trip_list)
    order.shuffle(shuffled)
    assert lines_for(shuffled, codes) == lines_for(trip_list, codes)


@settings(max_examples=60, deadline=None)
@given(trip_list=trip_lists, codes=code_maps)
def test_no_trip_is_lost_or_counted_twice(trip_list, codes):
    lines = lines_for(trip_list, codes)
    payable = [trip for trip in trip_list if trip.reimbursable and trip.date in PERIOD]
    outlays = sum(
        (q for trip in payable for c, q in trip.quantities().items() if not c.is_distance and codes[c]),
        ZERO,
    )
    assert sum((line.amount for line in lines if line.rate is None), ZERO) == outlays
    distance = sum(
        (q for trip in payable for c, q in trip.quantities().items() if c.is_distance and codes[c]),
        ZERO,
    )
    km_lines = [line for line in lines if line.rate is not None]
    # Each (employee, pay item, rate) group rounds once, including groups that round to nothing and are dropped.
    km_groups = {
        (trip.driver.employee_number, codes[c], RATES.rate_for(c, trip.date))
        for trip in payable
        for c in trip.quantities()
        if c.is_distance and codes[c]
    }
    assert abs(sum((line.quantity for line in km_lines), ZERO) - distance) <= Decimal("0.005") * max(
        1, len(km_groups)
    )
    # Every trip that counts in a coded category appears in exactly the lines of its codes and rates.
    per_code: dict[tuple, set] = defaultdict(set)
    for trip in payable:
        for category in trip.quantities():
            if codes[category]:
                rate = RATES.rate_for(category, trip.date) if category.is_distance else None
                per_code[(trip.driver.employee_number, codes[category], rate)].add(trip.trip_id)
    for line in lines:
        assert line.trip_count == len(per_code[(line.employee_number, line.pay_item_code, line.rate)])


@settings(max_examples=30, deadline=None)
@given(trip_list=trip_lists, codes=code_maps)
def test_plan_export_sends_what_grouping_makes_and_only_payable_trips(trip_list, codes):
    plan = plan_export(trip_list, PERIOD, codes, RATES, PAY_ITEMS, EMPLOYEES)
    payable = sorted(trip.trip_id for trip in trip_list if trip.reimbursable and trip.date in PERIOD)
    assert plan.trip_ids == payable
    assert plan.lines == lines_for(trip_list, codes)
    problem_codes = {problem.code for problem in plan.errors}
    assert problem_codes <= {"PAY_CODE_NOT_CONFIGURED", "NOTHING_TO_EXPORT"}
    assert {problem.code for problem in plan.warnings} <= {"PASSENGER_NAMES_MISSING", "SUPPLEMENT_CAPPED"}
    assert plan.ready == (not plan.errors and bool(plan.lines))
