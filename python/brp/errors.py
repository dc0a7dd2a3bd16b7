"""Exceptions raised for BRP error responses, one class per error code.

The codes are the core's table, ``_native.ERROR_CODES`` (docs/protocol.md
lists them). Each class is written out so that type checkers know it: it is
named after its code's name in CamelCase (``ENTITY_NOT_FOUND``:
``EntityNotFound``) and its docstring is the code's meaning, which
tests/python/test_errors.py checks against the table. The rest (the class
of each code, the exported names) is derived from the classes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from brp import _native


class BrpError(Exception):
    """An error response: its ``code``, ``message`` and optional ``data``.

    Raised as the subclass of its code; a code without a subclass raises
    ``BrpError`` itself.
    """

    #: The error code the subclass stands for (``None`` on the base class).
    CODE: ClassVar[int | None] = None

    code: int
    message: str
    data: Any

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(code, message, data)
        self.code = code
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return f"{self.message} (code {self.code})"


class ParseError(BrpError):
    """The request text is not valid JSON."""

    CODE = _native.PARSE_ERROR


class InvalidRequest(BrpError):
    """The JSON is not a request object (`id`, `request`, `params`)."""

    CODE = _native.INVALID_REQUEST


class UnknownRequest(BrpError):
    """The `request` names no known request."""

    CODE = _native.UNKNOWN_REQUEST


class InvalidParams(BrpError):
    """`params` are missing, mistyped or malformed (entity ids too)."""

    CODE = _native.INVALID_PARAMS


class InternalError(BrpError):
    """The server failed; the world is unchanged."""

    CODE = _native.INTERNAL_ERROR


class EntityNotFound(BrpError):
    """The entity does not exist (stale or never spawned)."""

    CODE = _native.ENTITY_NOT_FOUND


class ComponentError(BrpError):
    """A component name is unknown or ambiguous, or a value does not fit it."""

    CODE = _native.COMPONENT_ERROR


class ComponentNotPresent(BrpError):
    """The entity does not have a requested component."""

    CODE = _native.COMPONENT_NOT_PRESENT


class SelfReparent(BrpError):
    """REPARENT would make an entity its own ancestor."""

    CODE = _native.SELF_REPARENT


class Cancelled(BrpError):
    """The request was cancelled, or its session closed before it answered."""

    CODE = _native.CANCELLED


class DuplicateId(BrpError):
    """The request id is already in flight in this session."""

    CODE = _native.DUPLICATE_ID


class Timeout(BrpError):
    """A POLL's `timeout_ms` passed before its answer changed."""

    CODE = _native.TIMEOUT


class ResourceError(BrpError):
    """JSON-RPC dialect: a resource name is unknown, or a value does not fit it."""

    CODE = _native.RESOURCE_ERROR


class ResourceNotPresent(BrpError):
    """JSON-RPC dialect: the world does not hold the resource."""

    CODE = _native.RESOURCE_NOT_PRESENT


#: The class of each error code: the subclasses of BrpError above.
_BY_CODE: dict[int, type[BrpError]] = {
    cls.CODE: cls for cls in BrpError.__subclasses__() if cls.CODE is not None
}

#: The exceptions, which the package ``brp`` exports too.
_EXCEPTIONS = ("BrpError", *(cls.__name__ for cls in _BY_CODE.values()))

__all__ = [*_EXCEPTIONS, "error_from_json", "error_from_object"]


def error_from_object(error: Mapping[str, Any]) -> BrpError:
    """The exception for the ``error`` object of a response."""
    code = error.get("code")
    message = error.get("message")
    if not isinstance(code, int) or not isinstance(message, str):
        raise TypeError(f"not a BRP error object: {error!r}")
    return _BY_CODE.get(code, BrpError)(code, message, error.get("data"))


def error_from_json(text: str) -> BrpError:
    """The exception for an error object given as JSON text."""
    error = json.loads(text)
    if not isinstance(error, dict):
        raise TypeError(f"not a BRP error object: {text!r}")
    return error_from_object(error)
