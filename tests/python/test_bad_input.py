"""Bad input of every kind: wrong Python types raise ``TypeError`` before
reaching the world, bad values raise ``ValueError``, and bad request text
gets an error response; nothing crashes and the world is unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import brp
from brp import _native

TYPE_ERRORS: list[Callable[[brp.App], object]] = [
    lambda app: app.request(3),  # type: ignore[arg-type]
    lambda app: app.request(b'{"id": 1, "request": "PING"}'),  # type: ignore[arg-type]
    lambda app: app.request({"request": "SPAWN", "params": {"components": {"Position": {1}}}}),
    lambda app: app.spawn([("Position", 1)]),  # type: ignore[arg-type]
    lambda app: app.spawn({1: 2}),  # type: ignore[dict-item]
    lambda app: app.spawn({"Position": object()}),
    lambda app: app.get(1, ["Name"]),  # type: ignore[arg-type]
    lambda app: app.get("1v0", "Name"),
    lambda app: app.get("1v0", [1]),  # type: ignore[list-item]
    lambda app: app.get("1v0", None),  # type: ignore[arg-type]
    lambda app: app.query("Name"),
    lambda app: app.query(with_=b"Name"),  # type: ignore[arg-type]
    lambda app: app.query(without=[None]),  # type: ignore[list-item]
    lambda app: app.query(has=7),  # type: ignore[arg-type]
    lambda app: app.insert("1v0", ["Position"]),  # type: ignore[arg-type]
    lambda app: app.insert(None, {"Position": 1}),  # type: ignore[arg-type]
    lambda app: app.remove("1v0", "Position"),
    lambda app: app.destroy(1),  # type: ignore[arg-type]
    lambda app: app.reparent("1v0", 0),  # type: ignore[arg-type]
    lambda app: app.reparent(["1v0"], None),  # type: ignore[arg-type]
    lambda app: app.register_component(None),  # type: ignore[arg-type]
    lambda app: brp.brp_request(app, {"id": 1}),  # type: ignore[arg-type]
    lambda app: brp.brp_request(object(), "{}"),  # type: ignore[arg-type]
    lambda app: brp.brp_request(app._native, "{}"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize("call", TYPE_ERRORS)
def test_wrong_types_raise_type_error_and_change_nothing(
    app: brp.App, call: Callable[[brp.App], object]
) -> None:
    entity = app.spawn({"Name": "kept", "Position": 1})
    with pytest.raises(TypeError):
        call(app)
    assert app.query(["Name", "Position"]) == [{"id": entity, "Name": "kept", "Position": 1}]


@pytest.mark.parametrize("config", [["Position"], "Position", 3])
def test_a_config_that_is_not_a_mapping(config: Any) -> None:
    with pytest.raises(TypeError):
        brp.App(config)


def test_sessions_are_made_by_apps() -> None:
    with pytest.raises(TypeError):
        brp.Session(object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        _native.Session()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [float("-inf")]])
def test_non_finite_numbers_are_value_errors(app: brp.App, value: Any) -> None:
    with pytest.raises(ValueError):
        app.spawn({"Position": value})
    assert app.query() == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", brp.ParseError.CODE),
        ("\x00", brp.ParseError.CODE),
        ("[" * 100_000, brp.ParseError.CODE),
        ('{"id": 1, "request": "PING"} trailing', brp.ParseError.CODE),
        ('{"id": 1, "request": "GET", "params": {"entity": "\\ud800", "components": []}}',
         brp.ParseError.CODE),
        # An unknown field is refused before its value is read (docs/limits.md).
        ('{"id": 1, "request": "PING", "params": {"x": "\\ud800"}}', brp.InvalidParams.CODE),
        ('{"id": 1, "request": "SPAWN", "params": {"components": '
         '{"Name": {"JSON": "\\"\\\\ud800\\""}}}}', brp.ComponentError.CODE),
        ("null", brp.InvalidRequest.CODE),
        ('{"id": 1.5, "request": "PING"}', brp.InvalidRequest.CODE),
        ('{"id": 1, "request": "GET", "params": {"entity": "18446744073709551616v0", '
         '"components": []}}', brp.InvalidParams.CODE),
        ('{"id": 1, "request": "GET", "params": {"entity": "1v99999999999", '
         '"components": []}}', brp.InvalidParams.CODE),
    ],
)
def test_bad_request_text_gets_an_error_response(app: brp.App, text: str, code: int) -> None:
    answer = json.loads(brp.brp_request(app, text))
    assert answer["error"]["code"] == code
    assert app.query() == []


def test_a_lone_surrogate_cannot_cross_into_rust(app: brp.App) -> None:
    with pytest.raises(UnicodeEncodeError):
        brp.brp_request(app, '{"id": 1, "request": "PING", "x": "\ud800"}')


def test_a_lone_surrogate_in_a_value_is_a_component_error(app: brp.App) -> None:
    with pytest.raises(brp.ComponentError):
        app.spawn({"Name": "\ud800"})
    assert app.query() == []


def test_deep_values_are_refused_not_crashed(app: brp.App) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    components = {"Position": {"JSON": deep}}
    text = json.dumps({"id": 1, "request": "SPAWN", "params": {"components": components}})
    answer = json.loads(brp.brp_request(app, text))
    assert answer["error"]["code"] == brp.ComponentError.CODE
    assert app.query() == []
