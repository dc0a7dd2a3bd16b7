"""Plays the dance game from Python: strikes poses at a ``dance.App`` and
watches its Player's ``Score`` (POLL) after each frame.

A "T" pose (both arms straight out sideways) scores a point; arms down do
not. Prints each score; exits 1 if one is not what the game should give.

    python examples/dance/python/play.py
"""

from __future__ import annotations

import sys
from typing import Any

import brp
import dance

#: MediaPipe's pose has 33 landmarks.
LANDMARKS = 33
#: MediaPipe's indices of the landmarks the game reads.
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_ELBOW, RIGHT_ELBOW = 11, 12, 13, 14
LEFT_HIP, RIGHT_HIP = 23, 24
#: Seconds a snapshot of the watch may take; a hang fails with brp.Timeout.
WAIT = 5.0


def pose(left_elbow: tuple[float, float], right_elbow: tuple[float, float]) -> dict[str, Any]:
    """A JSON pose frame of someone facing the camera (their left side on
    the image's right; image y grows downwards) with the elbows at the
    given image points and every other landmark on the head."""
    points = [(0.5, 0.2)] * LANDMARKS
    points[LEFT_SHOULDER], points[RIGHT_SHOULDER] = (0.6, 0.3), (0.4, 0.3)
    points[LEFT_HIP], points[RIGHT_HIP] = (0.58, 0.6), (0.42, 0.6)
    points[LEFT_ELBOW], points[RIGHT_ELBOW] = left_elbow, right_elbow
    landmarks = [
        {"x": x, "y": y, "z": 0.0, "availability": {"visibility": 1.0, "presence": 1.0}}
        for x, y in points
    ]
    return {"timestamp": 0.0, "landmarks": landmarks}


#: Both arms straight out sideways: the game's target, a "T".
T_POSE = pose((0.75, 0.3), (0.25, 0.3))
#: Both arms down along the body.
ARMS_DOWN = pose((0.6, 0.45), (0.4, 0.45))

#: The poses struck, in order, and the score after each: (points, matched).
SCENARIO = [
    ("T pose", T_POSE, (1, True)),
    ("arms down", ARMS_DOWN, (1, False)),
    ("T pose", T_POSE, (2, True)),
    ("T pose", T_POSE, (3, True)),
    ("T pose", T_POSE, (4, True)),
]


def play() -> list[str]:
    """Plays :data:`SCENARIO`; the mismatches between the scores the watch
    saw and those expected (none if the game scored every pose right)."""
    app = dance.App()
    app.update()  # Startup spawns the Player
    mismatches = []
    with app.watch_blocking(["Score"], timeout=WAIT) as watch:
        rows = next(watch)
        print(f"start: {rows[0]['Score']}")
        for what, frame, (points, matched) in SCENARIO:
            app.push_pose(frame)
            app.update()  # scores the new pose
            rows = next(watch)
            print(f"{what}: {rows[0]['Score'] if len(rows) == 1 else rows}")
            expected = {"points": points, "matched": matched}
            if [row["Score"] for row in rows] != [expected]:
                mismatches.append(f"after the {what}: {rows}, expected {expected}")
    return mismatches


def main() -> int:
    """Plays and reports; 0 if every score was right."""
    try:
        mismatches = play()
    except brp.BrpError as error:
        mismatches = [f"the world refused: {error}"]
    for mismatch in mismatches:
        print(f"mismatch {mismatch}", file=sys.stderr)
    if not mismatches:
        print("every score right")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
