"""Activate and switch off the PowerOffice Go integration of a tenant."""

from __future__ import annotations

from typing import Any

from ..errors import ClientKeyNotAccepted, ClientKeyRejected, ExportInProgress, PowerOfficeAccessDenied
from ..observability import logger
from ..records import Integration
from ..store import now_iso
from .services import Services
from .sources import reading_poweroffice


def status(services: Services, tenant_id: str) -> dict[str, Any]:
    integration = services.store.tenants.get_integration(tenant_id) or Integration()
    active = integration.active
    return {
        "status": "active" if active else "inactive",
        "client_name": integration.client_name if active else None,
        "activated_at": integration.activated_at if active else None,
        "activated_by": integration.activated_by if active else None,
    }


def refuse_while_exporting(services: Services, tenant_id: str) -> None:
    """A key must not change under a running export: its push and rollback need the company it started in.

    (The export also pins the secret version it started with, so a change that slips between this check and
    the claim of a new export still cannot send its lines, or their deletes, to another company.)
    """
    running = services.store.exports.running_export(tenant_id)
    if running is not None:
        raise ExportInProgress(
            f"export {running} is running for this company; activate, switch off or change keys once it has ended"
        )


def activate(services: Services, tenant_id: str, client_key: str, user: str) -> dict[str, Any]:
    """Confirm the key with PowerOffice Go, then store it; on any failure nothing is stored."""
    client_key = client_key.strip()
    if not client_key:
        raise ClientKeyNotAccepted("the client key is empty; paste the client key from PowerOffice Go")
    refuse_while_exporting(services, tenant_id)
    with reading_poweroffice("PowerOffice Go could not confirm the key right now ({status}); try again"):
        try:
            with services.poweroffice(client_key, within_api_call=True) as poweroffice:
                info = poweroffice.client_integration_information()
        except ClientKeyRejected:
            raise ClientKeyNotAccepted(
                "PowerOffice Go does not recognise this client key. Check that it was copied in full and that it "
                "belongs to the production environment (demo keys do not work here)."
            ) from None
    missing: list[str] = []
    if not info.has_payroll:
        missing.append("the Payroll module (Lønn) is not active on this PowerOffice Go client")
    lacking = info.missing_privileges()
    if lacking:
        missing.append(
            f"the integration lacks the privileges {', '.join(lacking)}; grant them in PowerOffice Go"
        )
    if missing:
        reason = "; ".join(missing)
        # str.capitalize() would lowercase the rest too (privilege names, "PowerOffice Go").
        raise PowerOfficeAccessDenied(
            reason[0].upper() + reason[1:] + ".",
            params={"payroll_module_missing": not info.has_payroll, "privileges": list(lacking)},
        )
    refuse_while_exporting(services, tenant_id)  # again: confirming the key took a while
    stored = services.vault.put(tenant_id, client_key)
    services.store.tenants.put_integration(
        tenant_id,
        Integration(
            status="active",
            client_name=info.client_name,
            client_id=info.client_id,
            secret_arn=stored.arn,
            secret_version=stored.version_id,
            activated_at=now_iso(),
            activated_by=user,
        ),
    )
    logger.info("integration activated", extra={"tenant_id": tenant_id})
    return status(services, tenant_id)


def deactivate(services: Services, tenant_id: str, user: str) -> dict[str, Any]:
    """Switching off forgets the key; codes, rates and the export history stay."""
    refuse_while_exporting(services, tenant_id)
    services.vault.delete(tenant_id)
    services.store.tenants.put_integration(
        tenant_id, Integration(status="inactive", deactivated_at=now_iso(), deactivated_by=user)
    )
    logger.info("integration deactivated", extra={"tenant_id": tenant_id})
    return {"status": "inactive"}
