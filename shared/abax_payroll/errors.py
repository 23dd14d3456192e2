"""Every exception of the library, in three kinds, each name used once.

- Problems a user can act on (`PayrollError`): the API answers them as problem+json with a stable `code`.
- Errors of the state machine's steps: their class names are the ASL's ErrorEquals.
- Failures of the systems we call (`PowerOfficeError`, `AbaxError`): what PowerOffice Go or ABAX did; the
  use cases turn them into problems with words for the user.
"""

from __future__ import annotations

from typing import Any


class PayrollError(Exception):
    """Base of errors a user can act on; `code` is the stable problem code in API answers.

    `detail` is an English sentence for API users and logs; `params` hold the same facts for programs
    (dates, counts, ids), so a client can say it in its user's language without parsing the sentence.
    """

    code = "INTERNAL_ERROR"
    status = 500
    title = "Internal error"

    def __init__(
        self, detail: str, problems: list[dict[str, Any]] | None = None, params: dict[str, Any] | None = None
    ):
        super().__init__(detail)
        self.detail = detail
        self.problems = problems or []
        self.params = params or {}


class NotFound(PayrollError):
    code, status, title = "NOT_FOUND", 404, "Not found"


class IntegrationInactive(PayrollError):
    code, status, title = "INTEGRATION_INACTIVE", 409, "PowerOffice Go integration is not active"


class ClientKeyNotAccepted(PayrollError):
    code, status, title = "CLIENT_KEY_REJECTED", 400, "PowerOffice Go rejected the client key"


class PowerOfficeAccessDenied(PayrollError):
    code, status, title = "POWEROFFICE_PRIVILEGES_MISSING", 403, "PowerOffice Go privileges missing"


class PowerOfficeNotAnswering(PayrollError):
    code, status, title = "POWEROFFICE_UNAVAILABLE", 502, "PowerOffice Go did not answer"


class PowerOfficeBusy(PayrollError):
    """PowerOffice Go's shared rate limit is spent for longer than an API call may wait: 503 and when to retry."""

    code, status, title = "POWEROFFICE_BUSY", 503, "PowerOffice Go is busy"
    retry_after_s = 10


class AbaxNotAnswering(PayrollError):
    code, status, title = "ABAX_UNAVAILABLE", 502, "ABAX did not answer"


class AbaxInactive(PayrollError):
    code, status, title = "ABAX_INACTIVE", 409, "ABAX is not connected"


class AbaxCredentialsNotAccepted(PayrollError):
    code, status, title = "ABAX_CREDENTIALS_REJECTED", 400, "ABAX rejected the API client"


class ExportInProgress(PayrollError):
    code, status, title = "EXPORT_IN_PROGRESS", 409, "An export is already running"


class AlreadyExported(PayrollError):
    code, status, title = "ALREADY_EXPORTED", 409, "Trips already exported"


class ExportNotResumable(PayrollError):
    code, status, title = "EXPORT_NOT_RESUMABLE", 409, "Nothing of this export is left to resume"


class NothingPaid(PayrollError):
    code, status, title = "NOTHING_PAID", 409, "The export left nothing in PowerOffice Go"


class InvalidRequest(PayrollError):
    code, status, title = "INVALID_REQUEST", 400, "Invalid request"


# Raised inside state-machine steps; their class names are the ASL's ErrorEquals.
class ExportValidationFailed(Exception):
    """Validation stopped the export; the record lists every problem."""


class PushFailed(Exception):
    """Creating a salary line failed after retries; the saga compensates."""


class SourceUnavailable(Exception):
    """ABAX or PowerOffice could not be read; worth a retry."""


class CredentialsGone(Exception):
    """The PowerOffice Go key an export created its lines with can no longer be read (switched off, or another
    company's key activated since): nothing may be pushed or deleted with any other key."""


class SourceChanged(Exception):
    """The logbooks changed between validation and grouping; the export must be started again."""


class RunSuperseded(Exception):
    """This run is no longer its export's current run (it was stopped, timed out, or a rollback or resume took
    over): it writes nothing more, to the record, the ledger or PowerOffice Go. A normal event, not a fault."""


# ---- failures of PowerOffice Go ---------------------------------------------------------------------
class PowerOfficeError(Exception):
    """Any failure talking to PowerOffice Go; `status`, `title`, `detail` come from its ProblemDetails."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        title: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.title = title
        self.detail = detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Picklable with its fields (Lambda error payloads, multiprocessing) despite keyword-only arguments.
        return (_rebuild, (type(self), self.message, self.status, self.title, self.detail))


def _rebuild(
    cls: type[PowerOfficeError], message: str, status: int | None, title: str | None, detail: str | None
) -> PowerOfficeError:
    return cls(message, status=status, title=title, detail=detail)


class ClientKeyRejected(PowerOfficeError):
    """The token endpoint does not know this client key (wrong key, or a demo/production mix)."""


class AuthenticationFailed(PowerOfficeError):
    """PowerOffice Go refused our credentials even with a fresh token (or refused the subscription key)."""


class PrivilegesMissing(PowerOfficeError):
    """403: the client lacks the Payroll module, or the integration lacks a privilege on this client."""


class SalaryLineRejected(PowerOfficeError):
    """PowerOffice Go refused to create a salary line (unknown employee, inactive pay item, ...)."""


class SalaryLineLocked(PowerOfficeError):
    """409 on delete: the line was already taken into a payroll and cannot be removed through the API."""

    def __init__(self, salary_line_id: int, *, title: str | None = None, detail: str | None = None) -> None:
        super().__init__(
            f"Salary line {salary_line_id} is locked in PowerOffice Go (already taken into a payroll) "
            "and cannot be deleted",
            status=409,
            title=title,
            detail=detail,
        )
        self.salary_line_id = salary_line_id

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_rebuild_locked, (self.salary_line_id, self.title, self.detail))


def _rebuild_locked(salary_line_id: int, title: str | None, detail: str | None) -> SalaryLineLocked:
    return SalaryLineLocked(salary_line_id, title=title, detail=detail)


class RateLimited(PowerOfficeError):
    """PowerOffice Go kept answering 429 for longer than the client's rate-limit budget."""


class PowerOfficeUnavailable(PowerOfficeError):
    """5xx answers, timeouts or connection errors persisted through every retry."""


# ---- failures of ABAX -------------------------------------------------------------------------------
class AbaxError(Exception):
    """Talking to ABAX failed; the message never holds a secret."""


class AbaxUnavailable(AbaxError):
    """ABAX kept failing (5xx, timeouts, rate limit) after every attempt."""


class AbaxAuthFailed(AbaxError):
    """ABAX refused the client credentials or the token."""


class AbaxRequestRejected(AbaxError):
    """ABAX answered 4xx to a request this client built: a bug or an API change, not worth retrying."""

    def __init__(self, message: str, status_code: int):
        super().__init__(message)
        self.status_code = status_code


# What the state machine's tasks raise on purpose, by name as its Catch and Retry match them (and EventBridge's
# retry of a run that ended while pushing): control flow, never counted as a fault (observability's
# count_unexpected_errors). Names, not classes: a handler need not import every module that raises one.
STEP_OUTCOMES = frozenset(
    {
        "ExportValidationFailed",
        "PushFailed",
        "SourceUnavailable",
        "CredentialsGone",
        "SourceChanged",
        "RunSuperseded",  # a run that is no longer its export's current run: a normal event
        "RunStillPushing",  # workflow/ended.py
        "RunStillDeleting",  # workflow/ended.py: a stopped run's rollback still deletes
        "PayrollError",  # a problem the company can act on, recorded on the export
    }
)
