"""libbrp's log messages in Python's ``logging``: a pose client's records
reach the logger ``brp.pose`` at their levels, levels set at any time
apply, and nothing is printed unless the program configures logging."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys

import pytest

import brp

DEADLINE = 20.0  # seconds; only to stop a hung test


def closed_port() -> int:
    """A port of 127.0.0.1 that nothing listens on (it was free a moment
    ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def refused(app: brp.App, port: int) -> None:
    """Runs a client that cannot connect until it gives up, and closes it."""
    url = f"ws://127.0.0.1:{port}/?token=s3cret"
    with brp.PoseClient(app, url, reconnect=False) as client:
        assert not client.wait_connected(DEADLINE)  # False once it stopped
        assert client.stats()["state"] == "stopped"


def pose_records(caplog: pytest.LogCaptureFixture, port: int) -> list[logging.LogRecord]:
    """The records of logger ``brp.pose`` about the client of ``port``."""
    prefix = f"ws://127.0.0.1:{port}/: "
    return [
        r for r in caplog.records if r.name == "brp.pose" and r.getMessage().startswith(prefix)
    ]


def test_a_refused_connection_is_logged_on_brp_pose(
    app: brp.App, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG, logger="brp")
    port = closed_port()
    refused(app, port)
    records = pose_records(caplog, port)
    levels = {(r.levelno, r.getMessage().split(": ", 1)[1].split(":")[0]) for r in records}
    assert (logging.DEBUG, "connecting (attempt 1)") in levels, records
    assert (logging.WARNING, "cannot connect") in levels, records
    assert (logging.INFO, "stopped") in levels, records
    warning = next(r for r in records if r.levelno == logging.WARNING)
    assert warning.getMessage().endswith("; not reconnecting (reconnect is off)")
    assert not any("s3cret" in r.getMessage() for r in caplog.records)
    # caplog's handler took them; nothing was printed, by Python or Rust.
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_a_level_set_later_applies_at_once(
    app: brp.App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="brp")
    quiet = closed_port()
    refused(app, quiet)
    assert {r.levelno for r in pose_records(caplog, quiet)} == {logging.WARNING}

    caplog.set_level(logging.DEBUG, logger="brp")
    chatty = closed_port()
    refused(app, chatty)
    levels = {r.levelno for r in pose_records(caplog, chatty)}
    assert levels == {logging.DEBUG, logging.INFO, logging.WARNING}


UNCONFIGURED = """
import logging, socket
import brp

with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
with brp.PoseClient(brp.App(), f"ws://127.0.0.1:{port}", reconnect=False) as client:
    assert not client.wait_connected(20)
assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("brp").handlers)
"""


def test_nothing_is_printed_without_logging_configured() -> None:
    # Python would print warnings of loggers without handlers to stderr.
    result = subprocess.run(
        [sys.executable, "-c", UNCONFIGURED],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 2,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


WHILE_EXITING = """
import logging, socket, sys
import brp

logging.basicConfig(level=logging.DEBUG, stream=sys.stdout)
with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
# Left running: it retries (and logs) while the interpreter exits.
client = brp.PoseClient(brp.App(), f"ws://127.0.0.1:{port}", backoff={"initial_ms": 1, "max_ms": 2})
client.wait_connected(0.2)
print("exiting")
"""


def test_a_client_logging_while_the_interpreter_exits_does_not_hang() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WHILE_EXITING],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 2,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "brp.pose" in result.stdout and "exiting" in result.stdout
