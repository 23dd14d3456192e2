"""A month of tens of thousands of trips in the ledger: each item stays within DynamoDB's 400 KB (moto refuses
more, as AWS does), whatever the trip ids look like, and a rollback's `held` positions still find their trips."""

from __future__ import annotations

import hashlib

from abax_payroll.workflow.services import services
from local.stack import LocalStack

EXPORT_ID = "20261101T000000000Z-0000ledg"
MONTH = "2026-10"


def test_30000_trips_with_ids_that_are_not_uuids_are_claimed_and_held_by_position(fresh: LocalStack) -> None:
    # 45 characters of which 40 are as random as a hash: 20,000 of them gzip to about 476 KB.
    trips = sorted(f"trip-{hashlib.sha256(str(n).encode()).hexdigest()[:40]}" for n in range(30_000))
    ledger = services().store.ledger

    ledger.put_ledger("acme", EXPORT_ID, {MONTH: trips})

    assert ledger.export_trips("acme", EXPORT_ID, [MONTH]) == {MONTH: trips}
    assert ledger.exported_trips("acme", [MONTH]) == dict.fromkeys(trips, EXPORT_ID)
    # Positions across the parts, whatever size each part got.
    held = {0, 9_999, 10_000, 19_999, 20_000, 29_999}
    ledger.hold_only("acme", EXPORT_ID, {MONTH: held}, [MONTH])
    assert ledger.exported_trips("acme", [MONTH]) == {trips[position]: EXPORT_ID for position in held}
    ledger.hold_only("acme", EXPORT_ID, None, [MONTH])
    assert len(ledger.exported_trips("acme", [MONTH])) == 30_000
    ledger.delete_ledger("acme", EXPORT_ID, [MONTH])
