"""The PowerOffice Go v2 client: auth, employees, pay items, salary lines, with typed DTOs and named errors."""

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
from .client import PowerOfficeClient, employee_number_filter
from .dtos import (
    PAYROLL_SUBSCRIPTION,
    REQUIRED_PRIVILEGES,
    ClientIntegrationInformation,
    SalaryLine,
    SalaryLinePost,
)
from .ratelimit import LocalRateLimiter, RateLimiter, shared_limiter
from .tokens import TOKENS, TokenCache

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
