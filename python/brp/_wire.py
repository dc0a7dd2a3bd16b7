"""Wire-format helpers: component values in and out of their ``{"JSON": text}``
nesting, argument checks, and response unwrapping."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from brp.errors import error_from_object


def dumps(value: Any) -> str:
    """Strict JSON text of ``value`` (NaN and infinities are a ``ValueError``)."""
    return json.dumps(value, allow_nan=False)


def entity(value: object, what: str = "entity") -> str:
    """``value``, checked to be an entity id such as ``"3v0"``."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be an entity id string, got {type(value).__name__}")
    return value


def names(values: Iterable[str], what: str) -> list[str]:
    """Component names as a list, checked to be strings (a lone string is refused)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        kind = type(values).__name__
        raise TypeError(f"{what} must be an iterable of component names, got {kind}")
    listed = list(values)
    for name in listed:
        if not isinstance(name, str):
            raise TypeError(f"{what} must hold strings, got {type(name).__name__}")
    return listed


def encode_components(components: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``{name: value}`` as the wire's ``{name: {"JSON": text}}``."""
    if not isinstance(components, Mapping):
        kind = type(components).__name__
        raise TypeError(f"components must be a mapping of name to value, got {kind}")
    encoded = {}
    for name, value in components.items():
        if not isinstance(name, str):
            raise TypeError(f"component names must be strings, got {type(name).__name__}")
        encoded[name] = {"JSON": dumps(value)}
    return encoded


def decode(value: Any) -> Any:
    """A component value from the wire: ``{"JSON": text}`` parsed, anything
    else (a ``has`` boolean, an entity id) as it is."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("JSON"), str):
        return json.loads(value["JSON"])
    return value


def decode_components(components: Mapping[str, Any]) -> dict[str, Any]:
    """Every value of a ``{name: {"JSON": text}}`` map decoded."""
    return {name: decode(value) for name, value in components.items()}


def response(text: str) -> Any:
    """The ``response`` (JSON-RPC: ``result``) value of a response's JSON
    text; an ``error`` raises its :class:`~brp.errors.BrpError` subclass."""
    return unwrap(json.loads(text))


def unwrap(answer: dict[str, Any]) -> Any:
    """The ``response`` (JSON-RPC: ``result``) value of a parsed response;
    an ``error`` raises its :class:`~brp.errors.BrpError` subclass."""
    if "error" in answer:
        raise error_from_object(answer["error"])
    return answer["result"] if "jsonrpc" in answer else answer["response"]
