"""Issue 22 where the clerk sees it: tax status follows the trip's documentation, nothing disappears silently,
pay items' a-melding coding is checked, and only an export that paid something has a documentation report.

Figures are computed by hand from the trips added here (2026 state rate 5.30 per km, 3.50 of it tax-free).
"""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from local.stack import LocalStack
from tests.support import (
    ALL_CODES,
    OCTOBER,
    export_and_wait,
    good_logbooks,
    lock_all_lines,
    preview,
    set_faults,
    wait_for_export,
)

OLA = {"id": "d-1001", "external_id": "1001", "name": "Ola Nordmann"}


def _add_trips(stack: LocalStack, trips: list[dict[str, Any]]) -> None:
    response = httpx.post(
        f"{stack.url}/emulators/abax/_control/trips", json={"tenant_id": "acme", "trips": trips}, timeout=10
    )
    assert response.status_code == 200, response.text


def _trip(trip_id: str, km: float, vehicle: dict[str, str], **fields: Any) -> dict[str, Any]:
    start = {"location": {"latitude": 59.91, "longitude": 10.75, "timestamp": "2026-10-21T07:00:00Z"}}
    finish = {"location": {"latitude": 59.74, "longitude": 10.2, "timestamp": "2026-10-21T08:10:00Z"}}
    return {
        "id": trip_id,
        "vehicle": vehicle,
        "driver": OLA,
        "start": {**start, "address": fields.pop("start_address", "")},
        "finish": {**finish, "address": fields.pop("end_address", "")},
        "distance": km,
        "purpose": fields.pop("purpose", ""),
        "commercial_class": "BusinessTrip",
        **fields,
    }


def _csv_rows(response: httpx.Response) -> tuple[dict[str, str], list[dict[str, str]]]:
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    at = next(index for index, row in enumerate(rows) if row[:1] == ["Ansattnummer"])
    return {row[0]: row[1] for row in rows[:at] if row}, [
        dict(zip(rows[at], row, strict=True)) for row in rows[at + 1 :]
    ]


def test_an_undocumented_trip_is_paid_wholly_taxable_and_the_report_shows_it(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    # 50 km in Ola's own car, no purpose and no addresses: 50 × 5.30 = 265.00 paid. Before issue 22, 175.00 of it
    # (50 × 3.50) was reported tax-free with no warning; now all 265.00 is taxable.
    _add_trips(
        fresh,
        [_trip("t-undocumented", 50, {"id": "v-101", "alias": "Olas Golf", "commercial_class": "Private"})],
    )
    shown = preview(acme, OCTOBER, good_logbooks(acme))
    (warning,) = [problem for problem in shown["problems"] if problem["code"] == "TRIP_UNDOCUMENTED"]
    assert warning["severity"] == "warning"
    (item,) = warning["items"]
    assert (item["trip_id"], item["date"], item["driver_name"], item["km"]) == (
        "t-undocumented", "2026-10-21", "Ola Nordmann", "50.00"
    )  # fmt: skip
    assert item["missing"] == ["purpose", "start_address", "end_address"] and "ABAX" in item["fix"]
    # Pay item 710 splits by the state's tax-free rate itself, which a wholly taxable trip contradicts.
    (blocked,) = [problem for problem in shown["problems"] if problem["severity"] == "error"]
    assert (
        blocked["code"] == "TAXABLE_EXCESS_NOT_HANDLED" and blocked["items"][0]["taxable_amount"] == "265.00"
    )

    assert acme.put("/payroll-codes", json={"codes": ALL_CODES, "taxable_excess": "740"}).status_code == 200
    logbooks = good_logbooks(acme)
    shown = preview(acme, OCTOBER, logbooks)
    assert shown["ready"], shown["problems"]
    (excess,) = [line for line in shown["lines"] if line["pay_item_code"] == "740"]
    assert (excess["amount"], excess["tax_free_amount"], excess["taxable_amount"]) == (
        "265.00",
        "0.00",
        "265.00",
    )
    record = export_and_wait(acme, OCTOBER, logbooks)
    assert record["status"] == "COMPLETED", record
    _, rows = _csv_rows(acme.get(f"/exports/{record['export_id']}/report.csv"))
    (row,) = [row for row in rows if row["Tur"] == "t-undocumented"]
    assert (row["Kjørt km"], row["Beløp"], row["Trekkfritt"], row["Skattepliktig"], row["Lønnsart"]) == (
        "50,00", "265,00", "0,00", "265,00", "740"
    )  # fmt: skip
    assert (row["Avreise"], row["Ankomst"]) == ("09:00", "10:10")  # Oslo summer time


def test_the_company_setting_blocks_undocumented_trips(fresh: LocalStack, acme: httpx.Client) -> None:
    _add_trips(fresh, [_trip("t-undocumented", 12, {"id": "v-101", "alias": "Olas Golf", "commercial_class": "Private"},
                             purpose="Kundebesøk", start_address="Karl Johans gate 1, Oslo")])  # fmt: skip
    answer = acme.put("/payroll-codes", json={"codes": ALL_CODES, "undocumented_trips": "block"})
    assert answer.status_code == 200 and answer.json()["undocumented_trips"] == "block"
    shown = preview(acme, OCTOBER, good_logbooks(acme))
    (error,) = [problem for problem in shown["problems"] if problem["code"] == "TRIP_UNDOCUMENTED"]
    assert error["severity"] == "error" and error["items"][0]["missing"] == ["end_address"]
    assert not shown["ready"]


def test_a_business_trip_in_a_vehicle_of_unknown_class_is_named_not_dropped(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    # Before issue 22 these 88.8 km disappeared without a word and the clerk saw "no delivered logbooks".
    unknown = {"id": "v-777", "alias": "Olas Tesla", "commercial_class": "Unknown"}
    _add_trips(fresh, [_trip("t-u1", 51.3, unknown, purpose="Montering", start_address="A", end_address="B"),
                       _trip("t-u2", 37.5, unknown, purpose="Montering", start_address="B", end_address="A")])  # fmt: skip
    shown = preview(acme, OCTOBER)
    (warning,) = [problem for problem in shown["problems"] if problem["code"] == "VEHICLE_CLASS_UNKNOWN"]
    assert warning["severity"] == "warning"
    (item,) = warning["items"]
    assert (item["vehicle_alias"], item["trips"], item["km"]) == ("Olas Tesla", 2, "88.80")
    assert "ABAX" in item["fix"]


def test_passenger_km_on_the_car_pay_item_is_refused_by_its_a_melding_coding(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    # 710 reports as KilometergodtgjoerelseBil in PowerOffice Go: passenger km there would go into the a-melding
    # under the wrong description.
    assert acme.put("/payroll-codes", json={"codes": {**ALL_CODES, "passenger": "710"}}).status_code == 200
    shown = preview(acme, OCTOBER, good_logbooks(acme))
    (error,) = [problem for problem in shown["problems"] if problem["code"] == "PAY_ITEM_REPORTING_MISMATCH"]
    assert error["severity"] == "error" and not shown["ready"]
    assert [(item["code"], item["category"], item["benefit_description"]) for item in error["items"]] == [
        ("710", "passenger", "KilometergodtgjoerelseBil")
    ]
    pay_items = {item["code"]: item for item in acme.get("/pay-items").json()["pay_items"]}
    assert pay_items["711"]["benefit_description"] == "KilometergodtgjoerelsePassasjertillegg"


def test_an_export_that_left_nothing_in_go_has_no_report(fresh: LocalStack, acme: httpx.Client) -> None:
    logbooks = good_logbooks(acme)
    record = export_and_wait(acme, OCTOBER, logbooks)
    assert record["status"] == "COMPLETED", record
    export_id = record["export_id"]
    assert acme.get(f"/exports/{export_id}/report.csv").status_code == 200
    assert acme.post(f"/exports/{export_id}/rollback").status_code == 202  # undone: nothing paid
    assert wait_for_export(acme, export_id)["status"] == "ROLLED_BACK"
    for path in ("report", "report.csv"):
        answer = acme.get(f"/exports/{export_id}/{path}")
        assert answer.status_code == 409 and answer.json()["code"] == "NOTHING_PAID", answer.text


def test_a_partly_undone_exports_report_covers_the_lines_still_in_go_and_says_so(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    logbooks = good_logbooks(acme)
    lock_all_lines(fresh)
    set_faults(fresh, [{"method": "POST", "path": "/SalaryLines", "nth": 3, "times": 100, "status": 500}])
    record = export_and_wait(acme, OCTOBER, logbooks)
    set_faults(fresh, [])
    assert record["status"] == "ROLLBACK_INCOMPLETE", record
    left = {item["salary_line_id"] for item in record["rollback"]["left_behind"]}
    assert len(left) == 2
    answer = acme.get(f"/exports/{record['export_id']}/report").json()
    assert answer["covers"] == "lines_in_poweroffice" and answer["rows"]
    assert {line["salary_line_id"] for row in answer["rows"] for line in row["salary_lines"]} == left
    meta, rows = _csv_rows(acme.get(f"/exports/{record['export_id']}/report.csv"))
    assert meta["Status"] == "ROLLBACK_INCOMPLETE" and "delvis angret" in meta["Merk"]
    named = {
        int(part)
        for row in rows
        if row["Lønnslinje (PowerOffice)"]
        for part in row["Lønnslinje (PowerOffice)"].split(" + ")
    }
    assert named == left
