"""The shared vectors of ``tests/conformance`` through ``brp.brp_request``,
with the matching rules of that folder's README."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import brp

VECTORS = sorted((Path(__file__).parents[1] / "conformance").glob("*.json"))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def matches(expected: Any, actual: Any, key: str | None = None) -> bool:
    """Whether ``actual`` matches ``expected`` under the vectors' rules."""
    if isinstance(expected, str) and isinstance(actual, str):
        if key == "JSON":
            try:
                return matches(json.loads(expected), json.loads(actual))
            except json.JSONDecodeError:
                return False
        if expected.startswith("<") and expected.endswith(">"):
            return True
        if key == "message":
            return expected in actual
        return expected == actual
    if _is_number(expected) and _is_number(actual):
        return float(expected) == float(actual)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(matches, expected, actual))
    if isinstance(expected, dict) and isinstance(actual, dict):
        subset = key == "error"
        return (subset or len(expected) == len(actual)) and all(
            k in actual and matches(v, actual[k], k) for k, v in expected.items()
        )
    return type(expected) is type(actual) and bool(expected == actual)


def test_there_are_vectors() -> None:
    assert any(path.name == "seed.json" for path in VECTORS)


@pytest.mark.parametrize("path", VECTORS, ids=lambda path: path.stem)
def test_vectors(path: Path) -> None:
    vectors = json.loads(path.read_text())
    app = brp.App(vectors.get("config"))
    for n, step in enumerate(vectors["steps"]):
        request = step.get("request_text", None)
        if request is None:
            request = json.dumps(step["request"])
        actual = json.loads(brp.brp_request(app, request))
        assert matches(step["response"], actual), (
            f"step {n} ({step.get('note', '')}):\n request  {request}\n"
            f" expected {step['response']}\n actual   {actual}"
        )


@pytest.mark.parametrize(
    ("expected", "actual", "result"),
    [
        ({"a": {"JSON": '{ "x": 1.0 }'}}, {"a": {"JSON": '{"x":1}'}}, True),
        ({"a": {"JSON": '{"x": 1.0}'}}, {"a": {"JSON": '{"x":2}'}}, False),
        ({"a": {"JSON": "{x"}}, {"a": {"JSON": "{x"}}, False),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        ({"error": {"code": 1}}, {"error": {"code": 1, "message": "m"}}, True),
        ({"error": {"code": 1}}, {"error": {"code": 2, "message": "m"}}, False),
        ({"error": {"message": "no"}}, {"error": {"message": "not found"}}, True),
        ({"error": {"message": "gone"}}, {"error": {"message": "not found"}}, False),
        ({"w": "<any>"}, {"w": "7"}, True),
        ({"w": "<any>"}, {"w": 7}, False),
        ([1, 2], [2, 1], False),
        ([1], [1, 1], False),
        ({"a": True}, {"a": 1}, False),
        ({"a": 1}, {"a": 1.0}, True),
        ({"a": None}, {"a": False}, False),
    ],
)
def test_matcher(expected: Any, actual: Any, result: bool) -> None:
    assert matches(expected, actual) is result
