"""The helper requests, each built once as a :class:`Call` that any client
(blocking or asynchronous) sends and whose answer it decodes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from brp import _wire

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request to send (``request`` name and ``params``) and how to decode
    its ``response`` value."""

    request: str
    params: dict[str, Any]
    decode: Callable[[dict[str, Any]], T]


def _none(_: dict[str, Any]) -> None:
    """Decodes an answer that carries nothing but ``{"status": "OK"}``."""


def ping() -> Call[None]:
    """PING: checks the world answers."""
    return Call("PING", {}, _none)


def spawn(components: Mapping[str, Any]) -> Call[str]:
    """SPAWN: a new entity with ``components``; answers its id."""
    params = {"components": _wire.encode_components(components)}
    return Call("SPAWN", params, lambda answer: str(answer["entity"]))


def get(entity: str, components: Iterable[str]) -> Call[dict[str, Any]]:
    """GET: the values of ``components`` on ``entity``."""
    params = {"entity": _wire.entity(entity), "components": _wire.names(components, "components")}
    return Call("GET", params, lambda answer: _wire.decode_components(answer["components"]))


@dataclass(frozen=True)
class Selection:
    """Which entities a QUERY or a POLL matches and what each row holds:
    the lists behind the keywords of :meth:`App.query` and :meth:`App.watch`.

    ``changed`` is POLL's alone (:meth:`App.query` has no such keyword).
    """

    #: Components every match has; each row holds their values.
    components: Iterable[str] = ()
    #: Components whose values a row holds when its entity has them.
    optional: Iterable[str] = ()
    #: Components a row says (``True``/``False``) its entity has.
    has: Iterable[str] = ()
    #: Components every match has, not read.
    with_: Iterable[str] = ()
    #: Components no match has.
    without: Iterable[str] = ()
    #: POLL: only entities whose listed components were written.
    changed: Iterable[str] = ()

    def params(self) -> dict[str, Any]:
        """The ``data`` and ``filter`` params (empty lists left out), each
        list checked to be component names."""
        lists = {
            "data": {
                "components": _wire.names(self.components, "components"),
                "optional": _wire.names(self.optional, "optional"),
                "has": _wire.names(self.has, "has"),
            },
            "filter": {
                "with": _wire.names(self.with_, "with_"),
                "without": _wire.names(self.without, "without"),
                "changed": _wire.names(self.changed, "changed"),
            },
        }
        return {part: {k: v for k, v in keys.items() if v} for part, keys in lists.items()}


def _rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The decoded ``entities`` of a QUERY or POLL answer."""
    return [_wire.decode_components(row) for row in answer["entities"]]


def query(selection: Selection) -> Call[list[dict[str, Any]]]:
    """QUERY: one row per matching entity, ``{"id": ..., name: value, ...}``."""
    return Call("QUERY", selection.params(), _rows)


def watch_params(selection: Selection, timeout: float | None) -> dict[str, Any]:
    """The params of a watch's POLLs but the watermark, checked once up
    front: the selection's, and ``timeout`` (seconds) as ``timeout_ms``."""
    params = selection.params()
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout must be a number, got {type(timeout).__name__}")
        if not 0 <= timeout < float("inf"):
            raise ValueError(f"timeout must be finite and >= 0, got {timeout}")
        params["timeout_ms"] = round(timeout * 1000)
    return params


def poll(params: dict[str, Any], watermark: str | None) -> Call[tuple[list[dict[str, Any]], str]]:
    """POLL with ``params`` (from :func:`watch_params`) since ``watermark``:
    the decoded rows and the next watermark."""

    def snapshot(answer: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        return _rows(answer), str(answer["watermark"])

    return Call("POLL", {**params, "watermark": watermark}, snapshot)


def insert(entity: str, components: Mapping[str, Any]) -> Call[None]:
    """INSERT: sets ``components`` on ``entity``, replacing existing values."""
    params = {"entity": _wire.entity(entity), "components": _wire.encode_components(components)}
    return Call("INSERT", params, _none)


def remove(entity: str, components: Iterable[str]) -> Call[None]:
    """REMOVE: takes ``components`` off ``entity`` (absent ones are ignored)."""
    params = {"entity": _wire.entity(entity), "components": _wire.names(components, "components")}
    return Call("REMOVE", params, _none)


def destroy(entity: str) -> Call[None]:
    """DESTROY: despawns ``entity`` and its descendants."""
    return Call("DESTROY", {"entity": _wire.entity(entity)}, _none)


def reparent(entity: str, parent: str | None) -> Call[None]:
    """REPARENT: makes ``entity`` a child of ``parent`` (``None``: a root)."""
    checked = None if parent is None else _wire.entity(parent, "parent")
    return Call("REPARENT", {"entity": _wire.entity(entity), "parent": checked}, _none)
