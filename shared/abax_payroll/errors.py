"""Domain errors with stable names: the state machine catches them by name, the API maps them to problem+json."""

from __future__ import annotations

from typing import Any


class PayrollError(Exception):
    """Base of errors a user can act on; `code` is the stable problem code in API answers."""

    code = "INTERNAL_ERROR"
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, problems: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.problems = problems or []


class NotFound(PayrollError):
    code, status, title = "NOT_FOUND", 404, "Not found"


class IntegrationInactive(PayrollError):
    code, status, title = "INTEGRATION_INACTIVE", 409, "PowerOffice Go integration is not active"


class ClientKeyRejectedError(PayrollError):
    code, status, title = "CLIENT_KEY_REJECTED", 400, "PowerOffice Go rejected the client key"


class PrivilegesMissingError(PayrollError):
    code, status, title = "POWEROFFICE_PRIVILEGES_MISSING", 403, "PowerOffice Go privileges missing"


class PowerOfficeUnavailableError(PayrollError):
    code, status, title = "POWEROFFICE_UNAVAILABLE", 502, "PowerOffice Go did not answer"


class AbaxUnavailableError(PayrollError):
    code, status, title = "ABAX_UNAVAILABLE", 502, "ABAX did not answer"


class ExportInProgress(PayrollError):
    code, status, title = "EXPORT_IN_PROGRESS", 409, "An export is already running"


class AlreadyExported(PayrollError):
    code, status, title = "ALREADY_EXPORTED", 409, "Trips already exported"


class ExportNotReady(PayrollError):
    code, status, title = "VALIDATION_FAILED", 422, "The export cannot start"


class InvalidRequest(PayrollError):
    code, status, title = "INVALID_REQUEST", 400, "Invalid request"


# Raised inside state-machine steps; their class names are the ASL's ErrorEquals.
class ExportValidationFailed(Exception):
    """Validation stopped the export; the record lists every problem."""


class PushFailed(Exception):
    """Creating a salary line failed after retries; the saga compensates."""


class PushLeaseBusy(Exception):
    """Another export holds the PowerOffice push lease; the state machine retries shortly."""


class SourceUnavailable(Exception):
    """ABAX or PowerOffice could not be read; worth a retry."""


class SourceChanged(Exception):
    """The logbooks changed between validation and grouping; the export must be started again."""
