"""The ports a use case needs (store, vault, PowerOffice, ABAX, Step Functions), built once per cold start."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import AbaxInactive, CredentialsGone, IntegrationInactive
from ..poweroffice import LocalRateLimiter, shared_limiter
from ..records import ExportRecord, Integration
from ..settings import Settings, clear_settings, settings
from ..store import (
    ClientKeyVault,
    ExportRuns,
    Mailer,
    PayrollStore,
    PusherNudge,
    ScheduledStarts,
    SesMailer,
    SqsScheduledStarts,
    StepFunctionsRuns,
)

if TYPE_CHECKING:
    # Imported where a client is built (httpx, the DTOs): a function's cold start pays for them only on a path
    # that talks to PowerOffice Go or ABAX.
    from ..abax import AbaxClient
    from ..poweroffice import PowerOfficeClient

# A PowerOffice Go client inside an API call (see Services.poweroffice): its worst case (token, pay items,
# employees) stays far below API Gateway's 29 s beside a search's ABAX read.
API_CALL_RATE_LIMIT_S = 3.0
API_CALL_TIMEOUT_S = 5.0
API_CALL_ATTEMPTS = 2
INACTIVE = "activate the PowerOffice Go integration with the company's client key first"
ABAX_INACTIVE = "connect ABAX with the company's own API client (client id and secret from ABAX) first"


class PlatformKeys:
    """The platform's own credentials, each read from its secret the first time a path needs it.

    A function loads only what its path uses, so its role grants only that secret (the schedule never reads
    PowerOffice Go's keys; infra/cdk/constructs/functions.py gives each function exactly these ARNs). ABAX
    has no platform secret: each company's own API client is in `Services.abax_vault`.
    """

    def __init__(self, config: Settings):
        self._config = config
        self._lock = threading.Lock()
        self._poweroffice: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return "PlatformKeys(<redacted>)"

    def _poweroffice_keys(self) -> tuple[str, str]:
        with self._lock:
            if self._poweroffice is None:
                config = self._config
                if config.poweroffice_keys_secret_arn:
                    keys = json.loads(_secret(config.poweroffice_keys_secret_arn))
                    self._poweroffice = (keys["application_key"], keys["subscription_key"])
                else:
                    config.require(
                        "the PowerOffice Go platform keys",
                        "poweroffice_keys_secret_arn",
                        "poweroffice_application_key",
                    )
                    assert config.poweroffice_application_key and config.poweroffice_subscription_key
                    self._poweroffice = (
                        config.poweroffice_application_key.get_secret_value(),
                        config.poweroffice_subscription_key.get_secret_value(),
                    )
            return self._poweroffice

    @property
    def application_key(self) -> str:
        return self._poweroffice_keys()[0]

    @property
    def subscription_key(self) -> str:
        return self._poweroffice_keys()[1]


def _secret(arn: str) -> str:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    # A provider of its own: the module-level cache would be shared by every function the local stack runs in
    # one process, and hand one function a secret another one read.
    raw = SecretsProvider().get(arn)
    if isinstance(raw, bytes):
        return raw.decode()
    return str(raw)


@dataclass
class Services:
    settings: Settings
    store: PayrollStore
    vault: ClientKeyVault
    abax_vault: ClientKeyVault
    keys_loader: Callable[[], PlatformKeys] = field(repr=False)
    runs: ExportRuns
    starts: ScheduledStarts | None = None
    nudge_pusher: Callable[[], None] = lambda: None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    mailer: Mailer = field(default_factory=lambda: SesMailer(None))

    @property
    def keys(self) -> PlatformKeys:
        return self.keys_loader()

    def poweroffice(self, client_key: str, within_api_call: bool = False) -> PowerOfficeClient:
        """`within_api_call`: a client that gives up within seconds (API Gateway cuts a call at 29 s): it waits
        out 429s for API_CALL_RATE_LIMIT_S at most, and tries a slow or failing request API_CALL_ATTEMPTS times
        of API_CALL_TIMEOUT_S each; a step's client waits minutes (the state machine has time)."""
        keys = self.keys
        budget: dict[str, Any] = (
            {
                "rate_limit_budget_s": API_CALL_RATE_LIMIT_S,
                "max_attempts": API_CALL_ATTEMPTS,
                "timeout": API_CALL_TIMEOUT_S,
            }
            if within_api_call
            else {"timeout": self.settings.poweroffice_timeout_s}
        )
        from ..poweroffice.client import PowerOfficeClient

        return PowerOfficeClient(
            self.settings.poweroffice_api_url,
            self.settings.poweroffice_token_url,
            keys.application_key,
            keys.subscription_key,
            client_key,
            limiter=self.limiter(),
            backoff_s=self.settings.poweroffice_retry_backoff_s,
            **budget,
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

    def require_abax(self, tenant_id: str) -> None:
        """AbaxInactive unless the tenant's admin has connected ABAX (said before anything is read or started)."""
        integration = self.store.tenants.get_abax_integration(tenant_id)
        if integration is None or not integration.active:
            raise AbaxInactive(ABAX_INACTIVE)

    def poweroffice_for(self, tenant_id: str, within_api_call: bool = False) -> PowerOfficeClient:
        """A client with the tenant's key; IntegrationInactive when the integration is off or its key gone."""
        self.active_integration(tenant_id)
        client_key = self.vault.get(tenant_id)
        if not client_key:
            raise IntegrationInactive(INACTIVE)
        return self.poweroffice(client_key, within_api_call)

    def poweroffice_for_export(self, tenant_id: str, record: ExportRecord) -> PowerOfficeClient:
        """The client with the very key the export was started with (its lines live in that company).

        The export records the secret version of the key at its start; push and rollback read that version,
        whatever the admin activated since. If that version is gone (switched off and on again), the current
        key is used only when PowerOffice Go confirms it belongs to the same client; otherwise CredentialsGone.
        Exports recorded before this pin use the current key.
        """
        pinned = record.credentials
        if pinned is None or not pinned.poweroffice_secret_version:
            return self.poweroffice_for(tenant_id)
        client_key = self.vault.get(tenant_id, version_id=pinned.poweroffice_secret_version)
        if client_key is not None:
            return self.poweroffice(client_key)
        current = self.vault.get(tenant_id)
        gone = CredentialsGone(
            "the PowerOffice Go key this export was started with is no longer stored (the integration was "
            "switched off or another key activated); activate the key of "
            f"{pinned.poweroffice_client_name or 'the company it was started for'} again"
        )
        if current is None or not pinned.poweroffice_client_id:
            raise gone
        poweroffice = self.poweroffice(current)
        try:
            same_client = (
                poweroffice.client_integration_information().client_id == pinned.poweroffice_client_id
            )
        except Exception:
            poweroffice.close()
            raise
        if not same_client:
            poweroffice.close()
            raise gone
        return poweroffice

    def abax(
        self,
        client_id: str,
        client_secret: str,
        sleep: Callable[[float], None] | None = None,
        timeout: float | None = None,
    ) -> AbaxClient:
        """`sleep` replaces the client's waits (a fetch with a deadline stops instead of waiting past it)."""
        options: dict[str, Any] = {}
        if sleep is not None:
            options["sleep"] = sleep
        if timeout is not None:
            options["timeout"] = timeout
        from ..abax.client import AbaxClient

        return AbaxClient(
            self.settings.abax_api_url,
            self.settings.abax_token_url,
            client_id=client_id,
            client_secret=client_secret,
            scope=self.settings.abax_scope,
            pacer=self.abax_pacer(client_id),
            **options,
        )

    def abax_pacer(self, client_id: str) -> Callable[[], float]:
        """Reserves the next ABAX request of this API client in the window every instance shares; the
        seconds to wait before sending it."""
        limit, window = self.settings.abax_requests_per_window, self.settings.abax_rate_window_s
        # ABAX counts arrivals, and a send may leave a little after its slot (a busy instance, the network):
        # a 2 % wider window (1.2 s of 60 s), never under 0.25 s.
        margin = max(0.25, window * 0.02)

        def pace() -> float:
            slot = self.store.pacing.reserve("abax:" + client_id, limit, window, margin)
            return max(0.0, slot - time.time())

        return pace

    def abax_for(
        self, tenant_id: str, sleep: Callable[[float], None] | None = None, timeout: float | None = None
    ) -> AbaxClient:
        """A client with the company's own ABAX API client; AbaxInactive until its admin has connected ABAX."""
        integration = self.store.tenants.get_abax_integration(tenant_id)
        stored = self.abax_vault.get(tenant_id) if integration is not None and integration.active else None
        if not stored:
            raise AbaxInactive(ABAX_INACTIVE)
        pair = json.loads(stored)
        return self.abax(pair["client_id"], pair["client_secret"], sleep=sleep, timeout=timeout)


def _load_keys(config: Settings) -> Callable[[], PlatformKeys]:
    keys = PlatformKeys(config)
    return lambda: keys


def build_services(config: Settings | None = None) -> Services:
    config = config or settings()
    built = Services(
        settings=config,
        store=PayrollStore(config.table_name, config.snapshot_bucket),
        vault=ClientKeyVault(config.client_key_secret_prefix, config.secrets_kms_key_id),
        abax_vault=ClientKeyVault(
            config.abax_client_secret_prefix,
            config.secrets_kms_key_id,
            description="ABAX API client (client id and secret) of one tenant (ABAX payroll export)",
        ),
        keys_loader=_load_keys(config),
        runs=StepFunctionsRuns(config.state_machine_arn),
        starts=SqsScheduledStarts(config.scheduled_starts_queue_url),
        mailer=SesMailer(config.notification_sender),
        nudge_pusher=PusherNudge(config.pusher_function_name),
    )
    if config.notification_sender:
        # The company hears of its scheduled export's end, wherever the export is finished (a step, the
        # rollback, the run-ended rule, the sweep). Imported here: notifications is a use case over Services.
        from .notifications import export_finished

        built.store.exports.finished_hooks.append(
            lambda tenant_id, export_id, status: export_finished(built, tenant_id, export_id, status)
        )
    return built


_services: dict[int, tuple[Settings, Services]] = {}


def services() -> Services:
    """The function's services (a Lambda cold start builds them once; see settings.function_environment)."""
    config = settings()
    built = _services.get(id(config))
    if built is None or built[0] is not config:
        built = _services[id(config)] = (config, build_services(config))
    return built[1]


def reset_services() -> None:
    """Forget the cached services (the local stack calls this when it changes the environment)."""
    _services.clear()
    clear_settings()
