""":class:`App`, :class:`Session` and the C-style :func:`brp_request`."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterable, Mapping
from types import ModuleType
from typing import Any, ClassVar

from brp import _calls, _modules, _native, _wire
from brp._async import AsyncSession
from brp._client import Client
from brp._server import Server
from brp._watch import Watch

#: What :meth:`App.push_pose` accepts as a frame.
Frame = bytes | bytearray | memoryview | str | Mapping[str, Any]
#: A pose target: an entity id, or the target mapping of docs/pose.md, e.g.
#: ``{"name": "Player"}``, ``{"entities": ["3v0", "4v0"]}`` or
#: ``{"names": ["Ann", "Bo"], "landmark_count": None, "smoothing": {...}}``.
Target = str | Mapping[str, Any]


def frame_bytes(frame: Frame) -> bytes:
    """A controller frame as bytes: FlatBuffers bytes as they are, JSON text
    encoded, a mapping dumped as JSON."""
    if isinstance(frame, (bytes, bytearray, memoryview)):
        return bytes(frame)
    if isinstance(frame, str):
        return frame.encode()
    if isinstance(frame, Mapping):
        return _wire.dumps(dict(frame)).encode()
    raise TypeError(f"a frame is bytes, JSON text or a mapping, got {type(frame).__name__}")


def target_object(target: Target | None) -> dict[str, Any] | None:
    """The JSON object of a pose target (``None``: the entity named Player)."""
    if target is None:
        return None
    if isinstance(target, str):
        return {"entity": target}
    if isinstance(target, Mapping):
        return dict(target)
    raise TypeError(f"a target is an entity id or a mapping, got {type(target).__name__}")


class App(Client):
    """An embedded Bevy world that answers BRP requests in this process.

    ``config`` is a dict such as ``{"components": ["Position"],
    "auto_declare": False}`` (``None`` for the default). An ``App`` may be
    shared between threads; the GIL is released while the world works.
    """

    #: The native module whose worlds this class makes: ``brp._native``,
    #: or a game's own for the classes :func:`module_app` makes.
    _native_module: ClassVar[_modules.Native] = _native

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        if config is not None and not isinstance(config, Mapping):
            raise TypeError(f"config must be a mapping or None, got {type(config).__name__}")
        super().__init__()
        config_json = None if config is None else _wire.dumps(dict(config))
        self._native = self._native_module.App(config_json)

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

    def async_session(self) -> AsyncSession:
        """A new session for asyncio, bound to the running event loop."""
        return AsyncSession(self._native.session())

    def close(self) -> None:
        """Cancels every parked POLL (they raise :class:`~brp.Cancelled`) and
        refuses new ones; other requests keep working."""
        self._native.close()

    def __enter__(self) -> App:
        """``with brp.App() as app:`` closes the app on leaving the block."""
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def serve(
        self,
        address: str = "127.0.0.1:15702",
        *,
        token: str | None = None,
        allowed_origins: Iterable[str] = (),
        allowed_hosts: Iterable[str] = (),
        **limits: int,
    ) -> Server:
        """Serves this world over HTTP and WebSocket on ``address``
        (``"<ip>:<port>"``; port 0 picks a free one, see
        :attr:`Server.address`), in both dialects, from a thread of its own
        (docs/server.md). With ``token``, every request must carry
        ``Authorization: Bearer <token>``. A browser page may use it only
        from the server's own origin or one of ``allowed_origins``; requests
        must name a loopback host, the bound address or one of
        ``allowed_hosts`` (docs/server.md, "What a web page can do").
        ``limits`` are the other settings of docs/server.md, by name:
        ``max_request_bytes``, ``max_request_bytes_total``,
        ``max_connections``, ``max_in_flight``, ``max_watches``,
        ``max_queued_answers``, ``max_queued_bytes``, ``header_timeout_ms``,
        ``body_timeout_ms``, ``idle_timeout_ms``, ``stop_timeout_ms``.

        It is listening when this returns. A bad setting, or an address that
        cannot be bound, raises :class:`~brp.InvalidParams`. Use it as a
        context manager (``with`` or ``async with``) or call
        :meth:`Server.stop`.
        """
        if not isinstance(address, str):
            raise TypeError(f"address must be a str, got {type(address).__name__}")
        if token is not None and not isinstance(token, str):
            raise TypeError(f"token must be a str or None, got {type(token).__name__}")
        if isinstance(allowed_origins, str) or isinstance(allowed_hosts, str):
            raise TypeError("allowed_origins and allowed_hosts are lists of str, not a str")
        config: dict[str, Any] = {
            "address": address,
            "allowed_origins": list(allowed_origins),
            "allowed_hosts": list(allowed_hosts),
            **limits,
        }
        if token is not None:
            config["token"] = token
        return Server(self._native.serve(_wire.dumps(config)))

    def push_pose(self, frame: Frame, target: Target | None = None) -> None:
        """Applies one controller frame (FlatBuffers bytes, JSON text or a
        mapping such as ``{"Empty": {}}``) to ``target`` (default: the
        entity named ``Player``, spawned if missing), as a
        :class:`~brp.PoseClient` applies the frames it receives."""
        target_text = None if target is None else _wire.dumps(target_object(target))
        self._native.push_pose(frame_bytes(frame), target_text)

    async def watch(
        self,
        components: Iterable[str] = (),
        *,
        optional: Iterable[str] = (),
        has: Iterable[str] = (),
        with_: Iterable[str] = (),
        without: Iterable[str] = (),
        changed: Iterable[str] = (),
        timeout: float | None = None,
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        """``async for rows in app.watch(...)``: the matching rows now, then
        each time they change, through a session of its own (see
        :meth:`AsyncSession.watch`)."""
        selection = _calls.Selection(components, optional, has, with_, without, changed)
        async with self.async_session() as session:
            async for rows in session._watch(selection, timeout):
                yield rows

    def watch_blocking(
        self,
        components: Iterable[str] = (),
        *,
        optional: Iterable[str] = (),
        has: Iterable[str] = (),
        with_: Iterable[str] = (),
        without: Iterable[str] = (),
        changed: Iterable[str] = (),
        timeout: float | None = None,
    ) -> Watch:
        """``for rows in app.watch_blocking(...)``: :meth:`watch` for
        threads; each ``next()`` blocks until the rows change."""
        selection = _calls.Selection(components, optional, has, with_, without, changed)
        return Watch(self._native.session(), selection, timeout)


class Session(Client):
    """One client's request-id scope on an :class:`App` (see
    :meth:`App.session`): two sessions may use the same ids, and a request
    whose id is still in flight in this session raises
    :class:`~brp.DuplicateId`."""

    def __init__(self, native: _native.Session) -> None:
        if not _modules.is_session(native):
            raise TypeError("sessions are made by App.session()")
        super().__init__()
        self._native = native

    def _send(self, request_json: str) -> str:
        return self._native.request(request_json)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def submit(self, req: Mapping[str, Any] | str, /) -> None:
        """Sends one request without waiting; its response comes from :meth:`receive`."""
        self._native.submit(self._encode(req))

    def receive(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next submitted request's response object (``{"id": ...,
        "response": ...}`` or ``{"id": ..., "error": ...}``), waiting up to
        ``timeout`` seconds (``None``: for ever); ``None`` on timeout or once
        the session is closed and drained. Responses come in the order they
        complete, not the order submitted. Ctrl-C (``KeyboardInterrupt``)
        ends the wait."""
        text = self._native.receive(timeout)
        if text is None:
            return None
        answer: dict[str, Any] = json.loads(text)
        return answer

    def cancel(self, id: int) -> bool:
        """Cancels this session's parked POLL ``id`` (it answers
        :class:`~brp.Cancelled`); ``False`` if none is parked."""
        return self._native.cancel(id)

    def close(self) -> None:
        """Cancels the session's parked POLLs and refuses further requests."""
        self._native.close()


def module_app(native: ModuleType) -> type[App]:
    """The :class:`App` subclass whose worlds the native module ``native``
    makes: ``<game>._native`` of a game's own wheel, built with the Rust
    macro ``brp_python::module!`` (docs/python.md, "Your own wheel").

    Its apps hold the game's plugins; they are :class:`App` in every other
    way. Raises :class:`ImportError` if ``native`` was built for another
    version of brp.
    """
    adopted = _modules.adopt(native)
    package = native.__name__.rpartition(".")[0]

    class ModuleApp(App):
        __doc__ = f"An :class:`App` whose worlds also hold the plugins of ``{package}``."
        __module__ = package
        __qualname__ = "App"
        _native_module = adopted

    ModuleApp.__name__ = "App"
    return ModuleApp


def brp_request(app: App, request_json: str) -> str:
    """Answers one request's JSON text with the response's JSON text, like
    the C function of the same name: error responses are returned, not raised."""
    if not isinstance(app, App):
        raise TypeError(f"app must be a brp.App, got {type(app).__name__}")
    if not isinstance(request_json, str):
        raise TypeError(f"request_json must be a str, got {type(request_json).__name__}")
    return app._send(request_json)
