"""The PowerOffice Go v2 client: auth, employees, pay items, salary lines, with typed DTOs and named errors."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..errors import (
    AuthenticationFailed,
    ClientKeyRejected,
    PowerOfficeError,
    PowerOfficeUnavailable,
    PrivilegesMissing,
    RateLimited,
    SalaryLineLocked,
    SalaryLineRejected,
)
from .ratelimit import LocalRateLimiter, RateLimiter, shared_limiter
from .tokens import TOKENS, TokenCache

if TYPE_CHECKING:
    from .client import PowerOfficeClient, employee_number_filter
    from .dtos import (
        PAYROLL_SUBSCRIPTION,
        REQUIRED_PRIVILEGES,
        ClientIntegrationInformation,
        SalaryLine,
        SalaryLinePost,
    )

# The HTTP client (httpx) and the DTOs (pydantic models) are imported when a path first asks for them: a
# function whose invocation may not call PowerOffice Go (the pusher woken to an empty queue, every export step
# but the push's, the API's reads) does not pay for them at its cold start.
_LAZY = {
    "PowerOfficeClient": "client",
    "employee_number_filter": "client",
    "PAYROLL_SUBSCRIPTION": "dtos",
    "REQUIRED_PRIVILEGES": "dtos",
    "ClientIntegrationInformation": "dtos",
    "SalaryLine": "dtos",
    "SalaryLinePost": "dtos",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PAYROLL_SUBSCRIPTION",
    "REQUIRED_PRIVILEGES",
    "TOKENS",
    "AuthenticationFailed",
    "ClientIntegrationInformation",
    "ClientKeyRejected",
    "LocalRateLimiter",
    "PowerOfficeClient",
    "PowerOfficeError",
    "PowerOfficeUnavailable",
    "PrivilegesMissing",
    "RateLimited",
    "RateLimiter",
    "SalaryLine",
    "SalaryLineLocked",
    "SalaryLinePost",
    "SalaryLineRejected",
    "TokenCache",
    "employee_number_filter",
    "shared_limiter",
]
