"""Process-wide cache of PowerOffice Go access tokens, one per (token endpoint, application, client key)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Renew this long before PowerOffice Go says the token expires, so a request never carries a dying token.
EXPIRY_MARGIN_S = 60.0


@dataclass(frozen=True, slots=True)
class CachedToken:
    access_token: str
    valid_until: float  # time.monotonic()

    def __repr__(self) -> str:
        return f"CachedToken(valid_until={self.valid_until:.0f})"


def cache_key(token_url: str, application_key: str, client_key: str) -> str:
    """A digest, so the cache never holds a raw key as a dictionary key."""
    material = "\0".join((token_url, application_key, client_key)).encode()
    return hashlib.sha256(material).hexdigest()


class TokenCache:
    """Thread-safe; one lock per key so two threads needing the same token fetch it once."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, CachedToken] = {}
        self._fetch_locks: dict[str, threading.Lock] = {}

    def get(self, key: str, fetch: Callable[[], tuple[str, float]]) -> str:
        """The cached token for `key`, or a new one from `fetch()` -> (access_token, expires_in_s)."""
        token = self._valid(key)
        if token is not None:
            return token
        with self._lock:
            fetch_lock = self._fetch_locks.setdefault(key, threading.Lock())
        with fetch_lock:
            token = self._valid(key)
            if token is not None:
                return token
            access_token, expires_in = fetch()
            valid_until = self._clock() + max(expires_in - EXPIRY_MARGIN_S, 0.0)
            with self._lock:
                self._tokens[key] = CachedToken(access_token, valid_until)
            return access_token

    def invalidate(self, key: str, access_token: str | None = None) -> None:
        """Forget the token (only if it is still `access_token`, so a fresher one fetched meanwhile survives)."""
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and (access_token is None or cached.access_token == access_token):
                del self._tokens[key]

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()

    def _valid(self, key: str) -> str | None:
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and cached.valid_until > self._clock():
            return cached.access_token
        return None


TOKENS = TokenCache()
