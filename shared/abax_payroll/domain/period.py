"""A date range chosen by the payroll administrator (inclusive at both ends, Europe/Oslo dates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

MAX_PERIOD_DAYS = 366
# Trips are logged in this century; the bounds also keep date arithmetic (a day either side, windows of
# three months) far from date.min and date.max.
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)


class InvalidPeriod(ValueError):
    """The date range cannot be exported; the message says why, `params` the same for programs
    (`reason`: TO_BEFORE_FROM, TOO_LONG, NOT_A_DATE or OUT_OF_RANGE, with the dates or the field)."""

    def __init__(self, message: str, **params: object):
        super().__init__(message)
        self.params = dict(params)


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date

    def __post_init__(self) -> None:
        for field, day in (("from", self.start), ("to", self.end)):
            if not EARLIEST <= day <= LATEST:
                raise InvalidPeriod(
                    f"'{field}' ({day}) must be between {EARLIEST} and {LATEST}",
                    reason="OUT_OF_RANGE",
                    field=field,
                    earliest=EARLIEST.isoformat(),
                    latest=LATEST.isoformat(),
                )
        if self.end < self.start:
            raise InvalidPeriod(
                f"'to' ({self.end}) is before 'from' ({self.start})",
                reason="TO_BEFORE_FROM",
                **{"from": self.start.isoformat(), "to": self.end.isoformat()},
            )
        if self.days > MAX_PERIOD_DAYS:
            raise InvalidPeriod(
                f"the period {self.start} to {self.end} is {self.days} days; at most {MAX_PERIOD_DAYS} days can be exported at once",
                reason="TOO_LONG",
                days=self.days,
                max_days=MAX_PERIOD_DAYS,
                **{"from": self.start.isoformat(), "to": self.end.isoformat()},
            )

    @classmethod
    def parse(cls, start: str, end: str) -> Period:
        try:
            first = date.fromisoformat(start)
        except (TypeError, ValueError) as error:
            raise InvalidPeriod(
                f"'from' must be a date as YYYY-MM-DD, got {start!r}", reason="NOT_A_DATE", field="from"
            ) from error
        try:
            last = date.fromisoformat(end)
        except (TypeError, ValueError) as error:
            raise InvalidPeriod(
                f"'to' must be a date as YYYY-MM-DD, got {end!r}", reason="NOT_A_DATE", field="to"
            ) from error
        return cls(first, last)

    @classmethod
    def previous_month(cls, today: date) -> Period:
        last = today.replace(day=1) - timedelta(days=1)
        return cls(last.replace(day=1), last)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    def windows(self, max_days: int) -> list[Period]:
        """Split into consecutive windows of at most max_days (ABAX allows 3 months per call)."""
        windows: list[Period] = []
        start = self.start
        while start <= self.end:
            end = min(self.end, start + timedelta(days=max_days - 1))
            windows.append(Period(start, end))
            start = end + timedelta(days=1)
        return windows

    def label(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"
