""":class:`App`, :class:`Session` and the C-style :func:`brp_request`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brp import _native, _wire
from brp._client import Client


class App(Client):
    """An embedded Bevy world that answers BRP requests in this process.

    ``config`` is a dict such as ``{"components": ["Position"],
    "auto_declare": False}`` (``None`` for the default). An ``App`` may be
    shared between threads; the GIL is released while the world works.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        if config is not None and not isinstance(config, Mapping):
            raise TypeError(f"config must be a mapping or None, got {type(config).__name__}")
        super().__init__()
        self._native = _native.App(None if config is None else _wire.dumps(dict(config)))

    def _send(self, request_json: str) -> str:
        return self._native.request(request_json)

    def register_component(self, name: str) -> None:
        """Declares a dynamic component called ``name`` holding any JSON value.

        Declaring a name again is a no-op; a name a Rust type uses raises
        :class:`~brp.ComponentError`.
        """
        if not isinstance(name, str):
            raise TypeError(f"a component name is a string, got {type(name).__name__}")
        self._native.declare_component(name)

    def update(self) -> None:
        """Runs the world's schedule once and advances its change tick."""
        self._native.update()

    def session(self) -> Session:
        """A new session: its own request-id scope on this world."""
        return Session(self._native.session())


class Session(Client):
    """One client's request-id scope on an :class:`App` (see
    :meth:`App.session`): two sessions may use the same ids, and a request
    whose id is still in flight in this session raises
    :class:`~brp.DuplicateId`."""

    def __init__(self, native: _native.Session) -> None:
        if not isinstance(native, _native.Session):
            raise TypeError("sessions are made by App.session()")
        super().__init__()
        self._native = native

    def _send(self, request_json: str) -> str:
        return self._native.request(request_json)


def brp_request(app: App, request_json: str) -> str:
    """Answers one request's JSON text with the response's JSON text, like
    the C function of the same name: error responses are returned, not raised."""
    if not isinstance(app, App):
        raise TypeError(f"app must be a brp.App, got {type(app).__name__}")
    if not isinstance(request_json, str):
        raise TypeError(f"request_json must be a str, got {type(request_json).__name__}")
    return app._send(request_json)
