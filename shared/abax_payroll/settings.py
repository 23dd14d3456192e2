"""Configuration as one model: environment variables parsed once at cold start, failing loudly when wrong."""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from functools import lru_cache

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator

from .domain.report_limits import REPORT_PART_ROWS


class SettingsError(RuntimeError):
    """The function's environment is incomplete or invalid; the message names the variables."""


class Settings(BaseModel):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    client_key_secret_prefix: str = Field("abax-payroll/client-keys/", alias="CLIENT_KEY_SECRET_PREFIX")
    secrets_kms_key_id: str | None = Field(None, alias="SECRETS_KMS_KEY_ID")
    state_machine_arn: str | None = Field(None, alias="STATE_MACHINE_ARN")
    # The daily schedule queues one start per due tenant here (the scheduled-start function consumes it).
    scheduled_starts_queue_url: str | None = Field(None, alias="SCHEDULED_STARTS_QUEUE_URL")

    poweroffice_api_url: str = Field("https://goapi.poweroffice.net/v2", alias="POWEROFFICE_API_URL")
    poweroffice_token_url: str = Field(
        "https://goapi.poweroffice.net/OAuth/Token", alias="POWEROFFICE_TOKEN_URL"
    )
    # In AWS: one secret {"application_key", "subscription_key"}; locally: the two variables themselves.
    poweroffice_keys_secret_arn: str | None = Field(None, alias="POWEROFFICE_KEYS_SECRET_ARN")
    poweroffice_application_key: SecretStr | None = Field(None, alias="POWEROFFICE_APPLICATION_KEY")
    poweroffice_subscription_key: SecretStr | None = Field(None, alias="POWEROFFICE_SUBSCRIPTION_KEY")
    poweroffice_requests_per_second: float = Field(10.0, alias="POWEROFFICE_REQUESTS_PER_SECOND", gt=0)
    poweroffice_timeout_s: float = Field(10.0, alias="POWEROFFICE_TIMEOUT_S", gt=0)
    # The wait before trying a 5xx or timed-out request again, times the failures so far (the test suite: less).
    poweroffice_retry_backoff_s: float = Field(0.2, alias="POWEROFFICE_RETRY_BACKOFF_S", ge=0)

    abax_api_url: str = Field("https://api.abax.cloud", alias="ABAX_API_URL")
    abax_token_url: str = Field("https://identity.abax.cloud/connect/token", alias="ABAX_TOKEN_URL")
    # Scopes of the client-credentials grant; ABAX's sandbox (https://api-test.abax.cloud) wants the
    # open_api.sandbox… scopes instead: "open_api.sandbox open_api.sandbox.trips".
    abax_scope: str = Field("open_api open_api.trips", alias="ABAX_SCOPE", min_length=1)
    # Each company's own ABAX API client (client id and secret, as ABAX issues them per organisation) is
    # kept like its PowerOffice Go key: one secret per tenant under this prefix.
    abax_client_secret_prefix: str = Field("abax-payroll/abax-clients/", alias="ABAX_CLIENT_SECRET_PREFIX")
    # ABAX allows 60 requests per 60 s per API client: every instance calling with one company's client id
    # paces itself through one shared window in the table (store/pacing.py). The local stack and tests set a
    # smaller window to match the emulator's (its /_control/rate-limit).
    abax_requests_per_window: int = Field(60, alias="ABAX_REQUESTS_PER_WINDOW", ge=1)
    abax_rate_window_s: float = Field(60.0, alias="ABAX_RATE_WINDOW_S", gt=0)
    # Trips per /v1/trips page (ABAX's maximum is 1,500; tests use tiny pages to make a fetch span invocations).
    abax_page_size: int = Field(1500, alias="ABAX_PAGE_SIZE", ge=1, le=1500)
    # The S3 bucket that keeps ABAX's answers for an export or a search (they outgrow DynamoDB items).
    snapshot_bucket: str = Field("", alias="SNAPSHOT_BUCKET")
    # Seconds one Fetch invocation reads ABAX at most (the function's timeout is 15 minutes), and optionally
    # the calls it makes at most (0: no cap; tests use a small cap to make a fetch span invocations).
    fetch_seconds: float = Field(600.0, alias="FETCH_SECONDS", gt=0, le=840)
    fetch_calls_per_invocation: int = Field(0, alias="FETCH_CALLS_PER_INVOCATION", ge=0)
    # A search reads ABAX inside the API call this long at most, then answers 202 and goes on in Step
    # Functions (API Gateway cuts a call at 29 s); its ABAX answers are reused this long by the next search.
    preview_inline_seconds: float = Field(15.0, alias="PREVIEW_INLINE_SECONDS", ge=0, le=20)
    preview_fresh_seconds: int = Field(900, alias="PREVIEW_FRESH_SECONDS", ge=0)

    # E-mails to a company about its scheduled exports: SES's verified sender identity (unset: none are sent)
    # and the web app's address, for the link to the export.
    notification_sender: str | None = Field(None, alias="NOTIFICATION_SENDER")
    web_app_url: str = Field("", alias="WEB_APP_URL")

    # Origins of the web app allowed to call the API (comma-separated); API Gateway's proxy answers need them.
    cors_allowed_origins: str = Field("", alias="CORS_ALLOWED_ORIGINS")

    push_chunk_size: int = Field(100, alias="PUSH_CHUNK_SIZE", ge=1, le=500)
    # Rows per part of a documentation report (each part also stops at about 3 MB of answer).
    report_part_rows: int = Field(REPORT_PART_ROWS, alias="REPORT_PART_ROWS", ge=1, le=REPORT_PART_ROWS)
    # The pusher function (workflow/push.py), woken by a chunk queued while no pusher drains the queue.
    pusher_function_name: str | None = Field(None, alias="PUSHER_FUNCTION_NAME")
    # POSTs in flight at once within a chunk. One at a time, a reply taking 150 ms caps a push at ~6.7 lines/s,
    # under the 10 requests/s everyone shares; the shared limiter still paces the sends.
    push_concurrency: int = Field(4, alias="PUSH_CONCURRENCY", ge=1, le=16)
    # How long the pusher's hold on the queue, and on each chunk it pushes, outlives its last renewal: a pusher
    # that died (its process killed mid-chunk) is replaced this long after at most, plus the schedule's minute.
    # Tests shorten it to see a replacement within seconds.
    pusher_hold_s: float = Field(60.0, alias="PUSHER_HOLD_S", ge=1, le=600)

    model_config = {"populate_by_name": True, "extra": "ignore", "frozen": True}

    @model_validator(mode="after")
    def _keys_whole(self) -> Settings:
        # Each function is given only the secrets its role may read (infra/cdk/constructs/functions.py); a
        # function whose path needs a secret it was not given fails there, naming the variable.
        if bool(self.poweroffice_application_key) != bool(self.poweroffice_subscription_key):
            raise ValueError(
                "set both POWEROFFICE_APPLICATION_KEY and POWEROFFICE_SUBSCRIPTION_KEY, or neither"
            )
        return self

    def require(self, what: str, *names: str) -> None:
        """Raise SettingsError naming the variables when none of them is set (a path needs `what`)."""
        if not any(getattr(self, field) for field in names):
            aliases = " or ".join(str(type(self).model_fields[field].alias) for field in names)
            raise SettingsError(f"this function is not configured for {what}: set {aliases}")


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    try:
        return Settings.model_validate(dict(os.environ if environ is None else environ))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or 'environment'}: {issue['msg']}"
            for issue in error.errors()
        )
        raise SettingsError(f"invalid function configuration: {problems}") from None


# In Lambda each function is a process of its own, configured by os.environ. The local stack runs every
# function in one process: it names the running function's own environment (the synthesized one) here.
function_environment: ContextVar[Mapping[str, str] | None] = ContextVar("function_environment", default=None)


def settings() -> Settings:
    """The settings of this function, read once (cold start)."""
    environment = function_environment.get()
    if environment is None:
        return _process_settings()
    return _function_settings(tuple(sorted(environment.items())))


@lru_cache(maxsize=1)
def _process_settings() -> Settings:
    return load_settings()


@lru_cache(maxsize=32)
def _function_settings(environment: tuple[tuple[str, str], ...]) -> Settings:
    return load_settings(dict(environment))


def clear_settings() -> None:
    _process_settings.cache_clear()
    _function_settings.cache_clear()
