"""Smoke test of an installed ``brp`` wheel, run by scripts/test-wheel in a
fresh venv (no Rust toolchain on PATH, no checkout on sys.path): the module
loads and answers in-process and over HTTP.

Usage: python tests/wheel/smoke.py EXPECTED_VERSION
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

import brp


def post(address: str, body: Any) -> Any:
    """POSTs ``body`` as JSON to ``http://address/``; the answer's JSON."""
    request = urllib.request.Request(
        f"http://{address}/",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, response.status
        return json.loads(response.read())


def main(expected_version: str) -> None:
    # The installed package, not a checkout's python/ directory.
    location = Path(brp.__file__).resolve()
    assert "site-packages" in location.parts, location
    assert brp.__version__ == expected_version, (brp.__version__, expected_version)

    with brp.App({"components": ["Position"]}) as app:
        # The helpers: spawn, get, query.
        player = app.spawn({"Name": "Player", "Position": {"x": 1.0, "y": 2.0}})
        assert app.get(player, ["Position"]) == {"Position": {"x": 1.0, "y": 2.0}}
        rows = app.query(["Name", "Position"])
        assert rows == [{"id": player, "Name": "Player", "Position": {"x": 1.0, "y": 2.0}}], rows

        # bevy_remote's JSON-RPC 2.0 dialect.
        resources = app.request({"jsonrpc": "2.0", "method": "world.list_resources"})
        assert isinstance(resources, list), resources

        # The C-style text in, text out call.
        answer = json.loads(brp.brp_request(app, '{"id": 7, "request": "PING"}'))
        assert answer == {"id": 7, "response": {"status": "OK"}}, answer

        # An error response raises its class.
        try:
            app.get(player, ["Transform"])
        except brp.ComponentNotPresent as error:
            assert error.code == -23403 and isinstance(error, brp.BrpError), error
        else:
            raise AssertionError("GET of a missing component did not raise")

        # The HTTP server: one POST, then stop.
        with app.serve(address="127.0.0.1:0") as server:
            assert server.port > 0, server.address
            answer = post(server.address, {"jsonrpc": "2.0", "id": 1, "method": "world.list_resources"})
            assert answer == {"jsonrpc": "2.0", "id": 1, "result": resources}, answer
        assert server.stats()["requests"] == 1, server.stats()

    print(f"smoke: brp {brp.__version__} from {location.parent} answers in-process and over HTTP")


if __name__ == "__main__":
    main(sys.argv[1])
