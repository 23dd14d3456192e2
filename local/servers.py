"""Run an ASGI app with uvicorn on a loopback port in a background thread (tests, demo, serve)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BackgroundServer:
    """uvicorn in a daemon thread; `url` is known once `start()` returns."""

    def __init__(self, app: Any, port: int | None = None, host: str = "127.0.0.1"):
        self.port = port or free_port()
        self.host = host
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"uvicorn-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@contextlib.contextmanager
def serving(app: Any, port: int | None = None) -> Iterator[str]:
    """`with serving(app) as base_url:` runs the app over real HTTP for the block."""
    server = BackgroundServer(app, port).start()
    try:
        yield server.url
    finally:
        server.stop()


def wait_for_health(url: str, process: Any, timeout: float) -> None:
    """Until `url`/health answers 200: RuntimeError when `process` (a Popen) exits first or `timeout` passes."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            output = process.stdout.read() if getattr(process, "stdout", None) else ""
            raise RuntimeError(f"the process serving {url} exited: {output or 'no output'}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer /health within {timeout:.0f} s")
        time.sleep(0.2)


def serve_until_stopped() -> None:
    """Block until SIGTERM or Ctrl-C (a command that serves in the foreground)."""
    import signal

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
