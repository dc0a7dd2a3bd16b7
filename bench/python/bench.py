"""Python binding benchmark: GET through each layer of ``import brp``, in µs/op.

- ``native``: ``app._native.request(text)``, the PyO3 call itself;
- ``brp_request``: ``brp.brp_request(app, text)``, the C-style function
  (argument checks + the native call), returns the response text;
- ``app.request``: ``app.request(text)``, the Pythonic layer, which also
  decodes the response into a dict.

Prints one line per figure: ``<name> <ns per op>`` (median of batches), so
``scripts/bench`` can set them beside the C and Rust figures. A benchmark:
it prints figures and never asserts timings.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable

import brp

SAMPLES = 31
BATCH = 5000

GET = json.dumps(
    {"id": 1, "request": "GET", "params": {"entity": "1v0", "components": ["Transform"]}}
)
PING = json.dumps({"id": 1, "request": "PING"})


def median_ns(call: Callable[..., object], *args: object) -> float:
    for _ in range(BATCH):
        call(*args)
    samples = []
    for _ in range(SAMPLES):
        start = time.perf_counter_ns()
        for _ in range(BATCH):
            call(*args)
        samples.append((time.perf_counter_ns() - start) / BATCH)
    return statistics.median(samples)


def main() -> int:
    app = brp.App({"components": ["Position"]})
    entity = app.spawn(
        {
            "Name": "entity 0",
            "Transform": {"translation": [0, 1, 2], "rotation": [0, 0, 0, 1], "scale": [1, 1, 1]},
        }
    )
    if entity != "1v0":
        print(f"unexpected entity {entity}", file=sys.stderr)
        return 1
    if "translation" not in brp.brp_request(app, GET):
        print("GET failed", file=sys.stderr)
        return 1
    native = app._native  # the PyO3 object under the Python layer
    figures = {
        "python/native/ping": median_ns(native.request, PING),
        "python/native/get": median_ns(native.request, GET),
        "python/brp_request/ping": median_ns(brp.brp_request, app, PING),
        "python/brp_request/get": median_ns(brp.brp_request, app, GET),
        "python/app.request/get": median_ns(app.request, GET),
    }
    for name, ns in figures.items():
        print(f"{name} {ns:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
