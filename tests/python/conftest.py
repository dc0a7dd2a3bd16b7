"""Shared fixtures: a fresh world with the dynamic components of the
conformance scene (tests/conformance)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import brp


@pytest.fixture
def app() -> brp.App:
    """A new world declaring ``Position`` and ``Player``."""
    return brp.App({"components": ["Position", "Player"]})


#: Bounds every wait of a test, only to turn a hang into a failure.
HANG_SECONDS = 20.0


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Starts ``work`` in a thread; the list gets its result or exception."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as failure:
            outcome.append(failure)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def joined(thread: threading.Thread) -> None:
    thread.join(HANG_SECONDS)
    assert not thread.is_alive(), "the thread hangs"
