"""Recordings played by the reference controller and received by libbrp's
pose client: the upstream controller's format (tobiaslocker/pose: one file
per person, frames without timestamps, nobody in view as an empty list and
sent as a payload type ``Empty`` without a table) and libbrp's own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_pose import serving, wait_for

import brp
from brp.tools.controller import (
    Controller,
    EmptyStyle,
    Pose,
    RecordingSource,
    WireFormat,
    default_empty_style,
    default_fps,
)

DATA = Path(__file__).parent / "data"
#: Two people of one clip, left to right: frames with both, with the first
#: only, with nobody, and with both again (the second one's feet occluded).
UPSTREAM = [DATA / "two_people_0.json", DATA / "two_people_1.json"]


@dataclass(frozen=True)
class Observed:
    """One applied frame: the observer's event and what the world held
    right after it, by entity name (``None``: no ``PoseLandmarks``)."""

    event: dict[str, Any]
    world: dict[str, dict[str, Any] | None]


def observe(
    app: brp.App, controller: Controller, enough: set[str]
) -> tuple[list[Observed], dict[str, Any]]:
    """Streams ``controller`` into ``app`` until the frames observed cover
    every kind in ``enough`` (see :func:`kinds`); the frames and the
    client's final statistics."""
    observed: list[Observed] = []

    def on_frame(event: dict[str, Any]) -> None:
        # No frame is received while this runs: the world is this frame's.
        rows = app.query(["Name"], optional=["PoseLandmarks"])
        world = {str(row["Name"]): row.get("PoseLandmarks") for row in rows}
        observed.append(Observed(event, world))

    with serving(controller) as port:
        with brp.PoseClient(app, f"ws://127.0.0.1:{port}", on_frame=on_frame) as client:
            # A frame the client refuses ends the wait: the test then fails saying why.
            wait_for(
                lambda: enough <= kinds(list(observed), controller)
                or client.stats()["decode_errors"] > 0,
                f"frames of {enough}",
            )
        stats = client.stats()
    return list(observed), stats


def expected_people(controller: Controller, observed: Observed) -> list[Pose]:
    """Who was in the frame of ``observed``, by its sequence (nobody when
    the frame said nobody is in view: such frames carry no sequence)."""
    if not observed.event["detected"]:
        return []
    sequence = observed.event["sequence"]
    assert isinstance(sequence, int)
    return list(controller.source.people(sequence, 0.0))


def kinds(observed: list[Observed], controller: Controller) -> set[str]:
    """Which kinds of frames were observed: ``"nobody"``, ``"1 person"``,
    ``"2 people"``."""
    found = set()
    for item in observed:
        count = len(expected_people(controller, item))
        found.add({0: "nobody", 1: "1 person"}.get(count, f"{count} people"))
    return found


def assert_lands(landed: dict[str, Any] | None, pose: Pose) -> None:
    """``landed`` (a ``PoseLandmarks``) holds ``pose``'s landmarks."""
    assert landed is not None, "a pose landed"
    assert len(landed["landmarks"]) == len(pose.landmarks)
    for got, want in zip(landed["landmarks"], pose.landmarks):
        for key in ("x", "y", "z", "visibility", "presence"):
            assert got[key] == pytest.approx(getattr(want, key), abs=1e-6), key


def test_the_upstream_fixture_is_what_upstream_records() -> None:
    for i, path in enumerate(UPSTREAM):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert set(data) == {"fps", "frames"} and data["fps"] == 30.0
        assert all(set(frame) == {"landmarks"} for frame in data["frames"])
        assert all(len(frame["landmarks"]) in (0, 33) for frame in data["frames"]), i
    source = RecordingSource(*UPSTREAM)
    assert source.upstream and source.fps == 30.0 and source.length == 4
    assert [len(source.people(i, 0.0)) for i in range(4)] == [2, 1, 0, 2]
    first, second = source.people(0, 0.0)
    assert first.landmarks[0].x < second.landmarks[0].x, "people sorted left to right"
    assert [source.people(i, 0.0)[0].timestamp for i in (0, 1, 3)] == [0.0, 1 / 30, 3 / 30]
    assert default_empty_style(source) == "upstream" and default_fps(source) == 30.0


def play_upstream(app: brp.App, wire: WireFormat, empty_style: EmptyStyle) -> list[Observed]:
    """Streams the upstream fixture into ``app`` until frames with two
    people, one and nobody have been applied; checks the first person
    landed on the Player each time, and nobody as no ``PoseLandmarks``."""
    source = RecordingSource(*UPSTREAM)
    controller = Controller(source, fps=100, wire=wire, empty_style=empty_style)
    observed, stats = observe(app, controller, {"nobody", "1 person", "2 people"})
    assert stats["decode_errors"] == 0 and stats["apply_errors"] == 0, stats["last_error"]
    for item in observed:
        people = expected_people(controller, item)
        if people:
            assert_lands(item.world.get("Player"), people[0])
            assert item.event["timestamp"] == pytest.approx(people[0].timestamp)
        else:
            assert item.world.get("Player") is None, "nobody in view: no PoseLandmarks"
    return observed


@pytest.mark.parametrize("wire", ["flatbuffers", "json"])
def test_an_upstream_recording_lands_its_first_person_on_the_player(
    app: brp.App, wire: WireFormat
) -> None:
    play_upstream(app, wire, "table")


# Enable once libbrp's decoder reads a payload type Empty without its table.
def test_nobody_in_view_as_upstream_sends_it_reaches_the_player(app: brp.App) -> None:
    play_upstream(app, "flatbuffers", "upstream")


# Enable once libbrp's decoder lands `more_people` on entities of their own.
@pytest.mark.parametrize(
    ("wire", "empty_style"),
    [("flatbuffers", "upstream"), ("flatbuffers", "table"), ("json", "table")],
)
def test_an_upstream_recording_lands_everyone(
    app: brp.App, wire: WireFormat, empty_style: EmptyStyle
) -> None:
    source = RecordingSource(*UPSTREAM)
    observed = play_upstream(app, wire, empty_style)
    for item in observed:
        people = source.people(item.event["sequence"], 0.0) if item.event["detected"] else []
        if len(people) == 2:
            assert_lands(item.world.get("Player 2"), people[1])
        else:
            assert item.world.get("Player 2") is None, "the second person is out of view"
        assert set(item.world) <= {"Player", "Player 2"}, "two people at most"


def test_a_libbrp_recording_still_plays(app: brp.App, tmp_path: Path) -> None:
    landmark = {"x": 0.5, "y": 0.25, "z": 0.0, "availability": {"visibility": 1, "presence": 1}}
    recording = {
        "name": "a pose and nobody",
        "frames": [{"timestamp": 1.5, "landmarks": [landmark] * 33}, {"Empty": {}}],
    }
    path = tmp_path / "recording.json"
    path.write_text(json.dumps(recording), encoding="utf-8")
    source = RecordingSource(path)
    assert not source.upstream and default_empty_style(source) == "table"
    controller = Controller(source, fps=100)
    observed, stats = observe(app, controller, {"nobody", "1 person"})
    assert stats["decode_errors"] == 0, stats["last_error"]
    for item in observed:
        people = expected_people(controller, item)
        if people:
            assert_lands(item.world.get("Player"), people[0])
            assert item.event["timestamp"] == 1.5
        else:
            assert item.world.get("Player") is None
