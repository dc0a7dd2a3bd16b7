"""A game's own wheel: the dance game's ``dance`` package (examples/dance/python),
whose native module ``dance._native`` brp drives as its own.

The test command (scripts/test-python) builds ``dance`` into the venv and
sets ``BRP_REQUIRE_DANCE=1``, so there these tests fail rather than skip
without it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import brp
from brp import _native

try:
    import dance
except ImportError:
    if os.environ.get("BRP_REQUIRE_DANCE") == "1":
        raise
    pytest.skip("the dance wheel is not installed", allow_module_level=True)

PLAY = Path(__file__).parents[2] / "examples" / "dance" / "python" / "play.py"
DEADLINE = 60.0  # seconds; only to stop a hung test


@pytest.fixture
def game() -> brp.App:
    """A dance world after its first update, which spawns the Player."""
    app = dance.App()
    app.update()
    return app


def test_the_game_app_is_a_brp_app_of_its_own_module() -> None:
    assert issubclass(dance.App, brp.App)
    assert (dance.App.__module__, dance.App.__qualname__) == ("dance", "App")
    assert dance._native.__name__ == "dance._native"  # type: ignore[attr-defined]
    assert dance.App._native_module is dance._native  # type: ignore[attr-defined]


def test_the_game_components_are_addressable_by_name(game: brp.App) -> None:
    [row] = game.query(["Name", "Score", "ArmAngles"])
    assert row["Name"] == "Player"
    assert row["Score"] == {"points": 0, "matched": False}
    assert game.get(row["id"], ["ArmAngles"]) == {"ArmAngles": {"left": 0.0, "right": 0.0}}


def test_brp_apps_hold_no_game() -> None:
    with pytest.raises(brp.ComponentError):
        brp.App().query(["Score"])


def test_play_scores_every_pose() -> None:
    result = subprocess.run(
        [sys.executable, str(PLAY)], capture_output=True, text=True, timeout=DEADLINE, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "start: {'points': 0, 'matched': False}"
    assert lines[2] == "arms down: {'points': 1, 'matched': False}"
    assert lines[-2:] == ["T pose: {'points': 4, 'matched': True}", "every score right"]


def test_sessions_watches_and_errors_are_brps(game: brp.App) -> None:
    with game.session() as session:
        assert isinstance(session, brp.Session)
        assert len(session.query(["Score"])) == 1
        with pytest.raises(brp.EntityNotFound):
            session.get("99v0", ["Score"])
    with game.watch_blocking(["Score"], timeout=0.1) as watch:
        assert [row["Score"]["points"] for row in next(watch)] == [0]
        with pytest.raises(brp.Timeout):
            next(watch)
    assert '"response"' in brp.brp_request(game, '{"id": 1, "request": "PING"}')


def test_async_sessions_work_on_the_game() -> None:
    async def main() -> list[dict[str, object]]:
        app = dance.App()
        app.update()
        async with app.async_session() as session:
            return await session.query(["Score"])

    rows = asyncio.run(asyncio.wait_for(main(), DEADLINE))
    assert [row["Score"] for row in rows] == [{"points": 0, "matched": False}]


def test_a_pose_client_takes_the_game_app(game: brp.App) -> None:
    # Nothing listens on port 9: the client tries once and stops.
    with brp.PoseClient(game, "ws://127.0.0.1:9", reconnect=False) as client:
        client.wait_connected(DEADLINE)
        assert client.stats()["state"] == "stopped"


def fake_module(**attributes: object) -> ModuleType:
    """A module named like a game's native module, with ``attributes``."""
    module = ModuleType("fake._native")
    for name, value in attributes.items():
        setattr(module, name, value)
    return module


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (fake_module(), r"fake\._native was built not by brp_python::module!"),
        (fake_module(__version__="0.0.0"), r"fake\._native was built for brp 0\.0\.0, but brp"),
        (
            fake_module(__version__=_native.__version__, ERROR_CODES=()),
            r"fake\._native's error codes differ",
        ),
    ],
)
def test_a_native_module_of_another_version_is_refused(module: ModuleType, message: str) -> None:
    with pytest.raises(ImportError, match=message):
        brp.module_app(module)
