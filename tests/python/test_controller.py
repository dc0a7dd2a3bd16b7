"""The reference controller serves valid DetectionMessage frames."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from brp.controller import (
    LANDMARK_COUNT,
    Controller,
    Landmark,
    Pose,
    RecordingSource,
    SyntheticSource,
    _Latest,
    decode,
    encode,
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
    async with controller.serving("127.0.0.1", 0) as port:
        async with connect(f"ws://127.0.0.1:{port}", additional_headers=headers) as ws:
            frames = []
            for _ in range(count):
                frame = await ws.recv()
                assert isinstance(frame, bytes), "binary frames"
                frames.append(frame)
            return frames


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
    async def scenario() -> list[bytes]:
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
