"""Prints the figures of one `scripts/bench` run with their same-run ratios.

Usage: python3 bench/summarize.py CRITERION_DIR FIGURES_FILE

CRITERION_DIR is criterion's output folder (`$CARGO_TARGET_DIR/criterion`);
FIGURES_FILE holds `<name> <ns per op>` lines printed by the C and Python
benchmarks and by bench/bevy-remote (`bevy_remote/...`, `libbrp/...`: libbrp
over its HTTP and WebSocket server against bevy_remote's HTTP). Medians are
criterion's median point estimates. Standard library only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def criterion_medians(root: Path) -> dict[str, float]:
    medians = {}
    for bench in root.glob("**/new/benchmark.json"):
        full_id = json.loads(bench.read_text())["full_id"]
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        medians["rust/" + full_id] = estimates["median"]["point_estimate"]
    return medians


def figure_lines(path: Path) -> dict[str, float]:
    figures = {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                figures[parts[0]] = float(parts[1])
    return figures


def human(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def main() -> int:
    figures = criterion_medians(Path(sys.argv[1]))
    figures.update(figure_lines(Path(sys.argv[2])))
    print(f"{'figure':<40} {'median':>12}")
    for name in sorted(figures):
        print(f"{name:<40} {human(figures[name]):>12}")

    # (label, numerator, denominator, target ratio or None)
    ratios = [
        ("GET / serde_json floor", "rust/get/brp", "rust/get/serde_json_floor", 1.5),
        ("GET cold / serde_json floor", "rust/get/brp_cold", "rust/get/serde_json_floor", None),
        ("POLL wake / Condvar floor", "rust/poll_wake/brp", "rust/poll_wake/condvar_floor", 3.0),
        (
            "QUERY 1k / serde_json floor",
            "rust/query/brp/1000",
            "rust/query/serde_json_floor/1000",
            None,
        ),
    ]
    # QUERY after none, a tenth or all of its values changed since the last
    # answer, against writing the same answer from a ready JSON tree.
    for n, label in ((1000, "1k"), (10000, "10k"), (100000, "100k")):
        for case, case_label, target in (
            ("warm", "warm", 0.5),
            ("changed_10pct", "10% changed", None),
            ("cold", "cold", 3.0),
        ):
            ratios.append(
                (
                    f"QUERY {label} {case_label} / floor",
                    f"rust/query_changes/{case}/{n}",
                    f"rust/query/serde_json_floor/{n}",
                    target if n == 1000 else None,
                )
            )
    ratios += [
        (
            "pose decode+apply / FlatBuffers decode",
            "rust/pose/decode_apply",
            "rust/pose/flatbuffers_decode_floor",
            None,
        ),
        ("C GET / Rust GET", "c/brp_request/get", "rust/get/brp", None),
        ("C PING / Rust PING", "c/brp_request/ping", "rust/ping/brp", None),
        ("Python native GET / C GET", "python/native/get", "c/brp_request/get", None),
        ("Python brp_request GET / C GET", "python/brp_request/get", "c/brp_request/get", 2.0),
        ("Python app.request GET / C GET", "python/app.request/get", "c/brp_request/get", None),
    ]
    # libbrp over its own server against bevy_remote's HTTP (bench/bevy-remote),
    # the same JSON-RPC bodies through the same HTTP client; below 1 is faster.
    for op, op_label in (("get", "GET"), ("query_1k", "QUERY 1k"), ("watch", "watch RT")):
        for transport, transport_label in (("http", "HTTP"), ("ws", "WS")):
            for mode, mode_label in (("uncapped", "uncapped"), ("60hz", "60 Hz")):
                ratios.append(
                    (
                        f"libbrp {transport_label} {op_label} / bevy {mode_label}",
                        f"libbrp/{transport}/{op}",
                        f"bevy_remote/http/{op}/{mode}",
                        None,
                    )
                )
    print()
    print(f"{'same-run ratio':<40} {'ratio':>8}  target")
    for label, top, bottom, target in ratios:
        if top not in figures or bottom not in figures:
            print(f"{label:<40} {'n/a':>8}  (not measured in this run)")
            continue
        ratio = figures[top] / figures[bottom]
        verdict = ""
        if target is not None:
            verdict = f"<= {target:g}x: {'met' if ratio <= target else 'MISSED'}"
        digits = 2 if ratio >= 0.1 else 4  # the network ratios against 60 Hz
        print(f"{label:<40} {ratio:>7.{digits}f}x  {verdict}")
    # How many times faster libbrp answers in-process than bevy_remote over
    # HTTP with an uncapped frame loop (bench/bevy-remote, same run).
    for op, op_label, target in (("get", "GET", 100), ("query_1k", "QUERY 1k", 50)):
        ours, theirs = figures.get(f"libbrp/in_process/{op}"), figures.get(
            f"bevy_remote/http/{op}/uncapped"
        )
        label = f"bevy_remote {op_label} uncapped / libbrp"
        if ours is None or theirs is None:
            print(f"{label:<40} {'n/a':>8}  (not measured in this run)")
            continue
        speedup = theirs / ours
        print(f"{label:<40} {speedup:>7.1f}x  >= {target}x: {'met' if speedup >= target else 'MISSED'}")
    # A POLL wake includes the INSERT that causes it; what the wake itself
    # adds is the difference.
    wake, insert, floor = (
        figures.get(name)
        for name in ("rust/poll_wake/brp", "rust/insert/brp", "rust/poll_wake/condvar_floor")
    )
    if wake is not None and insert is not None and floor is not None:
        label = "(POLL wake - INSERT) / Condvar floor"
        print(f"{label:<40} {(wake - insert) / floor:>7.2f}x  (the wake without the mutation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
