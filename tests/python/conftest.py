"""Shared fixtures: a fresh world with the dynamic components of the
conformance scene (tests/conformance)."""

from __future__ import annotations

import pytest

import brp


@pytest.fixture
def app() -> brp.App:
    """A new world declaring ``Position`` and ``Player``."""
    return brp.App({"components": ["Position", "Player"]})
