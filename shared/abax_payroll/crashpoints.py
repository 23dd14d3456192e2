"""Named points where a test or the local stack can make an invocation die as a killed process does; no-op in AWS.

Production code marks a point with `reached("push.lines_created")` where a process that dies leaves work half
recorded (lines created in PowerOffice Go, their ids not yet written). Nothing is installed in AWS, so the call
costs one comparison; the local stack installs a hook (local/) that raises at the chosen point and invocation.
"""

from __future__ import annotations

from collections.abc import Callable

_hook: Callable[[str], None] | None = None


def reached(point: str) -> None:
    """Called by the code at a named point; the installed hook may raise there (a crash), or do nothing."""
    if _hook is not None:
        _hook(point)


def install(hook: Callable[[str], None] | None) -> Callable[[str], None] | None:
    """Install (or with None remove) the hook that decides whether the process dies at a point; answers the
    hook it replaces (to put back)."""
    global _hook
    previous, _hook = _hook, hook
    return previous
