"""asyncio requests whose text Python reads but the world cannot: the world
answers them with ``"id": null`` (it could not read the id), and the awaiting
request must raise that answer's error instead of waiting for ever."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

import brp

T = TypeVar("T")
DEADLINE = 20.0  # seconds; only to stop a hung test
DEEP = "[" * 200 + "]" * 200  # nesting Python reads and serde_json refuses (over 128)

#: Request texts with an id Python reads; the world may answer them with id null.
UNREADABLE = [
    '{"id": 1, "request": "PING", "params": {"x": NaN}}',
    '{"id": 1, "request": "PING", "params": {"x": Infinity}}',
    '{"id": 1, "request": "PING", "params": {"x": -Infinity}}',
    '{"id": 1, "request": "PING", "params": {"x": 1e400}}',
    '{"id": 1, "request": "PING", "\\ud800": 1}',
    '{"id": 1, "request": "PING", "params": {"x": "\\ud800"}}',
    '{"id": 1, "request": "PI\\ud800NG"}',
    '{"id": 1, "request": "PING", "params": {"x": ' + DEEP + "}}",
    '{"id": 1, "request": "PING", "x": ' + DEEP + "}",
    '{"x": ' + DEEP + ', "id": 1, "request": "PING"}',
]


def run(make: Callable[[], Awaitable[T]]) -> T:
    """Runs ``make()`` in a new event loop, failing it if it hangs."""

    async def bounded() -> T:
        return await asyncio.wait_for(make(), DEADLINE)

    return asyncio.run(bounded())


def expected_code(app: brp.App, text: str) -> int:
    """The error code the world answers ``text`` with (sessionless)."""
    json.loads(text)  # Python reads it, id and all
    answer = json.loads(brp.brp_request(app, text))
    code: int = answer["error"]["code"]
    return code


@pytest.mark.parametrize("text", UNREADABLE)
def test_async_request_raises_the_error_of_text_the_world_cannot_read(
    app: brp.App, text: str
) -> None:
    code = expected_code(app, text)

    async def main() -> None:
        async with app.async_session() as session:
            for _ in range(3):  # nothing piles up: each raises
                with pytest.raises(brp.BrpError) as caught:
                    await session.request(text)
                assert caught.value.code == code
            # The id is free again.
            assert await session.request({"id": 1, "request": "PING"}) == {"status": "OK"}

    run(main)


def test_async_request_over_the_size_limit_raises_invalid_request() -> None:
    app = brp.App({"max_request_bytes": 64})
    text = json.dumps({"id": 1, "request": "PING", "params": {"padding": "x" * 100}})
    assert json.loads(brp.brp_request(app, text))["id"] is None

    async def main() -> None:
        async with app.async_session() as session:
            with pytest.raises(brp.InvalidRequest):
                await session.request(text)
            with pytest.raises(brp.InvalidRequest):
                await session.get("1v0", ["X" * 100])
            assert await session.request({"id": 1, "request": "PING"}) == {"status": "OK"}

    run(main)


def test_async_watches_over_the_size_limit_raise_invalid_request() -> None:
    app = brp.App({"max_request_bytes": 128})
    name = "X" * 200

    async def main() -> None:
        async with app.async_session() as session:
            with pytest.raises(brp.InvalidRequest):
                await anext(session.watch([name]))
        with pytest.raises(brp.InvalidRequest):
            await anext(app.watch(changed=[name]))

    run(main)


def test_text_that_cannot_cross_into_rust_leaves_its_id_free(app: brp.App) -> None:
    async def main() -> None:
        async with app.async_session() as session:
            with pytest.raises(UnicodeEncodeError):
                await session.request('{"id": 1, "request": "PING", "x": "\ud800"}')
            assert await session.request({"id": 1, "request": "PING"}) == {"status": "OK"}

    run(main)


def test_text_too_deep_for_python_raises_parse_error(app: brp.App) -> None:
    text = "[" * 100_000

    async def main() -> None:
        async with app.async_session() as session:
            with pytest.raises(brp.ParseError):
                await session.request(text)

    run(main)


NAN_PING = '{"id": 1, "request": "PING", "params": {"x": NaN}}'


def test_native_try_submit_returns_a_refused_answer_instead_of_calling_back(app: brp.App) -> None:
    native = app._native.session()
    got: list[str] = []
    native.set_callback(got.append)
    refused = native.try_submit(NAN_PING)
    assert refused is not None
    answer = json.loads(refused)
    assert answer["id"] is None and answer["error"]["code"] == brp.ParseError.CODE
    assert got == []
    assert native.try_submit('{"id": 2, "request": "PING"}') is None
    assert [json.loads(text)["id"] for text in got] == [2]


def test_submit_still_delivers_the_unread_answer(app: brp.App) -> None:
    native = app._native.session()
    native.submit(NAN_PING)
    queued = native.receive(DEADLINE)
    assert queued is not None and json.loads(queued)["id"] is None
    got: list[str] = []
    native.set_callback(got.append)
    native.submit(NAN_PING)
    assert [json.loads(text)["id"] for text in got] == [None]


def test_threads_trying_to_submit_at_once_each_get_their_own_refusal(app: brp.App) -> None:
    native = app._native.session()
    got: list[int] = []
    native.set_callback(lambda text: got.append(json.loads(text)["id"]))
    threads, rounds = 4, 200
    refused: list[list[str | None]] = [[] for _ in range(threads)]

    def submit(worker: int) -> None:
        for n in range(rounds):
            id_ = worker * rounds + n + 1
            assert native.try_submit(f'{{"id": {id_}, "request": "PING"}}') is None
            refused[worker].append(native.try_submit(NAN_PING))

    workers = [threading.Thread(target=submit, args=(worker,)) for worker in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(DEADLINE)
        assert not worker.is_alive(), "a submitting thread hangs"
    assert sorted(got) == list(range(1, threads * rounds + 1)), "only the readable ones"
    for answers in refused:
        assert len(answers) == rounds
        assert all(text is not None and json.loads(text)["id"] is None for text in answers)
