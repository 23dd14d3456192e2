"""Reading ABAX and PowerOffice Go for a use case: their failures become problems a user can act on, here only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..abax import TripBatch, fetch_trips
from ..domain.period import Period
from ..errors import (
    AbaxError,
    AbaxNotAnswering,
    PowerOfficeAccessDenied,
    PowerOfficeBusy,
    PowerOfficeError,
    PowerOfficeNotAnswering,
    PrivilegesMissing,
    RateLimited,
)
from .services import Services


def read_trips(services: Services, tenant_id: str, period: Period) -> TripBatch:
    """The tenant's trips of the period from ABAX; AbaxNotAnswering when ABAX cannot be read."""
    try:
        with services.abax_for(tenant_id) as abax:
            return fetch_trips(abax, period)
    except AbaxError as error:
        # Unavailable, refused credentials, a 404 or a page without items: ABAX gave no usable answer (502).
        raise AbaxNotAnswering(f"the logbooks could not be read from ABAX: {error}") from None


@contextmanager
def reading_poweroffice(unavailable: str = "PowerOffice Go could not be read: {title}") -> Iterator[None]:
    """PowerOffice Go failures inside the block as problems; `unavailable` may name the {status} and {title}."""
    try:
        yield
    except PrivilegesMissing as error:
        raise PowerOfficeAccessDenied(
            f"PowerOffice Go refused access: {error.detail or error.title}"
        ) from None
    except RateLimited:
        raise PowerOfficeBusy(
            "PowerOffice Go's rate limit, which every company shares, is spent for now; try again in a moment",
            params={"retry_after_s": PowerOfficeBusy.retry_after_s},
        ) from None
    except PowerOfficeError as error:
        raise PowerOfficeNotAnswering(unavailable.format(status=error.status, title=error.title)) from None
