"""Poses in Python: push_pose, PoseClient against the reference controller,
and the command line."""

from __future__ import annotations

import ast
import asyncio
import base64
import concurrent.futures
import contextlib
import hashlib
import inspect
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import brp
from brp.tools.controller import Controller, Landmark, Pose, encode

DEADLINE = 20.0  # seconds; only to stop a hung test


def landmarks(app: brp.App, entity: str) -> list[dict[str, float]]:
    """The landmarks of ``entity``'s ``PoseLandmarks``."""
    found: list[dict[str, float]] = app.get(entity, ["PoseLandmarks"])["PoseLandmarks"][
        "landmarks"
    ]
    return found


#: A still landmark, to fill a pose up to MediaPipe's 33, the landmark count
#: libbrp requires by default (docs/pose.md, "Target mapping").
STILL = {"x": 0.5, "y": 0.5, "z": 0.0}


def full(*first: dict[str, Any]) -> list[dict[str, Any]]:
    """33 landmarks: ``first``, then still ones."""
    return [*first, *[STILL] * (33 - len(first))]


def player(app: brp.App) -> str:
    """The id of the entity named Player."""
    rows = app.query(["Name"])
    found: str = next(row["id"] for row in rows if row["Name"] == "Player")
    return found


def test_pose_components_are_known_before_the_first_pose(app: brp.App) -> None:
    assert app.query(["PoseLandmarks"], has=["PoseNotDetected"]) == []


def test_push_pose_flatbuffers_lands_on_the_player(app: brp.App) -> None:
    still = [Landmark(0.5, 0.5, 0.0, 0.0, 0.0)] * 32
    app.push_pose(encode(Pose(1.5, [Landmark(0.25, 0.5, -0.125, 0.75, 1.0), *still], 7, 123)))
    pose = app.get(player(app), ["PoseLandmarks"])["PoseLandmarks"]
    assert pose["timestamp"] == 1.5 and pose["sequence"] == 7
    assert pose["capture_time_ns"] == 123
    assert len(pose["landmarks"]) == 33
    assert pose["landmarks"][0] == {
        "x": 0.25,
        "y": 0.5,
        "z": -0.125,
        "visibility": 0.75,
        "presence": 1.0,
    }


@pytest.mark.parametrize("as_text", [True, False])
def test_push_pose_json_text_or_mapping(app: brp.App, as_text: bool) -> None:
    frame = {"timestamp": 2.0, "landmarks": full({"x": 0.5, "y": 0.25, "z": 0.0})}
    app.push_pose(json.dumps(frame) if as_text else frame)
    assert landmarks(app, player(app))[0]["y"] == 0.25


@pytest.mark.parametrize("frame", [encode(None), '{"Empty": {}}'])
def test_push_pose_empty_marks_the_target_not_detected(app: brp.App, frame: bytes | str) -> None:
    app.push_pose({"timestamp": 1.0, "landmarks": full()})
    app.push_pose(frame)
    rows = app.query(["Name"], has=["PoseLandmarks", "PoseNotDetected"])
    assert rows == [
        {"id": player(app), "Name": "Player", "PoseLandmarks": False, "PoseNotDetected": True}
    ]


def test_push_pose_to_an_entity_target(app: brp.App) -> None:
    entity = app.spawn({"Position": 0})
    app.push_pose({"timestamp": 1.0, "landmarks": full({"x": 1, "y": 1, "z": 1})}, entity)
    assert landmarks(app, entity)[0]["x"] == 1
    app.push_pose({"timestamp": 1.0, "landmarks": full()}, {"name": "Hero"})
    assert [row["Name"] for row in app.query(["Name"], with_=["PoseLandmarks"])] == ["Hero"]


def test_push_pose_refuses_bad_frames_and_targets(app: brp.App) -> None:
    with pytest.raises(brp.InvalidParams):
        app.push_pose(b"\x00\x01 not a frame")
    with pytest.raises(brp.InvalidParams):
        app.push_pose({"landmarks": []})
    with pytest.raises(brp.InvalidParams, match="expected 33 landmarks"):
        app.push_pose({"timestamp": 1.0, "landmarks": []})
    with pytest.raises(brp.EntityNotFound):
        app.push_pose({"timestamp": 1.0, "landmarks": full()}, "99v0")
    with pytest.raises(brp.InvalidParams):
        app.push_pose({"timestamp": 1.0, "landmarks": full()}, {"nobody": "x"})
    with pytest.raises(TypeError):
        app.push_pose(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        app.push_pose("{}", 3)  # type: ignore[arg-type]


def test_push_pose_refuses_the_worlds_hidden_entity(app: brp.App) -> None:
    with pytest.raises(brp.EntityNotFound):
        app.get("0v0", ["Name"])  # GET hides it
    frames: list[dict[str, Any]] = [{"timestamp": 1.0, "landmarks": full()}, {"Empty": {}}]
    for frame in frames:
        with pytest.raises(brp.EntityNotFound, match="entity 0v0 does not exist"):
            app.push_pose(frame, "0v0")


@pytest.mark.parametrize(
    "landmark",
    [
        {"x": 1e300, "y": 0, "z": 0},
        {"x": 0, "y": -1e39, "z": 0},
        {"x": 0, "y": 0, "z": 0, "availability": {"presence": 3.5e38}},
    ],
)
def test_push_pose_refuses_numbers_beyond_float(app: brp.App, landmark: dict[str, Any]) -> None:
    with pytest.raises(brp.InvalidParams, match="out of range for a 32-bit float"):
        app.push_pose({"timestamp": 1.0, "landmarks": full(landmark)})
    assert app.query(["PoseLandmarks"]) == []


def test_push_pose_errors_say_what_was_expected_and_quote_little(app: brp.App) -> None:
    with pytest.raises(brp.InvalidParams) as empty:
        app.push_pose(b"")
    assert empty.value.message == "malformed pose frame: the frame is empty (0 bytes)"
    lists: list[str | bytes] = ["[]", b" [1, 2]"]
    for text in lists:
        with pytest.raises(brp.InvalidParams, match="expected a JSON object .*got a list"):
            app.push_pose(text)
    long = "y" * 10_000
    frames: list[dict[str, Any]] = [
        {"timestamp": long, "landmarks": []},
        {"timestamp": 1, "landmarks": [{"x": long, "y": 0, "z": 0}]},
        {"timestamp": 1, "landmarks": [], "sequence": long},
    ]
    for frame in frames:
        with pytest.raises(brp.InvalidParams) as refused:
            app.push_pose(frame)
        assert len(refused.value.message) < 300 and "y" * 81 not in refused.value.message


@contextlib.contextmanager
def serving(controller: Controller) -> Iterator[int]:
    """Runs ``controller`` on 127.0.0.1 in a thread; yields its port."""
    port: concurrent.futures.Future[int] = concurrent.futures.Future()
    stop: concurrent.futures.Future[asyncio.Event] = concurrent.futures.Future()

    async def serve() -> None:
        stopped = asyncio.Event()
        async with controller.serving("127.0.0.1", 0) as bound:
            stop.set_result(stopped)
            port.set_result(bound)
            await stopped.wait()

    def run() -> None:
        loop = asyncio.new_event_loop()
        loop_ready.set_result(loop)
        loop.run_until_complete(serve())
        loop.close()

    loop_ready: concurrent.futures.Future[asyncio.AbstractEventLoop] = concurrent.futures.Future()
    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield port.result(DEADLINE)
    finally:
        loop = loop_ready.result(DEADLINE)
        loop.call_soon_threadsafe(stop.result(DEADLINE).set)
        thread.join(DEADLINE)


def wait_for(check: Callable[[], bool], what: str) -> None:
    """Waits (bounded) until ``check()`` is true."""
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.01)


def test_pose_client_streams_the_controller_into_the_world(app: brp.App) -> None:
    with serving(Controller(fps=100)) as port:
        with brp.PoseClient(app, f"ws://127.0.0.1:{port}", connect_timeout=5) as client:
            assert client.wait_connected(DEADLINE)
            wait_for(lambda: client.stats()["frames_applied"] >= 3, "three poses applied")
            assert len(landmarks(app, player(app))) == 33
            stats = client.stats()
            assert stats["state"] == "connected" and stats["connections"] == 1
            assert stats["frames_received"] >= stats["frames_applied"] >= 3
            assert stats["decode_errors"] == 0 and stats["last_error"] is None
        assert client.stats()["state"] == "stopped"
        applied = client.stats()["frames_applied"]
        client.close()
        assert client.stats()["frames_applied"] == applied


def test_pose_client_sends_headers_and_lands_on_its_target(app: brp.App) -> None:
    entity = app.spawn({"Position": 0})
    with serving(Controller(fps=100, auth="k")) as port:
        url = f"ws://127.0.0.1:{port}"
        with brp.PoseClient(app, url, headers={"Authorization": "k"}, target=entity) as client:
            assert client.wait_connected(DEADLINE)
            wait_for(lambda: client.stats()["frames_applied"] >= 1, "a pose applied")
        assert len(landmarks(app, entity)) == 33


def test_on_frame_receives_a_dict_per_applied_frame(app: brp.App) -> None:
    events: list[dict[str, Any]] = []
    answers: list[object] = []

    def on_frame(event: dict[str, Any]) -> None:
        if not answers:
            answers.append(app.query(["PoseLandmarks"]))  # the world is not locked
        events.append(event)

    with serving(Controller(fps=100)) as port:
        url = f"ws://127.0.0.1:{port}"
        with brp.PoseClient(app, url, on_frame=on_frame) as client:
            wait_for(lambda: len(events) >= 3, "three frames observed")
        assert len(events) == client.stats()["frames_applied"]
        count = len(events)
        time.sleep(0.05)
        assert len(events) == count, "no call after close"
    assert len(answers) == 1
    sequences = [event["sequence"] for event in events]
    assert sequences == sorted(sequences)
    assert all(
        set(event) == {"detected", "sequence", "timestamp", "capture_time_ns", "latency_ms"}
        for event in events
    )
    assert all(event["detected"] is True for event in events)


def test_on_frame_exceptions_are_unraisable(app: brp.App, monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: reported.append(info.exc_value))

    def on_frame(_: dict[str, object]) -> None:
        raise RuntimeError("observer failed")

    with serving(Controller(fps=100)) as port:
        with brp.PoseClient(app, f"ws://127.0.0.1:{port}", on_frame=on_frame) as client:
            wait_for(lambda: len(reported) >= 2, "two failures reported")
            assert client.stats()["state"] == "connected"
    assert isinstance(reported[0], RuntimeError)
    with pytest.raises(TypeError):
        brp.PoseClient(app, "ws://127.0.0.1:1", on_frame=3)  # type: ignore[arg-type]


WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def websocket_handshake(conn: socket.socket) -> None:
    """Answers a client's opening handshake on ``conn`` (RFC 6455)."""
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = conn.recv(4096)
        assert chunk and len(request) < 65536, "a handshake"
        request += chunk
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + WEBSOCKET_GUID.encode()).digest())
    conn.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


@contextlib.contextmanager
def silent_controller(text: str) -> Iterator[int]:
    """A WebSocket server on 127.0.0.1 that sends each client ``text`` in one
    text frame, then neither sends nor reads anything (so it answers no
    ping) while the connection stays open; yields its port."""
    payload = text.encode()
    assert len(payload) < 65536
    # A final text frame, unmasked, with a 16-bit length.
    frame = bytes([0x81, 126]) + len(payload).to_bytes(2, "big") + payload
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    done = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(conn)
            conn.settimeout(DEADLINE)
            with contextlib.suppress(OSError, AssertionError, StopIteration):
                websocket_handshake(conn)
                conn.sendall(frame)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        done.set()
        thread.join(DEADLINE)
        for conn in accepted:
            conn.close()
        listener.close()


def test_a_silent_controller_is_noticed_and_the_client_reconnects(app: brp.App) -> None:
    pose = json.dumps({"timestamp": 1.0, "landmarks": full()})
    with silent_controller(pose) as port:
        with brp.PoseClient(
            app,
            f"ws://127.0.0.1:{port}",
            ping_interval=0.05,
            idle_timeout=0.5,
            backoff={"initial_ms": 10, "max_ms": 100},
        ) as client:
            wait_for(lambda: client.stats()["idle_timeouts"] >= 1, "the silence is noticed")
            stats = client.stats()
            assert "idle timeout" in stats["last_error"], stats
            assert stats["frames_applied"] >= 1
            wait_for(lambda: client.stats()["connections"] >= 2, "a new connection")
        assert landmarks(app, player(app))[0]["x"] == 0.5


def test_pose_client_ping_and_idle_settings(app: brp.App) -> None:
    url = "ws://127.0.0.1:1"
    with pytest.raises(brp.InvalidParams, match="ping_interval_ms must be shorter"):
        brp.PoseClient(app, url, ping_interval=1.0, idle_timeout=1.0)
    with brp.PoseClient(app, url, ping_interval=0, idle_timeout=0, reconnect=False) as client:
        assert client.stats()["idle_timeouts"] == 0


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_wait_connected_is_false_for_a_closed_port(app: brp.App) -> None:
    url = f"ws://127.0.0.1:{closed_port()}"
    with brp.PoseClient(app, url, reconnect=False) as client:
        assert not client.wait_connected(DEADLINE)
        assert client.stats()["last_error"]
    with brp.PoseClient(app, url, backoff={"initial_ms": 1, "max_ms": 2}) as client:
        assert not client.wait_connected(0.05)


def test_pose_client_refuses_bad_settings(app: brp.App) -> None:
    with pytest.raises(brp.InvalidParams):
        brp.PoseClient(app, "ws://127.0.0.1:1", max_message_size=0)
    with pytest.raises(brp.InvalidParams):
        brp.PoseClient(app, "ws://127.0.0.1:1", backoff={"unknown": 1})
    with pytest.raises(TypeError):
        brp.PoseClient(object(), "ws://127.0.0.1:1")  # type: ignore[arg-type]
    client = brp.PoseClient(app, "ws://127.0.0.1:1", reconnect=False)
    with pytest.raises(ValueError, match="timeout"):
        client.wait_connected(-1)
    client.close()


def test_demo_runs_and_exits_zero() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "brp", "demo", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 3,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "controller serving on ws://127.0.0.1:" in result.stdout
    assert "stats: " in result.stdout


def test_cli_delegates_to_the_controller() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "brp", "controller", "--help"],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 3,
        check=False,
    )
    assert result.returncode == 0 and "--fps" in result.stdout


@pytest.mark.parametrize("args", [["demo", "--seconds", "0"], ["demo", "--bogus"], []])
def test_cli_refuses_bad_arguments(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "brp", *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 3,
        check=False,
    )
    assert result.returncode != 0


@pytest.mark.parametrize(
    "statement",
    ["import brp.controller", "from brp import controller", "import brp.tools.controller"],
)
def test_the_controller_imports_without_the_native_module(statement: str) -> None:
    code = f"import sys; {statement}; assert 'brp._native' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=DEADLINE)
    assert result.returncode == 0, result.stderr


def test_the_controllers_former_name_is_the_same_module() -> None:
    import brp.controller
    import brp.tools.controller
    from brp import controller
    from brp.controller import Controller as Former

    assert brp.controller is brp.tools.controller is controller
    assert Former is Controller


@pytest.mark.parametrize("module", ["brp.controller", "brp.tools.controller"])
def test_the_controller_runs_under_either_name(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 3,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m {module} ") and "--fps" in result.stdout


def test_public_names_load_on_first_use() -> None:
    exceptions = {"BrpError", *(cls.__name__ for cls in brp.BrpError.__subclasses__())}
    assert set(brp.__all__) == set(brp._HOMES) | exceptions
    assert set(brp.__all__) <= set(dir(brp))
    assert all(getattr(brp, name) is not None for name in brp.__all__)
    with pytest.raises(AttributeError):
        brp.Nothing  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError):
        brp.error_from_json  # type: ignore[attr-defined]  # noqa: B018


def test_type_checkers_see_the_public_names() -> None:
    """The names ``brp`` imports for type checkers are those it exports."""
    tree = ast.parse(inspect.getsource(brp))
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    imported = [
        alias.asname
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.asname == alias.name
    ]
    assert sorted(imported) == sorted(brp.__all__)


def test_star_import_gives_the_public_names() -> None:
    namespace: dict[str, object] = {}
    exec("from brp import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(brp.__all__)


BINDING_ONLY = """
import sys
import brp, brp.errors
for name in brp.__all__:
    getattr(brp, name)
with brp.App() as app:
    app.ping()
tools = [name for name in sys.modules if name.startswith(("brp.tools", "brp.controller"))]
assert not tools, tools
"""


def test_the_binding_loads_none_of_the_tools() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BINDING_ONLY], capture_output=True, text=True, timeout=DEADLINE
    )
    assert result.returncode == 0, result.stderr


DROP_WHILE_CALLBACKS_RUN = """
import asyncio, json, sys, threading, time
import brp
from brp.tools.controller import Controller

async def main():
    app = brp.App()
    async with Controller(fps=200).serving("127.0.0.1", 0) as port:
        client = brp.PoseClient(app, f"ws://127.0.0.1:{port}")
        seen = 0
        async for _ in app.watch(["PoseLandmarks"], changed=["PoseLandmarks"]):
            seen += 1
            if seen == 20:
                break
        native = app._native.session()
        woken = threading.Event()
        ids = iter(range(2, 1 << 30))
        def again(text):
            if threading.current_thread() is not threading.main_thread():
                woken.set()
            time.sleep(0.05)  # keeps the applier thread in callbacks
            answer = json.loads(text)
            if "error" in answer:
                return  # cancelled by close
            mark = answer["response"]["watermark"]
            native.submit(json.dumps({"id": next(ids), "request": "POLL", "params": {
                "data": {"components": ["PoseLandmarks"]}, "watermark": mark}}))
        native.set_callback(again)
        native.submit('{"id": 1, "request": "POLL", "params": {"data": {"components": ["PoseLandmarks"]}}}')
        await asyncio.to_thread(woken.wait)
        await asyncio.sleep(0.2)  # poses now keep the applier thread in callbacks
        del client  # stops while the applier thread runs callbacks
        native.close()

asyncio.run(main())
print("done")
"""


def test_dropping_a_client_whose_poses_run_callbacks_does_not_hang() -> None:
    result = subprocess.run(
        [sys.executable, "-c", DROP_WHILE_CALLBACKS_RUN],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 3,
        check=False,
    )
    assert result.returncode == 0 and "done" in result.stdout, result.stderr


STOP_WHILE_ON_FRAME_READS_STATS = """
import asyncio, os, sys, threading, time
import brp
from brp.tools.controller import Controller

WAIT = 20  # seconds; only to stop a hang

async def main():
    app = brp.App()
    async with Controller(fps=100).serving("127.0.0.1", 0) as port:
        entered, stopping = threading.Event(), threading.Event()
        seen, holder = [], []
        def on_frame(event):
            if not holder or entered.is_set():
                return
            entered.set()
            stopping.wait(WAIT)
            time.sleep(0.1)  # lets close() reach its wait for this frame
            seen.append(holder[0].stats())
        holder.append(brp.PoseClient(app, f"ws://127.0.0.1:{port}", on_frame=on_frame))
        await asyncio.to_thread(entered.wait, WAIT)
        def stop():
            stopping.set()
            holder[0].close()
            seen.append("closed")
        closer = threading.Thread(target=stop, daemon=True)
        closer.start()
        await asyncio.to_thread(closer.join, WAIT)
        if closer.is_alive():
            print("close() never returned: deadlock", flush=True)
            os._exit(3)
        assert len(seen) == 2 and seen[1] == "closed", seen
        assert seen[0]["frames_applied"] >= 1, seen
        assert holder[0].stats()["state"] == "stopped"

asyncio.run(main())
print("done")
"""


def test_close_while_on_frame_reads_the_stats_does_not_deadlock() -> None:
    result = subprocess.run(
        [sys.executable, "-c", STOP_WHILE_ON_FRAME_READS_STATS],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 3,
        check=False,
    )
    assert result.returncode == 0 and "done" in result.stdout, result.stdout + result.stderr
