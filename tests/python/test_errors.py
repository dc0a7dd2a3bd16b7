"""Error responses raise the ``BrpError`` subclass of their code."""

from __future__ import annotations

import pickle
from collections.abc import Callable

import pytest

import brp
from brp import _native, errors
from brp.errors import error_from_json, error_from_object

CLASSES: dict[type[brp.BrpError], int] = {
    brp.ParseError: -32700,
    brp.InvalidRequest: -32600,
    brp.UnknownRequest: -32601,
    brp.InvalidParams: -32602,
    brp.InternalError: -32603,
    brp.EntityNotFound: -23401,
    brp.ComponentError: -23402,
    brp.ComponentNotPresent: -23403,
    brp.SelfReparent: -23404,
    brp.Cancelled: -23405,
    brp.DuplicateId: -23406,
    brp.Timeout: -23407,
    brp.ResourceError: -23501,
    brp.ResourceNotPresent: -23502,
}


@pytest.mark.parametrize(("cls", "code"), CLASSES.items(), ids=lambda c: getattr(c, "__name__", ""))
def test_each_code_has_its_class(cls: type[brp.BrpError], code: int) -> None:
    assert cls.CODE == code
    error = error_from_object({"code": code, "message": "m", "data": [1]})
    assert type(error) is cls
    assert isinstance(error, brp.BrpError)
    assert (error.code, error.message, error.data) == (code, "m", [1])
    assert str(error) == f"m (code {code})"


def camel_case(name: str) -> str:
    """``ENTITY_NOT_FOUND`` as ``EntityNotFound``."""
    return "".join(word.capitalize() for word in name.split("_"))


CODED = [cls for cls in brp.BrpError.__subclasses__() if cls.__module__ == "brp.errors"]


@pytest.mark.parametrize(
    ("code", "name", "meaning"), _native.ERROR_CODES, ids=[row[1] for row in _native.ERROR_CODES]
)
def test_each_code_of_the_native_table_has_one_class(code: int, name: str, meaning: str) -> None:
    (cls,) = [cls for cls in CODED if cls.CODE == code]
    assert cls.__name__ == camel_case(name)
    assert cls.__doc__ == meaning
    assert getattr(_native, name) == code
    assert getattr(brp, cls.__name__) is cls
    assert type(error_from_object({"code": code, "message": "m"})) is cls


def test_every_class_has_a_code_of_the_native_table() -> None:
    codes = [code for code, _, _ in _native.ERROR_CODES]
    assert len(set(codes)) == len(codes)
    assert sorted(cls.CODE for cls in CODED if cls.CODE is not None) == sorted(codes)
    assert len(CODED) == len(codes)
    exported = {"BrpError", *(cls.__name__ for cls in CODED)}
    assert set(errors.__all__) == exported | {"error_from_json", "error_from_object"}
    assert set(CLASSES) == set(CODED)


def test_an_unknown_code_raises_the_base_class() -> None:
    error = error_from_json('{"code": 7, "message": "odd"}')
    assert type(error) is brp.BrpError
    assert (error.code, error.message, error.data) == (7, "odd", None)


@pytest.mark.parametrize("text", ['[1]', '{"code": "1", "message": "m"}', '{"code": 1}'])
def test_a_malformed_error_object_is_a_type_error(text: str) -> None:
    with pytest.raises(TypeError):
        error_from_json(text)


def test_errors_pickle() -> None:
    error = brp.ComponentNotPresent(-23403, "gone", {"missing": ["Name"]})
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is brp.ComponentNotPresent
    assert (copy.code, copy.message, copy.data) == (error.code, error.message, error.data)


RAISERS: list[tuple[type[brp.BrpError], Callable[[brp.App], object], str]] = [
    (brp.ParseError, lambda app: app.request("{"), "not valid JSON"),
    (brp.InvalidRequest, lambda app: app.request('{"request": "PING"}'), "missing id"),
    (brp.InvalidRequest, lambda app: app.request({"id": -1, "request": "PING"}), "non-negative"),
    (brp.InvalidRequest, lambda app: app.request({"id": 2**64, "request": "PING"}), "non-negative"),
    (brp.UnknownRequest, lambda app: app.request({"request": "EXPLODE"}), "EXPLODE"),
    (brp.InvalidParams, lambda app: app.get("1x0", ["Name"]), "1x0"),
    (brp.InvalidParams, lambda app: app.request({"request": "PING", "params": {"x": 1}}), "x"),
    (brp.EntityNotFound, lambda app: app.destroy("9v0"), "9v0"),
    (brp.EntityNotFound, lambda app: app.reparent(app.spawn({}), "9v0"), "9v0"),
    (brp.ComponentError, lambda app: app.get(app.spawn({}), ["Velocity"]), "Velocity"),
    (brp.ComponentError, lambda app: app.insert(app.spawn({}), {"Name": 1}), "Name"),
    (brp.ComponentError, lambda app: app.query(without=["Ghost"]), "Ghost"),
    (brp.ComponentNotPresent, lambda app: app.get(app.spawn({}), ["Position"]), "Position"),
    (brp.SelfReparent, lambda app: app.reparent(app.spawn({}), "1v0"), "own parent"),
]


@pytest.mark.parametrize(("cls", "call", "message"), RAISERS)
def test_error_responses_raise(
    app: brp.App, cls: type[brp.BrpError], call: Callable[[brp.App], object], message: str
) -> None:
    with pytest.raises(cls, match=message) as raised:
        call(app)
    assert raised.value.code == cls.CODE


def test_component_not_present_lists_the_missing(app: brp.App) -> None:
    entity = app.spawn({"Name": "n"})
    with pytest.raises(brp.ComponentNotPresent) as raised:
        app.get(entity, ["Name", "Position", "Player"])
    assert raised.value.data == {"missing": ["Position", "Player"]}


def test_a_session_raises_like_an_app(app: brp.App) -> None:
    with pytest.raises(brp.EntityNotFound):
        app.session().get("5v0", ["Name"])


def test_a_bad_config_raises_from_the_constructor() -> None:
    with pytest.raises(brp.InvalidParams, match="bogus"):
        brp.App({"bogus": True})
    with pytest.raises(brp.InvalidParams):
        brp.App({"components": "Position"})
