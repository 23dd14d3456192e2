"""Routes: the PowerOffice Go and ABAX integrations' status, activation (admin) and switching off (admin)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from ..workflow import abax_integration, integration
from ..workflow.services import services
from .common import caller, require_admin
from .models import (
    AbaxActivateRequest,
    AbaxIntegrationStatus,
    ActivateRequest,
    Deactivated,
    IntegrationStatus,
)

router = Router()


@router.get("/integrations/poweroffice", summary="Integration status (never the key)")
def get_status() -> IntegrationStatus:
    who = caller(router)
    return IntegrationStatus(**integration.status(services(), who.tenant_id))


@router.post(
    "/integrations/poweroffice/activate",
    summary="Confirm the client key with PowerOffice Go and store it (admin)",
)
def activate(body: ActivateRequest) -> IntegrationStatus:
    who = caller(router)
    require_admin(who)
    return IntegrationStatus(
        **integration.activate(services(), who.tenant_id, body.client_key.get_secret_value(), who.user)
    )


@router.post(
    "/integrations/poweroffice/deactivate", summary="Switch the integration off and forget the key (admin)"
)
def deactivate() -> Deactivated:
    who = caller(router)
    require_admin(who)
    return Deactivated.model_validate(integration.deactivate(services(), who.tenant_id, who.user))


@router.get("/integrations/abax", summary="ABAX connection status (never the client id or secret)")
def get_abax_status() -> AbaxIntegrationStatus:
    who = caller(router)
    return AbaxIntegrationStatus(**abax_integration.status(services(), who.tenant_id))


@router.post(
    "/integrations/abax/activate",
    summary="Verify the company's ABAX API client with a token and a trips call, and store it (admin)",
)
def activate_abax(body: AbaxActivateRequest) -> AbaxIntegrationStatus:
    who = caller(router)
    require_admin(who)
    connected = abax_integration.activate(
        services(), who.tenant_id, body.client_id, body.client_secret.get_secret_value(), who.user
    )
    return AbaxIntegrationStatus(**connected)


@router.post("/integrations/abax/deactivate", summary="Disconnect ABAX and forget the API client (admin)")
def deactivate_abax() -> Deactivated:
    who = caller(router)
    require_admin(who)
    return Deactivated.model_validate(abax_integration.deactivate(services(), who.tenant_id, who.user))
