"""Configuration as one model: environment variables parsed once at cold start, failing loudly when wrong."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator


class SettingsError(RuntimeError):
    """The function's environment is incomplete or invalid; the message names the variables."""


class Settings(BaseModel):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    client_key_secret_prefix: str = Field("abax-payroll/client-keys/", alias="CLIENT_KEY_SECRET_PREFIX")
    secrets_kms_key_id: str | None = Field(None, alias="SECRETS_KMS_KEY_ID")
    state_machine_arn: str | None = Field(None, alias="STATE_MACHINE_ARN")

    poweroffice_api_url: str = Field("https://goapi.poweroffice.net/v2", alias="POWEROFFICE_API_URL")
    poweroffice_token_url: str = Field("https://goapi.poweroffice.net/OAuth/Token", alias="POWEROFFICE_TOKEN_URL")
    # In AWS: one secret {"application_key", "subscription_key"}; locally: the two variables themselves.
    poweroffice_keys_secret_arn: str | None = Field(None, alias="POWEROFFICE_KEYS_SECRET_ARN")
    poweroffice_application_key: SecretStr | None = Field(None, alias="POWEROFFICE_APPLICATION_KEY")
    poweroffice_subscription_key: SecretStr | None = Field(None, alias="POWEROFFICE_SUBSCRIPTION_KEY")
    poweroffice_requests_per_second: float = Field(10.0, alias="POWEROFFICE_REQUESTS_PER_SECOND", gt=0)
    poweroffice_timeout_s: float = Field(10.0, alias="POWEROFFICE_TIMEOUT_S", gt=0)

    abax_api_url: str = Field("https://api.abax.cloud", alias="ABAX_API_URL")
    abax_token_url: str = Field("https://identity.abax.cloud/connect/token", alias="ABAX_TOKEN_URL")
    # The ABAX client id is the tenant's organisation id; the secret is the platform's.
    abax_credentials_secret_arn: str | None = Field(None, alias="ABAX_CREDENTIALS_SECRET_ARN")
    abax_client_secret: SecretStr | None = Field(None, alias="ABAX_CLIENT_SECRET")

    # Origins of the web app allowed to call the API (comma-separated); API Gateway's proxy answers need them.
    cors_allowed_origins: str = Field("", alias="CORS_ALLOWED_ORIGINS")

    push_chunk_size: int = Field(100, alias="PUSH_CHUNK_SIZE", ge=1, le=500)
    # Seconds a push lease is held at most; pushes of all tenants share PowerOffice's rate limit.
    push_lease_seconds: int = Field(120, alias="PUSH_LEASE_SECONDS", ge=5)
    # POSTs in flight at once within a chunk. One at a time, a reply taking 150 ms caps a push at ~6.7 lines/s,
    # under the 10 requests/s everyone shares; the shared limiter still paces the sends.
    push_concurrency: int = Field(4, alias="PUSH_CONCURRENCY", ge=1, le=16)

    model_config = {"populate_by_name": True, "extra": "ignore", "frozen": True}

    @model_validator(mode="after")
    def _keys_from_somewhere(self) -> Settings:
        if not self.poweroffice_keys_secret_arn and not (
            self.poweroffice_application_key and self.poweroffice_subscription_key
        ):
            raise ValueError(
                "set POWEROFFICE_KEYS_SECRET_ARN, or both POWEROFFICE_APPLICATION_KEY and POWEROFFICE_SUBSCRIPTION_KEY"
            )
        if not self.abax_credentials_secret_arn and not self.abax_client_secret:
            raise ValueError("set ABAX_CREDENTIALS_SECRET_ARN or ABAX_CLIENT_SECRET")
        return self


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    try:
        return Settings.model_validate(dict(os.environ if environ is None else environ))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in issue['loc']) or 'environment'}: {issue['msg']}" for issue in error.errors()
        )
        raise SettingsError(f"invalid function configuration: {problems}") from None


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this process, read once (cold start)."""
    return load_settings()
