"""The demo: the skeleton drawn as characters and as SVG (pure functions),
the live view on a terminal, ``--plain``, ``--snapshot``, and what the
command line says without the controller's packages."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from brp.tools import skeleton
from brp.tools.demo import LiveScreen, frame_lines, people_in_view, use_plain
from brp.tools.skeleton import POSE_CONNECTIONS, draw_grid, drawn_points, grid_size, render_svg

DEADLINE = 20.0  # seconds; only to stop a hung test
SVG = "{http://www.w3.org/2000/svg}"


def landmark(
    x: float, y: float, visibility: float = 1.0, presence: float = 1.0
) -> dict[str, float]:
    return {"x": x, "y": y, "z": 0.0, "visibility": visibility, "presence": presence}


def torso(dx: float = 0.0, elbow: bool = False) -> list[dict[str, float]]:
    """A pose of which only the shoulders and hips (and the left elbow)
    are visible: a box, and an arm going down to the left."""
    pose = [landmark(0.5, 0.5, visibility=0.1) for _ in range(33)]
    pose[11] = landmark(0.25 + dx, 0.2)
    pose[12] = landmark(0.75 + dx, 0.2)
    pose[23] = landmark(0.25 + dx, 0.8)
    pose[24] = landmark(0.75 + dx, 0.8)
    if elbow:
        pose[13] = landmark(0.0, 0.6)
    return pose


def test_the_connections_are_mediapipes() -> None:
    assert len(POSE_CONNECTIONS) == 35
    assert len(set(POSE_CONNECTIONS)) == 35
    assert all(0 <= a < 33 and 0 <= b < 33 and a != b for a, b in POSE_CONNECTIONS)
    for bone in [(11, 12), (11, 23), (23, 25), (25, 27), (27, 29), (29, 31), (15, 21), (9, 10)]:
        assert bone in POSE_CONNECTIONS
    package = Path(skeleton.__file__).parents[1]
    sources = package.rglob("*.py")
    mentions = [path.name for path in sources if "(27, 31)" in path.read_text("utf-8")]
    assert mentions == ["skeleton.py"], "written once"


def test_only_sure_landmarks_are_drawn() -> None:
    points = drawn_points(torso())
    assert set(points) == {11, 12, 23, 24}
    half = [landmark(0.5, 0.5, visibility=1.0, presence=0.4)]
    assert drawn_points(half) == {}
    unrated = [landmark(0.1, 0.2, 0.0, 0.0), landmark(0.3, 0.4, 0.0, 0.0)]
    assert drawn_points(unrated) == {0: (0.1, 0.2), 1: (0.3, 0.4)}, "no availability at all"
    assert drawn_points([landmark(float("nan"), 0.5)]) == {}


def test_draws_a_known_pose_into_a_character_grid() -> None:
    # 21 x 11 cells: x 0.25 is column 5, 0.75 column 15; y 0.2 is row 2, 0.8 row 8.
    lines = draw_grid([torso()], 21, 11).text()
    expected = [" " * 21] * 11
    expected[2] = "     o---------o     "
    for row in range(3, 8):
        expected[row] = "     |         |     "
    expected[8] = "     o---------o     "
    assert lines == expected


def test_bones_take_the_character_of_their_direction() -> None:
    grid = draw_grid([torso(elbow=True)], 21, 11)
    # The upper arm: from the shoulder (5, 2) down and left to the elbow (0, 6).
    arm = {grid.rows[row][column] for row in range(3, 6) for column in range(1, 5)} - {" "}
    assert arm == {"/"}
    assert grid.rows[6][0] == "o"
    assert skeleton.bone_char(4, 0) == "-" and skeleton.bone_char(0, 3) == "|"
    assert skeleton.bone_char(4, 2) == "\\" and skeleton.bone_char(-4, 2) == "/"
    assert skeleton.bone_char(4, -2) == "/"


def test_several_people_are_drawn_together_each_its_own() -> None:
    grid = draw_grid([torso(dx=-0.2), torso(dx=0.2)], 41, 11)
    owners = {owner for row in grid.owners for owner in row} - {-1}
    assert owners == {0, 1}
    assert grid.owners[2][2] == 0 and grid.owners[2][38] == 1
    colored = grid.colored()
    assert "\x1b[32m" in colored[2] and "\x1b[35m" in colored[2]
    assert [line.replace("\x1b[32m", "").replace("\x1b[35m", "").replace("\x1b[0m", "")
            for line in colored] == grid.text()  # fmt: skip


def test_points_off_the_picture_are_clipped() -> None:
    pose = torso()
    pose[11] = landmark(-1e6, 0.2)  # far to the left: the bone to 12 crosses the whole row
    lines = draw_grid([pose], 21, 11).text()
    assert lines[2] == "-" * 15 + "o" + " " * 5
    assert lines[8] == "-" * 5 + "o---------o     ", "the bone to 23 comes in nearly flat"


def test_grid_size_keeps_the_picture_undistorted() -> None:
    assert grid_size(200, 30) == (80, 30)
    assert grid_size(80, 60) == (80, 30)
    width, height = grid_size(79, 20)
    assert width <= 79 and height <= 20


def svg_people(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root.findall(f"{SVG}g[@class='person']")


def test_draws_a_known_pose_as_svg() -> None:
    svg = render_svg([torso(), torso(dx=0.1)], names=["Player", "Player 2"], width=640, height=480)
    first, second = svg_people(svg)
    assert first.get("data-name") == "Player" and second.get("data-name") == "Player 2"
    assert first.get("stroke") != second.get("stroke")
    bones = {
        (int(line.get("data-from", "")), int(line.get("data-to", ""))): line
        for line in first.findall(f"{SVG}line[@class='bone']")
    }
    assert set(bones) == {(11, 12), (11, 23), (12, 24), (23, 24)}
    shoulders = bones[(11, 12)]
    coordinates = [float(shoulders.get(key, "nan")) for key in ("x1", "y1", "x2", "y2")]
    assert coordinates == [160.0, 96.0, 480.0, 96.0]
    circles = first.findall(f"{SVG}circle[@class='landmark']")
    assert sorted(int(circle.get("data-index", "")) for circle in circles) == [11, 12, 23, 24]
    assert len(svg_people(render_svg([]))) == 0
    named = render_svg([torso()], names=['<"&>'])
    assert svg_people(named)[0].get("data-name") == '<"&>'


def rows(*named: tuple[str | None, int]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for i, (name, sequence) in enumerate(named):
        pose = {"sequence": sequence, "landmarks": torso()}
        row: dict[str, Any] = {"id": f"{i + 1}v0", "PoseLandmarks": pose}
        if name is not None:
            row["Name"] = name
        found.append(row)
    return found


def test_people_are_ordered_by_name() -> None:
    found = people_in_view(rows(("Player 10", 1), ("Player 2", 1), (None, 1), ("Player", 1)))
    assert [name for name, _ in found] == ["3v0", "Player", "Player 2", "Player 10"]


def test_a_live_picture_is_the_grid_the_legend_and_the_statistics() -> None:
    stats = {
        "state": "connected",
        "frames_received": 10,
        "frames_applied": 9,
        "frames_dropped": 1,
        "decode_errors": 0,
        "latency_mean_ms": 1.25,
    }
    people = people_in_view(rows(("Player", 7), ("Player 2", 7)))
    lines = frame_lines(people, stats, 40, 12, color=False)
    assert len(lines) == 14
    assert lines[:12] == draw_grid([torso(), torso()], 40, 12).text()
    assert lines[12] == "Player #7  Player 2 #7"
    assert lines[13].startswith("stats: connected, 10 received") and len(lines[13]) <= 40
    colored = frame_lines(people, stats, 40, 12, color=True)
    assert "\x1b[32mPlayer #7\x1b[0m" in colored[12]
    assert frame_lines([], None, 40, 12, color=False)[12] == "nobody in view"


def test_the_live_screen_redraws_in_place() -> None:
    screen = LiveScreen()
    first = screen.redraw(["a", "b", "c"])
    assert first == "\x1b[2Ka\n\x1b[2Kb\n\x1b[2Kc\n"
    second = screen.redraw(["d", "e", "f"])
    assert second.startswith("\x1b[3A\r"), "back up over the three lines"
    assert second.endswith("\x1b[2Kf\n")
    shorter = screen.redraw(["g"])
    assert shorter.count("\x1b[2K") == 3, "leftover lines are cleared"


class NotATerminal:
    def isatty(self) -> bool:
        return False


def test_not_a_terminal_is_plain() -> None:
    assert use_plain(NotATerminal())  # type: ignore[arg-type]


def demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "brp", "demo", *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 3,
        check=False,
        env=env,
    )


def test_the_demo_prints_lines_when_stdout_is_not_a_terminal() -> None:
    result = demo("--seconds", "2", "--people", "2")
    assert result.returncode == 0, result.stderr
    assert "pose #" in result.stdout and "stats: " in result.stdout
    assert "\x1b[" not in result.stdout, "no terminal: no escape sequences"


def test_snapshot_writes_an_svg_picture(tmp_path: Path) -> None:
    out = tmp_path / "pose.svg"
    result = demo("--snapshot", str(out), "--people", "2", "--seconds", str(DEADLINE))
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}: Player" in result.stdout
    people = svg_people(out.read_text(encoding="utf-8"))
    assert people and people[0].get("data-name") == "Player"
    assert len(people) <= 2
    for person in people:
        assert len(person.findall(f"{SVG}line[@class='bone']")) == len(POSE_CONNECTIONS)
        assert len(person.findall(f"{SVG}circle[@class='landmark']")) == 33


def test_snapshot_of_upstream_recordings(tmp_path: Path) -> None:
    out = tmp_path / "recording.svg"
    data = Path(__file__).parent / "data"
    recordings = ["--recording", str(data / "two_people_0.json")]
    recordings += ["--recording", str(data / "two_people_1.json")]
    result = demo("--snapshot", str(out), *recordings, "--seconds", str(DEADLINE))
    assert result.returncode == 0, result.stderr
    assert "at 30 fps" in result.stdout, "the recording's own rate"
    people = svg_people(out.read_text(encoding="utf-8"))
    assert people and people[0].get("data-name") == "Player"


def test_snapshot_is_svg_only(tmp_path: Path) -> None:
    result = demo("--snapshot", str(tmp_path / "pose.png"))
    assert result.returncode == 2 and ".svg" in result.stderr
    assert not (tmp_path / "pose.png").exists()


def run_in_terminal(args: Sequence[str], columns: int = 80, lines: int = 24) -> tuple[int, str]:
    """Runs ``python -m brp ARGS`` with a pseudo-terminal as its output;
    its status and everything it wrote."""
    import pty

    controller, terminal = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": str(lines), "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal's other end closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "brp", *args],
            stdout=terminal,
            stderr=terminal,
            stdin=subprocess.DEVNULL,
            env=env,
            timeout=DEADLINE * 3,
            check=False,
        )
    finally:
        os.close(terminal)
        reader.join(DEADLINE)
        os.close(controller)
    assert not reader.is_alive()
    return process.returncode, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals as on Linux")
def test_on_a_terminal_the_demo_draws_in_place() -> None:
    status, output = run_in_terminal(["demo", "--seconds", "2", "--people", "2"])
    assert status == 0, output
    assert "controller serving on ws://127.0.0.1:" in output
    assert "\x1b[?25l" in output and output.rstrip().endswith("\x1b[?25h"), "the cursor comes back"
    # 24 lines: the banner, a grid of 20 rows, the legend, the statistics, the cursor's line.
    assert "\x1b[22A\r" in output, "redrawn in place"
    assert "@" in output and "stats: connected" in output
    assert "pose #" not in output


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals as on Linux")
def test_plain_on_a_terminal_prints_lines() -> None:
    status, output = run_in_terminal(["demo", "--seconds", "2", "--plain"])
    assert status == 0, output
    assert "pose #" in output and "stats: " in output
    assert "\x1b[" not in output


MISSING = """
import runpy, sys
sys.modules[{module!r}] = None
sys.argv = {argv!r}
runpy.run_module({run!r}, run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("module", ["websockets", "flatbuffers"])
@pytest.mark.parametrize(
    ("run", "argv"),
    [
        ("brp", ["brp", "demo"]),
        ("brp", ["brp", "controller", "--port", "0"]),
        ("brp.controller", ["brp.controller", "--port", "0"]),
        ("brp.tools.controller", ["brp.tools.controller", "--port", "0"]),
    ],
)
def test_without_the_controller_extra_it_says_how_to_install_it(
    module: str, run: str, argv: list[str]
) -> None:
    code = MISSING.format(module=module, argv=argv, run=run)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=DEADLINE, check=False
    )
    assert result.returncode == 2, result.stderr
    assert "pip install 'brp[controller]'" in result.stderr
    assert "Traceback" not in result.stderr
