"""Ctrl-C (SIGINT) interrupts the calls that block: each case runs in a child
Python that blocks in one call; once it is blocked, the test sends SIGINT and
the child must leave the call with KeyboardInterrupt, leaving nothing parked."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import textwrap
from typing import Any

import pytest

import brp
from conftest import in_thread, joined

DEADLINE = 20.0  # seconds; only to stop a hung test

#: Run first by every child: a world with one entity, the POLL request
#: ``parked`` that waits for its next change, and a thread that prints
#: "ready" once the main thread is blocked in a call of the package.
PRELUDE = '''
import json, os, sys, threading, time
import brp

def announce_when_blocked():
    """Prints "ready" once the main thread has stayed on one instruction of
    the package while this thread slept with the GIL released: it is then
    blocked in a native call, not about to enter it."""
    main = threading.main_thread().ident
    package = os.sep + "brp" + os.sep
    seen = None
    for _ in range(2000):
        time.sleep(0.05)
        frame = sys._current_frames().get(main)
        where = None
        if frame is not None and package in frame.f_code.co_filename:
            where = (frame.f_code, frame.f_lasti)
        if where is not None and where == seen:
            print("ready", flush=True)
            return
        seen = where

app = brp.App({"components": ["Position"]})
entity = app.spawn({"Position": 0})
POLL = {"request": "POLL", "params": {"data": {"components": ["Position"]}, "watermark": None}}
mark = app.request(POLL)["watermark"]
parked = {**POLL, "params": {**POLL["params"], "watermark": mark}}
threading.Thread(target=announce_when_blocked, daemon=True).start()
'''

#: Each case: the blocking call in ``try``, and in ``except
#: KeyboardInterrupt`` the checks that nothing is left behind; it prints
#: "clean" and lets the interrupt end the child.
CASES = {
    "session-request-poll": """
        session = app.session()
        try:
            session.request({"id": 7, **parked})
        except KeyboardInterrupt:
            assert not session.cancel(7), "the POLL stays parked"
            assert session.request({"id": 7, "request": "PING"}) == {"status": "OK"}
            print("clean", flush=True)
            raise
    """,
    "session-request-poll-text": """
        session = app.session()
        try:
            session.request(json.dumps({"id": 7, **parked}))
        except KeyboardInterrupt:
            assert not session.cancel(7), "the POLL stays parked"
            assert session.request({"id": 7, "request": "PING"}) == {"status": "OK"}
            print("clean", flush=True)
            raise
    """,
    "app-request-poll": """
        try:
            app.request(parked)
        except KeyboardInterrupt:
            app.ping()
            print("clean", flush=True)
            raise
    """,
    "brp-request-poll": """
        try:
            brp.brp_request(app, json.dumps({"id": 1, **parked}))
        except KeyboardInterrupt:
            app.ping()
            print("clean", flush=True)
            raise
    """,
    "watch-blocking-next": """
        watch = app.watch_blocking(["Position"])
        assert next(watch) == [{"id": entity, "Position": 0}]
        try:
            next(watch)
        except KeyboardInterrupt:
            app.insert(entity, {"Position": 1})
            assert next(watch) == [{"id": entity, "Position": 1}], "the watch goes on"
            print("clean", flush=True)
            raise
    """,
    "session-receive": """
        session = app.session()
        try:
            session.receive()
        except KeyboardInterrupt:
            session.submit({"id": 1, "request": "PING"})
            assert session.receive(5.0) == {"id": 1, "response": {"status": "OK"}}
            print("clean", flush=True)
            raise
    """,
    "session-receive-timeout": """
        session = app.session()
        try:
            session.receive(3600.0)
        except KeyboardInterrupt:
            session.submit({"id": 1, "request": "PING"})
            assert session.receive(5.0) == {"id": 1, "response": {"status": "OK"}}
            print("clean", flush=True)
            raise
    """,
}


def wait_for_line(child: subprocess.Popen[str]) -> str:
    """The child's next line of output; fails the test if none comes."""
    assert child.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        if not selector.select(DEADLINE):
            pytest.fail("the child did not block")
    return child.stdout.readline()


@pytest.mark.parametrize("case", sorted(CASES))
def test_sigint_interrupts_a_blocking_call(case: str) -> None:
    code = PRELUDE + textwrap.dedent(CASES[case])
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for_line(child) == "ready\n"
        os.kill(child.pid, signal.SIGINT)
        try:
            out, err = child.communicate(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{case}: still blocked after SIGINT")
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert "KeyboardInterrupt" in err, err
    assert out == "clean\n", err
    assert child.returncode == -signal.SIGINT


# The waits keep the calls' behaviour.


def parked_poll(app: brp.App, id_: int, **extra: Any) -> dict[str, Any]:
    """A POLL request on ``Position`` that waits for the next change."""
    params: dict[str, Any] = {"data": {"components": ["Position"]}, "watermark": None}
    params["watermark"] = app.request({"request": "POLL", "params": params})["watermark"]
    return {"id": id_, "request": "POLL", "params": {**params, **extra}}


def test_a_blocking_poll_shares_its_sessions_ids(app: brp.App) -> None:
    app.spawn({"Position": 0})
    session = app.session()
    session.submit(parked_poll(app, 5))
    with pytest.raises(brp.DuplicateId):
        session.request(parked_poll(app, 5))
    thread, outcome = in_thread(lambda: session.request(parked_poll(app, 6)))
    # The CANCEL reaches POLL 6 once it is parked.
    for _ in range(100_000):
        try:
            session.request({"id": 100, "request": "CANCEL", "params": {"id": 6}})
            break
        except brp.InvalidParams:
            pass  # not parked yet
    joined(thread)
    assert isinstance(outcome[0], brp.Cancelled)
    assert session.cancel(5)


def test_a_blocking_poll_answers_a_change(app: brp.App) -> None:
    entity = app.spawn({"Position": 0})
    session = app.session()
    for client in (app, session):
        thread, outcome = in_thread(lambda: client.request(parked_poll(app, 1)))
        value = len(client.__class__.__name__)
        writer, _ = in_thread(lambda: app.insert(entity, {"Position": value}))
        joined(writer)
        joined(thread)
        assert outcome[0]["entities"] == [{"id": entity, "Position": {"JSON": str(value)}}]


def test_a_sessionless_poll_is_not_held_to_the_session_limit() -> None:
    app = brp.App({"components": ["Position"], "max_parked_polls_per_session": 0})
    app.spawn({"Position": 0})
    with pytest.raises(brp.InvalidRequest):
        app.session().request(parked_poll(app, 1, timeout_ms=1))
    with pytest.raises(brp.Timeout):
        app.request(parked_poll(app, 1, timeout_ms=1))


def test_app_close_cancels_a_blocking_sessionless_poll(app: brp.App) -> None:
    app.spawn({"Position": 0})
    request = parked_poll(app, 1)
    thread, outcome = in_thread(lambda: app.request(request))
    # Until the POLL parks, closing refuses it the same way.
    app.close()
    joined(thread)
    assert isinstance(outcome[0], brp.Cancelled)


def test_receive_without_a_timeout_ends_when_the_session_closes(app: brp.App) -> None:
    session = app.session()
    thread, outcome = in_thread(session.receive)
    session.close()
    joined(thread)
    assert outcome == [None]


def test_receive_gives_none_on_timeout_and_the_response_when_there_is_one(app: brp.App) -> None:
    session = app.session()
    assert session.receive(0.05) is None
    session.submit({"id": 3, "request": "PING"})
    assert session.receive(3600.0) == {"id": 3, "response": {"status": "OK"}}
    session.close()
    assert session.receive(3600.0) is None
