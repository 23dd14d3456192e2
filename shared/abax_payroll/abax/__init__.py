"""ABAX Open API: the HTTP client and the adapter that turns its trips into domain trips."""

from ..errors import AbaxAuthFailed, AbaxError, AbaxRequestRejected, AbaxUnavailable
from .adapter import TripBatch, fetch_trips, to_trips
from .client import AbaxClient

__all__ = [
    "AbaxAuthFailed",
    "AbaxClient",
    "AbaxError",
    "AbaxRequestRejected",
    "AbaxUnavailable",
    "TripBatch",
    "fetch_trips",
    "to_trips",
]
