"""PowerOffice Go payloads: PascalCase in and out, exact decimals, ProblemDetails read in any casing."""

from __future__ import annotations

import json
import pickle
from decimal import Decimal

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from abax_payroll.poweroffice import (
    ClientIntegrationInformation,
    PowerOfficeError,
    SalaryLine,
    SalaryLineLocked,
    SalaryLinePost,
    employee_number_filter,
)
from abax_payroll.poweroffice.dtos import (
    Problem,
    duplicate_reference_line_id,
    employee_from_dto,
    pay_item_from_dto,
    retry_after_seconds,
)


def test_salary_line_post_is_pascal_case_without_nones_and_with_numeric_decimals():
    post = SalaryLinePost(
        employee_id=500001,
        pay_item_id="f00ef79f-562d-5cdc-ae77-7d9150e8faac",
        quantity=Decimal("1234.50"),
        rate=Decimal("5.30"),
        comment="Km 2026-10",
        external_import_reference="exp-1:1001:710",
    )
    raw = post.to_json()
    assert b'"Quantity":1234.50' in raw and b'"Rate":5.30' in raw
    body = json.loads(raw, parse_float=Decimal)
    assert body == {
        "EmployeeId": 500001,
        "PayItemId": "f00ef79f-562d-5cdc-ae77-7d9150e8faac",
        "Quantity": Decimal("1234.50"),
        "Rate": Decimal("5.30"),
        "Comment": "Km 2026-10",
        "ExternalImportReference": "exp-1:1001:710",
    }


def test_salary_line_post_needs_a_reference():
    with pytest.raises(ValueError):
        SalaryLinePost(employee_id=1, pay_item_id="x")  # type: ignore[call-arg]


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False))
def test_decimals_survive_the_round_trip_exactly(amount: Decimal):
    post = SalaryLinePost(employee_id=1, pay_item_id="x", amount=amount, external_import_reference="r")
    assert json.loads(post.to_json(), parse_float=Decimal)["Amount"] == amount


def test_salary_line_reads_pascal_case_and_ignores_extra_fields():
    line = SalaryLine.model_validate(
        {"Id": 7100000001, "EmployeeId": 500001, "PayItemId": "abc", "Quantity": Decimal("12.5"), "Rate": None,
         "Amount": None, "Comment": "c", "ExternalImportReference": "r", "IsLocked": True, "IsDeletedByUser": False,
         "CreatedDateTimeOffset": "2026-11-01T10:00:00+00:00", "TaxRule": None}
    )  # fmt: skip
    assert line.id == 7100000001 and line.quantity == Decimal("12.5") and line.is_locked


def test_client_integration_information_tolerates_nulls():
    info = ClientIntegrationInformation.model_validate(
        {"ClientName": "Acme", "ClientId": "1", "ValidPrivileges": ["Employee_Full", "PayItem"],
         "InvalidPrivileges": None, "ActiveClientSubscriptions": ["payroll"]}
    )  # fmt: skip
    assert info.invalid_privileges == [] and info.has_payroll
    assert info.missing_privileges() == ["SalaryLine_Full"]


def test_domain_mapping_of_employees_and_pay_items():
    employee = employee_from_dto(
        {"Id": 5, "Number": 1001, "FirstName": "Ola", "LastName": "Nordmann", "IsArchived": None}
    )
    assert employee is not None and (employee.number, employee.name, employee.archived) == (
        "1001",
        "Ola Nordmann",
        False,
    )
    assert employee_from_dto({"Id": 6, "Number": None}) is None
    pay_item = pay_item_from_dto(
        {"Id": "u", "Code": "720", "Name": None, "IsActive": True, "ProcessingType": "ExpenseRefund"}
    )
    assert pay_item is not None and pay_item.sends_amount and pay_item.name == ""


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [
        ([], []),
        ([1001], ["1001"]),
        ([1002, 1001], ["1001", "1002"]),
        ([1001, 1002, 1003, 1005], ["1001-1003", "1005"]),
        ([7, 1, 2, 3, 4, 9, 10, 11], ["1-4", "7", "9-11"]),
    ],
)
def test_employee_numbers_compress_runs_into_ranges(numbers: list[int], expected: list[str]):
    assert employee_number_filter(numbers) == expected


@given(st.sets(st.integers(min_value=1, max_value=400)))
def test_employee_number_filter_covers_exactly_the_numbers(numbers: set[int]):
    covered: set[int] = set()
    for part in employee_number_filter(numbers):
        low, _, high = part.partition("-")
        covered |= set(range(int(low), int(high or low) + 1))
    assert covered == numbers


@pytest.mark.parametrize(
    "body",
    [
        b'{"title": "T", "detail": "D", "status": 400}',
        b'{"Title": "T", "Detail": "D", "Status": 400}',
        b'{"TITLE": "T", "DETAIL": "D", "STATUS": "400"}',
    ],
)
def test_problem_details_are_read_in_any_casing(body: bytes):
    assert Problem.from_body(body) == Problem(title="T", detail="D", status=400)


def test_problem_reads_oauth_and_rate_limit_bodies_and_garbage():
    oauth = Problem.from_body(
        b'{"error": "invalid_client", "error_description": "Client integration not found."}'
    )
    assert oauth.title == "invalid_client" and oauth.detail == "Client integration not found."
    throttled = Problem.from_body(
        b'{"statusCode":"429","message":"Rate limit is exceeded. Try again in 1 seconds."}'
    )
    assert throttled.status == 429 and "Try again" in (throttled.detail or "")
    assert Problem.from_body(b"") == Problem()
    assert Problem.from_body(b"<html>Bad gateway</html>").detail == "<html>Bad gateway</html>"


def test_duplicate_reference_detail_gives_the_existing_id():
    detail = "ExternalImportReference is already in use. 'ABC123' is used on salary line with Id = 123456789."
    assert duplicate_reference_line_id(detail) == 123456789
    assert duplicate_reference_line_id("Employee with id = 4 not found.") is None
    assert duplicate_reference_line_id(None) is None


def test_retry_after_comes_from_header_or_message():
    assert retry_after_seconds(httpx.Headers({"Retry-After": "3"}), b"") == 3.0
    assert retry_after_seconds(httpx.Headers(), b'{"message": "Try again in 2 seconds."}') == 2.0
    assert retry_after_seconds(httpx.Headers(), b"{}") is None


def test_errors_pickle_with_their_fields():
    error = pickle.loads(pickle.dumps(PowerOfficeError("boom", status=503, title="t", detail="d")))
    assert (error.status, error.title, error.detail, str(error)) == (503, "t", "d", "boom")
    locked = pickle.loads(pickle.dumps(SalaryLineLocked(42, detail="in use")))
    assert locked.salary_line_id == 42 and locked.status == 409 and locked.detail == "in use"
