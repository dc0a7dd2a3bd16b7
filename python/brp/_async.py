""":class:`AsyncSession`: a session whose requests are awaited under asyncio."""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
from collections.abc import AsyncGenerator, Callable, Iterable, Mapping
from typing import Any, TypeVar

from brp import _calls, _modules, _native, _wire
from brp._client import request_id
from brp.errors import Cancelled, DuplicateId, InvalidRequest

T = TypeVar("T")


class _Stream:
    """The answers of one streaming request waiting to be consumed: at most
    ``limit``, then one last error that ends it."""

    def __init__(self, limit: int) -> None:
        self.answers: collections.deque[dict[str, Any]] = collections.deque()
        self.ready = asyncio.Event()
        self.limit = limit
        #: Set by Stream.cancel: later answers are dropped.
        self.cancelled = False

    def put(self, answer: dict[str, Any]) -> bool:
        """Queues ``answer``; False once the stream has ended."""
        if self.cancelled:
            return "error" not in answer
        if len(self.answers) >= self.limit:
            message = f"{self.limit} answers of the stream wait unconsumed (its backlog)"
            answer = {"id": answer.get("id"), "error": {"code": _native.CANCELLED, "message": message}}
        self.answers.append(answer)
        self.ready.set()
        return "error" not in answer


_Pending = dict[int, "asyncio.Future[dict[str, Any]] | _Stream"]


class AsyncSession:
    """A session on an :class:`~brp.App` for asyncio: ``await s.request(...)``.

    Made by :meth:`App.async_session` inside a running event loop, and used
    from that loop only. Each request is submitted at once (its side
    effects apply before ``submit`` returns); its response comes back
    through a callback that resolves the awaiting future, matched by id, so
    a parked POLL does not hold up later requests. Cancelling the awaiting
    task cancels a parked POLL. Use it as ``async with`` or call
    :meth:`close`.
    """

    def __init__(self, native: _native.Session) -> None:
        if not _modules.is_session(native):
            raise TypeError("async sessions are made by App.async_session()")
        self._native = native
        self._loop = asyncio.get_running_loop()
        self._ids = itertools.count(1)
        # Touched only on the loop's thread; the callback hands responses over.
        self._pending: _Pending = {}
        self._closed = False
        native.set_callback(_deliverer(self._loop, self._pending))

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Cancels the session's parked POLLs (their awaiters raise
        :class:`~brp.Cancelled`) and refuses further requests. Idempotent."""
        self._closed = True
        self._native.close()

    def _claim(self, req: Mapping[str, Any] | str) -> tuple[str, int | None]:
        """The JSON text of ``req`` and its id, when it has one that fits."""
        if isinstance(req, str):
            try:
                parsed = json.loads(req)
            except (ValueError, RecursionError):
                return req, None
            return req, request_id(parsed.get("id")) if isinstance(parsed, dict) else None
        if not isinstance(req, Mapping):
            raise TypeError(f"a request is a mapping or JSON text, got {type(req).__name__}")
        if "id" in req:
            return self._claim(_wire.dumps(dict(req)))
        id_ = next(self._ids)
        while id_ in self._pending:
            id_ = next(self._ids)
        return _wire.dumps({"id": id_, **req}), id_

    async def request(self, req: Mapping[str, Any] | str, /) -> Any:
        """Sends one request and returns its ``response`` (``result``) value, like
        :meth:`App.request`; an error response raises its
        :class:`~brp.BrpError` (a POLL's timeout: :class:`~brp.Timeout`).
        Text the world cannot read (its answer has no id to match, e.g.
        ``NaN``) raises at once (:class:`~brp.ParseError`)."""
        text, id_ = self._claim(req)
        if self._closed:
            raise Cancelled(_native.CANCELLED, "the session is closed")
        if id_ is None:
            # No usable id: the world answers such a request at once, with an error.
            return _wire.response(self._native.request(text))
        future: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        refused = self._submit(text, id_, future)
        if refused is not None:
            return _wire.response(refused)
        try:
            return _wire.unwrap(await future)
        except asyncio.CancelledError:
            self._native.cancel(id_)
            raise

    def stream(self, req: Mapping[str, Any] | str, /, *, backlog: int = 1024) -> Stream:
        """Submits a streaming request, a JSON-RPC ``+watch`` method
        (``{"jsonrpc": "2.0", "method": "world.get_components+watch",
        "params": {...}}``), and returns its :class:`Stream` of ``result``
        values: the state at once, then one per change.

        Use it as ``async with session.stream(req) as results: async for
        result in results: ...``; leaving the ``async with`` cancels it.
        When ``backlog`` answers wait unconsumed, it ends with
        :class:`~brp.Cancelled`."""
        text, id_ = self._claim(req)
        if self._closed:
            raise Cancelled(_native.CANCELLED, "the session is closed")
        if id_ is None:
            _wire.response(self._native.request(text))  # raises its error
            raise InvalidRequest(_native.INVALID_REQUEST, "a stream needs an integer id")
        method = json.loads(text).get("method")
        if not isinstance(method, str) or not method.endswith("+watch"):
            # bevy_remote's convention: the methods that stream end in +watch.
            message = f"stream() takes a +watch method, got {method!r}"
            raise InvalidRequest(_native.INVALID_REQUEST, message)
        answers = _Stream(backlog)
        refused = self._submit(text, id_, answers)
        if refused is not None:
            _wire.response(refused)  # raises its error
        return Stream(self, id_, answers)

    def _submit(
        self, text: str, id_: int, waiter: asyncio.Future[dict[str, Any]] | _Stream
    ) -> str | None:
        """Submits ``text`` with ``waiter`` waiting for its answers under
        ``id_``. A request refused before it was carried out (e.g.
        unreadable, so its answer has no id to match) is not waited for:
        its answer is returned instead."""
        if id_ in self._pending:
            message = f"request id {id_} is already in flight in this session"
            raise DuplicateId(_native.DUPLICATE_ID, message)
        self._pending[id_] = waiter
        try:
            refused = self._native.try_submit(text)
        except BaseException:
            self._pending.pop(id_, None)  # nothing was sent
            raise
        if refused is not None:
            self._pending.pop(id_, None)
        return refused

    async def _run(self, call: _calls.Call[T]) -> T:
        return call.decode(await self.request({"request": call.request, "params": call.params}))

    async def ping(self) -> None:
        """Checks that the world answers."""
        await self._run(_calls.ping())

    async def spawn(self, components: Mapping[str, Any]) -> str:
        """Spawns an entity with ``components``; returns its id."""
        return await self._run(_calls.spawn(components))

    async def get(self, entity: str, components: Iterable[str]) -> dict[str, Any]:
        """The values of ``components`` on ``entity``, as ``{name: value}``."""
        return await self._run(_calls.get(entity, components))

    async def query(
        self,
        components: Iterable[str] = (),
        *,
        optional: Iterable[str] = (),
        has: Iterable[str] = (),
        with_: Iterable[str] = (),
        without: Iterable[str] = (),
    ) -> list[dict[str, Any]]:
        """The matching entities' rows, as :meth:`App.query` returns them."""
        selection = _calls.Selection(components, optional, has, with_, without)
        return await self._run(_calls.query(selection))

    async def insert(self, entity: str, components: Mapping[str, Any]) -> None:
        """Sets ``components`` on ``entity``, replacing existing values."""
        await self._run(_calls.insert(entity, components))

    async def remove(self, entity: str, components: Iterable[str]) -> None:
        """Removes ``components`` from ``entity``; absent ones are ignored."""
        await self._run(_calls.remove(entity, components))

    async def destroy(self, entity: str) -> None:
        """Despawns ``entity`` and its descendants."""
        await self._run(_calls.destroy(entity))

    async def reparent(self, entity: str, parent: str | None) -> None:
        """Makes ``entity`` a child of ``parent`` (``None``: a root)."""
        await self._run(_calls.reparent(entity, parent))

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
        """Yields the matching rows now, then again each time they change
        (with ``changed``: only the entities whose listed components were
        written). Each wait is bounded by ``timeout`` seconds
        (:class:`~brp.Timeout`). Nothing stays parked between snapshots."""
        selection = _calls.Selection(components, optional, has, with_, without, changed)
        async for rows in self._watch(selection, timeout):
            yield rows

    async def _watch(
        self, selection: _calls.Selection, timeout: float | None
    ) -> AsyncGenerator[list[dict[str, Any]], None]:
        """:meth:`watch` of ``selection``."""
        params = _calls.watch_params(selection, timeout)
        watermark: str | None = None
        while True:
            rows, latest = await self._run(_calls.poll(params, watermark))
            watermark = latest
            yield rows


class Stream:
    """The ``result`` values of a streaming request of an
    :class:`AsyncSession`, in order: ``async for result in stream``.

    Its last answer is an error, which ``async for`` raises
    (:class:`~brp.Cancelled` when cancelled, :class:`~brp.EntityNotFound`
    when its entity went). :meth:`cancel`, or leaving ``async with``, ends
    it at once."""

    def __init__(self, session: AsyncSession, id_: int, answers: _Stream) -> None:
        self._session = session
        self._id = id_
        self._answers = answers
        self._done = False

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.cancel()

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> Any:
        if self._done:
            raise StopAsyncIteration
        await self._answers.ready.wait()
        answer = self._answers.answers.popleft()
        if not self._answers.answers:
            self._answers.ready.clear()
        if "error" in answer:
            self._done = True
        return _wire.unwrap(answer)

    def cancel(self) -> None:
        """Cancels the stream, unless it has ended. Its id is in flight until
        the cancellation's answer reaches the event loop."""
        if not self._done:
            self._done = True
            self._answers.cancelled = True
            self._session._native.cancel(self._id)


def _deliverer(loop: asyncio.AbstractEventLoop, pending: _Pending) -> Callable[[str], None]:
    """The native callback: hands each response's text to ``loop``, which
    resolves the future waiting for its id. It holds no reference to the
    session, so dropping the session closes it."""

    def settle(text: str) -> None:
        answer = json.loads(text)
        id_ = answer.get("id")
        waiter = pending.get(id_) if isinstance(id_, int) else None
        if isinstance(waiter, _Stream):
            if not waiter.put(answer):
                del pending[id_]
        elif waiter is not None:
            del pending[id_]
            if not waiter.done():
                waiter.set_result(answer)

    def deliver(text: str) -> None:
        try:
            loop.call_soon_threadsafe(settle, text)
        except RuntimeError:
            pass  # the loop is closed: nobody awaits this response

    return deliver
