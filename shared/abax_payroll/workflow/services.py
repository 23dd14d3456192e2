"""The ports a use case needs (store, vault, PowerOffice, ABAX, Step Functions), built once per cold start."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from ..abax import AbaxClient
from ..errors import IntegrationInactive
from ..poweroffice import LocalRateLimiter, PowerOfficeClient, shared_limiter
from ..records import Integration
from ..settings import Settings, settings
from ..store import ClientKeyVault, ExportRuns, PayrollStore, StepFunctionsRuns

INACTIVE = "activate the PowerOffice Go integration with the company's client key first"


@dataclass(frozen=True)
class PlatformKeys:
    application_key: str = field(repr=False)
    subscription_key: str = field(repr=False)
    abax_client_secret: str = field(repr=False)


@dataclass
class Services:
    settings: Settings
    store: PayrollStore
    vault: ClientKeyVault
    keys_loader: Callable[[], PlatformKeys] = field(repr=False)
    runs: ExportRuns
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @property
    def keys(self) -> PlatformKeys:
        return self.keys_loader()

    def poweroffice(self, client_key: str) -> PowerOfficeClient:
        keys = self.keys
        return PowerOfficeClient(
            self.settings.poweroffice_api_url,
            self.settings.poweroffice_token_url,
            keys.application_key,
            keys.subscription_key,
            client_key,
            limiter=self.limiter(),
            timeout=self.settings.poweroffice_timeout_s,
        )

    def limiter(self) -> LocalRateLimiter:
        """This process's pacing of PowerOffice Go requests (the limit belongs to the subscription key)."""
        return shared_limiter(self.keys.subscription_key, self.settings.poweroffice_requests_per_second)

    def active_integration(self, tenant_id: str) -> Integration:
        """The tenant's integration, or IntegrationInactive when it is not switched on."""
        integration = self.store.tenants.get_integration(tenant_id)
        if integration is None or not integration.active:
            raise IntegrationInactive(INACTIVE)
        return integration

    def poweroffice_for(self, tenant_id: str) -> PowerOfficeClient:
        """A client with the tenant's key; IntegrationInactive when the integration is off or its key gone."""
        self.active_integration(tenant_id)
        client_key = self.vault.get(tenant_id)
        if not client_key:
            raise IntegrationInactive(INACTIVE)
        return self.poweroffice(client_key)

    def abax_for(self, tenant_id: str) -> AbaxClient:
        return AbaxClient(
            self.settings.abax_api_url,
            self.settings.abax_token_url,
            client_id=tenant_id,
            client_secret=self.keys.abax_client_secret,
        )


def _load_keys(config: Settings) -> Callable[[], PlatformKeys]:
    @lru_cache(maxsize=1)
    def load() -> PlatformKeys:
        if config.poweroffice_keys_secret_arn or config.abax_credentials_secret_arn:
            from aws_lambda_powertools.utilities import parameters

        if config.poweroffice_keys_secret_arn:
            raw = parameters.get_secret(config.poweroffice_keys_secret_arn, max_age=300)
            poweroffice = json.loads(raw if isinstance(raw, str) else raw.decode())
            application_key, subscription_key = poweroffice["application_key"], poweroffice["subscription_key"]
        else:
            assert config.poweroffice_application_key and config.poweroffice_subscription_key
            application_key = config.poweroffice_application_key.get_secret_value()
            subscription_key = config.poweroffice_subscription_key.get_secret_value()
        if config.abax_credentials_secret_arn:
            raw = parameters.get_secret(config.abax_credentials_secret_arn, max_age=300)
            abax_secret = json.loads(raw if isinstance(raw, str) else raw.decode())["client_secret"]
        else:
            assert config.abax_client_secret
            abax_secret = config.abax_client_secret.get_secret_value()
        return PlatformKeys(application_key, subscription_key, abax_secret)

    return load


def build_services(config: Settings | None = None) -> Services:
    config = config or settings()
    return Services(
        settings=config,
        store=PayrollStore(config.table_name),
        vault=ClientKeyVault(config.client_key_secret_prefix, config.secrets_kms_key_id),
        keys_loader=_load_keys(config),
        runs=StepFunctionsRuns(config.state_machine_arn),
    )


_services: Services | None = None


def services() -> Services:
    """The process's services (a Lambda cold start builds them once)."""
    global _services
    if _services is None:
        _services = build_services()
    return _services


def reset_services() -> None:
    """Forget the cached services (the local stack calls this when it changes the environment)."""
    global _services
    _services = None
    settings.cache_clear()
