"""The payroll rules a Norwegian payroll department signs off (issue 14), each with figures computed by hand.

Sources: the state rates and Skatteetaten's tax-free rates 2024-2026 (own car 4.90 / 5.00 / 5.30, tax-free 3.50,
supplements 1.00), Skatteetaten's one supplement for equipment and material, skattebetalingsforskriften
§ 5-6-12 (passengers' names), and PowerOffice Go's ProcessingType descriptions (a line's Rate overrides a
fixed-rate pay item's own rate; ReportingZeroAsQuantity reports 0 km).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from abax_payroll.domain import problems as codes
from abax_payroll.domain.categories import Category
from abax_payroll.domain.lines import TAXABLE_EXCESS, group_lines, nok
from abax_payroll.domain.logbooks import build_logbooks
from abax_payroll.domain.payroll import PayItem
from abax_payroll.domain.period import Period
from abax_payroll.domain.plan import plan_export
from abax_payroll.domain.rates import Rate, RateMissing, RateTable

D = Decimal
OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))
WINTER = Period(date(2026, 12, 1), date(2027, 1, 31))

WITHHOLDING = PayItem("p-710", "710", "Kilometergodtgjørelse", True, "QuantityAndRateSubjectToWithholdingTax")
PLAIN_KM = PayItem("p-710", "710", "Kilometergodtgjørelse", True, "QuantityAndRate")
SUPPLEMENTS = PayItem("p-711", "711", "Tillegg", True, "QuantityAndRate")
TAXABLE = PayItem("p-716", "716", "Skattepliktig km-godtgjørelse", True, "QuantityAndRate")
TAXABLE_AMOUNT = PayItem("p-717", "717", "Skattepliktig del", True, "FixedAmount")


def _codes(**overrides: str | None) -> dict[Category, str | None]:
    codes = {category: None for category in Category}
    codes.update({Category.MILEAGE: "710", Category.PASSENGER: "711", Category.TRAILER: "711",
                  Category.FOREST_ROAD: "711", Category.HEAVY_LOAD: "711"})  # fmt: skip
    codes.update({Category(name): value for name, value in overrides.items()})
    return codes


def _plan(
    trips, pay_items, domain_employees, period=OCTOBER, codes=None, rates=None, tax_free=None, excess=None
):
    return plan_export(
        trips,
        period,
        codes or _codes(),
        rates or RateTable.default(),
        pay_items,
        domain_employees,
        tax_free=tax_free,
        taxable_excess_code=excess,
    )


# ---- 1. rates have years ----------------------------------------------------------------------------------


def test_each_default_state_rate_covers_its_own_year_only():
    rates = RateTable.default()
    assert rates.rate_for(Category.MILEAGE, date(2024, 12, 31)) == D("4.90")
    assert rates.rate_for(Category.MILEAGE, date(2025, 1, 1)) == D("5.00")
    assert rates.rate_for(Category.MILEAGE, date(2026, 12, 31)) == D("5.30")
    assert rates.rate_for(Category.HEAVY_LOAD, date(2026, 12, 31)) == D("1.00")
    for category in (Category.MILEAGE, Category.PASSENGER, Category.TRAILER):
        with pytest.raises(RateMissing):  # the 2027 gap: 5.30 does not carry on into a year not agreed
            rates.rate_for(category, date(2027, 1, 1))
    tax_free = RateTable.default_tax_free()
    assert tax_free.rate_for(Category.MILEAGE, date(2024, 1, 1)) == D("3.50")
    assert tax_free.rate_for(Category.MILEAGE, date(2026, 12, 31)) == D("3.50")
    assert tax_free.rate_for(Category.PASSENGER, date(2026, 6, 1)) == D("1.00")
    with pytest.raises(RateMissing):
        tax_free.rate_for(Category.MILEAGE, date(2027, 1, 1))


def test_a_rate_without_an_end_lasts_until_the_next_and_overlaps_are_refused():
    open_ended = RateTable([Rate(Category.MILEAGE, date(2026, 1, 1), D("5.30"))])
    assert open_ended.rate_for(Category.MILEAGE, date(2030, 6, 1)) == D("5.30")
    with pytest.raises(ValueError, match="cover 2026-06-01"):
        RateTable(
            [
                Rate(Category.MILEAGE, date(2026, 1, 1), D("5.30"), date(2026, 12, 31)),
                Rate(Category.MILEAGE, date(2026, 6, 1), D("5.50")),
            ]
        )
    with pytest.raises(ValueError, match="ends before it starts"):
        RateTable([Rate(Category.MILEAGE, date(2026, 2, 1), D("5.30"), date(2026, 1, 31))])


def test_next_year_uncovered_names_the_categories_still_without_a_rate():
    first, last = date(2027, 1, 1), date(2027, 12, 31)
    assert RateTable.default().uncovered(first, last) == [
        Category.MILEAGE, Category.PASSENGER, Category.TRAILER, Category.FOREST_ROAD, Category.HEAVY_LOAD
    ]  # fmt: skip
    with_2027 = RateTable([*RateTable.default().entries(), Rate(Category.MILEAGE, first, D("5.50"), last)])
    assert Category.MILEAGE not in with_2027.uncovered(first, last)
    half_year = RateTable(
        [*RateTable.default().entries(), Rate(Category.MILEAGE, first, D("5.50"), date(2027, 6, 30))]
    )
    assert Category.MILEAGE in half_year.uncovered(first, last)


def test_trips_in_the_2027_gap_are_a_blocking_rate_missing_naming_category_and_dates(
    domain_trip, domain_employees
):
    trips = [
        domain_trip("t-1", started="2026-12-30T08:00:00Z", km="20"),
        domain_trip("t-2", started="2027-01-04T08:00:00Z", km="30"),
        domain_trip("t-3", started="2027-01-15T08:00:00Z", km="40"),
    ]
    plan = _plan(trips, {"710": WITHHOLDING, "711": SUPPLEMENTS}, domain_employees, period=WINTER)
    assert not plan.ready
    (missing,) = [problem for problem in plan.problems if problem.code == codes.RATE_MISSING]
    assert missing.severity == "error"
    assert [
        (item["table"], item["category"], item["from"], item["to"], item["dates"]) for item in missing.items
    ] == [
        ("paid", "mileage", "2027-01-04", "2027-01-15", ["2027-01-04", "2027-01-15"]),
        ("tax_free", "mileage", "2027-01-04", "2027-01-15", ["2027-01-04", "2027-01-15"]),
    ]
    assert "mileage 2027-01-04 to 2027-01-15" in missing.message


def test_new_year_splits_lines_with_their_own_dates_rates_and_tax_split(domain_trip, domain_employees):
    year_2027 = (date(2027, 1, 1), date(2027, 12, 31))
    rates = RateTable(
        [*RateTable.default().entries(), Rate(Category.MILEAGE, *year_2027[:1], D("5.50"), year_2027[1])]
    )
    tax_free = RateTable(
        [
            *RateTable.default_tax_free().entries(),
            Rate(Category.MILEAGE, year_2027[0], D("3.50"), year_2027[1]),
        ],
        table="tax_free",
    )
    trips = [
        domain_trip("t-1", started="2026-12-03T08:00:00Z", km="60"),
        domain_trip("t-2", started="2026-12-31T09:00:00Z", km="40"),  # 31 Dec in Oslo: 5.30
        domain_trip("t-3", started="2026-12-31T23:30:00Z", km="25.5"),  # 1 Jan 00:30 in Oslo: 5.50
        domain_trip("t-4", started="2027-01-03T08:00:00Z", km="14.5"),
    ]
    plan = _plan(
        trips,
        {"710": WITHHOLDING, "711": SUPPLEMENTS},
        domain_employees,
        WINTER,
        rates=rates,
        tax_free=tax_free,
    )
    assert plan.ready, plan.problems
    summary = [
        (
            line.rate,
            line.quantity,
            line.amount,
            line.tax_free_amount,
            line.taxable_amount,
            line.first_date,
            line.last_date,
        )
        for line in plan.lines
    ]
    assert summary == [
        # 100 km x 5.30 = 530.00; tax-free 100 x 3.50 = 350.00; taxable 530.00 - 350.00 = 180.00
        (
            D("5.30"),
            D("100.00"),
            D("530.00"),
            D("350.00"),
            D("180.00"),
            date(2026, 12, 3),
            date(2026, 12, 31),
        ),
        # 40 km x 5.50 = 220.00; tax-free 40 x 3.50 = 140.00; taxable 80.00
        (D("5.50"), D("40.00"), D("220.00"), D("140.00"), D("80.00"), date(2027, 1, 1), date(2027, 1, 3)),
    ]
    assert (
        plan.lines[0].comment()
        == "ABAX Kilometergodtgjørelse 03.12.2026-31.12.2026: 100,00 km à 5,30, 2 turer"
    )
    assert (
        plan.lines[1].comment()
        == "ABAX Kilometergodtgjørelse 01.01.2027-03.01.2027: 40,00 km à 5,50, 2 turer"
    )


# ---- 2. Go pays what the preview shows ---------------------------------------------------------------------


def test_a_fixed_rate_pay_item_gets_the_rate_and_the_preview_says_its_own_rate_differs(
    domain_trip, domain_employees
):
    fixed = PayItem("p-718", "718", "Passasjertillegg fast sats", True, "QuantityAndFixedRate", D("0.80"))
    trips = [
        domain_trip(
            "t-1", km="50", extras={"passenger_km": "50", "passenger_names": ("Kari Hansen", "Per Olsen")}
        )
    ]
    plan = _plan(trips, {"710": WITHHOLDING, "711": SUPPLEMENTS, "718": fixed}, domain_employees,
                 codes=_codes(passenger="718"))  # fmt: skip
    assert plan.ready, plan.problems
    (passenger,) = [line for line in plan.lines if line.pay_item_code == "718"]
    # 50 km x 2 named passengers = 100 passenger-km x 1.00 = 100.00; the pay item alone would pay 0.80 = 80.00
    assert (passenger.quantity, passenger.rate, passenger.amount) == (D("100.00"), D("1.00"), D("100.00"))
    assert passenger.post_fields(fixed) == {"Quantity": D("100.00"), "Rate": D("1.00")}
    assert passenger.pay_item_rate == D("0.80")
    (note,) = [problem for problem in plan.problems if problem.code == codes.PAY_ITEM_RATE_OVERRIDDEN]
    assert note.severity == "warning"
    assert note.items == [{"code": "718", "pay_item_rate": "0.80", "rate": "1.00", "employees": ["1001"]}]


def test_a_fixed_rate_pay_item_whose_own_rate_is_the_table_rate_has_no_note(domain_trip, domain_employees):
    fixed = PayItem("p-718", "718", "Passasjertillegg fast sats", True, "QuantityAndFixedRate", D("1.00"))
    trips = [domain_trip("t-1", km="50", extras={"passenger_km": "50", "passenger_names": ("Kari Hansen",)})]
    plan = _plan(
        trips,
        {"710": WITHHOLDING, "711": SUPPLEMENTS, "718": fixed},
        domain_employees,
        codes=_codes(passenger="718"),
    )
    assert plan.ready and codes.PAY_ITEM_RATE_OVERRIDDEN not in [problem.code for problem in plan.problems]


@pytest.mark.parametrize(
    "processing_type",
    ["QuantityAndRateReportingZeroAsQuantity", "QuantityAndFixedRateReportingZeroAsQuantity"],
)
def test_pay_items_reporting_zero_km_do_not_fit_a_km_category(domain_trip, domain_employees, processing_type):
    zero = PayItem("p-719", "719", "Km (rapporterer 0)", True, processing_type, D("5.30"))
    plan = _plan([domain_trip("t-1", km="10")], {"719": zero, "711": SUPPLEMENTS}, domain_employees,
                 codes=_codes(mileage="719"))  # fmt: skip
    (problem,) = [problem for problem in plan.problems if problem.code == codes.PAY_ITEM_INCOMPATIBLE]
    assert problem.items[0]["code"] == "719" and "reports 0 as the quantity" in problem.items[0]["reason"]
    assert not plan.ready


# ---- 3. tax: the taxable excess is withheld ----------------------------------------------------------------


def test_a_withholding_pay_item_takes_the_whole_line_and_go_splits_it(domain_trip, domain_employees):
    trips = [domain_trip("t-1", km="118.2"), domain_trip("t-2", started="2026-10-20T08:00:00Z", km="200")]
    plan = _plan(trips, {"710": WITHHOLDING, "711": SUPPLEMENTS}, domain_employees)
    assert plan.ready, plan.problems
    (line,) = plan.lines
    # 318.20 km x 5.30 = 1686.46; tax-free 318.20 x 3.50 = 1113.70; taxable 1686.46 - 1113.70 = 572.76
    assert (line.amount, line.tax_free_amount, line.taxable_amount) == (
        D("1686.46"),
        D("1113.70"),
        D("572.76"),
    )
    assert line.post_fields(WITHHOLDING) == {"Quantity": D("318.20"), "Rate": D("5.30")}
    assert line.comment() == "ABAX Kilometergodtgjørelse 02.10.2026-20.10.2026: 318,20 km à 5,30, 2 turer"
    assert line.to_dict()["tax_free_amount"] == "1113.70" and line.to_dict()["taxable_amount"] == "572.76"


def test_a_separate_taxable_excess_pay_item_gets_the_part_above_the_tax_free_rate(
    domain_trip, domain_employees
):
    trips = [domain_trip("t-1", km="33.33")]
    pay_items = {"710": PLAIN_KM, "711": SUPPLEMENTS, "716": TAXABLE}
    plan = _plan(trips, pay_items, domain_employees, excess="716")
    assert plan.ready, plan.problems
    free, excess = plan.lines
    # 33.33 km x 3.50 = 116.655 -> 116.66 tax-free; 33.33 x (5.30 - 3.50 = 1.80) = 59.994 -> 59.99 taxable
    assert (free.pay_item_code, free.quantity, free.rate, free.amount) == (
        "710",
        D("33.33"),
        D("3.50"),
        D("116.66"),
    )
    assert (free.tax_free_amount, free.taxable_amount) == (D("116.66"), D("0.00"))
    assert (excess.pay_item_code, excess.kind, excess.quantity, excess.rate, excess.amount) == (
        "716", TAXABLE_EXCESS, D("33.33"), D("1.80"), D("59.99")
    )  # fmt: skip
    assert (excess.tax_free_amount, excess.taxable_amount) == (D("0.00"), D("59.99"))
    assert free.post_fields(PLAIN_KM) == {"Quantity": D("33.33"), "Rate": D("3.50")}
    assert excess.post_fields(TAXABLE) == {"Quantity": D("33.33"), "Rate": D("1.80")}
    assert (
        free.comment()
        == "ABAX Kilometergodtgjørelse, trekkfri del 02.10.2026: 33,33 km à 3,50 (av 5,30), 1 tur"
    )
    assert excess.comment() == (
        "ABAX Kilometergodtgjørelse, skattepliktig del 02.10.2026: 33,33 km à 1,80 (5,30 - 3,50 trekkfritt), 1 tur"
    )
    references = {free.external_import_reference("e"), excess.external_import_reference("e")}
    assert len(references) == 2


def test_the_taxable_excess_on_an_amount_pay_item_is_sent_as_an_amount(domain_trip, domain_employees):
    plan = _plan([domain_trip("t-1", km="100")], {"710": PLAIN_KM, "717": TAXABLE_AMOUNT}, domain_employees,
                 excess="717")  # fmt: skip
    (excess,) = [line for line in plan.lines if line.kind == TAXABLE_EXCESS]
    assert excess.post_fields(TAXABLE_AMOUNT) == {"Amount": D("180.00")}  # 100 km x 1.80


def test_a_km_line_above_the_tax_free_rate_with_nothing_to_withhold_is_blocked(domain_trip, domain_employees):
    fixed = PayItem("p-715", "715", "Km fast sats", True, "QuantityAndFixedRate", D("5.30"))
    plan = _plan([domain_trip("t-1", km="100")], {"715": fixed, "711": SUPPLEMENTS}, domain_employees,
                 codes=_codes(mileage="715"))  # fmt: skip
    assert not plan.ready
    (problem,) = [problem for problem in plan.problems if problem.code == codes.TAXABLE_EXCESS_NOT_HANDLED]
    assert problem.severity == "error"
    (item,) = problem.items
    assert (item["code"], item["rates"], item["tax_free_rates"], item["taxable_amount"]) == (
        "715",
        ["5.30"],
        ["3.50"],
        "180.00",
    )
    assert "QuantityAndRateSubjectToWithholdingTax" in item["fix"] and "taxable excess" in item["fix"]


def test_supplements_at_the_state_rate_are_tax_free(domain_trip, domain_employees):
    trips = [domain_trip("t-1", km="80", extras={"passenger_km": "80", "passenger_names": ("Kari Hansen",)})]
    plan = _plan(trips, {"710": WITHHOLDING, "711": SUPPLEMENTS}, domain_employees)
    (supplement,) = [line for line in plan.lines if line.pay_item_code == "711"]
    assert (supplement.amount, supplement.tax_free_amount, supplement.taxable_amount) == (
        D("80.00"),
        D("80.00"),
        D("0.00"),
    )


# ---- 4. supplements are bounded by the trip ---------------------------------------------------------------


def test_stacked_equipment_supplements_are_paid_once_per_driven_km(domain_trip):
    trip = domain_trip("t-1", km="40", extras={"trailer_km": "30", "heavy_load_km": "30"})
    quantities = trip.quantities()
    # 30 km trailer, then heavy load on the 10 km left: 40 km of equipment on a 40 km trip, not 60
    assert (quantities[Category.TRAILER], quantities[Category.HEAVY_LOAD]) == (D("30"), D("10"))
    assert trip.capped_supplements() == [(Category.HEAVY_LOAD, D("30"), D("10"))]
    stacked = domain_trip(
        "t-2", km="40", extras={"trailer_km": "25", "caravan_km": "25", "heavy_load_km": "20"}
    )
    assert stacked.quantities()[Category.TRAILER] == D("40")  # 25 + 25 = 50 capped at 40
    assert Category.HEAVY_LOAD not in stacked.quantities()  # no km left


def test_no_supplement_covers_more_km_than_the_trip(domain_trip):
    trip = domain_trip(
        "t-1",
        km="40",
        extras={"passenger_km": "60", "passenger_names": ("Kari Hansen", "Per Olsen"), "bad_road_km": "55"},
    )
    # passenger: 40 km x 2 passengers = 80 passenger-km (not 60 x 2 = 120); forest road 40 (not 55)
    assert trip.quantities()[Category.PASSENGER] == D("80")
    assert trip.quantities()[Category.FOREST_ROAD] == D("40")


def test_capped_supplements_make_the_line_and_a_warning_in_the_preview(domain_trip, domain_employees):
    trips = [domain_trip("t-1", km="40", extras={"trailer_km": "30", "heavy_load_km": "30"})]
    plan = _plan(trips, {"710": WITHHOLDING, "711": SUPPLEMENTS}, domain_employees)
    assert plan.ready
    (supplement,) = [line for line in plan.lines if line.pay_item_code == "711"]
    assert (supplement.quantity, supplement.amount) == (D("40.00"), D("40.00"))  # 40 km x 1.00, not 60.00
    (capped,) = [problem for problem in plan.problems if problem.code == codes.SUPPLEMENT_CAPPED]
    assert capped.severity == "warning"
    assert [
        (i["trip_id"], i["category"], i["claimed_km"], i["paid_km"], i["distance_km"]) for i in capped.items
    ] == [("t-1", "heavy_load", "30.00", "10.00", "40.00")]


# ---- 5. severity and passenger names --------------------------------------------------------------------


def test_passenger_km_without_names_is_a_warning_and_the_supplement_is_taxable(domain_trip, domain_employees):
    # Issue 22, finding 2: 30 passenger km without names. Paid 30 × 1.00 = 30.00 for one passenger, as before;
    # the names are a condition of the tax-free supplement, so all 30.00 is taxable (before: 30.00 tax-free).
    trips = [domain_trip("t-1", km="30", extras={"passenger_km": "30"})]
    plan = _plan(
        trips, {"710": WITHHOLDING, "711": SUPPLEMENTS, "716": TAXABLE}, domain_employees, excess="716"
    )
    assert plan.ready
    assert plan.errors == []
    (warning,) = plan.warnings
    assert warning.code == codes.PASSENGER_NAMES_MISSING
    assert warning.to_dict()["severity"] == "warning"
    assert warning.items[0]["trip_id"] == "t-1" and warning.items[0]["passenger_km"] == "30.00"
    (passenger,) = [line for line in plan.lines if Category.PASSENGER in line.categories]
    assert (
        passenger.to_dict()["warnings"] == []
    )  # the warning is on the problem; this line is the taxable part
    assert (passenger.pay_item_code, passenger.quantity, passenger.rate, passenger.amount) == (
        "716",
        D("30.00"),
        D("1.00"),
        D("30.00"),
    )
    assert (passenger.tax_free_amount, passenger.taxable_amount) == (D("0"), D("30.00"))
    (mileage,) = [line for line in plan.lines if line.pay_item_code == "710"]
    assert (mileage.amount, mileage.tax_free_amount) == (D("159.00"), D("105.00"))  # 30 × 5.30, 30 × 3.50

    # Without a pay item for the taxable part nothing withholds tax on it: blocked, and said so.
    plan = _plan(trips, {"710": WITHHOLDING, "711": SUPPLEMENTS}, domain_employees)
    assert [problem.code for problem in plan.errors] == [codes.TAXABLE_EXCESS_NOT_HANDLED]
    assert plan.errors[0].items[0]["code"] == "711" and plan.errors[0].items[0]["taxable_amount"] == "30.00"


def test_an_undocumented_trip_is_paid_but_wholly_taxable_with_a_warning(domain_trip, domain_employees):
    # Issue 22, finding 1: 50 km, no purpose and no addresses. Paid 50 × 5.30 = 265.00 as before; before the
    # fix 175.00 (50 × 3.50) of it was reported tax-free with no warning. Now tax-free 0, taxable 265.00.
    trips = [
        domain_trip(
            "t-1", km="50", started="2026-10-05T07:00:00Z", purpose="", start_address="", end_address=""
        ),
        domain_trip("t-2", km="20", started="2026-10-06T07:00:00Z"),  # documented: 70.00 tax-free of 106.00
    ]
    pay_items = {"710": WITHHOLDING, "711": SUPPLEMENTS, "716": TAXABLE}
    plan = _plan(trips, pay_items, domain_employees, excess="716")
    assert plan.ready and plan.errors == []
    (warning,) = plan.warnings
    assert warning.code == codes.TRIP_UNDOCUMENTED and not warning.blocking
    (item,) = warning.items
    assert (item["trip_id"], item["date"], item["driver_name"], item["km"]) == (
        "t-1",
        "2026-10-05",
        "Ola Nordmann",
        "50.00",
    )
    assert item["missing"] == ["purpose", "start_address", "end_address"]
    assert "ABAX" in item["fix"]
    by_kind = {(line.pay_item_code, line.rate): line for line in plan.lines}
    assert by_kind[("716", D("5.30"))].amount == D("265.00")  # the whole allowance, on the withholding item
    assert by_kind[("716", D("5.30"))].tax_free_amount == D("0")
    assert by_kind[("710", D("5.30"))].amount == D("106.00")  # t-2 only: Go splits 70.00 / 36.00 itself
    assert sum((line.amount for line in plan.lines), D(0)) == D("371.00")  # 265.00 + 106.00: all paid
    assert sum((line.tax_free_amount for line in plan.lines), D(0)) == D("70.00")

    # A plain (non-withholding) km pay item splits through the taxable-excess item the same way.
    plan = _plan(trips, {"710": PLAIN_KM, "711": SUPPLEMENTS, "716": TAXABLE}, domain_employees, excess="716")
    assert sorted((line.pay_item_code, line.quantity, line.rate, line.amount) for line in plan.lines) == [
        ("710", D("20.00"), D("3.50"), D("70.00")),
        ("716", D("20.00"), D("1.80"), D("36.00")),
        ("716", D("50.00"), D("5.30"), D("265.00")),
    ]


def test_the_company_can_block_undocumented_trips(domain_trip, domain_employees):
    trips = [domain_trip("t-1", km="12", purpose="  ", end_address="")]
    plan = plan_export(trips, OCTOBER, _codes(), RateTable.default(), {"710": WITHHOLDING, "711": SUPPLEMENTS},
                       domain_employees, undocumented_trips="block")  # fmt: skip
    (error,) = [problem for problem in plan.errors if problem.code == codes.TRIP_UNDOCUMENTED]
    assert error.blocking and error.items[0]["missing"] == ["purpose", "end_address"]
    assert not plan.ready


def test_a_business_trip_in_a_vehicle_of_unknown_class_is_left_out_with_a_warning(
    domain_trip, domain_employees
):
    # Issue 22, finding 3: before, the clerk saw only "no delivered logbooks" and the driver was underpaid.
    trips = [
        domain_trip("t-1", km="42.5", vehicle_id="v-9", vehicle_class="Unknown", vehicle_alias="Olas Tesla"),
        domain_trip("t-2", km="7.5", vehicle_id="v-9", vehicle_class="Unknown", vehicle_alias="Olas Tesla"),
        domain_trip("t-3", km="99", vehicle_id="v-8", vehicle_class="Company"),  # excluded as before, no word
    ]
    plan = _plan(trips, {"710": WITHHOLDING, "711": SUPPLEMENTS}, domain_employees)
    assert plan.lines == [] and plan.logbooks == []
    (warning,) = [problem for problem in plan.problems if problem.code == codes.VEHICLE_CLASS_UNKNOWN]
    assert not warning.blocking
    (item,) = warning.items
    assert (item["vehicle_alias"], item["trips"], item["km"], item["trip_ids"]) == (
        "Olas Tesla",
        2,
        "50.00",
        ["t-1", "t-2"],
    )
    assert "class" in item["fix"] and "ABAX" in item["fix"]
    assert warning.params["km"] == "50.00"


def test_the_passenger_supplement_per_passenger_by_default_or_per_km_with_the_tax_free_part_per_passenger(
    domain_trip, domain_employees
):
    # 40 km with two named passengers. Per passenger (the state agreement): 80 passenger-km × 1.00 = 80.00,
    # all tax-free. Per km: 40 × 1.00 = 40.00 paid, tax-free still per passenger (2 × 40 × 1.00 = 80.00 ≥ 40.00).
    trips = [domain_trip("t-1", km="40", extras={"passenger_km": "40", "passenger_names": ("Kari", "Per")})]
    pay_items = {"710": WITHHOLDING, "711": SUPPLEMENTS}
    (line,) = [
        line for line in _plan(trips, pay_items, domain_employees).lines if line.pay_item_code == "711"
    ]
    assert (line.quantity, line.amount, line.tax_free_amount) == (D("80.00"), D("80.00"), D("80.00"))
    assert RateTable.default().passenger_basis == "per_passenger"

    per_km = RateTable(RateTable.default().entries(), passenger_basis="per_km")
    (line,) = [line for line in _plan(trips, pay_items, domain_employees, rates=per_km).lines
               if line.pay_item_code == "711"]  # fmt: skip
    assert (line.quantity, line.amount, line.tax_free_amount) == (D("40.00"), D("40.00"), D("40.00"))
    # A company paying 1.80 per km: 72.00, of which 2 × 40 × 1.00 = 80.00 could be tax-free, so all 72.00 is.
    rich = RateTable(
        [rate if rate.category is not Category.PASSENGER else replace(rate, rate=D("1.80"))
         for rate in RateTable.default().entries()],
        passenger_basis="per_km",
    )  # fmt: skip
    (line,) = [line for line in _plan(trips, pay_items, domain_employees, rates=rich).lines
               if line.pay_item_code == "711"]  # fmt: skip
    assert (line.amount, line.tax_free_amount, line.taxable_amount) == (D("72.00"), D("72.00"), D("0.00"))


def test_errors_carry_their_severity():
    problem = codes.Problem(codes.EMPLOYEE_NOT_FOUND, "x", [])
    assert problem.to_dict()["severity"] == "error" and problem.blocking
    assert codes.Problem.from_dict({"code": "X", "message": "m"}).severity == "error"  # records from before


# ---- 6. the line as the employee reads it -----------------------------------------------------------------


def test_norwegian_number_format():
    assert nok(D("318.2")) == "318,20"
    assert nok(D("1686.455")) == "1 686,46"
    assert nok(D("1234567.5")) == "1 234 567,50"
    assert nok(D("0")) == "0,00"


def test_outlay_comment_in_norwegian_with_the_lines_own_dates(domain_trip, domain_codes):
    trips = [
        domain_trip("t-1", started="2026-10-05T08:00:00Z", expenses={"ferry": "1184.5"}),
        domain_trip("t-2", started="2026-10-19T08:00:00Z", expenses={"ferry": "100"}),
    ]
    (ferry,) = [line for line in group_lines(build_logbooks(trips, OCTOBER), domain_codes, RateTable.default(), OCTOBER)
                if line.pay_item_code == "722"]  # fmt: skip
    assert ferry.comment() == "ABAX Ferje 05.10.2026-19.10.2026: 1 284,50 kr, 2 turer"


# ---- 5. the documentation report --------------------------------------------------------------------------


def test_the_documentation_report_has_one_row_per_trip_and_outlay_with_times_notes_and_vehicle(
    domain_trip, domain_employees
):
    # Issue 22, finding 5: the report lacked departure and arrival time, notes and the vehicle, repeated the km on
    # outlay rows (so summing the km column overcounted) and wrote Måned as "2026-10" (a date in Excel).
    from datetime import datetime

    from abax_payroll.domain.documentation import documentation_rows, report_csv, report_header

    trips = [
        replace(
            domain_trip("t-1", km="100", extras={"passenger_km": "40", "passenger_names": ("Kari Hansen", "@Per Olsen")}),
            purpose="=Montering", notes="+47 Hos Kari AS", vehicle_alias="-Olas Golf",
            ended_at=datetime.fromisoformat("2026-10-02T09:05:00+00:00"),
        ),
        domain_trip("t-2", started="2026-10-20T08:00:00Z", km="18.5", expenses={"ferry": "184"}, vehicle_alias="Golf"),
    ]  # fmt: skip
    codes = _codes(ferry="722")
    pay_items = {
        "710": PLAIN_KM,
        "711": SUPPLEMENTS,
        "716": TAXABLE,
        "722": PayItem("p-722", "722", "Ferje", True, "ExpenseRefund"),
    }
    plan = _plan(trips, pay_items, domain_employees, codes=codes, excess="716")
    assert plan.ready, plan.problems
    rows = documentation_rows(
        plan.logbooks, plan.lines, codes, RateTable.default(), RateTable.default_tax_free()
    )
    summary = [(r["trip_id"], r["kind"], r["km"], r["departure"], r["arrival"], r["amount"], r["tax_free_amount"],
                r["taxable_amount"], sorted(plan.lines[i].pay_item_code for i in r["lines"])) for r in rows]  # fmt: skip
    assert summary == [
        # 100 km × 5.30 = 530.00 (350.00 tax-free, 180.00 taxable) + 40 km × 2 passengers × 1.00 = 80.00 tax-free;
        # 07:31 UTC is 09:31 in Oslo (summer time), arrival 09:05 UTC is 11:05
        ("t-1", "trip", "100.00", "09:31", "11:05", "610.00", "430.00", "180.00", ["710", "711", "716"]),
        # 18.5 km × 5.30 = 98.05: 64.75 tax-free (18.5 × 3.50), 33.30 taxable; no arrival known
        ("t-2", "trip", "18.50", "10:00", "", "98.05", "64.75", "33.30", ["710", "716"]),
        ("t-2", "ferry", None, "10:00", "", "184.00", "184.00", "0.00", ["722"]),  # an outlay row has no km
    ]
    assert rows[0]["supplement_km"] == {"passenger": "80.00"}
    assert rows[0]["passengers"] == ["Kari Hansen", "@Per Olsen"]
    lines = [
        {"pay_item_code": line.pay_item_code, "salary_line_id": 900 + i, "ref": f"R{i}"}
        for i, line in enumerate(plan.lines)
    ]
    header = report_header("=Acme AS", {"from": "2026-10-01", "to": "2026-10-31"}, "20261101T080000Z-0a1b2c3d",
                           "COMPLETED")  # fmt: skip
    text = report_csv(rows, lines, header=header)
    table = [line.split(";") for line in text.lstrip("\ufeff").split("\r\n") if line]
    assert table[:4] == [["Firma", "'=Acme AS"], ["Periode", "01.10.2026–31.10.2026"],
                         ["Eksport", "20261101T080000Z-0a1b2c3d"], ["Status", "COMPLETED"]]  # fmt: skip
    columns = table[4]  # after the header and an empty row
    assert columns[:13] == ["Ansattnummer", "Navn", "Måned", "Dato", "Tur", "Avreise", "Ankomst", "Fra", "Til",
                            "Formål", "Notater", "Kjøretøy", "Kategori"]  # fmt: skip
    first = dict(zip(columns, table[5], strict=True))
    assert (first["Måned"], first["Dato"], first["Avreise"], first["Ankomst"]) == ("oktober 2026", "02.10.2026",
                                                                                 "09:31", "11:05")  # fmt: skip
    # Every cell starting with = + - @ is neutralised, whatever its column.
    assert (first["Formål"], first["Notater"], first["Kjøretøy"]) == (
        "'=Montering",
        "'+47 Hos Kari AS",
        "'-Olas Golf",
    )
    assert first["Passasjerer"] == "Kari Hansen, @Per Olsen"  # not at the cell's start: harmless
    assert (first["Kjørt km"], first["Tillegg km"], first["Sats"]) == ("100,00", "passasjer-km 80,00", "5,30")
    assert (first["Beløp"], first["Trekkfritt"], first["Skattepliktig"]) == ("610,00", "430,00", "180,00")
    assert first["Lønnsart"] == "710 + 711 + 716"
    ferry = dict(zip(columns, table[7], strict=True))
    assert (ferry["Kategori"], ferry["Kjørt km"], ferry["Beløp"]) == ("Ferje", "", "184,00")
    assert sum(Decimal(row["Kjørt km"].replace(",", ".")) for row in (dict(zip(columns, r, strict=True))
               for r in table[5:8]) if row["Kjørt km"]) == D("118.50")  # fmt: skip
    # the employee's month: 610.00 + 98.05 + 184.00 = 892.05, of it 180.00 + 33.30 = 213.30 taxable
    total = dict(zip(columns, table[-1], strict=True))
    assert total["Kategori"] == "Sum oktober 2026"
    assert (total["Beløp"], total["Trekkfritt"], total["Skattepliktig"]) == ("892,05", "678,75", "213,30")


def test_every_csv_cell_that_could_start_a_formula_is_neutralised():
    from abax_payroll.domain.documentation import report_csv

    hostile = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"]
    for value in hostile:
        row = {"employee_number": value, "employee_name": value, "month": "2026-10", "date": "2026-10-01",
               "trip_id": value, "departure": value, "arrival": value, "from": value, "to": value,
               "purpose": value, "notes": value, "vehicle": value, "kind": "trip", "category": "mileage",
               "km": "1.00", "passengers": [value], "supplement_km": {}, "rate": "5.30", "amount": "5.30",
               "tax_free_amount": "3.50", "taxable_amount": "1.80", "lines": [0]}  # fmt: skip
        line = {"pay_item_code": value, "salary_line_id": None, "ref": value}
        text = report_csv([row], [line])
        cells = list(
            __import__("csv").reader(__import__("io").StringIO(text.lstrip("\ufeff")), delimiter=";")
        )[1]
        assert all(not cell or cell[0] not in "=+-@\t\r" for cell in cells), (value, cells)


# ---- the rates screen: in force today, and from December next year's missing rates ---------------------------


def _rates_answer(today: str, table: RateTable | None = None):
    from datetime import datetime
    from types import SimpleNamespace

    from abax_payroll.workflow.configuration import get_rates

    tenants = SimpleNamespace(
        get_rates=lambda tenant_id: table or RateTable.default(),
        get_tax_free_rates=lambda tenant_id: RateTable.default_tax_free(),
    )
    clock = lambda: datetime.fromisoformat(f"{today}T11:00:00+00:00")  # noqa: E731
    return get_rates(SimpleNamespace(store=SimpleNamespace(tenants=tenants), clock=clock), "acme")


def test_the_rates_in_force_today_and_no_warning_before_december():
    answer = _rates_answer("2026-11-30")
    mileage = next(rate for rate in answer["in_force"] if rate["category"] == "mileage")
    assert (mileage["rate"], mileage["valid_from"], mileage["valid_to"], mileage["tax_free_rate"]) == (
        "5.30", "2026-01-01", "2026-12-31", "3.50"
    )  # fmt: skip
    assert answer["warnings"] == []


def test_from_december_next_years_missing_rates_are_a_warning():
    answer = _rates_answer("2026-12-01")
    (warning,) = answer["warnings"]
    assert (warning["code"], warning["severity"], warning["params"]["year"]) == (
        "NEXT_YEAR_RATES_MISSING",
        "warning",
        2027,
    )
    assert warning["params"]["categories"] == ["mileage", "passenger", "trailer", "forest_road", "heavy_load"]
    year = (date(2027, 1, 1), date(2027, 12, 31))
    added = RateTable(
        [
            *RateTable.default().entries(),
            *(Rate(c, year[0], D("1.00"), year[1]) for c in Category if c.is_distance),
        ]
    )
    (still,) = _rates_answer("2026-12-15", added)[
        "warnings"
    ]  # the paid rates are there, the tax-free not yet
    assert still["params"]["categories"] == [] and "mileage" in still["params"]["tax_free_categories"]


# ---- 8. a-melding coding of the pay items (issue 22, finding 4) -----------------------------------------------


def _coded(code, processing, description, tax="NoTax", contribution=False, reported=True):
    return PayItem(f"p-{code}", code, f"Lønnsart {code}", True, processing, benefit_description=description,
                   tax_deduction=tax, employer_contribution_basis=contribution, include_in_income_report=reported)  # fmt: skip


CAR = _coded("710", "QuantityAndRateSubjectToWithholdingTax", "KilometergodtgjoerelseBil", tax="Percentage")
PASSENGER = _coded("711", "QuantityAndRate", "KilometergodtgjoerelsePassasjertillegg")
CAR_SUPPLEMENTS = {
    "trailer": "710",
    "forest_road": "710",
    "heavy_load": "710",
}  # the car's, as the a-melding has it
EXCESS = _coded("716", "QuantityAndRate", None, tax="TaxTable", contribution=True)


def test_passenger_km_on_the_car_pay_item_is_blocked_by_its_a_melding_description(
    domain_trip, domain_employees
):
    trips = [domain_trip("t-1", km="30", extras={"passenger_km": "30", "passenger_names": ("Kari",)})]
    plan = _plan(
        trips,
        {"710": CAR, "711": PASSENGER},
        domain_employees,
        codes=_codes(passenger="710", **CAR_SUPPLEMENTS),
    )
    (error,) = plan.errors
    assert error.code == codes.PAY_ITEM_REPORTING_MISMATCH
    assert [(item["code"], item["category"], item["expected"]) for item in error.items] == [
        ("710", "passenger", "KilometergodtgjoerelsePassasjertillegg")
    ]
    assert _plan(
        trips, {"710": CAR, "711": PASSENGER}, domain_employees, codes=_codes(**CAR_SUPPLEMENTS)
    ).ready


def test_a_taxable_excess_pay_item_without_withholding_or_contribution_is_blocked(
    domain_trip, domain_employees
):
    trips = [domain_trip("t-1", km="10")]
    plain = _coded("710", "QuantityAndRate", "KilometergodtgjoerelseBil")
    untaxed = _coded("716", "QuantityAndRate", None, tax="NoTax", contribution=False)
    plan = _plan(
        trips,
        {"710": plain, "711": PASSENGER, "716": untaxed},
        domain_employees,
        excess="716",
        codes=_codes(**CAR_SUPPLEMENTS),
    )
    (error,) = plan.errors
    assert error.code == codes.PAY_ITEM_REPORTING_MISMATCH and error.items[0]["category"] == "taxable_excess"
    plan = _plan(
        trips,
        {"710": plain, "711": PASSENGER, "716": EXCESS},
        domain_employees,
        excess="716",
        codes=_codes(**CAR_SUPPLEMENTS),
    )
    assert plan.ready and plan.errors == []


def test_a_km_pay_item_without_description_is_a_warning(domain_trip, domain_employees):
    trips = [domain_trip("t-1", km="10")]
    bare = _coded("710", "QuantityAndRateSubjectToWithholdingTax", None, tax="Percentage")
    plan = _plan(trips, {"710": bare, "711": PASSENGER}, domain_employees, codes=_codes(**CAR_SUPPLEMENTS))
    assert plan.ready
    (warning,) = plan.warnings
    assert warning.code == codes.PAY_ITEM_REPORTING_MISMATCH and warning.items[0]["code"] == "710"
    assert warning.items[0]["categories"] == ["mileage", "trailer", "forest_road", "heavy_load"]


def test_the_poweroffice_pay_item_dto_carries_its_a_melding_coding():
    from abax_payroll.poweroffice.dtos import pay_item_from_dto

    item = pay_item_from_dto({"Id": "x", "Code": "711", "Name": "Passasjertillegg", "IsActive": True,
                              "ProcessingType": "QuantityAndRate",
                              "BenefitDescription": "KilometergodtgjoerelsePassasjertillegg", "TaxDeduction": "NoTax",
                              "EmployerContributionBasis": False, "IncludeInIncomeReport": True})  # fmt: skip
    assert item is not None
    assert (item.benefit_description, item.tax_deduction, item.employer_contribution_basis,
            item.include_in_income_report) == ("KilometergodtgjoerelsePassasjertillegg", "NoTax", False, True)  # fmt: skip
