"""AsyncSession and the async and blocking watches over POLL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

import brp

T = TypeVar("T")
DEADLINE = 20.0  # seconds; only to stop a hung test
COUNT = 2000


def run(make: Callable[[], Awaitable[T]]) -> T:
    """Runs ``make()`` in a new event loop, failing it if it hangs."""

    async def bounded() -> T:
        return await asyncio.wait_for(make(), DEADLINE)

    return asyncio.run(bounded())


def poll(watermark: str | None, **extra: Any) -> dict[str, Any]:
    """A POLL request on ``Position``."""
    return {
        "request": "POLL",
        "params": {"data": {"components": ["Position"]}, "watermark": watermark, **extra},
    }


def test_responses_resolve_by_id_out_of_order(app: brp.App) -> None:
    entity = app.spawn({"Position": 0})
    done: list[str] = []

    async def main() -> None:
        async with app.async_session() as session:
            mark = (await session.request(poll(None)))["watermark"]

            async def parked() -> dict[str, Any]:
                answer: dict[str, Any] = await session.request(poll(mark))
                done.append("poll")
                return answer

            task = asyncio.create_task(parked())
            await asyncio.sleep(0)  # the POLL is submitted and parked
            await session.ping()
            done.append("ping")
            await session.insert(entity, {"Position": 1})
            answer = await task
            assert answer["entities"] == [{"id": entity, "Position": {"JSON": "1"}}]

    run(main)
    assert done == ["ping", "poll"]


def test_async_helpers_and_text_requests(app: brp.App) -> None:
    async def main() -> None:
        async with app.async_session() as session:
            entity = await session.spawn({"Position": {"x": 1}})
            await session.insert(entity, {"Player": True})
            assert await session.get(entity, ["Position"]) == {"Position": {"x": 1}}
            rows = await session.query(["Player"], with_=["Position"])
            assert rows == [{"id": entity, "Player": True}]
            await session.remove(entity, ["Player"])
            child = await session.spawn({})
            await session.reparent(child, entity)
            await session.destroy(entity)
            assert await session.query(["Position"]) == []
            answer = await session.request('{"id": 99, "request": "PING"}')
            assert answer == {"status": "OK"}
            with pytest.raises(brp.ParseError):
                await session.request("{not json")
            with pytest.raises(brp.InvalidRequest):
                await session.request('{"request": "PING"}')
            with pytest.raises(TypeError):
                await session.request(42)  # type: ignore[arg-type]

    run(main)


def test_an_id_in_flight_raises_duplicate_id(app: brp.App) -> None:
    app.spawn({"Position": 0})

    async def main() -> None:
        async with app.async_session() as session:
            mark = (await session.request(poll(None)))["watermark"]
            task = asyncio.create_task(session.request({"id": 7, **poll(mark)}))
            await asyncio.sleep(0)
            with pytest.raises(brp.DuplicateId):
                await session.request({"id": 7, "request": "PING"})
            assert await session.request({"request": "PING"}) == {"status": "OK"}
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    run(main)


def test_a_poll_timeout_raises_timeout(app: brp.App) -> None:
    app.spawn({"Position": 0})

    async def main() -> None:
        async with app.async_session() as session:
            mark = (await session.request(poll(None)))["watermark"]
            with pytest.raises(brp.Timeout):
                await session.request(poll(mark, timeout_ms=1))
            watch = app.watch(["Position"], timeout=0.001)
            assert len(await anext(watch)) == 1
            with pytest.raises(brp.Timeout):
                await anext(watch)

    run(main)


def test_cancelling_the_awaiting_task_cancels_the_poll(app: brp.App) -> None:
    app.spawn({"Position": 0})

    async def main() -> None:
        async with app.async_session() as session:
            mark = (await session.request(poll(None)))["watermark"]
            task = asyncio.create_task(session.request({"id": 7, **poll(mark)}))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # Once the POLL's CANCELLED answer is in, the id is free again.
            while True:
                try:
                    assert await session.request({"id": 7, "request": "PING"}) == {"status": "OK"}
                    return
                except brp.DuplicateId:
                    await asyncio.sleep(0.001)

    run(main)


def test_closing_the_session_wakes_its_parked_poll(app: brp.App) -> None:
    app.spawn({"Position": 0})

    async def main() -> None:
        session = app.async_session()
        mark = (await session.request(poll(None)))["watermark"]
        task = asyncio.create_task(session.request(poll(mark)))
        await asyncio.sleep(0)
        session.close()
        with pytest.raises(brp.Cancelled):
            await task
        with pytest.raises(brp.Cancelled):
            await session.ping()

    run(main)


def test_closing_the_app_wakes_a_watch(app: brp.App) -> None:
    app.spawn({"Position": 0})

    async def main() -> None:
        watch = app.watch(["Position"])
        await anext(watch)
        task = asyncio.ensure_future(anext(watch))
        await asyncio.sleep(0)
        app.close()
        with pytest.raises(brp.Cancelled):
            await task

    run(main)


def test_watch_yields_after_a_change(app: brp.App) -> None:
    entity = app.spawn({"Position": 0})

    async def main() -> None:
        watch = app.watch(["Position"])
        assert await anext(watch) == [{"id": entity, "Position": 0}]
        task = asyncio.ensure_future(anext(watch))
        await asyncio.sleep(0)
        assert not task.done()
        app.insert(entity, {"Position": 1})
        assert await task == [{"id": entity, "Position": 1}]
        await watch.aclose()

    run(main)


def test_changed_yields_only_the_written_entities(app: brp.App) -> None:
    first = app.spawn({"Position": 0, "Player": "a"})
    second = app.spawn({"Position": 0, "Player": "b"})

    async def main() -> None:
        watch = app.watch(["Player"], changed=["Position"])
        assert [row["id"] for row in await anext(watch)] == [first, second]
        task = asyncio.ensure_future(anext(watch))
        app.insert(first, {"Player": "c"})  # not a listed component: no answer
        await asyncio.sleep(0.01)
        assert not task.done()
        app.insert(second, {"Position": 1})
        assert await task == [{"id": second, "Player": "b"}]
        await watch.aclose()

    run(main)


def test_breaking_out_of_a_watch_leaves_nothing_parked(app: brp.App) -> None:
    entity = app.spawn({"Position": 0})

    async def main() -> None:
        async for rows in app.watch(["Position"]):
            assert rows == [{"id": entity, "Position": 0}]
            break

    run(main)
    app.close()  # would have nothing to cancel; must not hang


def watcher(app: brp.App, last: int, seen: list[int]) -> None:
    """Records the counter values a blocking watch sees until ``last``."""
    with app.watch_blocking(["Position"], changed=["Position"], timeout=DEADLINE) as watch:
        for rows in watch:
            seen.extend(row["Position"] for row in rows)
            if seen[-1] == last:
                return


def write_counter(app: brp.App, entity: str) -> threading.Thread:
    """Starts a thread inserting 1 … COUNT into ``entity``'s ``Position``."""

    def write() -> None:
        for value in range(1, COUNT + 1):
            app.insert(entity, {"Position": value})

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def check_seen(seen: list[int]) -> None:
    """Every value not seen is superseded by a later one that is."""
    assert all(a < b for a, b in zip(seen, seen[1:])), "strictly increasing"
    assert seen[-1] == COUNT


def test_stress_blocking_watch_sees_an_increasing_subsequence(app: brp.App) -> None:
    entity = app.spawn({"Position": 0})
    seen: list[int] = []
    writer = write_counter(app, entity)
    watcher(app, COUNT, seen)
    writer.join(DEADLINE)
    check_seen(seen)


def test_stress_async_watch_sees_an_increasing_subsequence(app: brp.App) -> None:
    entity = app.spawn({"Position": 0})
    seen: list[int] = []

    async def main() -> None:
        writer = write_counter(app, entity)
        async for rows in app.watch(["Position"], changed=["Position"]):
            seen.extend(row["Position"] for row in rows)
            if seen[-1] == COUNT:
                break
        await asyncio.to_thread(writer.join, DEADLINE)

    run(main)
    check_seen(seen)


def test_blocking_watch_close_from_another_thread_ends_it(app: brp.App) -> None:
    app.spawn({"Position": 0})
    watch = app.watch_blocking(["Position"])
    assert len(next(watch)) == 1
    threading.Timer(0.01, watch.close).start()
    assert list(watch) == [], "closing cancels the parked POLL and ends the iteration"


def test_blocking_watch_timeout_raises_timeout(app: brp.App) -> None:
    app.spawn({"Position": 0})
    with app.watch_blocking(["Position"], timeout=0.001) as watch:
        next(watch)
        with pytest.raises(brp.Timeout):
            next(watch)


def test_blocking_watch_app_close_raises_cancelled(app: brp.App) -> None:
    app.spawn({"Position": 0})
    with app.watch_blocking(["Position"]) as watch:
        next(watch)
        threading.Timer(0.01, app.close).start()
        with pytest.raises(brp.Cancelled):
            next(watch)


@pytest.mark.parametrize("timeout", [-1.0, float("nan"), "1"])
def test_watch_checks_its_timeout(app: brp.App, timeout: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        app.watch_blocking(["Position"], timeout=timeout)
