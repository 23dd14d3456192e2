"""Named PowerOffice Go failures that the workflow and the API can catch and explain to a user."""

from __future__ import annotations


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
