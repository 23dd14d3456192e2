"""Activate and switch off the PowerOffice Go integration of a tenant."""

from __future__ import annotations

from typing import Any

from ..errors import ClientKeyRejectedError, PowerOfficeUnavailableError, PrivilegesMissingError
from ..observability import logger
from ..poweroffice import ClientKeyRejected, PowerOfficeError, PrivilegesMissing
from ..records import Integration
from ..store import now_iso
from .services import Services

REQUIRED_PRIVILEGES = ("SalaryLine_Full", "Employee", "PayItem")


def status(services: Services, tenant_id: str) -> dict[str, Any]:
    integration = services.store.tenants.get_integration(tenant_id) or Integration()
    active = integration.active
    return {
        "status": "active" if active else "inactive",
        "client_name": integration.client_name if active else None,
        "activated_at": integration.activated_at if active else None,
        "activated_by": integration.activated_by if active else None,
    }


def activate(services: Services, tenant_id: str, client_key: str, user: str) -> dict[str, Any]:
    """Confirm the key with PowerOffice Go, then store it; on any failure nothing is stored."""
    client_key = client_key.strip()
    if not client_key:
        raise ClientKeyRejectedError("the client key is empty; paste the client key from PowerOffice Go")
    try:
        with services.poweroffice(client_key) as poweroffice:
            info = poweroffice.client_integration_information()
    except ClientKeyRejected:
        raise ClientKeyRejectedError(
            "PowerOffice Go does not recognise this client key. Check that it was copied in full and that it belongs "
            "to the production environment (demo keys do not work here)."
        ) from None
    except PrivilegesMissing as error:
        raise PrivilegesMissingError(f"PowerOffice Go refused access: {error.detail or error.title}") from None
    except PowerOfficeError as error:
        raise PowerOfficeUnavailableError(f"PowerOffice Go could not confirm the key right now ({error.status}); try again") from None
    missing: list[str] = []
    if "Payroll" not in (info.active_client_subscriptions or []):
        missing.append("the Payroll module (Lønn) is not active on this PowerOffice Go client")
    invalid = [p for p in (info.invalid_privileges or []) if p in REQUIRED_PRIVILEGES or p.startswith("SalaryLine")]
    if invalid:
        missing.append(f"the integration lacks the privileges {', '.join(invalid)}; grant them in PowerOffice Go")
    if missing:
        reason = "; ".join(missing)
        # str.capitalize() would lowercase the rest too (privilege names, "PowerOffice Go").
        raise PrivilegesMissingError(reason[0].upper() + reason[1:] + ".")
    secret_arn = services.vault.put(tenant_id, client_key)
    services.store.tenants.put_integration(
        tenant_id,
        Integration(
            status="active",
            client_name=info.client_name,
            client_id=info.client_id,
            secret_arn=secret_arn,
            activated_at=now_iso(),
            activated_by=user,
        ),
    )
    logger.info("integration activated", extra={"tenant_id": tenant_id})
    return status(services, tenant_id)


def deactivate(services: Services, tenant_id: str, user: str) -> dict[str, Any]:
    """Switching off forgets the key; codes, rates and the export history stay."""
    services.vault.delete(tenant_id)
    services.store.tenants.put_integration(
        tenant_id, Integration(status="inactive", deactivated_at=now_iso(), deactivated_by=user)
    )
    logger.info("integration deactivated", extra={"tenant_id": tenant_id})
    return {"status": "inactive"}
