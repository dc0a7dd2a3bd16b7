"""Native session calls: submit/receive, callbacks, cancel, close, App.close."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

import brp
from conftest import in_thread, joined
from brp import _native

DEADLINE = 20.0  # seconds; only to stop a hung test


def poll(id_: int, watermark: str | None, **extra: Any) -> dict[str, Any]:
    """A POLL request on ``Position``."""
    params = {"data": {"components": ["Position"]}, "watermark": watermark, **extra}
    return {"id": id_, "request": "POLL", "params": params}


def watermark(app: brp.App) -> str:
    """A watermark for ``Position`` as of now."""
    mark: str = app.request(poll(0, None))["watermark"]
    return mark


def test_parked_poll_is_woken_by_an_insert_from_another_thread(app: brp.App) -> None:
    entity = app.spawn({"Position": 0})
    mark = watermark(app)
    session = app.session()
    thread, outcome = in_thread(lambda: session.request(poll(1, mark)))
    writer, _ = in_thread(lambda: app.insert(entity, {"Position": 1}))
    joined(writer)
    joined(thread)
    assert outcome[0]["entities"] == [{"id": entity, "Position": {"JSON": "1"}}]


def test_submitted_responses_arrive_out_of_order_by_id(app: brp.App) -> None:
    entity = app.spawn({"Position": 0})
    session = app.session()
    session.submit(poll(1, watermark(app)))
    session.submit({"id": 2, "request": "PING"})
    assert session.receive(DEADLINE) == {"id": 2, "response": {"status": "OK"}}
    assert session.receive(0) is None, "the POLL is still parked"
    app.insert(entity, {"Position": 1})
    answer = session.receive(DEADLINE)
    assert answer is not None and answer["id"] == 1 and "response" in answer


def test_receive_refuses_a_negative_timeout(app: brp.App) -> None:
    with pytest.raises(ValueError, match="timeout"):
        app.session().receive(-1.0)


def test_cancel_fails_the_parked_poll(app: brp.App) -> None:
    app.spawn({"Position": 0})
    session = app.session()
    session.submit(poll(5, watermark(app)))
    assert session.cancel(5)
    assert not session.cancel(5), "nothing is parked any more"
    answer = session.receive(DEADLINE)
    assert answer is not None and answer["error"]["code"] == brp.Cancelled.CODE


def test_cancel_request_through_the_same_session(app: brp.App) -> None:
    app.spawn({"Position": 0})
    session = app.session()
    session.submit(poll(5, watermark(app)))
    assert session.request({"request": "CANCEL", "params": {"id": 5}}) == {"status": "OK"}
    answer = session.receive(DEADLINE)
    assert answer is not None and answer["id"] == 5 and "error" in answer


@pytest.mark.parametrize("closer", ["session", "app"])
def test_closing_wakes_a_parked_poll(app: brp.App, closer: str) -> None:
    app.spawn({"Position": 0})
    mark = watermark(app)
    session, blocked = app.session(), app.session()
    session.submit(poll(1, mark))  # parked when submit returns
    thread, outcome = in_thread(lambda: blocked.request(poll(1, mark)))
    # Should the blocking POLL not be parked yet, closing refuses it the same way.
    if closer == "session":
        session.close()
        blocked.close()
    else:
        app.close()
    joined(thread)
    assert isinstance(outcome[0], brp.Cancelled)
    answer = session.receive(DEADLINE)
    assert answer is not None and answer["error"]["code"] == brp.Cancelled.CODE


def test_a_closed_app_refuses_new_polls(app: brp.App) -> None:
    app.spawn({"Position": 0})
    mark = watermark(app)
    app.close()
    with pytest.raises(brp.Cancelled):
        app.request(poll(1, mark))
    app.ping()


def test_a_closed_session_refuses_requests(app: brp.App) -> None:
    with app.session() as session:
        session.ping()
    with pytest.raises(brp.Cancelled):
        session.ping()
    assert session.receive(DEADLINE) is None
    # Closed, not timed out: a timeout too long for the clock returns too.
    assert session.receive(1e15) is None


def test_callback_gets_each_response_text(app: brp.App) -> None:
    entity = app.spawn({"Position": 0})
    native = app._native.session()
    got: list[dict[str, Any]] = []
    native.set_callback(lambda text: got.append(json.loads(text)))
    native.submit(json.dumps(poll(1, watermark(app))))
    native.submit('{"id": 2, "request": "PING"}')
    assert [answer["id"] for answer in got] == [2]
    writer, _ = in_thread(lambda: app.insert(entity, {"Position": 1}))
    joined(writer)
    assert [answer["id"] for answer in got] == [2, 1], "run by the writer's thread"
    native.set_callback(None)
    native.submit('{"id": 3, "request": "PING"}')
    assert len(got) == 2
    assert native.receive(DEADLINE) is not None


def test_callback_must_be_callable(app: brp.App) -> None:
    with pytest.raises(TypeError, match="callable"):
        app._native.session().set_callback(3)  # type: ignore[arg-type]


def test_callback_exceptions_are_unraisable_not_raised(
    app: brp.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    reported: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda info: reported.append(info.exc_value))
    native = app._native.session()

    def fail(_: str) -> None:
        raise RuntimeError("callback failed")

    native.set_callback(fail)
    native.submit('{"id": 1, "request": "PING"}')
    assert len(reported) == 1 and isinstance(reported[0], RuntimeError)


def test_closing_delivers_cancellations_to_the_callback(app: brp.App) -> None:
    app.spawn({"Position": 0})
    native: _native.Session = app._native.session()
    got: list[str] = []
    native.set_callback(got.append)
    native.submit(json.dumps(poll(1, watermark(app))))
    native.close()
    assert len(got) == 1 and json.loads(got[0])["error"]["code"] == brp.Cancelled.CODE
    native.submit(json.dumps(poll(2, None)))
    refused = native.receive(DEADLINE)
    assert len(got) == 1, "a closed session queues its responses instead"
    assert refused is not None and json.loads(refused)["error"]["code"] == brp.Cancelled.CODE


def test_dropping_a_session_with_a_parked_poll_cancels_it(app: brp.App) -> None:
    app.spawn({"Position": 0})
    native = app._native.session()
    got: list[str] = []
    native.set_callback(got.append)
    native.submit(json.dumps(poll(1, watermark(app))))
    del native
    assert len(got) == 1 and "error" in got[0]
