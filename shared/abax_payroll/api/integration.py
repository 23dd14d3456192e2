"""Routes: the PowerOffice Go integration's status, activation (admin) and switching off (admin)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from ..workflow import integration
from ..workflow.services import services
from .common import caller, require_admin
from .models import ActivateRequest, IntegrationStatus
from .responses import Deactivated

router = Router()


@router.get("/integrations/poweroffice", summary="Integration status (never the key)")
def get_status() -> IntegrationStatus:
    who = caller(router)
    return IntegrationStatus(**integration.status(services(), who.tenant_id))


@router.post("/integrations/poweroffice/activate", summary="Confirm the client key with PowerOffice Go and store it (admin)")
def activate(body: ActivateRequest) -> IntegrationStatus:
    who = caller(router)
    require_admin(who)
    return IntegrationStatus(**integration.activate(services(), who.tenant_id, body.client_key.get_secret_value(), who.user))


@router.post("/integrations/poweroffice/deactivate", summary="Switch the integration off and forget the key (admin)")
def deactivate() -> Deactivated:
    who = caller(router)
    require_admin(who)
    return Deactivated.model_validate(integration.deactivate(services(), who.tenant_id, who.user))
