"""A reference pose controller: a WebSocket server that streams poses.

It plays the controller's part of docs/pose.md (the controller serves,
games connect): every connected client gets one frame per WebSocket
message, at a fixed rate: a FlatBuffers ``DetectionMessage``
(``schema/detection.fbs``) per binary message, or its JSON form per text
message. The poses come from synthetic moving skeletons (MediaPipe's 33
pose landmarks; one or several people) or from recordings. Each frame
carries a ``sequence`` number and a ``capture_time_ns`` stamp. A client
that reads slower than the controller produces gets the newest frame, never
a backlog.

Everyone in view is in one frame: the first person in the message's
payload, the others in ``more_people`` (in JSON, the top-level pose is the
first person and ``"more_people": [pose, ...]`` holds the others). Nobody
in view is ``Empty``: in FlatBuffers either with an ``Empty`` table
(``empty_style="table"``) or, as the upstream controller
(tobiaslocker/pose) sends it, with the payload type ``Empty`` and no table
(``empty_style="upstream"``); in JSON ``{"Empty": {}}``.

Recordings are JSON files in either of two formats, told apart by their
shape (see :func:`load_recording`):

- the upstream controller's: ``{"fps": 30.0, "frames": [{"landmarks":
  [{"x": ..., "y": ..., "z": ..., "availability": {"visibility": ...,
  "presence": ...}}, ...]}, {"landmarks": []}, ...]}``, one file per person
  (``<video>_<i>.json``, people sorted left to right), frame ``i`` at
  ``i / fps`` seconds, an empty list when that person is not in view;
- libbrp's: ``{"name": ..., "frames": [{"timestamp": ..., "landmarks":
  [...]}, {"Empty": {}}, ...]}``.

Several files play together, one person each: frame ``i`` holds frame ``i``
of every file whose person is in view then, in the files' order. They play
in a loop, one frame per tick.

Run it with ``python -m brp controller --port 9000 --fps 60`` (or ``python
-m brp.tools.controller``; ``brp.controller``, its former name, is this
module too). It needs the ``websockets`` and ``flatbuffers`` packages
(``pip install 'brp[controller]'``), not libbrp's native module.
"""

from __future__ import annotations

from brp.tools._extras import require_controller_extra

if __name__ == "__main__":
    require_controller_extra("python -m brp.tools.controller")

import argparse
import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import flatbuffers  # type: ignore[import-untyped]
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from brp.tools._detection import detection_generated as fb
from brp.tools.skeleton import LANDMARK_COUNT

__all__ = [
    "LANDMARK_COUNT",
    "Controller",
    "EmptyStyle",
    "Landmark",
    "Pose",
    "Recording",
    "RecordingSource",
    "Source",
    "SyntheticSource",
    "WireFormat",
    "decode",
    "decode_json",
    "decode_people",
    "default_empty_style",
    "default_fps",
    "encode",
    "encode_json",
    "encode_people",
    "load_recording",
    "main",
    "make_source",
]

#: How a FlatBuffers frame says that nobody is in view: with an ``Empty``
#: table, or (as the upstream controller does) with the payload type
#: ``Empty`` and no table.
EmptyStyle = Literal["table", "upstream"]
#: What the frames are: FlatBuffers (binary messages) or JSON (text messages).
WireFormat = Literal["flatbuffers", "json"]
EMPTY_STYLES: tuple[str, ...] = get_args(EmptyStyle)
WIRE_FORMATS: tuple[str, ...] = get_args(WireFormat)

#: The synthetic skeleton's frame rate when none is given.
DEFAULT_FPS = 60.0


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
    """One detected body."""

    timestamp: float
    landmarks: Sequence[Landmark]
    sequence: int | None = None
    capture_time_ns: int | None = None


def encode(pose: Pose | None, *, empty_style: EmptyStyle = "table") -> bytes:
    """The ``DetectionMessage`` of ``pose`` (``None``: nobody in view)."""
    return encode_people([] if pose is None else [pose], empty_style=empty_style)


def encode_people(people: Sequence[Pose], *, empty_style: EmptyStyle = "table") -> bytes:
    """The ``DetectionMessage`` of everyone in view: the first person as
    the payload, the others in ``more_people``; no one: ``Empty``, in
    ``empty_style``."""
    if empty_style not in EMPTY_STYLES:
        raise ValueError(f"empty_style must be one of {EMPTY_STYLES}, got {empty_style!r}")
    builder = flatbuffers.Builder(2048 * max(1, len(people)))
    if not people:
        table = None
        if empty_style == "table":
            fb.EmptyStart(builder)
            table = fb.EmptyEnd(builder)
        fb.DetectionMessageStart(builder)
        fb.DetectionMessageAddPayloadType(builder, fb.DetectionPayload.Empty)
        if table is not None:
            fb.DetectionMessageAddPayload(builder, table)
        builder.Finish(fb.DetectionMessageEnd(builder))
        return bytes(builder.Output())
    results = [_pose_table(builder, pose) for pose in people]
    more_people = None
    if len(results) > 1:
        fb.DetectionMessageStartMorePeopleVector(builder, len(results) - 1)
        for offset in reversed(results[1:]):
            builder.PrependUOffsetTRelative(offset)
        more_people = builder.EndVector()
    fb.DetectionMessageStart(builder)
    fb.DetectionMessageAddPayloadType(builder, fb.DetectionPayload.PoseDetectionResult)
    fb.DetectionMessageAddPayload(builder, results[0])
    if more_people is not None:
        fb.DetectionMessageAddMorePeople(builder, more_people)
    builder.Finish(fb.DetectionMessageEnd(builder))
    return bytes(builder.Output())


def _pose_table(builder: Any, pose: Pose) -> int:
    """Builds one ``PoseDetectionResult``; its offset."""
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
    result: int = fb.PoseDetectionResultEnd(builder)
    return result


def decode(data: bytes) -> Pose | None:
    """The first person of a ``DetectionMessage`` (``None``: nobody in view).

    See :func:`decode_people`."""
    people = decode_people(data)
    return people[0] if people else None


def decode_people(data: bytes) -> list[Pose]:
    """Everyone in a ``DetectionMessage``, first person first (empty:
    nobody in view, an ``Empty`` payload with or without its table, or no
    payload).

    Raises ``ValueError`` for a message of an unknown payload type or
    missing tables. The FlatBuffers Python runtime does not verify buffers:
    decode only trusted bytes.
    """
    message = fb.DetectionMessage.GetRootAs(data, 0)
    kind = message.PayloadType()
    if kind in (fb.DetectionPayload.Empty, fb.DetectionPayload.NONE):
        return []
    table = message.Payload()
    if kind != fb.DetectionPayload.PoseDetectionResult:
        raise ValueError(f"not a pose message (payload type {kind})")
    if table is None:
        raise ValueError("the pose payload is missing")
    first = fb.PoseDetectionResult()
    first.Init(table.Bytes, table.Pos)
    people = [_pose_of(first)]
    for i in range(message.MorePeopleLength()):
        result = message.MorePeople(i)
        if result is None:
            raise ValueError(f"more_people[{i}] is missing")
        people.append(_pose_of(result))
    return people


def _pose_of(result: fb.PoseDetectionResult) -> Pose:
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


def encode_json(people: Sequence[Pose]) -> str:
    """The JSON form of a frame of everyone in view: the first person's
    pose, the others in its ``"more_people"``; ``{"Empty": {}}`` for no
    one."""
    if not people:
        return json.dumps({"Empty": {}})
    first = _pose_json(people[0])
    if len(people) > 1:
        first["more_people"] = [_pose_json(pose) for pose in people[1:]]
    return json.dumps(first, separators=(",", ":"))


def _pose_json(pose: Pose) -> dict[str, Any]:
    found: dict[str, Any] = {
        "timestamp": pose.timestamp,
        "landmarks": [
            {
                "x": landmark.x,
                "y": landmark.y,
                "z": landmark.z,
                "availability": {"visibility": landmark.visibility, "presence": landmark.presence},
            }
            for landmark in pose.landmarks
        ],
    }
    if pose.sequence is not None:
        found["sequence"] = pose.sequence
    if pose.capture_time_ns is not None:
        found["capture_time_ns"] = pose.capture_time_ns
    return found


def decode_json(text: str | bytes) -> list[Pose]:
    """Everyone in a JSON frame, first person first (empty: ``{"Empty":
    {}}``). Raises ``ValueError`` for what is not such a frame."""
    frame = json.loads(text)
    if not isinstance(frame, dict):
        raise ValueError(f"a JSON frame is an object, got {type(frame).__name__}")
    if "Empty" in frame:
        return []
    people = [_pose_from_json(frame, "frame")]
    more = frame.get("more_people", [])
    if not isinstance(more, list):
        raise ValueError("more_people: expected a list")
    people += [_pose_from_json(item, f"more_people[{i}]") for i, item in enumerate(more)]
    return people


def _pose_from_json(frame: object, where: str) -> Pose:
    if not isinstance(frame, dict) or not isinstance(frame.get("landmarks"), list):
        raise ValueError(f"{where}: expected {{\"timestamp\": ..., \"landmarks\": [...]}}")
    landmarks = [
        _landmark(item, f"{where}.landmarks[{i}]") for i, item in enumerate(frame["landmarks"])
    ]
    timestamp = _number(frame.get("timestamp"), f"{where}.timestamp")
    sequence, capture = frame.get("sequence"), frame.get("capture_time_ns")
    return Pose(
        timestamp,
        landmarks,
        sequence if isinstance(sequence, int) else None,
        capture if isinstance(capture, int) else None,
    )


def _number(value: object, where: str) -> float:
    """``value`` as a finite float, or ``ValueError`` naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: expected a number, got {json.dumps(value)[:40]}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{where}: expected a finite number, got {value}")
    return number


def _landmark(item: object, where: str) -> Landmark:
    """One landmark of a JSON frame or recording: ``visibility`` and
    ``presence`` in an ``availability`` object or as keys of their own
    (0 when missing)."""
    if not isinstance(item, dict):
        raise ValueError(f"{where}: expected a landmark {{\"x\": ..., \"y\": ..., \"z\": ...}}")
    for key in ("x", "y", "z"):
        if key not in item:
            raise ValueError(f"{where}: missing {key!r}")
    availability = item.get("availability", item)
    if not isinstance(availability, dict):
        expected = '{"visibility": ..., "presence": ...}'
        raise ValueError(f"{where}.availability: expected {expected}")
    return Landmark(
        _number(item.get("x"), f"{where}.x"),
        _number(item.get("y"), f"{where}.y"),
        _number(item.get("z"), f"{where}.z"),
        _number(availability.get("visibility", 0.0), f"{where}.visibility"),
        _number(availability.get("presence", 0.0), f"{where}.presence"),
    )


class Source(Protocol):
    """Where poses come from: everyone in view in frame ``index``, ``t``
    seconds in, first person first (empty: nobody)."""

    def people(self, index: int, t: float) -> Sequence[Pose]: ...


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
#: Where the synthetic people stand: smaller people keep their feet here.
_FLOOR = 0.9


class SyntheticSource:
    """``count`` skeletons side by side, left to right, each swaying and
    waving both arms at its own pace (MediaPipe's 33 landmarks)."""

    def __init__(self, count: int = 1) -> None:
        if count < 1:
            raise ValueError(f"a synthetic source shows at least one person, got {count}")
        self.count = count

    def people(self, index: int, t: float) -> list[Pose]:
        """Everyone ``t`` seconds into the animation."""
        return [self.person(k, t) for k in range(self.count)]

    def pose(self, index: int, t: float) -> Pose:
        """The first person ``t`` seconds into the animation."""
        return self.person(0, t)

    def person(self, k: int, t: float) -> Pose:
        """Person ``k`` (0: leftmost) ``t`` seconds into the animation."""
        local = t * (1 + 0.23 * k) + 1.7 * k  # each at its own pace and phase
        sway = 0.03 * math.sin(2 * math.pi * 0.2 * local)
        raise_ = 0.5 + 0.5 * math.sin(2 * math.pi * 0.5 * local)  # 0 = arms down, 1 = up
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
        # One person fills the middle; several share the width, scaled down.
        scale = 1.0 if self.count == 1 else min(1.0, 1.4 / self.count)
        center = (k + 0.5) / self.count
        landmarks = [
            Landmark(
                center + (points[i][0] + sway - 0.5) * scale,
                _FLOOR - (_FLOOR - points[i][1]) * scale,
                points[i][2] * scale,
                0.99,
                0.99,
            )
            for i in range(LANDMARK_COUNT)
        ]
        return Pose(timestamp=t, landmarks=landmarks)


@dataclass(frozen=True)
class Recording:
    """One recording file's frames (``None``: nobody in view)."""

    name: str
    frames: Sequence[Pose | None]
    fps: float | None = None
    """The frame rate of an upstream recording (frame ``i`` is at ``i /
    fps`` seconds); ``None`` for libbrp's format, whose frames carry their
    timestamps."""

    @property
    def upstream(self) -> bool:
        """Whether the file is in the upstream controller's format."""
        return self.fps is not None


_UPSTREAM_SHAPE = '{"fps": ..., "frames": [{"landmarks": [...]}, ...]} (tobiaslocker/pose)'
_LIBBRP_SHAPE = '{"name": ..., "frames": [{"timestamp": ..., "landmarks": [...]}, ...]}'


def load_recording(path: str | Path) -> Recording:
    """Reads a recording file of either format, told apart by its shape: a
    top-level ``"fps"`` makes it the upstream controller's, otherwise it is
    libbrp's. Raises ``ValueError`` (naming the file, and the frame) for a
    file of neither, ``OSError`` for one that cannot be read."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    if not isinstance(data, dict) or not isinstance(data.get("frames"), list):
        raise ValueError(
            f"{path}: not a pose recording: expected {_UPSTREAM_SHAPE} or {_LIBBRP_SHAPE}"
        )
    frames: list[Pose | None] = []
    try:
        if "fps" in data:
            fps = _number(data["fps"], "fps")
            if not fps > 0:
                raise ValueError(f"fps: expected a positive frame rate, got {data['fps']}")
            for i, frame in enumerate(data["frames"]):
                if not isinstance(frame, dict) or not isinstance(frame.get("landmarks"), list):
                    expected = '{"landmarks": [...]} (upstream\'s format)'
                    raise ValueError(f"frame {i}: expected {expected}")
                landmarks = [
                    _landmark(item, f"frame {i}: landmarks[{j}]")
                    for j, item in enumerate(frame["landmarks"])
                ]
                frames.append(Pose(i / fps, landmarks) if landmarks else None)
            recording = Recording(path.stem, frames, fps)
        else:
            for i, frame in enumerate(data["frames"]):
                if isinstance(frame, dict) and "Empty" in frame:
                    frames.append(None)
                elif isinstance(frame, dict) and "timestamp" in frame:
                    frames.append(_pose_from_json(frame, f"frame {i}"))
                else:
                    raise ValueError(
                        f"frame {i}: expected {{\"timestamp\": ..., \"landmarks\": [...]}} or "
                        f'{{"Empty": {{}}}} (libbrp\'s format; a file with "fps" is upstream\'s)'
                    )
            recording = Recording(str(data.get("name", path.stem)), frames)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    if not frames:
        raise ValueError(f"{path}: the recording has no frames")
    return recording


class RecordingSource:
    """Recordings played together in a loop, one person per file (see the
    module documentation): frame ``i`` holds frame ``i`` of every file
    whose person is in view then, in the files' order. Files of different
    lengths loop together at the longest; a shorter one's person is out of
    view past its end."""

    def __init__(self, *paths: str | Path) -> None:
        if not paths:
            raise ValueError("a recording source needs at least one file")
        self.recordings = [load_recording(path) for path in paths]
        rates = sorted({rec.fps for rec in self.recordings if rec.fps is not None})
        if len(rates) > 1:
            shown = ", ".join(f"{rate:g}" for rate in rates)
            raise ValueError(f"the recordings have different frame rates ({shown} fps)")
        self.fps: float | None = rates[0] if rates else None
        """The upstream recordings' frame rate (``None``: none is upstream's)."""
        self.name = ", ".join(rec.name for rec in self.recordings)
        self.length = max(len(rec.frames) for rec in self.recordings)

    @property
    def upstream(self) -> bool:
        """Whether every file is in the upstream controller's format."""
        return all(rec.upstream for rec in self.recordings)

    def people(self, index: int, t: float) -> list[Pose]:
        """Everyone in view in frame ``index`` of the loop."""
        i = index % self.length
        return [
            pose
            for rec in self.recordings
            if i < len(rec.frames) and (pose := rec.frames[i]) is not None
        ]


def make_source(recordings: Sequence[str | Path] = (), people: int = 1) -> Source:
    """The source of the command line's options: the ``recordings`` played
    together, or else ``people`` synthetic skeletons."""
    if recordings:
        if people != 1:
            raise ValueError(
                "--people is for synthetic skeletons: a recording's people are its files"
            )
        return RecordingSource(*recordings)
    return SyntheticSource(people)


def default_fps(source: Source, fallback: float = DEFAULT_FPS) -> float:
    """The rate to play ``source`` at when none is given: an upstream
    recording's own, else ``fallback``."""
    fps = getattr(source, "fps", None)
    return float(fps) if isinstance(fps, (int, float)) and fps > 0 else fallback


def default_empty_style(source: Source) -> EmptyStyle:
    """How nobody in view is sent when not said: as upstream sends it when
    playing upstream recordings, with an ``Empty`` table otherwise."""
    return "upstream" if isinstance(source, RecordingSource) and source.upstream else "table"


#: A WebSocket message: bytes are sent as binary, text as text.
Message = bytes | str


class _Latest:
    """One client's mailbox: holds only the newest frame not yet sent."""

    def __init__(self) -> None:
        self._frame: Message | None = None
        self._ready = asyncio.Event()

    def offer(self, frame: Message) -> None:
        self._frame = frame
        self._ready.set()

    async def take(self) -> Message:
        while self._frame is None:
            self._ready.clear()
            await self._ready.wait()
        frame, self._frame = self._frame, None
        return frame


class Controller:
    """Serves the poses of ``source`` at ``fps`` to every client, as
    FlatBuffers (``wire="flatbuffers"``, binary messages) or JSON
    (``wire="json"``, text messages); ``empty_style`` says how FlatBuffers
    frames send nobody in view.

    With ``auth``, a client's opening handshake must carry the header
    ``auth_header`` with exactly that value, or it is refused with 401.
    """

    def __init__(
        self,
        source: Source | None = None,
        *,
        fps: float = DEFAULT_FPS,
        auth: str | None = None,
        auth_header: str = "Authorization",
        wire: WireFormat = "flatbuffers",
        empty_style: EmptyStyle = "table",
    ) -> None:
        if not fps > 0:
            raise ValueError("fps must be positive")
        if wire not in WIRE_FORMATS:
            raise ValueError(f"wire must be one of {WIRE_FORMATS}, got {wire!r}")
        if empty_style not in EMPTY_STYLES:
            raise ValueError(f"empty_style must be one of {EMPTY_STYLES}, got {empty_style!r}")
        self.source: Source = source or SyntheticSource()
        self.fps = fps
        self.auth = auth
        self.auth_header = auth_header
        self.wire: WireFormat = wire
        self.empty_style: EmptyStyle = empty_style
        self._clients: set[_Latest] = set()

    def people(self, index: int, t: float) -> list[Pose]:
        """Everyone in frame ``index``, ``t`` seconds in, stamped with the
        frame's sequence and capture time."""
        now = time.time_ns()
        return [
            replace(pose, sequence=index, capture_time_ns=now)
            for pose in self.source.people(index, t)
        ]

    def frame(self, index: int, t: float) -> Message:
        """Frame ``index``, ``t`` seconds in, as sent (see :meth:`people`)."""
        people = self.people(index, t)
        if self.wire == "json":
            return encode_json(people)
        return encode_people(people, empty_style=self.empty_style)

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


def main(argv: Sequence[str] | None = None, prog: str = "python -m brp.tools.controller") -> None:
    """The command line: ``python -m brp controller --port 9000 --fps 60``."""
    parser = argparse.ArgumentParser(prog=prog, description="Serve poses to games over WebSocket.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9000, help="port to listen on (0: any)")
    parser.add_argument(
        "--fps", type=float, help="frames per second (default: an upstream recording's, else 60)"
    )
    parser.add_argument(
        "--recording",
        action="append",
        default=[],
        metavar="FILE",
        help="play a recording (upstream's or libbrp's format) instead of synthetic skeletons; "
        "once per person, in order",
    )
    parser.add_argument(
        "--people", type=int, default=1, help="how many synthetic people to serve (default 1)"
    )
    parser.add_argument(
        "--format",
        choices=WIRE_FORMATS,
        default="flatbuffers",
        help="FlatBuffers in binary messages (default) or JSON in text messages",
    )
    parser.add_argument(
        "--empty-style",
        choices=EMPTY_STYLES,
        help="how a FlatBuffers frame says nobody is in view: an Empty table, or the payload "
        "type Empty without a table as upstream sends it (default: upstream when playing "
        "upstream recordings, table otherwise)",
    )
    parser.add_argument("--auth", help="the value clients must send in the auth header")
    parser.add_argument("--auth-header", default="Authorization", help="the auth header's name")
    args = parser.parse_args(argv)
    if args.fps is not None and not args.fps > 0:
        parser.error("--fps must be positive")
    if args.people < 1:
        parser.error("--people must be at least 1")
    if args.format == "json" and args.empty_style is not None:
        parser.error('--empty-style is for FlatBuffers frames; JSON says nobody as {"Empty": {}}')
    try:
        source = make_source(args.recording, args.people)
    except (OSError, ValueError) as error:
        parser.error(str(error))
    fps = args.fps if args.fps is not None else default_fps(source)
    empty_style = args.empty_style or default_empty_style(source)
    controller = Controller(
        source,
        fps=fps,
        auth=args.auth,
        auth_header=args.auth_header,
        wire=args.format,
        empty_style=empty_style,
    )
    details = ["JSON" if args.format == "json" else "FlatBuffers"]
    if isinstance(source, RecordingSource):
        details.append(f"recording {source.name}")
    else:
        details.append(f"{args.people} {'person' if args.people == 1 else 'people'}")
    if args.format == "flatbuffers":
        details.append(f"Empty as {empty_style}")

    async def run() -> None:
        async with controller.serving(args.host, args.port) as port:
            # The first four words are read by scripts: "serving poses on URL".
            print(
                f"serving poses on ws://{args.host}:{port} at {fps:g} fps ({', '.join(details)})",
                flush=True,
            )
            await asyncio.Future()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
