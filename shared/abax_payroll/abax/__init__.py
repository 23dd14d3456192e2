"""ABAX Open API: the HTTP client and the adapter that turns its trips into domain trips."""

from .adapter import TripBatch, fetch_trips, to_trips
from .client import AbaxAuthFailed, AbaxClient, AbaxError, AbaxRequestRejected, AbaxUnavailable

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
