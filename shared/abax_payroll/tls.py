"""One TLS context per process, shared by every HTTP client.

httpx builds a new SSLContext (loading certifi's CA bundle) for every client it creates, and the export
steps create a PowerOffice client per Lambda invocation (one per chunk of salary lines): loading the bundle
was ~0.1 s of every push invocation in `make bench`'s profile. An SSLContext is safe to share across threads.
"""

from __future__ import annotations

import ssl
from functools import lru_cache

import certifi


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())
