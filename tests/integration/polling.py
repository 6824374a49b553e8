"""Poll with a deadline: integration tests wait for real state, never for a fixed time."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.2, what: str = "") -> T:
    """Call `probe` until it returns something truthy; fail with the last value (or error) at the deadline."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = probe()
            if value:
                return value
            last = value
        except AssertionError as err:
            last = err
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}: last {last!r}")
        time.sleep(interval)
