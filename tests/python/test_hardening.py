"""Patterns that once crashed the Python process (docs/limits.md)."""

from __future__ import annotations

import json

import brp


def test_destroying_a_deep_hierarchy_does_not_crash(app: brp.App) -> None:
    root = app.spawn({"Name": "root"})
    parent = root
    for _ in range(100_000):  # 60,000 crashed the process once
        parent = app.spawn({"ChildOf": parent})
    app.destroy(root)
    assert app.query() == []


def test_a_callback_submitting_the_next_request_is_not_reentered(app: brp.App) -> None:
    native = app._native.session()
    depth = 0
    deepest = 0
    last: list[int] = []

    def callback(text: str) -> None:
        nonlocal depth, deepest
        depth += 1
        deepest = max(deepest, depth)
        id_ = json.loads(text)["id"]
        last.append(id_)
        if id_ < 5_000:  # well past Python's recursion limit
            native.submit(json.dumps({"id": id_ + 1, "request": "PING"}))
        depth -= 1

    native.set_callback(callback)
    native.submit('{"id": 1, "request": "PING"}')
    assert last[-1] == 5_000
    assert len(last) == 5_000
    assert deepest == 1
