"""The one local stack of a test process, and a fresh company for each test that needs one.

moto and the handlers' environment are process-wide, so a process holds one stack (tests/support.py
`acquire_stack`); every folder that talks to it uses these fixtures.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Iterator
from typing import Any

import httpx._transports.default as httpx_transports
import pytest

from local.stack import LocalStack
from tests.support import acquire_stack, release_stack, set_faults, wait_until_idle

_create_ssl_context = httpx_transports.create_ssl_context


@functools.cache
def _default_tls_context() -> ssl.SSLContext:
    return _create_ssl_context()


def _tls_context_built_once(verify: Any = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
    """Every httpx client the tests make (one per test and company, one per `httpx.get`) built a TLS context
    of its own, reading certifi's bundle: about 35 ms of CPU each (3 ms with this), for requests to
    http://127.0.0.1 that never use it. One default context serves them all (an SSLContext is shareable)."""
    if verify is True and cert is None and trust_env:
        return _default_tls_context()
    return _create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)


httpx_transports.create_ssl_context = _tls_context_built_once  # type: ignore[assignment]


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    yield acquire_stack()
    release_stack()


@pytest.fixture
def fresh(stack: LocalStack) -> Iterator[LocalStack]:
    """The demo companies as the data files describe them: nothing activated, no exports, no faults."""
    stack.load_demo()
    set_faults(stack, [])
    yield stack
    wait_until_idle(stack)
    set_faults(stack, [])
    stack.load_demo()
