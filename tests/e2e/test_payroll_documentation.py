"""The tax split and the documentation report, end to end: preview, export, PowerOffice Go and the report CSV.

The expected figures are summed here from the raw ABAX demo data with SPEC section 3's rules (state rate 5.30
per km in 2026, 3.50 of it tax-free), never read back from the service.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import boto3
import httpx

from abax_payroll.domain.trips import OSLO
from abax_payroll.store.table import pack, tenant_pk
from abax_payroll.workflow.services import services
from local.aws import REGION, SNAPSHOT_BUCKET
from local.stack import LocalStack
from tests.support import (
    ACME_KEY,
    ALL_CODES,
    OCTOBER,
    demo_trips,
    employees_by_id,
    export_and_wait,
    good_logbooks,
    map_codes,
    oslo_date,
    pay_items_by_id,
    preview,
    round2,
    salary_lines,
    trip_quantities,
)

RATE_2026, TAX_FREE_2026 = Decimal("5.30"), Decimal("3.50")


def _report_table(response: httpx.Response) -> tuple[dict[str, str], list[str], list[list[str]]]:
    """The report CSV as the clerk opens it: the header (name, value) rows, the column names, the rows."""
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    at = next(index for index, row in enumerate(rows) if row[:1] == ["Ansattnummer"])
    return {row[0]: row[1] for row in rows[:at] if row}, rows[at], rows[at + 1 :]


def _oslo_clock(timestamp: str) -> str:
    return f"{datetime.fromisoformat(timestamp.replace('Z', '+00:00')).astimezone(OSLO):%H:%M}"


def _october_km(employees: tuple[str, ...] = ("1001", "1002", "1003")) -> dict[str, Decimal]:
    """Mileage km per employee in October 2026, rounded once after summing."""
    km: dict[str, Decimal] = defaultdict(Decimal)
    for number in employees:
        for trip, expense in demo_trips(
            "acme", date(2026, 10, 1), date(2026, 10, 31), employee_number=number
        ):
            km[number] += trip_quantities(trip, expense)["mileage"]
    return {number: round2(value) for number, value in km.items()}


def test_a_taxable_excess_pay_item_gets_the_part_above_the_tax_free_rate(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    # 715 is QuantityAndFixedRate (own rate 5.30, not withholding); 740 is a FixedAmount pay item for the excess.
    map_codes(acme, {**ALL_CODES, "mileage": "715"})
    blocked = preview(acme, OCTOBER, good_logbooks(acme))
    (problem,) = [p for p in blocked["problems"] if p["code"] == "TAXABLE_EXCESS_NOT_HANDLED"]
    assert problem["severity"] == "error" and problem["items"][0]["code"] == "715"
    assert "QuantityAndRateSubjectToWithholdingTax" in problem["message"] and not blocked["ready"]

    response = acme.put(
        "/payroll-codes", json={"codes": {**ALL_CODES, "mileage": "715"}, "taxable_excess": "740"}
    )
    assert response.status_code == 200 and response.json()["taxable_excess"] == "740"
    logbooks = good_logbooks(acme)
    shown = preview(acme, OCTOBER, logbooks)
    assert shown["ready"], shown["problems"]
    # The pay item's own 5.30 differs from the 3.50 the tax-free line sends: the preview says the Rate overrides it.
    assert [p["severity"] for p in shown["problems"] if p["code"] == "PAY_ITEM_RATE_OVERRIDDEN"] == [
        "warning"
    ]

    km = _october_km()
    expected_free = {number: round2(value * TAX_FREE_2026) for number, value in km.items()}
    expected_taxable = {number: round2(value * (RATE_2026 - TAX_FREE_2026)) for number, value in km.items()}
    record = export_and_wait(acme, OCTOBER, logbooks)
    assert record["status"] == "COMPLETED", record
    pay_items, employees = pay_items_by_id(), employees_by_id()
    in_go: dict[tuple[str, str], dict] = {}
    for line in salary_lines(fresh, ACME_KEY):
        code = pay_items[line["PayItemId"].lower()]["Code"]
        in_go[(str(employees[line["EmployeeId"]]["Number"]), code)] = line
    for number in km:
        free, taxable = in_go[(number, "715")], in_go[(number, "740")]
        # Go pays quantity x the Rate the line sends (3.50), not the pay item's own 5.30
        assert (Decimal(str(free["Rate"])), Decimal(str(free["Quantity"]))) == (TAX_FREE_2026, km[number])
        assert Decimal(str(free["Amount"])) == expected_free[number]
        assert Decimal(str(taxable["Amount"])) == expected_taxable[number]
        assert "skattepliktig del" in taxable["Comment"] and "trekkfri del" in free["Comment"]
    assert Decimal(record["taxable_amount"]) == sum(expected_taxable.values())
    assert Decimal(record["tax_free_amount"]) + Decimal(record["taxable_amount"]) == Decimal(
        record["total_amount"]
    )
    assert {line["kind"] for line in record["lines"] if line["pay_item_code"] == "740"} == {"taxable_excess"}


def test_the_withholding_pay_item_and_the_documentation_report(fresh: LocalStack, acme: httpx.Client) -> None:
    logbooks = good_logbooks(acme)
    shown = preview(acme, OCTOBER, logbooks)
    km = _october_km()
    # 710 (QuantityAndRateSubjectToWithholdingTax) takes the whole 5.30; its lines show what of it is taxable.
    mileage = [line for line in shown["lines"] if line["categories"] == ["mileage"]]
    assert {line["employee_number"]: Decimal(line["taxable_amount"]) for line in mileage} == {
        number: round2(value * RATE_2026) - round2(value * TAX_FREE_2026) for number, value in km.items()
    }
    assert Decimal(shown["totals"]["taxable_amount"]) == sum(
        round2(value * RATE_2026) - round2(value * TAX_FREE_2026) for value in km.values()
    )
    record = export_and_wait(acme, OCTOBER, logbooks)
    assert record["status"] == "COMPLETED", record
    ids = {line["external_import_reference"]: line["salary_line_id"] for line in record["lines"]}

    response = acme.get(f"/exports/{record['export_id']}/report.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())  # UTF-8 with BOM, as Norwegian Excel opens it
    meta, header, body = _report_table(response)
    # What the report proves, above its columns: the company, the period, the export and its status.
    assert meta == {"Firma": "Acme Transport AS", "Periode": "01.10.2026–31.10.2026",
                    "Eksport": record["export_id"], "Status": "COMPLETED"}  # fmt: skip
    assert header[:12] == ["Ansattnummer", "Navn", "Måned", "Dato", "Tur", "Avreise", "Ankomst", "Fra", "Til",
                           "Formål", "Notater", "Kjøretøy"]  # fmt: skip
    column = {name: index for index, name in enumerate(header)}
    trips = [row for row in body if row[column["Tur"]]]
    sums = [row for row in body if not row[column["Tur"]]]
    # Every October trip of the three employees has one trip row: date, times, purpose, route, notes, vehicle.
    demo = [
        trip for number in km for trip, _ in demo_trips("acme", date(2026, 10, 1), date(2026, 10, 31), number)
    ]
    trip_rows = {
        row[column["Tur"]]: row
        for row in trips
        if row[column["Kategori"]].startswith("Kilometergodtgjørelse")
    }
    assert set(trip_rows) == {trip["id"] for trip in demo}
    assert len(trip_rows) == len([row for row in trips if row[column["Kjørt km"]]])  # one km row per trip
    for trip in demo:
        row = trip_rows[trip["id"]]
        assert row[column["Dato"]] == f"{oslo_date(trip['start']['location']['timestamp']):%d.%m.%Y}"
        assert row[column["Måned"]] == "oktober 2026"  # text, never a date in Norwegian Excel
        assert (row[column["Avreise"]], row[column["Ankomst"]]) == (
            _oslo_clock(trip["start"]["location"]["timestamp"]), _oslo_clock(trip["finish"]["location"]["timestamp"])
        )  # fmt: skip
        assert (row[column["Formål"]], row[column["Fra"]], row[column["Til"]], row[column["Notater"]]) == (
            trip.get("purpose", ""), trip["start"]["address"], trip["finish"]["address"], trip.get("notes", "")
        )  # fmt: skip
        assert row[column["Kjøretøy"]] == trip["vehicle"]["alias"]
        distance = Decimal(str(trip["distance"]))
        assert row[column["Kjørt km"]] == f"{distance:.2f}".replace(".", ",")  # Norwegian decimals
        assert row[column["Sats"]] == "5,30"
        assert int(row[column["Lønnslinje (PowerOffice)"]].split(" + ")[0]) in ids.values()
        assert row[column["Referanse"]].split(" + ")[0] in ids
    # Outlay rows (toll, parking, ferry) carry no km: summing the column counts each trip once.
    outlays = [row for row in trips if row[column["Kategori"]] in ("Bompenger", "Parkering", "Ferje")]
    assert outlays and all(row[column["Kjørt km"]] == "" for row in outlays)
    assert sum(Decimal(row[column["Kjørt km"]].replace(",", ".")) for row in trips if row[column["Kjørt km"]]) == sum(
        Decimal(str(trip["distance"])) for trip in demo
    )  # fmt: skip
    # One sum row per employee and month (October only): amount = tax-free + taxable.
    assert sorted(row[0] for row in sums) == sorted(km)
    for row in sums:
        amount, free, taxable = (
            Decimal(row[column[name]].replace(",", ".")) for name in ("Beløp", "Trekkfritt", "Skattepliktig")
        )
        assert amount == free + taxable and taxable > 0

    printable = acme.get(f"/exports/{record['export_id']}/report")
    assert printable.status_code == 200
    assert len(printable.json()["rows"]) == len(trips)
    assert (printable.json()["company"], printable.json()["covers"]) == ("Acme Transport AS", "all")
    assert acme.get("/exports/20200101T000000000Z-00000000/report.csv").status_code == 404


def test_the_report_is_kept_in_s3_parts_under_reports_and_older_reports_still_read(
    fresh: LocalStack, acme: httpx.Client
) -> None:
    """The report rows are gzipped S3 objects under reports/, one per part (not DynamoDB items, which cost write
    units); an export from before the parts (all rows in one S3 object, its key on the record) or from before
    S3 (rows in REPORT# items in the table) still has its report, as one part."""
    record = export_and_wait(acme, OCTOBER, good_logbooks(acme))
    assert record["status"] == "COMPLETED", record
    export_id = record["export_id"]
    answer = acme.get(f"/exports/{export_id}/report").json()
    served = answer["rows"]
    csv_text = acme.get(f"/exports/{export_id}/report.csv").text
    assert served and (answer["part"], answer["parts"]) == (0, 1)

    store = services().store
    assert store.exports.get_export("acme", export_id).report_parts == 1
    key = f"reports/acme/{export_id}.report.0.json.gz"
    s3 = boto3.client("s3", region_name=REGION)
    stored = json.loads(gzip.decompress(s3.get_object(Bucket=SNAPSHOT_BUCKET, Key=key)["Body"].read()))[
        "rows"
    ]
    assert [row["trip_id"] for row in stored] == [row["trip_id"] for row in served]
    items = store.table.query_prefix(tenant_pk("acme"), "REPORT#")
    assert list(items) == []  # nothing of the report in the table

    # As an export before parts kept it: one S3 object, its key on the record.
    single = f"reports/acme/{export_id}.json.gz"
    s3.put_object(Bucket=SNAPSHOT_BUCKET, Key=single, Body=gzip.compress(json.dumps(stored).encode()))
    s3.delete_object(Bucket=SNAPSHOT_BUCKET, Key=key)
    store.table.resource.update_item(
        Key={"pk": tenant_pk("acme"), "sk": f"EXPORT#{export_id}"},
        UpdateExpression="SET report_key = :key REMOVE report_parts",
        ExpressionAttributeValues={":key": single},
    )
    older = acme.get(f"/exports/{export_id}/report").json()
    assert older["rows"] == served and older["parts"] == 1
    assert acme.get(f"/exports/{export_id}/report.csv").text == csv_text
    assert acme.get(f"/exports/{export_id}/report.csv", params={"part": 1}).status_code == 404

    # As an older one kept it: rows in REPORT# items, no S3 object, no key on the record.
    store.table.resource.put_item(
        Item={"pk": tenant_pk("acme"), "sk": f"REPORT#{export_id}#00000", "data": pack(stored)}
    )
    s3.delete_object(Bucket=SNAPSHOT_BUCKET, Key=single)
    store.table.resource.update_item(
        Key={"pk": tenant_pk("acme"), "sk": f"EXPORT#{export_id}"}, UpdateExpression="REMOVE report_key"
    )
    assert store.exports.get_export("acme", export_id).report_key is None
    assert acme.get(f"/exports/{export_id}/report").json()["rows"] == served
    assert acme.get(f"/exports/{export_id}/report.csv").text == csv_text
