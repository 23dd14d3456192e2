"""plan_export reports every problem at once, each with the items it concerns, and sends nothing then."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from abax_payroll.domain import problems as codes
from abax_payroll.domain.categories import Category
from abax_payroll.domain.payroll import PayItem
from abax_payroll.domain.period import Period
from abax_payroll.domain.plan import plan_export
from abax_payroll.domain.problems import Problem
from abax_payroll.domain.rates import Rate, RateTable

OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


def test_a_clean_october_is_ready_with_its_lines(
    domain_trip, domain_codes, domain_pay_items, domain_employees
):
    trips = [domain_trip("t-1", km="118.4", expenses={"toll_charge": "112", "toll_road_admin": "4.5"})]
    plan = plan_export(trips, OCTOBER, domain_codes, RateTable.default(), domain_pay_items, domain_employees)
    assert plan.problems == []
    assert plan.ready
    assert [(line.pay_item_code, line.amount) for line in plan.lines] == [
        ("710", Decimal("627.52")),
        ("720", Decimal("116.50")),
    ]
    assert plan.trip_ids == ["t-1"]


def test_every_problem_kind_is_reported_at_once(
    domain_trip, domain_drivers, domain_codes, domain_pay_items, domain_employees
):
    codes_config = {
        **domain_codes,
        Category.MILEAGE: "720",  # an ExpenseRefund pay item for km: incompatible
        Category.PASSENGER: "799",  # not in PowerOffice Go
        Category.TRAILER: "790",  # inactive
        Category.FERRY: None,  # ferry data but no code
    }
    trips = [
        domain_trip("t-1", km="50", extras={"passenger_km": "50"}),
        domain_trip(
            "t-2", started="2026-10-03T08:00:00Z", expenses={"ferry": "184"}, extras={"trailer_km": "5"}
        ),
        domain_trip("t-3", driver=domain_drivers["nils"], vehicle_id="v-4"),
        domain_trip("t-4", driver=domain_drivers["lise"], vehicle_id="v-99", expenses={"ferry": "241"}),
        domain_trip("t-5", driver=domain_drivers["kari"], vehicle_id="v-2"),
    ]
    data_problem = Problem(
        codes.INVALID_TRIP_DATA,
        "ABAX returned trip data that cannot be paid",
        [{"trip_id": "t-9", "field": "distance", "value": "-5", "reason": "negative distance"}],
    )
    plan = plan_export(
        trips,
        OCTOBER,
        codes_config,
        RateTable.default(),
        domain_pay_items,
        domain_employees,
        exported_trips={"t-5": "exp-earlier"},
        data_problems=[data_problem],
        # Chosen by id, Kari's already exported logbook blocks (a whole-period search leaves it out).
        logbook_ids=["d-1001:v-1:2026-10", "d-1004:v-4:2026-10", "d-1099:v-99:2026-10", "d-1002:v-2:2026-10"],
    )
    by_code = {problem.code: problem for problem in plan.problems}
    assert set(by_code) == {
        codes.INVALID_TRIP_DATA,
        codes.ALREADY_EXPORTED,
        codes.PAY_ITEM_NOT_FOUND,
        codes.PAY_ITEM_INCOMPATIBLE,
        codes.EMPLOYEE_NUMBER_MISSING,
        codes.EMPLOYEE_NOT_FOUND,
        codes.PAY_CODE_NOT_CONFIGURED,
        codes.PASSENGER_NAMES_MISSING,  # t-1's passenger km name nobody
    }
    assert [problem.code for problem in plan.warnings] == [codes.PASSENGER_NAMES_MISSING]
    assert not plan.ready
    assert by_code[codes.INVALID_TRIP_DATA].items[0]["trip_id"] == "t-9"
    assert by_code[codes.ALREADY_EXPORTED].items == [
        {
            "logbook_id": "d-1002:v-2:2026-10",
            "driver_name": "Kari Hansen",
            "vehicle_alias": "",
            "month": "2026-10",
            "exports": ["exp-earlier"],
        }
    ]
    assert sorted((item["code"], item["reason"]) for item in by_code[codes.PAY_ITEM_NOT_FOUND].items) == [
        ("790", "inactive in PowerOffice Go"),
        ("799", "not found in PowerOffice Go"),
    ]
    assert [(item["code"], item["category"]) for item in by_code[codes.PAY_ITEM_INCOMPATIBLE].items] == [
        ("720", "mileage")
    ]
    assert by_code[codes.EMPLOYEE_NUMBER_MISSING].items == [
        {"driver_id": "d-1004", "driver_name": "Nils Bakke", "logbooks": ["d-1004:v-4:2026-10"]}
    ]
    assert [
        (item["employee_number"], item["logbooks"]) for item in by_code[codes.EMPLOYEE_NOT_FOUND].items
    ] == [("1099", ["d-1099:v-99:2026-10"])]
    (ferry,) = by_code[codes.PAY_CODE_NOT_CONFIGURED].items
    assert ferry == {
        "category": "ferry",
        "unit": "NOK",
        "total": "425.00",
        "trips": 2,
        "drivers": ["Lise Moe", "Ola Nordmann"],
    }
    assert "Nils Bakke" in by_code[codes.EMPLOYEE_NUMBER_MISSING].message
    # The same facts as machine values, for a client to write its own sentence from.
    assert by_code[codes.EMPLOYEE_NUMBER_MISSING].params == {"drivers": ["Nils Bakke"]}
    assert by_code[codes.PAY_ITEM_NOT_FOUND].params == {"codes": ["799", "790"]}
    assert sorted(item["reason_code"] for item in by_code[codes.PAY_ITEM_NOT_FOUND].items) == [
        "INACTIVE",
        "NOT_FOUND",
    ]
    assert [item["reason_code"] for item in by_code[codes.EMPLOYEE_NOT_FOUND].items] == ["NOT_FOUND"]
    assert by_code[codes.PAY_CODE_NOT_CONFIGURED].params == {"categories": ["ferry"]}


def test_a_whole_period_search_leaves_exported_logbooks_out_without_a_problem(
    domain_trip, domain_drivers, domain_codes, domain_pay_items, domain_employees
):
    trips = [domain_trip("t-1"), domain_trip("t-5", driver=domain_drivers["kari"], vehicle_id="v-2")]
    plan = plan_export(
        trips,
        OCTOBER,
        domain_codes,
        RateTable.default(),
        domain_pay_items,
        domain_employees,
        exported_trips={"t-5": "exp-earlier"},
    )
    assert plan.problems == []
    assert plan.ready
    assert [logbook.logbook_id for logbook in plan.logbooks] == ["d-1001:v-1:2026-10"]
    assert plan.already_exported == {"d-1002:v-2:2026-10": ["exp-earlier"]}
    assert len(plan.all_logbooks) == 2

    everything_exported = plan_export(
        trips[1:],
        OCTOBER,
        domain_codes,
        RateTable.default(),
        domain_pay_items,
        domain_employees,
        exported_trips={"t-5": "exp-earlier"},
    )
    (nothing,) = everything_exported.problems
    assert nothing.code == codes.NOTHING_TO_EXPORT
    assert nothing.params == {"from": "2026-10-01", "to": "2026-10-31", "exported": 1}


def test_selected_logbooks_only_and_unknown_ones_named(
    domain_trip, domain_drivers, domain_codes, domain_pay_items, domain_employees
):
    trips = [
        domain_trip("t-1"),
        domain_trip("t-2", driver=domain_drivers["nils"], vehicle_id="v-4"),
    ]
    plan = plan_export(
        trips,
        OCTOBER,
        domain_codes,
        RateTable.default(),
        domain_pay_items,
        domain_employees,
        logbook_ids=["d-1001:v-1:2026-10", "d-9:v-9:2026-10"],
    )
    assert [problem.code for problem in plan.problems] == [codes.LOGBOOK_NOT_FOUND]
    assert plan.problems[0].items == [{"logbook_id": "d-9:v-9:2026-10"}]
    assert [logbook.logbook_id for logbook in plan.logbooks] == ["d-1001:v-1:2026-10"]
    assert len(plan.all_logbooks) == 2  # Nils's logbook is found but not selected, so it does not block


def test_a_period_without_business_trips_says_so(
    domain_trip, domain_codes, domain_pay_items, domain_employees
):
    plan = plan_export(
        [domain_trip("t-1", trip_class="PrivateTrip")],
        OCTOBER,
        domain_codes,
        RateTable.default(),
        domain_pay_items,
        domain_employees,
    )
    assert [problem.code for problem in plan.problems] == [codes.NOTHING_TO_EXPORT]
    assert not plan.ready


def test_a_missing_rate_stops_the_export(domain_trip, domain_codes, domain_pay_items, domain_employees):
    rates = RateTable([Rate(Category.MILEAGE, date(2027, 1, 1), Decimal("5.50"))])
    plan = plan_export([domain_trip("t-1")], OCTOBER, domain_codes, rates, domain_pay_items, domain_employees)
    assert [problem.code for problem in plan.problems] == [codes.RATE_MISSING]
    assert [(item["table"], item["category"], item["dates"]) for item in plan.problems[0].items] == [
        ("paid", "mileage", ["2026-10-02"])
    ]
    assert plan.lines == []


def test_pay_item_kinds_decide_what_a_line_sends(domain_pay_items):
    assert domain_pay_items["710"].sends_quantity and domain_pay_items["710"].sends_rate
    assert domain_pay_items["720"].sends_amount and not domain_pay_items["720"].sends_quantity
    fixed = PayItem("p", "701", "Km fast sats", True, "QuantityAndFixedRate")
    assert fixed.sends_quantity and fixed.sends_rate  # the line's Rate overrides the pay item's own
    assert fixed.accepts(Category.MILEAGE) and not fixed.accepts(Category.TOLL)
