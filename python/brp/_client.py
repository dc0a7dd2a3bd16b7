"""The blocking client: the Pythonic requests shared by :class:`~brp.App`
and :class:`~brp.Session`."""

from __future__ import annotations

import itertools
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from brp import _calls, _wire

T = TypeVar("T")


def request_id(value: object) -> int | None:
    """``value`` if it is an id the world reads (an integer from 0 to
    2**64 - 1), else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**64:
        return value
    return None


class Client(ABC):
    """Sends requests as dicts, returns plain Python values, raises
    :class:`~brp.BrpError` subclasses for error responses.

    Request ids are generated per client; safe to use from many threads.
    """

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._ids_lock = threading.Lock()

    @abstractmethod
    def _send(self, request_json: str) -> str:
        """Answers one request's JSON text with the response's JSON text."""

    def _next_id(self) -> int:
        with self._ids_lock:
            return next(self._ids)

    def _run(self, call: _calls.Call[T]) -> T:
        return call.decode(self.request({"request": call.request, "params": call.params}))

    def _encode(self, req: Mapping[str, Any] | str) -> str:
        """The JSON text of ``req``: a mapping gets a new ``id`` when it has none."""
        if isinstance(req, str):
            return req
        if isinstance(req, Mapping):
            return _wire.dumps({"id": self._next_id(), **req})
        raise TypeError(f"a request is a mapping or JSON text, got {type(req).__name__}")

    def request(self, req: Mapping[str, Any] | str, /) -> Any:
        """Sends one request and returns its ``response`` value.

        ``req`` is a request object (``{"request": "GET", "params": {...}}``,
        or JSON-RPC's ``{"jsonrpc": "2.0", "method": ..., "params": ...}``,
        whose ``result`` is returned; an ``id`` is added when it has none)
        or a request's JSON text, sent as it is. An error response raises its :class:`~brp.BrpError`. A POLL
        blocks (with the GIL released) until it answers; Ctrl-C
        (``KeyboardInterrupt``) cancels it.
        """
        return _wire.response(self._send(self._encode(req)))

    def ping(self) -> None:
        """Checks that the world answers."""
        self._run(_calls.ping())

    def spawn(self, components: Mapping[str, Any]) -> str:
        """Spawns an entity with ``components`` (``{name: value}``); returns its id."""
        return self._run(_calls.spawn(components))

    def get(self, entity: str, components: Iterable[str]) -> dict[str, Any]:
        """The values of ``components`` on ``entity``, as ``{name: value}``.

        Raises :class:`~brp.ComponentNotPresent` if the entity lacks one.
        """
        return self._run(_calls.get(entity, components))

    def query(
        self,
        components: Iterable[str] = (),
        *,
        optional: Iterable[str] = (),
        has: Iterable[str] = (),
        with_: Iterable[str] = (),
        without: Iterable[str] = (),
    ) -> list[dict[str, Any]]:
        """The entities that have ``components`` and ``with_`` and none of
        ``without``, ordered by id.

        Each row is ``{"id": entity, name: value, ...}`` with the values of
        ``components``, those of ``optional`` the entity has, and ``True`` or
        ``False`` for each name in ``has``.
        """
        selection = _calls.Selection(components, optional, has, with_, without)
        return self._run(_calls.query(selection))

    def insert(self, entity: str, components: Mapping[str, Any]) -> None:
        """Sets ``components`` (``{name: value}``) on ``entity``, replacing existing values."""
        self._run(_calls.insert(entity, components))

    def remove(self, entity: str, components: Iterable[str]) -> None:
        """Removes ``components`` from ``entity``; absent ones are ignored."""
        self._run(_calls.remove(entity, components))

    def destroy(self, entity: str) -> None:
        """Despawns ``entity`` and its descendants."""
        self._run(_calls.destroy(entity))

    def reparent(self, entity: str, parent: str | None) -> None:
        """Makes ``entity`` a child of ``parent``, or a root when ``parent`` is ``None``."""
        self._run(_calls.reparent(entity, parent))
