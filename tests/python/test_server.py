"""``App.serve``: the world over HTTP and WebSocket (docs/server.md), driven
by clients this project did not write (the standard library's HTTP client,
the ``websockets`` package), on loopback with a port the system picks."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

import brp
from conftest import HANG_SECONDS, in_thread, joined

NAME = "bevy_ecs::name::Name"
#: Any free port on loopback.
ANY_PORT = "127.0.0.1:0"


def post(server: brp.Server, body: Any, token: str | None = None) -> Any:
    """POSTs ``body`` as JSON with urllib; the answer's JSON."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://{server.address}/", data=json.dumps(body).encode(), headers=headers
    )
    with urllib.request.urlopen(request, timeout=HANG_SECONDS) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        return json.loads(response.read())


def status_of(server: brp.Server, body: Any, headers: dict[str, str]) -> int:
    """POSTs ``body`` with http.client; the status (the body is read)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HANG_SECONDS)
    try:
        connection.request("POST", "/", body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def refuses_connections(port: int) -> bool:
    """Whether nothing listens on ``port`` of loopback any more."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=HANG_SECONDS):
            return False
    except ConnectionRefusedError:
        return True


def test_http_answers_both_dialects() -> None:
    app = brp.App()
    with app.serve(ANY_PORT) as server:
        assert re.fullmatch(r"127\.0\.0\.1:\d+", server.address)
        assert server.port > 0 and server.address.endswith(f":{server.port}")
        assert repr(server) == f"<brp.Server {server.address}>"
        assert post(server, {"id": 1, "request": "PING"}) == {
            "id": 1,
            "response": {"status": "OK"},
        }
        listed = post(server, {"jsonrpc": "2.0", "id": 2, "method": "world.list_resources"})
        assert listed["jsonrpc"] == "2.0" and listed["id"] == 2
        assert listed["result"] == app.request({"jsonrpc": "2.0", "method": "world.list_resources"})
        # An error is an answer too, with status 200.
        unknown = post(server, {"jsonrpc": "2.0", "id": 3, "method": "world.no_such_method"})
        assert unknown["id"] == 3 and unknown["error"]["code"] == -32601
        stats = server.stats()
        assert stats["requests"] == 3
        assert stats["connections"] >= 1
        assert set(stats) == {
            "connections",
            "open_connections",
            "refused_connections",
            "requests",
            "unauthorized",
            "forbidden",
            "oversized",
            "busy",
            "timeouts",
            "slow_disconnects",
            "accept_errors",
        }


def test_http_sees_the_apps_world_and_the_app_sees_its_writes() -> None:
    app = brp.App()
    entity = app.request(
        {"jsonrpc": "2.0", "method": "world.spawn_entity", "params": {"components": {NAME: "a"}}}
    )["entity"]
    with app.serve(ANY_PORT) as server:
        insert = {"entity": entity, "components": {NAME: "b"}}
        written = post(
            server,
            {"jsonrpc": "2.0", "id": 1, "method": "world.insert_components", "params": insert},
        )
        assert written == {"jsonrpc": "2.0", "id": 1, "result": None}
        get = {"entity": entity, "components": [NAME], "strict": True}
        assert app.request({"jsonrpc": "2.0", "method": "world.get_components", "params": get}) == {
            NAME: "b"
        }


def test_a_websocket_watch_receives_the_state_then_a_change_made_in_python() -> None:
    sync_client = pytest.importorskip("websockets.sync.client")
    app = brp.App()
    entity = app.request(
        {"jsonrpc": "2.0", "method": "world.spawn_entity", "params": {"components": {NAME: "a"}}}
    )["entity"]
    watch = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "world.get_components+watch",
        "params": {"entity": entity, "components": [NAME], "strict": True},
    }
    with app.serve(ANY_PORT) as server:
        with sync_client.connect(f"ws://{server.address}", open_timeout=HANG_SECONDS) as ws:
            ws.send(json.dumps(watch))
            first = json.loads(ws.recv(timeout=HANG_SECONDS))
            assert first == {
                "jsonrpc": "2.0",
                "id": 9,
                "result": {"components": {NAME: "a"}, "removed": []},
            }
            insert = {"entity": entity, "components": {NAME: "b"}}
            app.request(
                {"jsonrpc": "2.0", "method": "world.insert_components", "params": insert}
            )
            second = json.loads(ws.recv(timeout=HANG_SECONDS))
            assert second == {
                "jsonrpc": "2.0",
                "id": 9,
                "result": {"components": {NAME: "b"}, "removed": []},
            }
            # The seed dialect on the same connection.
            ws.send(json.dumps({"id": 10, "request": "PING"}))
            assert json.loads(ws.recv(timeout=HANG_SECONDS)) == {
                "id": 10,
                "response": {"status": "OK"},
            }


def test_a_token_is_required_once_set() -> None:
    app = brp.App()
    ping = {"id": 1, "request": "PING"}
    with app.serve(ANY_PORT, token="s3cret") as server:
        assert status_of(server, ping, {}) == 401
        assert status_of(server, ping, {"Authorization": "Bearer wrong"}) == 401
        assert status_of(server, ping, {"Authorization": "Bearer s3cret"}) == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(server, ping)
        assert refused.value.code == 401
        refused.value.close()
        assert post(server, ping, token="s3cret")["response"] == {"status": "OK"}
        assert server.stats()["unauthorized"] == 3


def test_pages_of_other_origins_and_foreign_hosts_are_refused() -> None:
    app = brp.App()
    spawn = {"id": 1, "request": "SPAWN", "params": {"components": {}}}
    with app.serve(ANY_PORT, allowed_origins=["https://tool.example"]) as server:
        for origin in ("http://evil.example", "null"):
            headers = {"Origin": origin, "Content-Type": "text/plain"}
            assert status_of(server, spawn, headers) == 403
        assert status_of(server, spawn, {"Host": f"evil.example:{server.port}"}) == 403
        query = {"id": 2, "request": "QUERY", "params": {"data": {}}}
        assert app.request(query)["entities"] == [], "nothing ran"
        assert status_of(server, spawn, {"Origin": "https://tool.example"}) == 200
        assert server.stats()["forbidden"] == 3
    with pytest.raises(TypeError):
        app.serve(ANY_PORT, allowed_origins="https://tool.example")


def test_leaving_with_stops_the_server_and_stop_is_idempotent() -> None:
    app = brp.App()
    with app.serve(ANY_PORT) as server:
        port = server.port
        assert post(server, {"id": 1, "request": "PING"})["response"] == {"status": "OK"}
    assert refuses_connections(port)
    server.stop()
    server.stop()
    assert server.stats()["requests"] == 1
    # The app works on without it.
    assert app.request({"request": "PING"}) == {"status": "OK"}


def test_stats_answer_while_a_stop_waits_for_a_client_that_does_not_read() -> None:
    app = brp.App({"components": ["Blob"]})
    blob = {"JSON": json.dumps("x" * (2 << 20))}
    app.request({"id": 1, "request": "SPAWN", "params": {"components": {"Blob": blob}}})
    server = app.serve(ANY_PORT, stop_timeout_ms=3000)
    get = json.dumps({"id": 2, "request": "GET", "params": {"entity": "1v0", "components": ["Blob"]}})
    request = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(get)}\r\n\r\n{get}"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=HANG_SECONDS) as client:
        client.sendall(request * 20)  # 40 MB of answers, none read
        deadline = time.monotonic() + HANG_SECONDS
        while server.stats()["requests"] < 2:
            assert time.monotonic() < deadline, "the requests never ran"
            time.sleep(0.01)
        stopper, _ = in_thread(server.stop)
        while not refuses_connections(server.port):  # the stop has begun
            assert time.monotonic() < deadline, "the stop never began"
            time.sleep(0.01)
        assert server.stats()["requests"] >= 2
        assert stopper.is_alive(), "stats answered while the stop waits for the client"
        joined(stopper)


def test_stop_without_with_and_twice() -> None:
    server = brp.App().serve(ANY_PORT, max_connections=4, stop_timeout_ms=1000)
    port = server.port
    server.stop()
    server.stop()
    assert refuses_connections(port)


def test_async_with_stops_the_server_without_blocking_the_loop() -> None:
    app = brp.App()

    async def main() -> tuple[int, dict[str, Any]]:
        async with app.serve(ANY_PORT) as server:
            port = server.port
            answer = await asyncio.to_thread(post, server, {"id": 1, "request": "PING"})
        return port, answer

    port, answer = asyncio.run(asyncio.wait_for(main(), HANG_SECONDS))
    assert answer == {"id": 1, "response": {"status": "OK"}}
    assert refuses_connections(port)


@pytest.mark.parametrize(
    ("address", "limits"),
    [
        ("not an address", {}),
        ("127.0.0.1:0", {"max_connections": 0}),
        ("127.0.0.1:0", {"no_such_setting": 1}),
        ("127.0.0.1:0", {"token": ""}),
    ],
)
def test_a_bad_config_raises_invalid_params(address: str, limits: dict[str, Any]) -> None:
    with pytest.raises(brp.InvalidParams):
        brp.App().serve(address, **limits)


def test_an_address_in_use_raises_invalid_params() -> None:
    app = brp.App()
    with app.serve(ANY_PORT) as server:
        with pytest.raises(brp.InvalidParams):
            app.serve(server.address)


def test_a_parked_http_poll_answers_cancelled_when_the_server_stops() -> None:
    app = brp.App({"components": ["Position"]})
    app.spawn({"Position": 0})
    params: dict[str, Any] = {"data": {"components": ["Position"]}, "watermark": None}
    params["watermark"] = app.request({"request": "POLL", "params": params})["watermark"]
    server = app.serve(ANY_PORT)

    def poll() -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=HANG_SECONDS)
        try:
            body = json.dumps({"id": 7, "request": "POLL", "params": params})
            connection.request("POST", "/", body=body)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    thread, outcome = in_thread(poll)
    try:
        # The request is counted once read, in the same step that submits it.
        deadline = time.monotonic() + HANG_SECONDS
        while server.stats()["requests"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.stats()["requests"] == 1
    finally:
        server.stop()
    joined(thread)
    status, answer = outcome[0]
    assert status == 200
    assert answer["id"] == 7
    assert answer["error"]["code"] == brp.Cancelled.CODE == -23405


def read_line(process: subprocess.Popen[str]) -> str:
    """The process's next stdout line, waiting at most HANG_SECONDS."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        assert selector.select(HANG_SECONDS), "no line from the process"
    return process.stdout.readline()


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT to a child")
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_the_command_line_serves_until_a_signal(stop_signal: signal.Signals) -> None:
    command = [sys.executable, "-m", "brp", "serve", "--address", ANY_PORT, "--hz", "200"]
    command += ["--config", json.dumps({"components": ["Position"]})]
    command += ["--allow-origin", "https://tool.example"]
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment
    ) as process:
        try:
            line = read_line(process)
            found = re.search(r"\b(127\.0\.0\.1:\d+)\b", line)
            assert found, f"no address in {line!r}"
            address = found.group(1)
            port = int(address.rpartition(":")[2])
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=HANG_SECONDS)
            try:
                ping = '{"id": 1, "request": "PING"}'
                connection.request("POST", "/", body=ping, headers={"Origin": "http://evil.example"})
                response = connection.getresponse()
                assert response.status == 403
                response.read()
                connection.request("POST", "/", body=ping, headers={"Origin": "https://tool.example"})
                response = connection.getresponse()
                assert response.status == 200
                assert json.loads(response.read()) == {"id": 1, "response": {"status": "OK"}}
                # The App's config applies: Position is declared.
                query = {"id": 2, "request": "QUERY", "params": {"data": {"components": ["Position"]}}}
                connection.request("POST", "/", body=json.dumps(query))
                response = connection.getresponse()
                assert "response" in json.loads(response.read())
            finally:
                connection.close()
            process.send_signal(stop_signal)
            _, stderr = process.communicate(timeout=HANG_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == 0, stderr
        assert stderr == ""
    assert refuses_connections(port)


def test_the_command_line_refuses_bad_settings() -> None:
    for extra in (
        ["--hz", "0"],
        ["--config", "[1]"],
        ["--address", "nowhere"],
        ["--allow-origin", "null"],
        ["--server-config", '{"idle_timeout_ms": 0}'],
        ["--server-config", "[]"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "brp", "serve", *extra],
            capture_output=True,
            text=True,
            timeout=HANG_SECONDS,
        )
        assert done.returncode == 2, (extra, done.stderr)
        assert "usage:" in done.stderr


def test_the_command_line_documents_serve() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "brp", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=HANG_SECONDS,
    )
    assert done.returncode == 0
    for option in (
        "--address",
        "--token",
        "--config",
        "--hz",
        "--allow-origin",
        "--allow-host",
        "--server-config",
    ):
        assert option in done.stdout
