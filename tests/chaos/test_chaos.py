"""A few seeds of the chaos harness in the default suite (`make chaos` runs hundreds).

Each seed is a random sequence over two companies of PowerOffice Go and ABAX faults, killed Lambda
invocations, stopped runs and the clerk's actions; after it settles, PowerOffice Go's salary lines, the
previews and the API must agree (tests/chaos/driver.py lists the invariants). A failure names the seed,
the invariant, the export, the lines in Go against the record, and the command that runs the seed again.
"""

from __future__ import annotations

import pytest

from abax_payroll.poweroffice import PowerOfficeClient
from abax_payroll.poweroffice.dtos import SalaryLinePost
from local.stack import LocalStack
from tests.chaos.driver import Run, reproduction, run_seed, scenario

CI_SEEDS = (2, 4, 5)
COMPANIES = 2
EVENTS = 6


@pytest.mark.parametrize("seed", CI_SEEDS)
def test_a_random_sequence_leaves_every_trip_paid_once_and_every_export_true_to_go(
    own_companies: LocalStack, seed: int
) -> None:
    violations = run_seed(own_companies, seed, COMPANIES, event_count=EVENTS)

    assert not violations, "\n".join(
        [*map(str, violations), f"reproduce: {reproduction(seed, COMPANIES, EVENTS)}"]
    )


def test_the_checks_see_a_line_paid_twice_and_a_record_untrue_to_go(own_companies: LocalStack) -> None:
    """The invariants are not vacuous: a second line for the same trips, made behind the export's back."""
    plan = scenario(seed=7, company_count=1, event_count=0)
    run = Run(own_companies, plan)
    try:
        run.play()
        run.settle()
        run.check()
        assert run.violations == [], "one export with nothing in its way keeps every invariant"
        company = plan.companies[0]
        first = own_companies.poweroffice.salary_lines(company.client_key)[0]
        export_id = next(e["export_id"] for e in run._exports(company.tenant) if e["status"] == "COMPLETED")
        with PowerOfficeClient(
            f"{own_companies.url}/emulators/poweroffice/v2",
            f"{own_companies.url}/emulators/poweroffice/OAuth/Token",
            own_companies.application_key,
            own_companies.subscription_key,
            company.client_key,
        ) as poweroffice:
            poweroffice.create_salary_line(
                SalaryLinePost(
                    employee_id=first["EmployeeId"],
                    pay_item_id=first["PayItemId"],
                    quantity=first.get("Quantity"),
                    rate=first.get("Rate"),
                    amount=None if first.get("Quantity") else first.get("Amount"),
                    external_import_reference=first["ExternalImportReference"] + "-again",
                )
            )

        run.check()
    finally:
        run.close()

    found = {(violation.invariant, violation.export_id) for violation in run.violations}
    assert ("a", export_id) in found, run.violations  # COMPLETED, and Go holds a line its record does not
    assert ("b", None) in found, run.violations  # the employee's trips paid twice
