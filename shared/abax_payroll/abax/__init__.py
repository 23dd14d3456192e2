"""ABAX Open API: the HTTP client and the adapter that turns its trips into domain trips."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..errors import AbaxAuthFailed, AbaxError, AbaxRequestRejected, AbaxUnavailable
from .adapter import TripBatch, fetch_trips, to_trips

if TYPE_CHECKING:
    from .client import AbaxClient


def __getattr__(name: str) -> Any:
    # The HTTP client (httpx) is imported when a path first asks for it: code that only reads a snapshot
    # (every step but Fetch, the API's reads) never does, and its function's cold start does not pay for it.
    if name == "AbaxClient":
        return importlib.import_module(".client", __name__).AbaxClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
