"""Drawing poses: MediaPipe Pose's skeleton as terminal text or as SVG.

Pure functions over landmarks as the world holds them (the ``landmarks`` of
``PoseLandmarks``: mappings with ``x`` and ``y`` in normalized image
coordinates, 0 at the left and top, and ``visibility`` and ``presence``),
so they need no terminal, no network and no third-party package.

A landmark is drawn when the detector is sure of it (``visibility`` and
``presence`` at least 0.5, as MediaPipe's own drawing utilities do), and a
bone of :data:`POSE_CONNECTIONS` when both its ends are drawn. A pose whose
landmarks all have ``visibility`` and ``presence`` 0 carries no availability
at all (the JSON form's default) and is drawn whole.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

LANDMARK_COUNT = 33
"""MediaPipe's pose landmarks: 0 nose … 11/12 shoulders … 32 right foot."""

# fmt: off
POSE_CONNECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5),
    (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
    (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22),
    (18, 20), (11, 23), (12, 24), (23, 24), (23, 25),
    (24, 26), (25, 27), (26, 28), (27, 29), (28, 30),
    (29, 31), (30, 32), (27, 31), (28, 32),
)
"""The bones of MediaPipe Pose's 33-landmark skeleton (its
``POSE_CONNECTIONS``): pairs of landmark indices."""
# fmt: on

VISIBILITY_THRESHOLD = 0.5
"""Landmarks less visible than this are not drawn."""
PRESENCE_THRESHOLD = 0.5
"""Landmarks less present than this are not drawn."""

#: One person's landmarks: mappings with ``x``, ``y``, ``visibility``, ``presence``.
Landmarks = Sequence[Mapping[str, Any]]

#: ANSI colour codes (foreground) of the people, in order, repeating.
TERMINAL_COLORS = ("32", "35", "36", "33", "34", "31")
#: SVG colours of the people, in order, repeating.
SVG_COLORS = ("#30ff30", "#ff4fd8", "#3fd0ff", "#ffd23f", "#7b8bff", "#ff5050")

#: The character of a landmark in the grid, and of the nose, which stands
#: for the head: the face's other landmarks (:data:`FACE`) are too close
#: together for characters, and only their bones are drawn.
JOINT = "o"
HEAD = "@"
FACE = range(1, 11)


def drawn_points(landmarks: Landmarks) -> dict[int, tuple[float, float]]:
    """The landmarks that are drawn, by index: their ``(x, y)``.

    Those the detector is sure of (see the module documentation), with
    finite coordinates."""
    def availability(landmark: Mapping[str, Any], key: str) -> float:
        value = landmark.get(key, 0.0)
        return float(value) if isinstance(value, (int, float)) else 0.0

    unrated = all(
        availability(landmark, "visibility") == 0.0 and availability(landmark, "presence") == 0.0
        for landmark in landmarks
    )
    points: dict[int, tuple[float, float]] = {}
    for index, landmark in enumerate(landmarks):
        x, y = float(landmark["x"]), float(landmark["y"])
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        sure = (
            availability(landmark, "visibility") >= VISIBILITY_THRESHOLD
            and availability(landmark, "presence") >= PRESENCE_THRESHOLD
        )
        if unrated or sure:
            points[index] = (x, y)
    return points


def drawn_bones(points: Mapping[int, tuple[float, float]]) -> list[tuple[int, int]]:
    """The bones of :data:`POSE_CONNECTIONS` whose two ends are in ``points``."""
    return [(a, b) for a, b in POSE_CONNECTIONS if a in points and b in points]


@dataclass
class Grid:
    """A character picture: ``rows[r][c]`` is a character and ``owners[r][c]``
    the index of the person who drew it (-1: nobody)."""

    width: int
    height: int
    rows: list[list[str]] = field(init=False)
    owners: list[list[int]] = field(init=False)

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise ValueError(f"a grid needs a positive size, got {self.width}x{self.height}")
        self.rows = [[" "] * self.width for _ in range(self.height)]
        self.owners = [[-1] * self.width for _ in range(self.height)]

    def put(self, column: int, row: int, char: str, owner: int) -> None:
        """Sets one cell; cells outside the grid are ignored."""
        if 0 <= column < self.width and 0 <= row < self.height:
            self.rows[row][column] = char
            self.owners[row][column] = owner

    def text(self) -> list[str]:
        """The grid's lines, without colour."""
        return ["".join(row) for row in self.rows]

    def colored(self, colors: Sequence[str] = TERMINAL_COLORS) -> list[str]:
        """The grid's lines, each person's cells in its ANSI colour."""
        lines = []
        for chars, owners in zip(self.rows, self.owners):
            parts: list[str] = []
            current = -1
            for char, owner in zip(chars, owners):
                if owner != current:
                    parts.append("\x1b[0m" if owner < 0 else f"\x1b[{colors[owner % len(colors)]}m")
                    current = owner
                parts.append(char)
            if current >= 0:
                parts.append("\x1b[0m")
            lines.append("".join(parts))
        return lines


def bone_char(d_column: float, d_row: float) -> str:
    """The character of a bone going ``d_column`` cells right and ``d_row``
    cells down, on cells about twice as tall as wide."""
    angle = math.degrees(math.atan2(2.0 * d_row, d_column)) % 180.0
    if angle < 22.5 or angle >= 157.5:
        return "-"
    if angle < 67.5:
        return "\\"
    if angle < 112.5:
        return "|"
    return "/"


def _clip(
    start: tuple[float, float], end: tuple[float, float], width: int, height: int
) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The part of the segment inside the grid's box (Liang–Barsky), or
    ``None`` when it misses the grid."""
    (x0, y0), (x1, y1) = start, end
    dx, dy = x1 - x0, y1 - y0
    low, high = 0.0, 1.0
    for p, q in ((-dx, x0 + 0.5), (dx, width - 0.5 - x0), (-dy, y0 + 0.5), (dy, height - 0.5 - y0)):
        if p == 0:
            if q < 0:
                return None
            continue
        ratio = q / p
        if p < 0:
            low = max(low, ratio)
        else:
            high = min(high, ratio)
        if low > high:
            return None
    return (x0 + low * dx, y0 + low * dy), (x0 + high * dx, y0 + high * dy)


def draw_grid(people: Sequence[Landmarks], width: int, height: int) -> Grid:
    """The skeletons of ``people`` on a ``width`` × ``height`` character
    grid: normalized ``(0, 0)`` is the top left cell, ``(1, 1)`` the bottom
    right one. Bones are ``- | / \\`` by their direction, landmarks ``o``
    (the nose ``@``, the rest of the face bones only); later people are
    drawn over earlier ones."""
    grid = Grid(width, height)

    def cell(point: tuple[float, float]) -> tuple[float, float]:
        return point[0] * (width - 1), point[1] * (height - 1)

    for owner, landmarks in enumerate(people):
        points = drawn_points(landmarks)
        cells = {index: cell(point) for index, point in points.items()}
        for a, b in drawn_bones(points):
            start, end = cells[a], cells[b]
            char = bone_char(end[0] - start[0], end[1] - start[1])
            clipped = _clip(start, end, width, height)
            if clipped is None:
                continue
            (x0, y0), (x1, y1) = clipped
            steps = max(1, math.ceil(max(abs(x1 - x0), abs(y1 - y0))))
            ends = {(round(start[0]), round(start[1])), (round(end[0]), round(end[1]))}
            for step in range(steps + 1):
                column = round(x0 + (x1 - x0) * step / steps)
                row = round(y0 + (y1 - y0) * step / steps)
                if (column, row) not in ends:
                    grid.put(column, row, char, owner)
        for index, (x, y) in cells.items():
            if index not in FACE:
                grid.put(round(x), round(y), JOINT, owner)
        if 0 in cells:
            grid.put(round(cells[0][0]), round(cells[0][1]), HEAD, owner)
    return grid


def grid_size(columns: int, rows: int, aspect: float = 4 / 3) -> tuple[int, int]:
    """The largest grid of at most ``columns`` × ``rows`` characters showing
    an image of ``aspect`` (width / height) undistorted, on cells about
    twice as tall as wide."""
    columns, rows = max(columns, 2), max(rows, 2)
    width = min(columns, round(rows * 2 * aspect))
    height = min(rows, max(1, round(width / (2 * aspect))))
    return width, height


def render_svg(
    people: Sequence[Landmarks],
    *,
    names: Sequence[str] = (),
    width: int = 640,
    height: int = 480,
    title: str = "poses",
) -> str:
    """An SVG picture of the skeletons of ``people`` on a ``width`` ×
    ``height`` image: one ``<g class="person">`` per person (``data-name``
    from ``names``), holding a ``<line class="bone">`` per drawn bone
    (``data-from``, ``data-to``: its landmarks) and a ``<circle
    class="landmark">`` per drawn landmark (``data-index``)."""
    if width < 1 or height < 1:
        raise ValueError(f"a picture needs a positive size, got {width}x{height}")
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}">',
        f"<title>{escape(title)}</title>",
        f'<rect class="background" width="{width}" height="{height}" fill="#101418"/>',
    ]
    for owner, landmarks in enumerate(people):
        name = names[owner] if owner < len(names) else f"person {owner + 1}"
        color = SVG_COLORS[owner % len(SVG_COLORS)]
        points = {i: (x * width, y * height) for i, (x, y) in drawn_points(landmarks).items()}
        out.append(
            f'<g class="person" data-name={quoteattr(name)} stroke="{color}" fill="{color}"'
            ' stroke-width="3" stroke-linecap="round">'
        )
        for a, b in drawn_bones(points):
            (x1, y1), (x2, y2) = points[a], points[b]
            out.append(
                f'<line class="bone" data-from="{a}" data-to="{b}"'
                f' x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'
            )
        for index, (x, y) in points.items():
            out.append(
                f'<circle class="landmark" data-index="{index}" cx="{x:.1f}" cy="{y:.1f}"'
                f' r="{5 if index == 0 else 3.5}" stroke="none"/>'
            )
        if 0 in points:
            x, y = points[0]
            out.append(
                f'<text x="{x:.1f}" y="{max(12.0, y - 24):.1f}" text-anchor="middle"'
                f' font-family="sans-serif" font-size="14" stroke="none">{escape(name)}</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
