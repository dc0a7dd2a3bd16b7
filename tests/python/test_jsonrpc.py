"""bevy_remote's JSON-RPC 2.0 dialect from Python: ``App.request`` and
``AsyncSession.stream`` (the shared vectors run in test_conformance.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

import brp

T = TypeVar("T")
DEADLINE = 20.0  # seconds; only to stop a hung test
NAME = "bevy_ecs::name::Name"


def run(make: Callable[[], Awaitable[T]]) -> T:
    """Runs ``make()`` in a new event loop, failing it if it hangs."""

    async def bounded() -> T:
        return await asyncio.wait_for(make(), DEADLINE)

    return asyncio.run(bounded())


def rpc(method: str, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def test_request_returns_the_result_and_raises_the_error() -> None:
    app = brp.App()
    spawned = app.request(rpc("world.spawn_entity", components={NAME: "hero"}))
    entity = spawned["entity"]
    assert isinstance(entity, int)
    got = app.request(rpc("world.get_components", entity=entity, components=[NAME], strict=True))
    assert got == {NAME: "hero"}
    assert app.request(rpc("world.despawn_entity", entity=entity)) is None
    assert isinstance(app.request({"jsonrpc": "2.0", "method": "world.list_resources"}), list)
    with pytest.raises(brp.EntityNotFound):
        app.request(rpc("world.get_components", entity=entity, components=[NAME]))
    with pytest.raises(brp.ResourceError):
        app.request(rpc("world.get_resources", resource="my_game::Score"))
    app.request(rpc("world.remove_resources", resource="bevy_time::time::Time<()>"))
    with pytest.raises(brp.ResourceNotPresent):
        app.request(rpc("world.get_resources", resource="bevy_time::time::Time<()>"))


def test_a_stream_yields_the_state_then_each_change_and_ends_with_its_entity() -> None:
    app = brp.App()
    entity = app.request(rpc("world.spawn_entity", components={NAME: "hero"}))["entity"]
    watch = rpc("world.get_components+watch", entity=entity, components=[NAME], strict=True)

    async def main() -> list[Any]:
        seen: list[Any] = []
        async with app.async_session() as session:
            with pytest.raises(brp.EntityNotFound):
                async for result in session.stream(watch):
                    seen.append(result)
                    if len(seen) == 1:
                        await session.request(
                            rpc("world.insert_components", entity=entity, components={NAME: "two"})
                        )
                    else:
                        await session.request(rpc("world.despawn_entity", entity=entity))
        return seen

    seen = run(main)
    assert seen == [
        {"components": {NAME: "hero"}, "removed": []},
        {"components": {NAME: "two"}, "removed": []},
    ]


def test_leaving_a_stream_cancels_it_and_frees_its_id() -> None:
    app = brp.App()
    entity = app.request(rpc("world.spawn_entity", components={NAME: "hero"}))["entity"]
    watch = {**rpc("world.list_components+watch", entity=entity), "id": 5}

    async def main() -> list[Any]:
        firsts = []
        async with app.async_session() as session:
            for _ in range(2):  # the same id twice: the first was cancelled
                async with session.stream(watch) as results:
                    async for result in results:
                        firsts.append(result)
                        break
                with pytest.raises(brp.DuplicateId):
                    session.stream(watch)  # until the cancellation's answer is in
                await asyncio.sleep(0)
        return firsts

    assert run(main) == [{"added": [NAME], "removed": []}] * 2


def test_a_stream_that_falls_behind_its_backlog_ends() -> None:
    app = brp.App()
    entity = app.request(rpc("world.spawn_entity", components={NAME: "hero"}))["entity"]
    watch = rpc("world.get_components+watch", entity=entity, components=[NAME])

    async def main() -> int:
        got = 0
        async with app.async_session() as session:
            with pytest.raises(brp.Cancelled, match="backlog"):
                async for _ in session.stream(watch, backlog=2):
                    got += 1
                    if got == 1:
                        for n in range(5):
                            change = rpc("world.insert_components", entity=entity, components={NAME: str(n)})
                            app.request(change)
                        await asyncio.sleep(0)  # the answers arrive, unconsumed
        return got

    assert run(main) == 3  # the state, then the backlog of two


def test_a_stream_of_a_request_that_is_not_a_watch_is_refused() -> None:
    app = brp.App()

    async def main(method: str) -> None:
        async with app.async_session() as session:
            async for _ in session.stream({"jsonrpc": "2.0", "method": method}):
                pass

    with pytest.raises(brp.InvalidRequest, match="takes a \\+watch method"):
        run(lambda: main("world.list_resources"))
    with pytest.raises(brp.InvalidParams):  # no params: refused by the world
        run(lambda: main("world.list_components+watch"))
