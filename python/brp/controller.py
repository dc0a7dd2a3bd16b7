"""A reference pose controller: a WebSocket server that streams poses.

It plays the controller's part of docs/pose.md (the controller serves,
games connect): every connected client gets one FlatBuffers
``DetectionMessage`` (``schema/detection.fbs``) per binary frame, at a
fixed rate, from a synthetic moving skeleton (MediaPipe's 33 pose
landmarks) or from a recording. Each frame carries a ``sequence``
number and a ``capture_time_ns`` stamp. A client that reads slower than the
controller produces gets the newest frame, never a backlog.

A recording is JSON: ``{"name": ..., "frames": [{"timestamp": ...,
"landmarks": [{"x": ..., "y": ..., "z": ..., "availability":
{"visibility": ..., "presence": ...}}]}]}``, where a frame ``{"Empty": {}}``
means nobody in view; it is played in a loop at the chosen rate.

Run it with ``python -m brp.controller --port 9000 --fps 60``. It needs the
``websockets`` and ``flatbuffers`` packages, not libbrp's native module.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, Protocol

import flatbuffers  # type: ignore[import-untyped]
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from brp._detection import detection_generated as fb

LANDMARK_COUNT = 33
"""MediaPipe's pose landmarks: 0 nose … 11/12 shoulders … 32 right foot."""


@dataclass(frozen=True)
class Landmark:
    """One landmark, in normalized image coordinates."""

    x: float
    y: float
    z: float
    visibility: float = 1.0
    presence: float = 1.0


@dataclass(frozen=True)
class Pose:
    """One detected body. ``None`` in its place means nobody in view."""

    timestamp: float
    landmarks: Sequence[Landmark]
    sequence: int | None = None
    capture_time_ns: int | None = None


def encode(pose: Pose | None) -> bytes:
    """The ``DetectionMessage`` of ``pose`` (``None`` encodes ``Empty``)."""
    builder = flatbuffers.Builder(2048)
    if pose is None:
        fb.EmptyStart(builder)
        payload, kind = fb.EmptyEnd(builder), fb.DetectionPayload.Empty
    else:
        offsets = []
        for landmark in pose.landmarks:
            fb.AvailabilityStart(builder)
            fb.AvailabilityAddVisibility(builder, landmark.visibility)
            fb.AvailabilityAddPresence(builder, landmark.presence)
            availability = fb.AvailabilityEnd(builder)
            fb.LandmarkStart(builder)
            fb.LandmarkAddX(builder, landmark.x)
            fb.LandmarkAddY(builder, landmark.y)
            fb.LandmarkAddZ(builder, landmark.z)
            fb.LandmarkAddAvailability(builder, availability)
            offsets.append(fb.LandmarkEnd(builder))
        fb.PoseDetectionResultStartLandmarksVector(builder, len(offsets))
        for offset in reversed(offsets):
            builder.PrependUOffsetTRelative(offset)
        landmarks = builder.EndVector()
        fb.PoseDetectionResultStart(builder)
        fb.PoseDetectionResultAddLandmarks(builder, landmarks)
        fb.PoseDetectionResultAddTimestamp(builder, pose.timestamp)
        if pose.capture_time_ns is not None:
            fb.PoseDetectionResultAddCaptureTimeNs(builder, pose.capture_time_ns)
        if pose.sequence is not None:
            fb.PoseDetectionResultAddSequence(builder, pose.sequence)
        payload = fb.PoseDetectionResultEnd(builder)
        kind = fb.DetectionPayload.PoseDetectionResult
    fb.DetectionMessageStart(builder)
    fb.DetectionMessageAddPayloadType(builder, kind)
    fb.DetectionMessageAddPayload(builder, payload)
    builder.Finish(fb.DetectionMessageEnd(builder))
    return bytes(builder.Output())


def decode(data: bytes) -> Pose | None:
    """The pose of a ``DetectionMessage`` (``None`` for ``Empty``).

    Raises ``ValueError`` for a message of no known payload type. The
    FlatBuffers Python runtime does not verify buffers: decode only
    trusted bytes.
    """
    message = fb.DetectionMessage.GetRootAs(data, 0)
    kind = message.PayloadType()
    table = message.Payload()
    if kind == fb.DetectionPayload.Empty:
        return None
    if kind != fb.DetectionPayload.PoseDetectionResult or table is None:
        raise ValueError(f"not a pose message (payload type {kind})")
    result = fb.PoseDetectionResult()
    result.Init(table.Bytes, table.Pos)
    landmarks = []
    for i in range(result.LandmarksLength()):
        landmark = result.Landmarks(i)
        if landmark is None:
            raise ValueError(f"landmark {i} is missing")
        availability = landmark.Availability()
        visibility, presence = (
            (availability.Visibility(), availability.Presence()) if availability else (0.0, 0.0)
        )
        landmarks.append(Landmark(landmark.X(), landmark.Y(), landmark.Z(), visibility, presence))
    return Pose(result.Timestamp(), landmarks, result.Sequence(), result.CaptureTimeNs())


class Source(Protocol):
    """Where poses come from: the pose of frame ``index``, ``t`` seconds in."""

    def pose(self, index: int, t: float) -> Pose | None: ...


# A standing body facing the camera (the subject's left at larger x).
_HEAD = {
    0: (0.50, 0.20), 1: (0.51, 0.185), 2: (0.52, 0.185), 3: (0.53, 0.185),
    4: (0.49, 0.185), 5: (0.48, 0.185), 6: (0.47, 0.185), 7: (0.545, 0.195),
    8: (0.455, 0.195), 9: (0.515, 0.225), 10: (0.485, 0.225),
}  # fmt: skip
_LEGS = {
    23: (0.555, 0.55), 24: (0.445, 0.55), 25: (0.56, 0.70), 26: (0.44, 0.70),
    27: (0.56, 0.85), 28: (0.44, 0.85), 29: (0.555, 0.87), 30: (0.445, 0.87),
    31: (0.57, 0.89), 32: (0.43, 0.89),
}  # fmt: skip
_SHOULDERS = {11: (0.58, 0.30), 12: (0.42, 0.30)}


class SyntheticSource:
    """A skeleton that sways and waves both arms (MediaPipe's 33 landmarks)."""

    def pose(self, index: int, t: float) -> Pose:
        """The skeleton ``t`` seconds into the animation."""
        sway = 0.03 * math.sin(2 * math.pi * 0.2 * t)
        raise_ = 0.5 + 0.5 * math.sin(2 * math.pi * 0.5 * t)  # 0 = arms down, 1 = up
        points: dict[int, tuple[float, float, float]] = {}
        for i, (x, y) in {**_HEAD, **_LEGS, **_SHOULDERS}.items():
            points[i] = (x, y, -0.2 if i in _HEAD else 0.0)
        for side, mirror in ((0, 1.0), (1, -1.0)):  # 0: left, 1: right
            sx, sy, _ = points[11 + side]
            angle = math.pi / 2 - 0.75 * math.pi * raise_  # down, then up and out
            elbow = (sx + mirror * 0.12 * math.cos(angle), sy + 0.12 * math.sin(angle))
            bend = angle - 0.4 * raise_
            wrist = (elbow[0] + mirror * 0.11 * math.cos(bend), elbow[1] + 0.11 * math.sin(bend))
            points[13 + side] = (*elbow, -0.05 * raise_)
            points[15 + side] = (*wrist, -0.1 * raise_)
            for finger, spread in ((17, -0.3), (19, 0.0), (21, 0.3)):  # pinky, index, thumb
                direction = bend + spread
                tip_x = wrist[0] + mirror * 0.03 * math.cos(direction)
                tip_y = wrist[1] + 0.03 * math.sin(direction)
                points[finger + side] = (tip_x, tip_y, -0.1 * raise_)
        landmarks = [
            Landmark(points[i][0] + sway, points[i][1], points[i][2], 0.99, 0.99)
            for i in range(LANDMARK_COUNT)
        ]
        return Pose(timestamp=t, landmarks=landmarks)


class RecordingSource:
    """Frames of a recording file, in a loop (see the module documentation)."""

    def __init__(self, path: str | Path) -> None:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        self.name: str = str(data.get("name", Path(path).stem))
        self.frames = [_pose_from_json(frame) for frame in data["frames"]]
        if not self.frames:
            raise ValueError(f"{path}: the recording has no frames")

    def pose(self, index: int, t: float) -> Pose | None:
        """Frame ``index`` of the recording, wrapping around."""
        return self.frames[index % len(self.frames)]


def _pose_from_json(frame: dict[str, Any]) -> Pose | None:
    if "Empty" in frame:
        return None
    landmarks = []
    for item in frame["landmarks"]:
        availability = item.get("availability") or {}
        landmarks.append(
            Landmark(
                float(item["x"]),
                float(item["y"]),
                float(item["z"]),
                float(availability.get("visibility", 0.0)),
                float(availability.get("presence", 0.0)),
            )
        )
    return Pose(float(frame["timestamp"]), landmarks)


class _Latest:
    """One client's mailbox: holds only the newest frame not yet sent."""

    def __init__(self) -> None:
        self._frame: bytes | None = None
        self._ready = asyncio.Event()

    def offer(self, frame: bytes) -> None:
        self._frame = frame
        self._ready.set()

    async def take(self) -> bytes:
        while self._frame is None:
            self._ready.clear()
            await self._ready.wait()
        frame, self._frame = self._frame, None
        return frame


class Controller:
    """Serves the poses of ``source`` at ``fps`` to every client.

    With ``auth``, a client's opening handshake must carry the header
    ``auth_header`` with exactly that value, or it is refused with 401.
    """

    def __init__(
        self,
        source: Source | None = None,
        *,
        fps: float = 60.0,
        auth: str | None = None,
        auth_header: str = "Authorization",
    ) -> None:
        if not fps > 0:
            raise ValueError("fps must be positive")
        self.source: Source = source or SyntheticSource()
        self.fps = fps
        self.auth = auth
        self.auth_header = auth_header
        self._clients: set[_Latest] = set()

    def frame(self, index: int, t: float) -> bytes:
        """Frame ``index``, ``t`` seconds in, stamped with its sequence and
        capture time."""
        pose = self.source.pose(index, t)
        if pose is not None:
            pose = Pose(pose.timestamp, pose.landmarks, index, time.time_ns())
        return encode(pose)

    @contextlib.asynccontextmanager
    async def serving(self, host: str = "127.0.0.1", port: int = 9000) -> AsyncIterator[int]:
        """Serves while the ``async with`` block runs; yields the bound port
        (useful with ``port=0``)."""
        async with serve(self._client, host, port, process_request=self._check_auth) as server:
            producer = asyncio.create_task(self._produce())
            try:
                yield next(iter(server.sockets)).getsockname()[1]
            finally:
                producer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await producer

    async def _produce(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        index = 0
        while True:
            frame = self.frame(index, loop.time() - start)
            for client in self._clients:
                client.offer(frame)
            index += 1
            await asyncio.sleep(max(0.0, start + index / self.fps - loop.time()))

    async def _client(self, connection: ServerConnection) -> None:
        latest = _Latest()
        self._clients.add(latest)
        closed = asyncio.ensure_future(connection.wait_closed())
        try:
            while True:
                frame = asyncio.ensure_future(latest.take())
                await asyncio.wait((frame, closed), return_when=asyncio.FIRST_COMPLETED)
                if closed.done():
                    frame.cancel()
                    return
                await connection.send(frame.result())
        except ConnectionClosed:
            pass
        finally:
            closed.cancel()
            self._clients.discard(latest)

    def _check_auth(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.auth is None or request.headers.get(self.auth_header) == self.auth:
            return None
        return connection.respond(HTTPStatus.UNAUTHORIZED, "unauthorized\n")


def main(argv: Sequence[str] | None = None) -> None:
    """The command line: ``python -m brp.controller --port 9000 --fps 60``."""
    parser = argparse.ArgumentParser(
        prog="python -m brp.controller", description="Serve poses to games over WebSocket."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9000, help="port to listen on (0: any)")
    parser.add_argument("--fps", type=float, default=60.0, help="frames per second")
    parser.add_argument("--recording", help="a recording file to play instead of the skeleton")
    parser.add_argument("--auth", help="the value clients must send in the auth header")
    parser.add_argument("--auth-header", default="Authorization", help="the auth header's name")
    args = parser.parse_args(argv)
    source = RecordingSource(args.recording) if args.recording else SyntheticSource()
    controller = Controller(source, fps=args.fps, auth=args.auth, auth_header=args.auth_header)

    async def run() -> None:
        async with controller.serving(args.host, args.port) as port:
            print(f"serving poses on ws://{args.host}:{port} at {args.fps:g} fps", flush=True)
            await asyncio.Future()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
