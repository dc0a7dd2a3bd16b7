"""The demo: the reference controller serves poses on 127.0.0.1, a
:class:`~brp.PoseClient` streams them into an embedded :class:`~brp.App`,
and an async watch (POLL) shows everyone's landmarks as they change, with
the stream's statistics.

Three ways to show them:

- **live** (the default on a terminal): the skeletons drawn in the
  terminal (MediaPipe Pose's connections, one colour per person), redrawn
  in place at the stream's rate, with the statistics line beneath;
- **plain** (``--plain``, and whenever standard output is not a terminal
  or ``TERM`` is ``dumb``): a few lines a second of the landmarks, and the
  statistics every second;
- **snapshot** (``--snapshot out.svg``): the first frame with somebody in
  view, written as an SVG picture; then it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import brp
from brp.tools import skeleton
from brp.tools.controller import (
    Controller,
    Source,
    SyntheticSource,
    default_empty_style,
    default_fps,
)

#: The landmarks shown: MediaPipe's nose and wrists.
SHOWN = {"nose": 0, "left wrist": 15, "right wrist": 16}
#: At most this many landmark lines per second (plain).
LINES_PER_SECOND = 4
#: At most this many redraws per second (live).
REDRAWS_PER_SECOND = 60
#: The controller's frame rate when none is given and the source has none.
DEFAULT_FPS = 30.0
#: The name of the first person's entity.
PLAYER = "Player"
#: The size of a snapshot, in pixels.
SNAPSHOT_SIZE = (640, 480)

#: One person in view: the entity's name and its ``PoseLandmarks``.
Person = tuple[str, dict[str, Any]]


def landmark_line(pose: dict[str, Any], name: str = PLAYER) -> str:
    """One line of ``pose``'s sequence number and shown landmarks; the
    name of anyone but the Player leads it."""
    landmarks = pose["landmarks"]
    points = "  ".join(
        f"{label} ({landmarks[i]['x']:.3f}, {landmarks[i]['y']:.3f})"
        for label, i in SHOWN.items()
        if i < len(landmarks)
    )
    lead = "" if name == PLAYER else f"{name} "
    return f"{lead}pose #{pose['sequence']}: {points}"


def stats_line(stats: dict[str, Any]) -> str:
    """One line of a :class:`~brp.PoseClient`'s statistics."""
    latency = stats["latency_mean_ms"]
    shown = "-" if latency is None else f"{latency:.2f} ms"
    return (
        f"stats: {stats['state']}, {stats['frames_received']} received, "
        f"{stats['frames_applied']} applied, {stats['frames_dropped']} dropped, "
        f"{stats['decode_errors']} bad, mean latency {shown}"
    )


def person_key(name: str) -> tuple[str, int]:
    """Orders names naturally: ``Player``, ``Player 2``, …, ``Player 10``."""
    match = re.fullmatch(r"(.*?)\s*(\d+)", name)
    if match is None:
        return name, 1
    return match.group(1), int(match.group(2))


def people_in_view(rows: Sequence[dict[str, Any]]) -> list[Person]:
    """The people of a watch's rows (``PoseLandmarks``, optional ``Name``):
    ``(name, pose)`` in natural order of names; an unnamed entity goes by
    its id."""
    people = [
        (str(row.get("Name") or row["id"]), row["PoseLandmarks"])
        for row in rows
        if row.get("PoseLandmarks") is not None
    ]
    return sorted(people, key=lambda person: person_key(person[0]))


def legend_line(people: Sequence[Person], width: int, *, color: bool) -> str:
    """Who is in view, each name in its colour with its pose's sequence
    number, cut to ``width`` characters."""
    if not people:
        return "nobody in view"[:width]
    parts: list[str] = []
    used = 0
    for owner, (name, pose) in enumerate(people):
        item = f"{name} #{pose.get('sequence')}"
        needed = len(item) + (2 if parts else 0)
        if used + needed > width:
            break
        used += needed
        if color:
            code = skeleton.TERMINAL_COLORS[owner % len(skeleton.TERMINAL_COLORS)]
            item = f"\x1b[{code}m{item}\x1b[0m"
        parts.append(item)
    return "  ".join(parts)


def frame_lines(
    people: Sequence[Person],
    stats: dict[str, Any] | None,
    width: int,
    height: int,
    *,
    color: bool,
    columns: int | None = None,
) -> list[str]:
    """One picture of the live view: the skeletons on a ``width`` ×
    ``height`` grid, the legend, then the statistics line: ``height + 2``
    lines, none wider than ``columns`` characters (default ``width``; not
    counting colours)."""
    columns = width if columns is None else max(width, columns)
    grid = skeleton.draw_grid([pose["landmarks"] for _, pose in people], width, height)
    lines = grid.colored() if color else grid.text()
    stats_text = "" if stats is None else stats_line(stats)
    return [*lines, legend_line(people, columns, color=color), stats_text[:columns]]


class LiveScreen:
    """Draws a block of lines in place on an ANSI terminal: each
    :meth:`redraw` moves the cursor back up over the previous block and
    overwrites it line by line."""

    def __init__(self) -> None:
        self.height = 0

    def redraw(self, lines: Sequence[str]) -> str:
        """The text that replaces the previous block with ``lines``."""
        lines = [*lines, *[""] * (self.height - len(lines))]
        up = f"\x1b[{self.height}A\r" if self.height else ""
        self.height = len(lines)
        return up + "".join(f"\x1b[2K{line}\n" for line in lines)


def use_plain(stream: TextIO) -> bool:
    """Whether the live view cannot be drawn on ``stream``: not a terminal,
    or a dumb one."""
    return not stream.isatty() or os.environ.get("TERM") == "dumb"


async def show_landmarks(app: brp.App) -> None:
    """Prints everyone's landmarks as POLL reports them, a few lines a
    second, until cancelled."""
    loop = asyncio.get_running_loop()
    next_line = loop.time()
    changed = ["PoseLandmarks"]
    async for rows in app.watch(["PoseLandmarks"], optional=["Name"], changed=changed):
        people = people_in_view(rows)
        if people and loop.time() >= next_line:
            for name, pose in people:
                print(landmark_line(pose, name), flush=True)
            next_line = loop.time() + 1 / LINES_PER_SECOND


async def show_stats(client: brp.PoseClient) -> None:
    """Prints ``client``'s statistics every second, until cancelled."""
    while True:
        await asyncio.sleep(1)
        print(stats_line(client.stats()), flush=True)


async def show_live(app: brp.App, client: brp.PoseClient, out: TextIO) -> None:
    """Draws everyone's skeletons on ``out`` (a terminal), redrawn in place
    as POLL reports a change (at most :data:`REDRAWS_PER_SECOND` times a
    second, and at least once a second for the statistics), until
    cancelled; the last picture stays."""
    columns, rows = shutil.get_terminal_size()
    # The grid leaves room for the banner above, the legend and the
    # statistics beneath, and the cursor's line.
    width, height = skeleton.grid_size(columns - 1, rows - 4)
    color = not os.environ.get("NO_COLOR")
    people: list[Person] = []
    changed = asyncio.Event()

    async def follow() -> None:
        async for found in app.watch(["PoseLandmarks"], optional=["Name"]):
            people[:] = people_in_view(found)
            changed.set()

    screen = LiveScreen()
    loop = asyncio.get_running_loop()

    def draw() -> None:
        lines = frame_lines(people, client.stats(), width, height, color=color, columns=columns - 1)
        out.write(screen.redraw(lines))
        out.flush()

    follower = asyncio.create_task(follow())
    out.write("\x1b[?25l")  # hides the cursor
    try:
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(changed.wait(), 1.0)
            changed.clear()
            drawn = loop.time()
            draw()
            await asyncio.sleep(max(0.0, drawn + 1 / REDRAWS_PER_SECOND - loop.time()))
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        draw()
        out.write("\x1b[?25h")
        out.flush()


async def take_snapshot(app: brp.App, path: Path) -> list[Person]:
    """Writes the first picture with somebody in view to ``path`` as SVG;
    who is in it."""
    async for rows in app.watch(["PoseLandmarks"], optional=["Name"]):
        people = people_in_view(rows)
        if people:
            names = [name for name, _ in people]
            sequence = people[0][1].get("sequence")
            title = f"libbrp demo: {', '.join(names)} (pose #{sequence})"
            svg = skeleton.render_svg(
                [pose["landmarks"] for _, pose in people],
                names=names,
                width=SNAPSHOT_SIZE[0],
                height=SNAPSHOT_SIZE[1],
                title=title,
            )
            path.write_text(svg, encoding="utf-8")
            return people
    raise AssertionError("a watch never ends by itself")


async def run(
    seconds: float,
    fps: float | None = None,
    *,
    source: Source | None = None,
    plain: bool | None = None,
    snapshot: str | Path | None = None,
) -> None:
    """The demo, for ``seconds`` (a snapshot: at most that long). ``plain``:
    ``None`` chooses by standard output (see the module documentation)."""
    app = brp.App()
    source = source or SyntheticSource()
    rate = fps if fps is not None else default_fps(source, DEFAULT_FPS)
    controller = Controller(source, fps=rate, empty_style=default_empty_style(source))
    out = sys.stdout
    if plain is None:
        plain = use_plain(out)
    async with controller.serving("127.0.0.1", 0) as port:
        url = f"ws://127.0.0.1:{port}"
        print(f"controller serving on {url} at {rate:g} fps", flush=True)
        with brp.PoseClient(app, url) as client:
            if snapshot is not None:
                try:
                    people = await asyncio.wait_for(take_snapshot(app, Path(snapshot)), seconds)
                except asyncio.TimeoutError:
                    why = f"nobody came into view in {seconds:g} s: no snapshot"
                    raise SystemExit(why) from None
                names = ", ".join(name for name, _ in people)
                print(f"wrote {snapshot}: {names} (pose #{people[0][1].get('sequence')})")
                return
            with contextlib.suppress(asyncio.TimeoutError):
                if plain:
                    lines = asyncio.gather(show_landmarks(app), show_stats(client))
                    await asyncio.wait_for(lines, seconds)
                else:
                    await asyncio.wait_for(show_live(app, client, out), seconds)
            if plain:
                print(stats_line(client.stats()), flush=True)


def main(
    seconds: float = 5.0,
    fps: float | None = None,
    *,
    source: Source | None = None,
    plain: bool | None = None,
    snapshot: str | Path | None = None,
) -> None:
    """Runs the demo for ``seconds``, the controller at ``fps`` (default:
    30, or an upstream recording's own) serving ``source`` (default: one
    synthetic person); see :func:`run`."""
    if not seconds > 0 or (fps is not None and not fps > 0):
        raise SystemExit("--seconds and --fps must be positive")
    if snapshot is not None and Path(snapshot).suffix.lower() != ".svg":
        raise SystemExit(f"--snapshot writes SVG: give a .svg path, not {snapshot}")
    try:
        asyncio.run(run(seconds, fps, source=source, plain=plain, snapshot=snapshot))
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): nothing more can be shown,
        # and flushing at exit must not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
