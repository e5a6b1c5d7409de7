"""Polling for a condition that other processes make true."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def wait_for(
    check: Callable[[], object], timeout: float = 30, interval: float = 0.1, what: str = "condition"
) -> None:
    """Poll ``check`` until it returns true (exceptions count as "not yet")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # the probe failing means "not yet"
            pass
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.create_connection((host, port), timeout=1):
        return True
