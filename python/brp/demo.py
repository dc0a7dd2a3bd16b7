"""The demo: the reference controller serves poses on 127.0.0.1, a
:class:`~brp.PoseClient` streams them into an embedded :class:`~brp.App`,
and an async watch (POLL) shows the Player's landmarks as they change,
with the stream's statistics every second."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import brp
from brp.controller import Controller

#: The landmarks shown: MediaPipe's nose and wrists.
SHOWN = {"nose": 0, "left wrist": 15, "right wrist": 16}
#: At most this many landmark lines per second.
LINES_PER_SECOND = 4


def landmark_line(pose: dict[str, Any]) -> str:
    """One line of ``pose``'s sequence number and shown landmarks."""
    landmarks = pose["landmarks"]
    points = "  ".join(
        f"{name} ({landmarks[i]['x']:.3f}, {landmarks[i]['y']:.3f})"
        for name, i in SHOWN.items()
        if i < len(landmarks)
    )
    return f"pose #{pose['sequence']}: {points}"


def stats_line(stats: dict[str, Any]) -> str:
    """One line of a :class:`~brp.PoseClient`'s statistics."""
    latency = stats["latency_mean_ms"]
    shown = "-" if latency is None else f"{latency:.2f} ms"
    return (
        f"stats: {stats['state']}, {stats['frames_received']} received, "
        f"{stats['frames_applied']} applied, {stats['frames_dropped']} dropped, "
        f"{stats['decode_errors']} bad, mean latency {shown}"
    )


async def show_landmarks(app: brp.App) -> None:
    """Prints the Player's landmarks as POLL reports them, a few lines a
    second, until cancelled."""
    loop = asyncio.get_running_loop()
    next_line = loop.time()
    async for rows in app.watch(["Name", "PoseLandmarks"], changed=["PoseLandmarks"]):
        player = next((row for row in rows if row["Name"] == "Player"), None)
        if player is not None and loop.time() >= next_line:
            print(landmark_line(player["PoseLandmarks"]), flush=True)
            next_line = loop.time() + 1 / LINES_PER_SECOND


async def show_stats(client: brp.PoseClient) -> None:
    """Prints ``client``'s statistics every second, until cancelled."""
    while True:
        await asyncio.sleep(1)
        print(stats_line(client.stats()), flush=True)


async def run(seconds: float, fps: float) -> None:
    """The demo, for ``seconds``."""
    app = brp.App()
    async with Controller(fps=fps).serving("127.0.0.1", 0) as port:
        url = f"ws://127.0.0.1:{port}"
        print(f"controller serving on {url} at {fps:g} fps", flush=True)
        with brp.PoseClient(app, url) as client:
            with contextlib.suppress(asyncio.TimeoutError):
                shows = asyncio.gather(show_landmarks(app), show_stats(client))
                await asyncio.wait_for(shows, seconds)
            print(stats_line(client.stats()), flush=True)


def main(seconds: float = 5.0, fps: float = 30.0) -> None:
    """Runs the demo for ``seconds`` with the controller at ``fps``."""
    if not seconds > 0 or not fps > 0:
        raise SystemExit("--seconds and --fps must be positive")
    asyncio.run(run(seconds, fps))
