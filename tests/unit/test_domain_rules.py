"""Domain rules a payroll administrator would check by hand: categories, dates, logbooks, rates and lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from abax_payroll.domain.categories import Category
from abax_payroll.domain.lines import group_lines
from abax_payroll.domain.logbooks import build_logbooks
from abax_payroll.domain.money import to_decimal
from abax_payroll.domain.period import InvalidPeriod, Period
from abax_payroll.domain.rates import Rate, RateMissing, RateTable
from abax_payroll.domain.trips import split_passenger_names

OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


# ---- categories -------------------------------------------------------------------------------------


def test_passenger_km_count_once_per_named_passenger(domain_trip):
    trip = domain_trip(
        "t-1",
        km="20",
        extras={"passenger_km": "12.5", "passenger_names": split_passenger_names("Kari Hansen, Per Olsen")},
    )
    assert trip.quantities()[Category.PASSENGER] == Decimal("25.0")


def test_passenger_km_without_names_count_one_passenger(domain_trip):
    trip = domain_trip("t-1", km="20", extras={"passenger_km": "12.5"})
    assert trip.quantities()[Category.PASSENGER] == Decimal("12.5")


def test_passenger_names_are_split_on_commas_and_trimmed():
    assert split_passenger_names(" Kari Hansen ,Per Olsen,, ") == ("Kari Hansen", "Per Olsen")
    assert split_passenger_names("") == ()
    assert split_passenger_names(None) == ()


def test_trailer_counts_trailer_and_caravan_km(domain_trip):
    trip = domain_trip("t-1", km="120", extras={"trailer_km": "10.5", "caravan_km": "80"})
    assert trip.quantities()[Category.TRAILER] == Decimal("90.5")


def test_forest_road_and_heavy_load_come_from_their_own_supplements(domain_trip):
    trip = domain_trip("t-1", km="120", extras={"bad_road_km": "7.4", "heavy_load_km": "60.1"})
    assert trip.quantities()[Category.FOREST_ROAD] == Decimal("7.4")
    assert trip.quantities()[Category.HEAVY_LOAD] == Decimal("60.1")


def test_toll_is_charge_plus_admin_fee(domain_trip):
    trip = domain_trip("t-1", expenses={"toll_charge": "112", "toll_road_admin": "4.50"})
    assert trip.quantities()[Category.TOLL] == Decimal("116.50")


def test_parking_never_refunds_what_the_employer_paid_with_easypark_corporate(domain_trip):
    trip = domain_trip(
        "t-1", expenses={"parking": "90", "easy_park_private": "35.50", "easy_park_corporate": "120"}
    )
    assert trip.quantities()[Category.PARKING] == Decimal("125.50")


def test_only_corporate_parking_means_no_parking_category(domain_trip):
    trip = domain_trip("t-1", expenses={"easy_park_corporate": "120"})
    assert Category.PARKING not in trip.quantities()


def test_ferry_and_mileage(domain_trip):
    quantities = domain_trip("t-1", km="18.5", expenses={"ferry": "184"}).quantities()
    assert quantities == {Category.MILEAGE: Decimal("18.5"), Category.FERRY: Decimal("184")}


def test_only_business_trips_in_private_cars_are_reimbursable(domain_trip):
    assert domain_trip("t-1").reimbursable
    assert not domain_trip("t-2", vehicle_class="Company").reimbursable
    assert not domain_trip("t-3", trip_class="PrivateTrip").reimbursable
    assert not domain_trip("t-4", trip_class="Commute").reimbursable


# ---- dates --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("started", "expected"),
    [
        ("2026-10-31T23:30:00Z", date(2026, 11, 1)),  # winter time, UTC+1
        ("2026-10-31T22:59:59Z", date(2026, 10, 31)),
        ("2026-06-30T22:30:00Z", date(2026, 7, 1)),  # summer time, UTC+2
        ("2026-06-30T21:59:00Z", date(2026, 6, 30)),
        ("2025-12-31T23:00:00Z", date(2026, 1, 1)),
    ],
)
def test_the_payroll_date_is_the_start_in_oslo_time(domain_trip, started, expected):
    assert domain_trip("t-1", started=started).date == expected


def test_period_windows_cover_the_period_without_overlap():
    period = Period(date(2026, 1, 1), date(2026, 12, 31))
    windows = period.windows(89)
    assert windows[0].start == period.start and windows[-1].end == period.end
    assert all(window.days <= 89 for window in windows)
    assert all(
        b.start == a.end.fromordinal(a.end.toordinal() + 1)
        for a, b in zip(windows, windows[1:], strict=False)
    )


def test_period_rejects_reversed_and_overlong_ranges():
    with pytest.raises(InvalidPeriod):
        Period(date(2026, 10, 31), date(2026, 10, 1))
    with pytest.raises(InvalidPeriod):
        Period(date(2025, 1, 1), date(2026, 6, 30))
    with pytest.raises(InvalidPeriod):
        Period.parse("2026-10-01", "31.10.2026")


def test_money_rejects_what_is_not_a_finite_number():
    assert to_decimal(0.1) == Decimal("0.1")
    for bad in (float("nan"), float("inf"), "NaN", True, "abc", None, [1]):
        with pytest.raises(ValueError):
            to_decimal(bad)


# ---- logbooks -------------------------------------------------------------------------------------------


def test_logbooks_are_per_driver_private_vehicle_and_oslo_month(domain_trip, domain_drivers):
    kari = domain_drivers["kari"]
    trips = [
        domain_trip("t-1", started="2026-10-02T07:00:00Z"),
        domain_trip("t-2", started="2026-10-20T07:00:00Z"),
        domain_trip("t-3", started="2026-10-31T23:30:00Z"),  # 1 November in Oslo
        domain_trip("t-4", driver=kari, vehicle_id="v-2", started="2026-10-05T07:00:00Z"),
        domain_trip("t-5", vehicle_id="v-900", vehicle_class="Company"),
        domain_trip("t-6", trip_class="PrivateTrip"),
    ]
    logbooks = build_logbooks(trips, Period(date(2026, 10, 1), date(2026, 11, 30)))
    assert [(lb.logbook_id, [t.trip_id for t in lb.trips]) for lb in logbooks] == [
        ("d-1001:v-1:2026-10", ["t-1", "t-2"]),
        ("d-1001:v-1:2026-11", ["t-3"]),
        ("d-1002:v-2:2026-10", ["t-4"]),
    ]


def test_a_logbook_partly_inside_the_period_contributes_only_its_trips_inside(domain_trip):
    trips = [
        domain_trip(f"t-{day}", started=f"2026-10-{day:02d}T08:00:00Z", km="10") for day in (5, 12, 19, 26)
    ]
    (logbook,) = build_logbooks(trips, Period(date(2026, 10, 10), date(2026, 10, 20)))
    assert logbook.logbook_id == "d-1001:v-1:2026-10"
    assert [trip.trip_id for trip in logbook.trips] == ["t-12", "t-19"]
    assert logbook.km == Decimal("20")


def test_the_october_export_leaves_out_a_trip_starting_on_1_november_in_oslo(domain_trip):
    trips = [
        domain_trip("t-1", started="2026-10-31T22:30:00Z"),
        domain_trip("t-2", started="2026-10-31T23:30:00Z"),
    ]
    (logbook,) = build_logbooks(trips, OCTOBER)
    assert [trip.trip_id for trip in logbook.trips] == ["t-1"]


# ---- rates ------------------------------------------------------------------------------------------------


def test_rates_are_keyed_by_valid_from():
    rates = RateTable.default()
    assert rates.rate_for(Category.MILEAGE, date(2025, 12, 31)) == Decimal("5.00")
    assert rates.rate_for(Category.MILEAGE, date(2026, 1, 1)) == Decimal("5.30")
    assert rates.rate_for(Category.PASSENGER, date(2026, 1, 1)) == Decimal("1.00")
    with pytest.raises(RateMissing):
        rates.rate_for(Category.MILEAGE, date(2023, 12, 31))


def test_rate_table_refuses_outlay_rates_negative_rates_and_duplicates():
    with pytest.raises(ValueError):
        RateTable([Rate(Category.TOLL, date(2026, 1, 1), Decimal("1"))])
    with pytest.raises(ValueError):
        RateTable([Rate(Category.MILEAGE, date(2026, 1, 1), Decimal("-1"))])
    with pytest.raises(ValueError):
        RateTable(
            [
                Rate(Category.MILEAGE, date(2026, 1, 1), Decimal("1")),
                Rate(Category.MILEAGE, date(2026, 1, 1), Decimal("2")),
            ]
        )


def test_an_export_across_new_year_has_one_mileage_line_per_rate(domain_trip, domain_codes):
    trips = [
        domain_trip("t-1", started="2025-12-31T09:00:00Z", km="19.8"),  # 31 Dec in Oslo: 5.00
        domain_trip("t-2", started="2025-12-31T23:30:00Z", km="41.3"),  # 1 Jan in Oslo: 5.30
        domain_trip("t-3", started="2026-01-02T08:00:00Z", km="10"),
    ]
    period = Period(date(2025, 12, 1), date(2026, 1, 31))
    lines = group_lines(build_logbooks(trips, period), domain_codes, RateTable.default(), period)
    assert [
        (line.pay_item_code, line.rate, line.quantity, line.amount, line.trip_count) for line in lines
    ] == [
        ("710", Decimal("5.00"), Decimal("19.80"), Decimal("99.00"), 1),
        ("710", Decimal("5.30"), Decimal("51.30"), Decimal("271.89"), 2),
    ]


# ---- lines ------------------------------------------------------------------------------------------------


def test_one_line_per_employee_pay_item_and_rate_with_shared_codes_sharing_a_line(
    domain_trip, domain_drivers, domain_codes
):
    kari = domain_drivers["kari"]
    trips = [
        domain_trip(
            "t-1",
            km="118.4",
            expenses={"toll_charge": "112", "toll_road_admin": "4.5", "parking": "90"},
            extras={
                "passenger_km": "118.4",
                "passenger_names": ("Kari Hansen", "Per Olsen"),
                "trailer_km": "10",
            },
        ),
        domain_trip("t-2", km="41.3", expenses={"easy_park_private": "35.5", "easy_park_corporate": "99"}),
        domain_trip("t-3", driver=kari, vehicle_id="v-2", km="93.6", expenses={"ferry": "184"}),
    ]
    lines = group_lines(build_logbooks(trips, OCTOBER), domain_codes, RateTable.default(), OCTOBER)
    summary = [
        (
            line.employee_number,
            line.pay_item_code,
            [c.value for c in line.categories],
            line.quantity,
            line.amount,
            line.trip_count,
        )
        for line in lines
    ]
    assert summary == [
        ("1001", "710", ["mileage"], Decimal("159.70"), Decimal("846.41"), 2),
        ("1001", "711", ["passenger", "trailer"], Decimal("246.80"), Decimal("246.80"), 1),
        ("1001", "720", ["toll", "parking"], None, Decimal("242.00"), 2),
        ("1002", "710", ["mileage"], Decimal("93.60"), Decimal("496.08"), 1),
        ("1002", "722", ["ferry"], None, Decimal("184.00"), 1),
    ]


def test_quantities_are_summed_exactly_and_rounded_once(domain_trip, domain_codes):
    trips = [domain_trip(f"t-{n}", started=f"2026-10-{n:02d}T08:00:00Z", km="0.333") for n in range(1, 4)]
    (line,) = group_lines(build_logbooks(trips, OCTOBER), domain_codes, RateTable.default(), OCTOBER)
    assert line.quantity == Decimal("1.00")  # 0.999 rounded once, not 3 x 0.33
    assert line.amount == Decimal("5.30")


def test_a_sum_ending_in_half_an_ore_rounds_up(domain_trip, domain_codes):
    """3 trips of 33.335 km are 100.005 km: 100.01 km on the line (half-up), not 100.00 (banker's)."""
    trips = [domain_trip(f"t-{n}", started=f"2026-10-{n:02d}T08:00:00Z", km="33.335") for n in range(1, 4)]
    (line,) = group_lines(build_logbooks(trips, OCTOBER), domain_codes, RateTable.default(), OCTOBER)
    assert line.rate == Decimal("5.30")
    assert line.quantity == Decimal("100.01")
    assert line.amount == Decimal("530.05")  # 100.01 x 5.30 = 530.053


def test_an_amount_ending_in_half_an_ore_rounds_up(domain_trip, domain_codes):
    """24.25 km at 5.30 is 128.525 NOK: 128.53 paid (half-up), not 128.52 (banker's)."""
    (line,) = group_lines(
        build_logbooks([domain_trip("t-1", km="24.25")], OCTOBER), domain_codes, RateTable.default(), OCTOBER
    )
    assert (line.quantity, line.rate, line.amount) == (Decimal("24.25"), Decimal("5.30"), Decimal("128.53"))


def test_lines_of_zero_are_not_sent(domain_trip, domain_codes):
    trips = [domain_trip("t-1", km="0.004"), domain_trip("t-2", km="0", started="2026-10-03T08:00:00Z")]
    assert group_lines(build_logbooks(trips, OCTOBER), domain_codes, RateTable.default(), OCTOBER) == []


def test_categories_without_a_code_and_drivers_without_a_number_make_no_line(
    domain_trip, domain_drivers, domain_codes
):
    codes = {**domain_codes, Category.FERRY: None}
    trips = [
        domain_trip("t-1", expenses={"ferry": "184"}),
        domain_trip("t-2", driver=domain_drivers["nils"], vehicle_id="v-4"),
    ]
    lines = group_lines(build_logbooks(trips, OCTOBER), codes, RateTable.default(), OCTOBER)
    assert [(line.employee_number, line.pay_item_code) for line in lines] == [("1001", "710")]


def test_line_references_are_deterministic_and_unique(domain_trip, domain_drivers, domain_codes):
    trips = [
        domain_trip("t-1", expenses={"ferry": "184"}),
        domain_trip("t-2", driver=domain_drivers["kari"], vehicle_id="v-2"),
    ]
    lines = group_lines(build_logbooks(trips, OCTOBER), domain_codes, RateTable.default(), OCTOBER)
    references = [line.external_import_reference("exp-1") for line in lines]
    again = [
        line.external_import_reference("exp-1")
        for line in group_lines(
            build_logbooks(trips[::-1], OCTOBER), domain_codes, RateTable.default(), OCTOBER
        )
    ]
    assert references == again
    assert len(set(references)) == len(references) == 3
    assert all(reference.startswith("ABAX-exp-1-") for reference in references)
    assert "02.10.2026: 10,00 km à 5,30, 1 tur" in lines[0].comment()  # the line's own trip date
