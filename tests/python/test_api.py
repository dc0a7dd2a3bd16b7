"""The Pythonic layer: requests as dicts, helpers, sessions."""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Callable
from typing import Any

import pytest

import brp
from brp._calls import Selection


@pytest.mark.parametrize(
    "value",
    [{"x": 1.5, "y": -2.0, "z": 0.0}, [1, "two", None, True], "text ✓", 7, 0.25, False, None, {}],
)
def test_values_round_trip(app: brp.App, value: Any) -> None:
    entity = app.spawn({"Position": value})
    assert app.get(entity, ["Position"]) == {"Position": value}


def test_spawn_answers_fresh_ids(app: brp.App) -> None:
    assert [app.spawn({"Name": n}) for n in ("a", "b")] == ["1v0", "2v0"]


def test_get_reflected_and_dynamic(app: brp.App) -> None:
    entity = app.spawn({"Name": "Player", "Player": {}, "Position": {"x": 1.0}})
    assert app.get(entity, ("Name", "Player")) == {"Name": "Player", "Player": {}}


def test_insert_replaces_and_adds(app: brp.App) -> None:
    entity = app.spawn({"Position": {"x": 1}})
    app.insert(entity, {"Position": {"x": 2}, "Player": "p1"})
    assert app.get(entity, ["Position", "Player"]) == {"Position": {"x": 2}, "Player": "p1"}


def test_remove_ignores_absent_components(app: brp.App) -> None:
    entity = app.spawn({"Name": "n", "Player": True})
    app.remove(entity, ["Player", "Position"])
    assert app.query(has=["Player", "Name"]) == [{"id": entity, "Player": False, "Name": True}]


def test_query(app: brp.App) -> None:
    camera = app.spawn({"Name": "Camera"})
    lens = app.spawn({"Name": "Lens", "Position": [0, 0, 1]})
    player = app.spawn({"Name": "Player", "Player": {}, "Position": [1, 2, 3]})
    app.reparent(lens, camera)
    assert app.query(["Name"], without=["Parent"]) == [
        {"id": camera, "Name": "Camera"},
        {"id": player, "Name": "Player"},
    ]
    assert app.query(["Position"], optional=["Player"], has=["Parent"], with_=["Name"]) == [
        {"id": lens, "Position": [0, 0, 1], "Parent": True},
        {"id": player, "Position": [1, 2, 3], "Player": {}, "Parent": False},
    ]
    assert app.query() == [{"id": camera}, {"id": lens}, {"id": player}]


def test_a_selection_builds_the_data_and_filter_params() -> None:
    assert Selection().params() == {"data": {}, "filter": {}}
    every = Selection(["A"], ("B",), iter(["C"]), ["D"], ["E"], ["F"])
    assert every.params() == {
        "data": {"components": ["A"], "optional": ["B"], "has": ["C"]},
        "filter": {"with": ["D"], "without": ["E"], "changed": ["F"]},
    }
    with pytest.raises(TypeError, match="with_"):
        Selection(with_="D").params()


SELECTING: dict[str, tuple[Callable[..., object], set[str]]] = {
    "App.query": (brp.App.query, {"changed"}),
    "Session.query": (brp.Session.query, {"changed"}),
    "AsyncSession.query": (brp.AsyncSession.query, {"changed"}),
    "App.watch": (brp.App.watch, set()),
    "App.watch_blocking": (brp.App.watch_blocking, set()),
    "AsyncSession.watch": (brp.AsyncSession.watch, set()),
}


@pytest.mark.parametrize(("method", "left_out"), SELECTING.values(), ids=SELECTING.keys())
def test_selecting_methods_take_the_selection_keywords(
    method: Callable[..., object], left_out: set[str]
) -> None:
    """The public keywords of query and watch are the fields of Selection
    (watch adds ``timeout``), ``components`` first and positional."""
    parameters = list(inspect.signature(method).parameters.values())[1:]
    fields = [field.name for field in dataclasses.fields(Selection) if field.name not in left_out]
    extra = [] if left_out else ["timeout"]
    assert [parameter.name for parameter in parameters] == fields + extra
    kinds = [parameter.kind for parameter in parameters]
    assert kinds[0] is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert set(kinds[1:]) == {inspect.Parameter.KEYWORD_ONLY}
    assert all(parameter.default in ((), None) for parameter in parameters)


def test_reparent_and_back_to_root(app: brp.App) -> None:
    parent = app.spawn({"Name": "parent"})
    child = app.spawn({"Name": "child"})
    app.reparent(child, parent)
    assert app.get(child, ["Parent"]) == {"Parent": parent}
    app.reparent(child, None)
    assert app.query(has=["Parent"]) == [
        {"id": parent, "Parent": False},
        {"id": child, "Parent": False},
    ]


def test_destroy_takes_descendants(app: brp.App) -> None:
    parent = app.spawn({"Name": "parent"})
    child = app.spawn({"Name": "child"})
    other = app.spawn({"Name": "other"})
    app.reparent(child, parent)
    app.destroy(parent)
    assert app.query(["Name"]) == [{"id": other, "Name": "other"}]
    with pytest.raises(brp.EntityNotFound):
        app.get(child, ["Name"])


def test_request_returns_the_response_value(app: brp.App) -> None:
    assert app.request({"request": "PING"}) == {"status": "OK"}
    assert app.request({"id": 5, "request": "SPAWN", "params": {"components": {}}}) == {
        "entity": "1v0"
    }
    assert app.request('{"id": 6, "request": "PING", "params": {}}') == {"status": "OK"}


def test_request_ids_are_generated_per_client(
    app: brp.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    for cls in (brp.App, brp.Session):
        send = cls._send

        def record(self: Any, text: str, send: Any = send) -> str:
            sent.append(json.loads(text))
            return str(send(self, text))

        monkeypatch.setattr(cls, "_send", record)
    session = app.session()
    app.ping()
    app.ping()
    session.ping()
    app.request({"id": 40, "request": "PING"})
    assert [request["id"] for request in sent] == [1, 2, 1, 40]


def test_session_has_the_same_helpers_on_the_same_world(app: brp.App) -> None:
    session = app.session()
    entity = session.spawn({"Name": "from session", "Position": 1})
    session.insert(entity, {"Position": 2})
    assert app.get(entity, ["Position"]) == {"Position": 2}
    assert session.query(["Name"]) == [{"id": entity, "Name": "from session"}]
    session.ping()
    session.remove(entity, ["Position"])
    assert session.query(has=["Position"]) == [{"id": entity, "Position": False}]
    other = app.spawn({})
    session.reparent(other, entity)
    assert session.get(other, ["Parent"]) == {"Parent": entity}
    session.destroy(entity)
    assert app.query() == []


def test_register_component(app: brp.App) -> None:
    with pytest.raises(brp.ComponentError, match="Health"):
        app.spawn({"Health": 3})
    app.register_component("Health")
    app.register_component("Health")
    entity = app.spawn({"Health": 3})
    assert app.get(entity, ["Health"]) == {"Health": 3}


def test_register_component_clashing_with_a_rust_type(app: brp.App) -> None:
    with pytest.raises(brp.ComponentError):
        app.register_component("Name")


def test_auto_declare_config() -> None:
    app = brp.App({"auto_declare": True})
    entity = app.spawn({"Anything": [1]})
    assert app.get(entity, ["Anything"]) == {"Anything": [1]}


def test_default_config_is_strict() -> None:
    with pytest.raises(brp.ComponentError):
        brp.App().spawn({"Position": 1})


def test_update_runs_and_keeps_the_world(app: brp.App) -> None:
    entity = app.spawn({"Position": 1})
    app.update()
    assert app.get(entity, ["Position"]) == {"Position": 1}


def test_brp_request_returns_error_responses(app: brp.App) -> None:
    answer = json.loads(brp.brp_request(app, '{"id": 3, "request": "NOPE"}'))
    assert answer["id"] == 3
    assert answer["error"]["code"] == brp.UnknownRequest.CODE


def test_version() -> None:
    assert brp.__version__.count(".") == 2


def test_an_app_is_a_context_manager_that_closes_on_exit() -> None:
    with brp.App() as app:
        assert app.request({"request": "PING"}) == {"status": "OK"}
    # Closed: POLLs are refused; other requests still work.
    with pytest.raises(brp.Cancelled):
        app.request({"request": "POLL", "params": {"data": {"components": ["Name"]}}})
    assert app.request({"request": "PING"}) == {"status": "OK"}
