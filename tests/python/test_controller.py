"""The reference controller serves valid DetectionMessage frames (or their
JSON form): synthetic people, recordings in both formats, both ways of
saying nobody is in view, and its command line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import selectors
import subprocess
import sys
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from brp.tools._detection import detection_generated as fb
from brp.tools.controller import (
    LANDMARK_COUNT,
    Controller,
    Landmark,
    Pose,
    RecordingSource,
    SyntheticSource,
    _Latest,
    decode,
    decode_json,
    decode_people,
    encode,
    encode_json,
    encode_people,
    load_recording,
)

T = TypeVar("T")
DEADLINE = 20.0  # seconds; only to stop a hung test


def run(awaitable: Awaitable[T]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(awaitable, DEADLINE)

    return asyncio.run(bounded())


async def receive(
    controller: Controller, count: int, headers: dict[str, str] | None = None
) -> list[bytes]:
    frames = await receive_any(controller, count, headers)
    assert all(isinstance(frame, bytes) for frame in frames), "binary frames"
    return [frame for frame in frames if isinstance(frame, bytes)]


async def receive_any(
    controller: Controller, count: int, headers: dict[str, str] | None = None
) -> list[bytes | str]:
    async with controller.serving("127.0.0.1", 0) as port:
        async with connect(f"ws://127.0.0.1:{port}", additional_headers=headers) as ws:
            return [await ws.recv() for _ in range(count)]


def test_encode_decode_round_trip() -> None:
    pose = Pose(1.5, [Landmark(0.25, 0.5, -0.125, 0.75, 1.0)], sequence=0, capture_time_ns=2**63)
    assert decode(encode(pose)) == pose
    assert decode(encode(None)) is None
    bare = Pose(2.0, [])
    assert decode(encode(bare)) == bare


def test_serves_a_moving_33_landmark_skeleton() -> None:
    frames = run(receive(Controller(fps=200), 5))
    poses = [decode(frame) for frame in frames]
    sequences = []
    for pose in poses:
        assert pose is not None
        assert len(pose.landmarks) == LANDMARK_COUNT
        assert pose.capture_time_ns is not None and pose.capture_time_ns > 0
        assert pose.sequence is not None
        sequences.append(pose.sequence)
        for landmark in pose.landmarks:
            assert 0.0 <= landmark.x <= 1.0 and 0.0 <= landmark.y <= 1.0
            assert 0.0 < landmark.visibility <= 1.0 and 0.0 < landmark.presence <= 1.0
    assert sequences == sorted(set(sequences)), "increasing, never repeated"
    synthetic = SyntheticSource()
    assert synthetic.pose(0, 0.0).landmarks != synthetic.pose(0, 1.0).landmarks, "it moves"


def test_plays_a_recording_in_a_loop(tmp_path: Path) -> None:
    landmark = {"x": 0.5, "y": 0.25, "z": 0.0, "availability": {"visibility": 1, "presence": 1}}
    recording = {
        "name": "two frames",
        "frames": [{"timestamp": 1.0, "landmarks": [landmark]}, {"Empty": {}}],
    }
    path = tmp_path / "recording.json"
    path.write_text(json.dumps(recording), encoding="utf-8")
    source = RecordingSource(path)
    assert source.name == "two frames"
    poses = [decode(frame) for frame in run(receive(Controller(source, fps=200), 4))]
    # The client may join mid-loop; frames alternate pose / Empty by sequence.
    for pose in poses:
        if pose is not None:
            assert pose.sequence is not None and pose.sequence % 2 == 0
            assert pose.timestamp == 1.0
            assert pose.landmarks == [Landmark(0.5, 0.25, 0.0, 1.0, 1.0)]
    assert any(pose is None for pose in poses) and any(pose is not None for pose in poses)


def test_auth_header_is_required_when_configured() -> None:
    controller = Controller(fps=200, auth="Bearer s3cret")
    frames = run(receive(controller, 1, {"Authorization": "Bearer s3cret"}))
    assert decode(frames[0]) is not None
    with pytest.raises(InvalidStatus) as refused:
        run(receive(controller, 1, {"Authorization": "Bearer wrong"}))
    assert refused.value.response.status_code == 401
    with pytest.raises(InvalidStatus):
        run(receive(controller, 1))


def test_each_client_gets_only_the_newest_frame() -> None:
    async def scenario() -> list[bytes | str]:
        latest = _Latest()
        for frame in (b"1", b"2", b"3"):
            latest.offer(frame)
        first = await latest.take()
        latest.offer(b"4")
        return [first, await latest.take()]

    assert run(scenario()) == [b"3", b"4"]


def test_rejects_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Controller(fps=0)
    empty = tmp_path / "empty.json"
    empty.write_text('{"name": "none", "frames": []}', encoding="utf-8")
    with pytest.raises(ValueError):
        RecordingSource(empty)


def test_several_people_round_trip() -> None:
    left = Pose(1.0, [Landmark(0.25, 0.5, 0.0, 0.5, 0.75)], sequence=3, capture_time_ns=7)
    right = Pose(1.0, [Landmark(0.75, 0.5, 0.0, 1.0, 1.0)], sequence=3, capture_time_ns=7)
    third = Pose(1.0, [])
    assert decode_people(encode_people([left, right, third])) == [left, right, third]
    assert decode(encode_people([left, right])) == left, "readers of one person see the first"
    assert decode_json(encode_json([left, right, third])) == [left, right, third]
    assert decode_json(encode_json([])) == []
    assert json.loads(encode_json([])) == {"Empty": {}}
    assert "more_people" not in json.loads(encode_json([left]))


def test_nobody_in_view_in_either_style() -> None:
    table = fb.DetectionMessage.GetRootAs(encode_people([], empty_style="table"), 0)
    assert table.PayloadType() == fb.DetectionPayload.Empty
    assert table.Payload() is not None
    upstream = fb.DetectionMessage.GetRootAs(encode_people([], empty_style="upstream"), 0)
    assert upstream.PayloadType() == fb.DetectionPayload.Empty
    assert upstream.Payload() is None, "as the upstream controller sends it: no table"
    assert upstream.MorePeopleLength() == 0
    for style in ("table", "upstream"):
        assert decode_people(encode(None, empty_style=style)) == []
    with pytest.raises(ValueError):
        encode(None, empty_style="none")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Controller(empty_style="none")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Controller(wire="xml")  # type: ignore[arg-type]


def test_serves_two_synthetic_people() -> None:
    frames = run(receive(Controller(SyntheticSource(2), fps=200), 3))
    for frame in frames:
        # Read with the generated code itself.
        message = fb.DetectionMessage.GetRootAs(frame, 0)
        assert message.PayloadType() == fb.DetectionPayload.PoseDetectionResult
        table = message.Payload()
        assert table is not None
        first = fb.PoseDetectionResult()
        first.Init(table.Bytes, table.Pos)
        assert message.MorePeopleLength() == 1
        second = message.MorePeople(0)
        assert second is not None
        for person in (first, second):
            assert person.LandmarksLength() == LANDMARK_COUNT
        nose = [person.Landmarks(0) for person in (first, second)]
        assert nose[0] is not None and nose[1] is not None
        assert nose[0].X() < 0.5 < nose[1].X(), "left to right, side by side"
        assert first.Sequence() == second.Sequence() is not None
        assert first.CaptureTimeNs() == second.CaptureTimeNs() is not None


def test_serves_two_synthetic_people_as_json() -> None:
    frames = run(receive_any(Controller(SyntheticSource(2), fps=200, wire="json"), 3))
    for frame in frames:
        assert isinstance(frame, str), "text frames"
        pose = json.loads(frame)
        assert len(pose["landmarks"]) == LANDMARK_COUNT
        (other,) = pose["more_people"]
        assert len(other["landmarks"]) == LANDMARK_COUNT
        assert pose["landmarks"][0]["x"] < other["landmarks"][0]["x"]
        assert pose["sequence"] == other["sequence"]
        assert set(pose["landmarks"][0]["availability"]) == {"visibility", "presence"}


def test_synthetic_people_move_independently() -> None:
    source = SyntheticSource(3)
    one = SyntheticSource(1)
    assert one.people(0, 0.7) == [one.pose(0, 0.7)]
    before, after = source.people(0, 0.0), source.people(1, 0.5)
    assert len(before) == 3
    wrist = 15  # relative to the shoulders, so sway does not count
    moves = [
        (b.landmarks[wrist].y - b.landmarks[11].y) - (a.landmarks[wrist].y - a.landmarks[11].y)
        for a, b in zip(before, after)
    ]
    assert len({round(move, 6) for move in moves}) == 3, "each at its own pace"
    noses = [pose.landmarks[0].x for pose in before]
    assert noses == sorted(noses)
    for pose in before:
        assert all(0.0 <= lm.x <= 1.0 and 0.0 <= lm.y <= 1.0 for lm in pose.landmarks)
    with pytest.raises(ValueError):
        SyntheticSource(0)


UPSTREAM_LANDMARK = {
    "x": 0.5,
    "y": 0.25,
    "z": -0.125,
    "availability": {"visibility": 0.75, "presence": 0.5},
}


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_reads_upstream_recordings_with_either_availability(tmp_path: Path) -> None:
    nested = write_json(
        tmp_path / "clip_0.json",
        {"fps": 25, "frames": [{"landmarks": [UPSTREAM_LANDMARK]}, {"landmarks": []}]},
    )
    flat_landmark = {"x": 0.5, "y": 0.25, "z": -0.125, "visibility": 0.75, "presence": 0.5}
    flat = write_json(
        tmp_path / "clip_1.json", {"fps": 25, "frames": [{"landmarks": [flat_landmark]}]}
    )
    expected = Pose(0.0, [Landmark(0.5, 0.25, -0.125, 0.75, 0.5)])
    recording = load_recording(nested)
    assert recording.upstream and recording.fps == 25 and recording.name == "clip_0"
    assert recording.frames == [expected, None]
    assert load_recording(flat).frames == [expected]
    source = RecordingSource(nested, flat)
    assert source.fps == 25 and source.upstream and source.length == 2
    assert source.people(0, 0.0) == [expected, expected]
    assert source.people(1, 0.0) == [], "the shorter file's person is out of view past its end"
    assert source.people(2, 0.0) == [expected, expected], "a loop"


def test_refuses_files_of_neither_format(tmp_path: Path) -> None:
    cases: list[tuple[object, str]] = [
        ([1, 2], "not a pose recording"),
        ({"frames": "none"}, "not a pose recording"),
        ({"fps": 30}, "not a pose recording"),
        ({"fps": 0, "frames": [{"landmarks": []}]}, "fps"),
        ({"fps": "30", "frames": [{"landmarks": []}]}, "fps"),
        ({"fps": 30, "frames": [{"points": []}]}, "frame 0"),
        ({"fps": 30, "frames": [{"landmarks": [{"x": 1, "y": 2}]}]}, "landmarks[0]: missing 'z'"),
        ({"fps": 30, "frames": [{"landmarks": [{"x": 1, "y": 2, "z": "0"}]}]}, "landmarks[0].z"),
        ({"frames": [{"landmarks": [UPSTREAM_LANDMARK]}]}, '"fps"'),
        ({"fps": 30, "frames": []}, "no frames"),
    ]
    for i, (data, message) in enumerate(cases):
        path = write_json(tmp_path / f"bad{i}.json", data)
        with pytest.raises(ValueError, match=re.escape(message)) as refused:
            load_recording(path)
        assert str(path) in str(refused.value)
    text = tmp_path / "text.json"
    text.write_text("frames", encoding="utf-8")
    with pytest.raises(ValueError, match="not JSON"):
        load_recording(text)
    different = [
        write_json(tmp_path / f"rate{fps}.json", {"fps": fps, "frames": [{"landmarks": []}]})
        for fps in (25, 30)
    ]
    with pytest.raises(ValueError, match="different frame rates"):
        RecordingSource(*different)


@contextlib.contextmanager
def controller_process(*args: str) -> Iterator[str]:
    """Runs ``python -m brp controller ARGS --port 0``; yields its URL."""
    command = [sys.executable, "-m", "brp", "controller", *args, "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            with selectors.DefaultSelector() as selector:
                selector.register(process.stdout, selectors.EVENT_READ)
                assert selector.select(DEADLINE), "the controller prints its URL"
            banner = process.stdout.readline()
            words = banner.split()
            assert words[:3] == ["serving", "poses", "on"], banner
            yield words[3]
        finally:
            process.terminate()
            process.wait(DEADLINE)


async def frames_from(url: str, count: int) -> list[bytes | str]:
    async with connect(url) as ws:
        return [await ws.recv() for _ in range(count)]


def test_command_line_serves_people_as_json() -> None:
    with controller_process("--people", "2", "--format", "json", "--fps", "200") as url:
        frames = run(frames_from(url, 2))
    for frame in frames:
        assert isinstance(frame, str)
        assert len(decode_json(frame)) == 2


DATA = Path(__file__).parent / "data"
UPSTREAM_FILES = [DATA / "two_people_0.json", DATA / "two_people_1.json"]


def test_command_line_plays_upstream_recordings_one_per_person() -> None:
    args = [arg for path in UPSTREAM_FILES for arg in ("--recording", str(path))]
    with controller_process(*args, "--fps", "200") as url:
        frames = run(frames_from(url, 12))
    source = RecordingSource(*UPSTREAM_FILES)
    seen = set()
    for frame in frames:
        assert isinstance(frame, bytes)
        people = decode_people(frame)
        if not people:
            # Nobody in view, as the upstream controller sends it.
            message = fb.DetectionMessage.GetRootAs(frame, 0)
            assert message.PayloadType() == fb.DetectionPayload.Empty
            assert message.Payload() is None
            continue
        sequence = people[0].sequence
        assert sequence is not None
        expected = source.people(sequence, 0.0)
        assert [len(pose.landmarks) for pose in people] == [len(p.landmarks) for p in expected]
        assert people[0].timestamp == expected[0].timestamp == (sequence % source.length) / 30
        seen.add(len(people))
    assert seen, "somebody was in view"


def test_command_line_refuses_bad_recordings(tmp_path: Path) -> None:
    bad = write_json(tmp_path / "bad.json", {"people": []})
    for args in (
        ["--recording", str(bad)],
        ["--recording", str(tmp_path / "missing.json")],
        ["--recording", str(UPSTREAM_FILES[0]), "--people", "2"],
        ["--people", "0"],
        ["--format", "json", "--empty-style", "upstream"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "brp", "controller", *args, "--port", "0"],
            capture_output=True,
            text=True,
            timeout=DEADLINE,
            check=False,
        )
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr and "error:" in result.stderr, result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "brp", "controller", "--recording", str(bad)],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    assert "not a pose recording" in result.stderr and str(bad) in result.stderr
