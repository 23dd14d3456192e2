"""The PowerOffice Go client against the emulator over real HTTP: happy paths, faults, and secret hygiene."""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Callable
from decimal import Decimal

import pytest

from abax_payroll.poweroffice import (
    TOKENS,
    ClientKeyRejected,
    LocalRateLimiter,
    PowerOfficeClient,
    PowerOfficeError,
    PowerOfficeUnavailable,
    PrivilegesMissing,
    SalaryLineLocked,
    SalaryLinePost,
    SalaryLineRejected,
)
from local.emulators.poweroffice import PowerOfficeEmulator

from .conftest import (
    PO_ACME,
    PO_APPLICATION_KEY,
    PO_BETA,
    PO_DELTA_NO_PRIVILEGE,
    PO_GAMMA_NO_PAYROLL,
    PO_SUBSCRIPTION_KEY,
    SpecLog,
)

MakeClient = Callable[..., PowerOfficeClient]


class Sleeps(list[float]):
    """Records waits and really sleeps them (short) so the emulator's clock moves too."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(seconds)


def _line(
    client: PowerOfficeClient, reference: str, *, code: str = "710", number: str = "1001"
) -> SalaryLinePost:
    employee = client.employees_by_numbers([number])[number]
    pay_item = client.pay_items_by_codes([code])[code]
    return SalaryLinePost(
        employee_id=employee.id,
        pay_item_id=pay_item.id,
        quantity=Decimal("1234.56"),
        rate=Decimal("5.30"),
        comment="Kilometergodtgjørelse 2026-10: 1234.56 km, 14 turer",
        external_import_reference=reference,
    )


def test_client_integration_information(po_make_client: MakeClient):
    info = po_make_client().client_integration_information()
    assert info.client_name == "Acme Transport AS"
    assert info.has_payroll and info.missing_privileges() == []
    gamma = po_make_client(PO_GAMMA_NO_PAYROLL).client_integration_information()
    assert not gamma.has_payroll and "SalaryLine_Full" in gamma.missing_privileges()
    delta = po_make_client(PO_DELTA_NO_PRIVILEGE).client_integration_information()
    assert delta.has_payroll and delta.missing_privileges() == ["SalaryLine_Full"]


def test_employees_by_numbers_finds_known_numbers_only(
    po_make_client: MakeClient, po_emulator: PowerOfficeEmulator
):
    employees = po_make_client().employees_by_numbers(["1001", "1002", "1003", "1004", "1005", "  ", "x"])
    assert sorted(employees) == ["1001", "1002", "1003", "1005"]
    assert employees["1001"].name == "Ola Nordmann" and employees["1001"].id == 500001
    assert employees["1005"].archived is True
    paths = [(method, path) for _, method, path, _ in po_emulator.request_log]
    assert paths.count(("GET", "/v2/Employees")) == 1
    assert po_make_client().employees_by_numbers([]) == {}


def test_pay_items_by_codes(po_make_client: MakeClient):
    pay_items = po_make_client().pay_items_by_codes(["710", "715", "730", "999"])
    assert sorted(pay_items) == ["710", "715", "730"]
    assert pay_items["710"].processing_type == "QuantityAndRateSubjectToWithholdingTax"
    assert pay_items["715"].processing_type == "QuantityAndFixedRate"
    assert pay_items["730"].active is False


def test_paging_follows_full_pages(po_make_client: MakeClient, po_emulator, monkeypatch: pytest.MonkeyPatch):
    from abax_payroll.poweroffice import client as client_module

    monkeypatch.setattr(client_module, "PAGE_SIZE", 2)
    employees = po_make_client().employees_by_numbers(["1001", "1002", "1003", "1005"])
    assert sorted(employees) == ["1001", "1002", "1003", "1005"]
    pages = [status for _, _, path, status in po_emulator.request_log if path == "/v2/Employees"]
    assert pages == [200, 200, 204]  # two full pages, so a third is asked for: empty, 204
    assert po_make_client().list_salary_lines() == []


def test_create_get_list_find_delete(po_make_client: MakeClient, po_emulator: PowerOfficeEmulator):
    client = po_make_client()
    created = client.create_salary_line(_line(client, "exp-1:1001:710"))
    assert created.quantity == Decimal("1234.56") and created.rate == Decimal("5.30")
    assert created.is_locked is False and created.is_deleted_by_user is False
    assert client.get_salary_line(created.id) == created
    other = client.create_salary_line(_line(client, "exp-2:1001:711", code="711"))
    assert [line.id for line in client.list_salary_lines()] == [created.id, other.id]
    assert [line.id for line in client.find_salary_lines_by_reference_prefix("exp-1:")] == [created.id]
    assert client.delete_salary_line(created.id) is True
    assert client.get_salary_line(created.id) is None
    assert client.delete_salary_line(created.id) is False  # already gone
    assert [dto["Id"] for dto in po_emulator.salary_lines(PO_ACME)] == [other.id]


def test_posted_amounts_are_exact_json_numbers(po_make_client: MakeClient, po_emulator: PowerOfficeEmulator):
    client = po_make_client()
    line = _line(client, "exact:1", code="720").model_copy(
        update={"quantity": None, "rate": None, "amount": Decimal("0.10")}
    )
    created = client.create_salary_line(line)
    assert created.amount == Decimal("0.10")
    stored = po_emulator.salary_lines(PO_ACME)[0]
    assert stored["Amount"] == Decimal("0.10") and stored["Quantity"] is None


def test_duplicate_reference_returns_the_existing_line(
    po_make_client: MakeClient, po_emulator: PowerOfficeEmulator
):
    client = po_make_client()
    line = _line(client, "exp-9:1001:710")
    first = client.create_salary_line(line)
    assert client.create_salary_line(line) == first
    assert len(po_emulator.salary_lines(PO_ACME)) == 1


def test_transient_503_on_post_is_retried(po_make_client: MakeClient, po_emulator: PowerOfficeEmulator):
    sleeps = Sleeps()
    client = po_make_client(sleep=sleeps)
    line = _line(client, "retry:1")
    po_emulator.set_faults([{"method": "POST", "path": "/SalaryLines", "nth": 1, "times": 2, "status": 503}])
    created = client.create_salary_line(line)
    assert [dto["Id"] for dto in po_emulator.salary_lines(PO_ACME)] == [created.id]
    assert sleeps == [pytest.approx(0.2), pytest.approx(0.4)]


def test_failure_after_commit_is_read_back_as_success(
    po_make_client: MakeClient, po_emulator: PowerOfficeEmulator
):
    client = po_make_client(sleep=Sleeps())
    line = _line(client, "ambiguous:1")
    po_emulator.set_faults([{"method": "POST", "path": "/SalaryLines", "status": 500, "after_commit": True}])
    created = client.create_salary_line(line)
    stored = po_emulator.salary_lines(PO_ACME)
    assert [dto["Id"] for dto in stored] == [created.id]
    assert created.external_import_reference == "ambiguous:1"
    statuses = [(m, p, s) for _, m, p, s in po_emulator.request_log if p.startswith("/v2/SalaryLines")]
    assert statuses == [
        ("POST", "/v2/SalaryLines", 500),
        ("POST", "/v2/SalaryLines", 400),
        ("GET", f"/v2/SalaryLines/{created.id}", 200),
    ]


def test_timeout_after_commit_is_retried_safely(po_make_client: MakeClient, po_emulator: PowerOfficeEmulator):
    client = po_make_client(timeout=0.3, sleep=Sleeps())
    line = _line(client, "slow:1")
    po_emulator.set_faults(
        [{"method": "POST", "path": "/SalaryLines", "status": None, "delay_s": 0.6, "after_commit": True}]
    )
    created = client.create_salary_line(line)
    assert [dto["Id"] for dto in po_emulator.salary_lines(PO_ACME)] == [created.id]


def test_persistent_5xx_raises_unavailable(po_make_client: MakeClient, po_emulator: PowerOfficeEmulator):
    sleeps = Sleeps()
    client = po_make_client(max_attempts=3, sleep=sleeps)
    po_emulator.set_faults(
        [{"method": "GET", "path": "/ClientIntegrationInformation", "times": 10, "status": 502}]
    )
    with pytest.raises(PowerOfficeUnavailable) as raised:
        client.client_integration_information()
    assert raised.value.status == 502 and len(sleeps) == 2


def test_delete_retried_after_commit_counts_as_deleted(
    po_make_client: MakeClient, po_emulator: PowerOfficeEmulator
):
    client = po_make_client(sleep=Sleeps())
    created = client.create_salary_line(_line(client, "del:1"))
    po_emulator.set_faults(
        [{"method": "DELETE", "path": "/SalaryLines", "status": 500, "after_commit": True}]
    )
    assert client.delete_salary_line(created.id) is True
    assert po_emulator.salary_lines(PO_ACME) == []


def test_429_bursts_are_waited_out(po_make_client: MakeClient, po_emulator: PowerOfficeEmulator):
    sleeps = Sleeps()
    client = po_make_client(sleep=sleeps)
    client.client_integration_information()  # token in the cache
    po_emulator.set_faults([{"method": "GET", "path": "/Employees", "times": 1, "status": 429}])
    started = time.monotonic()
    assert "1001" in client.employees_by_numbers(["1001"])
    assert time.monotonic() - started >= 1.0
    assert sleeps == [1.0]


def test_rate_limit_budget_exhausted_raises(po_make_client: MakeClient, po_emulator: PowerOfficeEmulator):
    from abax_payroll.poweroffice import RateLimited

    client = po_make_client(sleep=lambda s: None, rate_limit_budget_s=3)
    client.client_integration_information()
    po_emulator.set_faults([{"method": "GET", "path": "/Employees", "times": 100, "status": 429}])
    with pytest.raises(RateLimited) as raised:
        client.employees_by_numbers(["1001"])
    assert raised.value.status == 429


def test_shared_limiter_keeps_the_client_under_the_emulator_limit(
    po_make_client, po_emulator: PowerOfficeEmulator
):
    po_emulator.set_rate_limit(10)
    po_emulator.reset_stats()
    limiter = LocalRateLimiter(10)
    client = po_make_client(limiter=limiter, sleep=Sleeps())
    for _ in range(14):
        client.client_integration_information()
    stats = po_emulator.stats()
    assert stats["throttled"] == 0 and stats["max_requests_in_any_second"] <= 10
    assert stats["requests"] == 15  # the token call is paced too


def test_locked_delete_raises_salary_line_locked(
    po_make_client: MakeClient, po_emulator: PowerOfficeEmulator
):
    client = po_make_client()
    created = client.create_salary_line(_line(client, "locked:1"))
    po_emulator.lock_lines([created.id])
    with pytest.raises(SalaryLineLocked) as raised:
        client.delete_salary_line(created.id)
    assert raised.value.salary_line_id == created.id and raised.value.status == 409
    assert "cannot be deleted" in (raised.value.detail or "")
    assert pickle.loads(pickle.dumps(raised.value)).salary_line_id == created.id


def test_delete_of_unknown_id_is_false(po_make_client: MakeClient):
    assert po_make_client().delete_salary_line(123456) is False


def test_expired_token_is_refreshed_mid_run(po_make_client: MakeClient, po_emulator: PowerOfficeEmulator):
    client = po_make_client()
    client.client_integration_information()
    po_emulator.expire_tokens()
    assert client.employees_by_numbers(["1002"])["1002"].name == "Kari Hansen"
    token_calls = [s for _, m, p, s in po_emulator.request_log if p == "/OAuth/Token"]
    assert token_calls == [200, 200]


def test_token_is_shared_between_clients_of_one_key(
    po_make_client: MakeClient, po_emulator: PowerOfficeEmulator
):
    po_make_client().client_integration_information()
    po_make_client().client_integration_information()
    po_make_client(PO_BETA).client_integration_information()
    token_calls = [p for _, m, p, s in po_emulator.request_log if p == "/OAuth/Token"]
    assert len(token_calls) == 2


def test_unknown_client_key_is_rejected(po_make_client: MakeClient):
    with pytest.raises(ClientKeyRejected) as raised:
        po_make_client("a-production-client-key").client_integration_information()
    assert raised.value.status == 400
    assert "demo/production" in str(raised.value)


def test_client_without_payroll_gets_privileges_missing(po_make_client: MakeClient):
    with pytest.raises(PrivilegesMissing) as raised:
        po_make_client(PO_GAMMA_NO_PAYROLL).employees_by_numbers(["3001"])
    assert raised.value.status == 403 and "Payroll" in str(raised.value)


def test_missing_salary_line_privilege_stops_create(po_make_client: MakeClient):
    client = po_make_client(PO_DELTA_NO_PRIVILEGE)
    with pytest.raises(PrivilegesMissing) as raised:
        client.create_salary_line(_line(client, "delta:1", number="4001"))
    assert "SalaryLine_Full" in str(raised.value)


def test_unknown_employee_is_rejected_with_the_specs_404(po_make_client: MakeClient):
    client = po_make_client()
    line = _line(client, "reject:1").model_copy(update={"employee_id": 42})
    with pytest.raises(SalaryLineRejected) as raised:
        client.create_salary_line(line)
    assert raised.value.status == 404 and raised.value.detail == "Employee with id = 42 not found."


def test_secrets_never_appear_in_reprs_errors_or_logs(
    po_make_client: MakeClient, po_emulator: PowerOfficeEmulator, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    client = po_make_client(sleep=Sleeps())
    client.client_integration_information()
    po_emulator.expire_tokens()
    po_emulator.set_faults([{"method": "GET", "path": "/Employees", "status": 503}])
    client.employees_by_numbers(["1001"])
    tokens = [cached.access_token for cached in TOKENS._tokens.values()]
    assert tokens
    errors: list[PowerOfficeError] = []
    for client_key in ("a-secret-wrong-client-key", PO_GAMMA_NO_PAYROLL):
        try:
            po_make_client(client_key).employees_by_numbers(["1"])
        except PowerOfficeError as error:
            errors.append(error)
    assert len(errors) == 2
    secrets = [PO_ACME, PO_APPLICATION_KEY, PO_SUBSCRIPTION_KEY, "a-secret-wrong-client-key", *tokens]
    visible = [repr(client), str(client), *(f"{e!s} {e!r} {e.detail} {e.title}" for e in errors), caplog.text]
    for secret in secrets:
        for text in visible:
            assert secret not in text
    assert repr(client) == f"PowerOfficeClient(api_url={client.api_url!r})"


def test_every_answer_was_checked(po_make_client: MakeClient, po_spec_log: SpecLog):
    if po_spec_log.checker is None:
        pytest.skip(
            "PowerOffice Go reference spec not found (set SHARED_DIR): answers were not schema-checked"
        )
    client = po_make_client()
    client.create_salary_line(_line(client, "checked:1"))
    assert po_spec_log.checked == 4 and not po_spec_log.violations
