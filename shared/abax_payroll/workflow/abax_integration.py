"""Connect and disconnect ABAX for a tenant: the company's own API client, verified, stored like its PowerOffice key."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from ..abax import AbaxAuthFailed, AbaxError
from ..domain.period import Period
from ..errors import AbaxCredentialsNotAccepted, AbaxNotAnswering
from ..observability import logger
from ..records import AbaxIntegration
from ..store import now_iso
from .integration import refuse_while_exporting
from .services import Services


def status(services: Services, tenant_id: str) -> dict[str, Any]:
    """Whether ABAX is connected; never the client id or secret."""
    integration = services.store.tenants.get_abax_integration(tenant_id) or AbaxIntegration()
    active = integration.active
    return {
        "status": "active" if active else "inactive",
        "activated_at": integration.activated_at if active else None,
        "activated_by": integration.activated_by if active else None,
    }


def activate(
    services: Services, tenant_id: str, client_id: str, client_secret: str, user: str
) -> dict[str, Any]:
    """Verify the pair with a token and a trips call, then store it; on any failure nothing is stored."""
    client_id, client_secret = client_id.strip(), client_secret.strip()
    if not client_id or not client_secret:
        raise AbaxCredentialsNotAccepted("both the client id and the client secret from ABAX are needed")
    refuse_while_exporting(services, tenant_id)
    today = services.clock().date()
    try:
        with services.abax(client_id, client_secret) as abax:
            abax.trips(Period(today - timedelta(days=1), today))  # a token, then one small trips call
    except AbaxAuthFailed as error:
        raise AbaxCredentialsNotAccepted(
            "ABAX did not accept this API client: check the client id and secret, and that the client may read "
            f"trips (scope open_api.trips) in this ABAX environment ({error})"
        ) from None
    except AbaxError as error:
        raise AbaxNotAnswering(
            f"ABAX could not confirm the API client right now; try again ({error})"
        ) from None
    refuse_while_exporting(services, tenant_id)  # again: verifying took a while
    stored = services.abax_vault.put(
        tenant_id, json.dumps({"client_id": client_id, "client_secret": client_secret})
    )
    services.store.tenants.put_abax_integration(
        tenant_id,
        AbaxIntegration(
            status="active", secret_version=stored.version_id, activated_at=now_iso(), activated_by=user
        ),
    )
    logger.info("ABAX connected", extra={"tenant_id": tenant_id})
    return status(services, tenant_id)


def deactivate(services: Services, tenant_id: str, user: str) -> dict[str, Any]:
    """Forget the API client; codes, rates and the export history stay."""
    refuse_while_exporting(services, tenant_id)
    services.abax_vault.delete(tenant_id)
    services.store.tenants.put_abax_integration(
        tenant_id, AbaxIntegration(status="inactive", deactivated_at=now_iso(), deactivated_by=user)
    )
    logger.info("ABAX disconnected", extra={"tenant_id": tenant_id})
    return {"status": "inactive"}
