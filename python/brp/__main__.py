"""The command line: ``python -m brp controller ...``, ``python -m brp demo``
and ``python -m brp serve``."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

from brp._extras import require_controller_extra

if TYPE_CHECKING:
    from brp._app import App


def main(argv: Sequence[str] | None = None) -> None:
    """Runs the subcommand named first in ``argv``. ``controller`` and
    ``demo`` need the ``controller`` extra: without it they say how to
    install it and exit with status 2."""
    parser = argparse.ArgumentParser(prog="python -m brp", description="libbrp tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "controller",
        help="serve poses over WebSocket (options: python -m brp controller --help)",
        add_help=False,
    )
    demo = commands.add_parser(
        "demo",
        help="stream poses into an embedded world and watch them",
        description="Stream poses into an embedded world and watch them: drawn live on a "
        "terminal, as lines of text otherwise (or with --plain), or one picture (--snapshot).",
    )
    demo.add_argument("--seconds", type=float, default=5.0, help="how long to run (default 5)")
    demo.add_argument(
        "--fps", type=float, help="the controller's frame rate (default 30, or the recording's)"
    )
    demo.add_argument("--people", type=int, default=1, help="how many synthetic people (default 1)")
    demo.add_argument(
        "--recording",
        action="append",
        default=[],
        metavar="FILE",
        help="play a recording instead (upstream's or libbrp's format); once per person",
    )
    demo.add_argument(
        "--plain", action="store_true", help="print lines of landmarks instead of drawing them"
    )
    demo.add_argument(
        "--snapshot",
        metavar="OUT.svg",
        help="write the first frame with somebody in view as an SVG picture, then exit",
    )
    serve = commands.add_parser(
        "serve",
        help="serve an embedded world over HTTP and WebSocket (BRP, both dialects)",
        description="Make an App and serve it over HTTP POST and WebSocket on one address, "
        "in both BRP dialects (libbrp's and bevy_remote's JSON-RPC 2.0; docs/server.md), "
        "running its schedule (app.update()) --hz times a second. Prints one line with the "
        "address once it listens; Ctrl-C (SIGINT) or SIGTERM stops the server and exits 0.",
        epilog="example: python -m brp serve --address 127.0.0.1:0 "
        '--config \'{"components": ["Position"]}\'',
    )
    serve.add_argument(
        "--address",
        default="127.0.0.1:15702",
        help="where to listen, <ip>:<port>; port 0 picks a free one (default 127.0.0.1:15702)",
    )
    serve.add_argument(
        "--token", help="require 'Authorization: Bearer TOKEN' on every request (else HTTP 401)"
    )
    serve.add_argument(
        "--config",
        metavar="JSON",
        help='the App\'s config as a JSON object, e.g. \'{"components": ["Position"]}\'',
    )
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let pages of ORIGIN (e.g. https://tool.example) use the server; "
        "repeatable (other origins get HTTP 403; docs/server.md)",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="answer requests that name NAME in Host, besides loopback names and "
        "the bound address; repeatable (others get HTTP 403)",
    )
    serve.add_argument(
        "--server-config",
        metavar="JSON",
        help="other server settings as a JSON object (docs/server.md), "
        'e.g. \'{"idle_timeout_ms": 60000}\'',
    )
    serve.add_argument(
        "--hz", type=float, default=60.0, help="frames (app.update()) per second (default 60)"
    )
    args, rest = parser.parse_known_args(argv)
    if args.command == "controller":
        require_controller_extra("python -m brp controller")
        from brp import controller

        controller.main(rest, prog="python -m brp controller")
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "serve":
        settings = {"allowed_origins": args.allow_origin, "allowed_hosts": args.allow_host}
        settings.update(json_object(serve, "--server-config", args.server_config))
        run_server(serve, args.address, args.token, args.config, args.hz, settings)
        return
    if not args.seconds > 0 or (args.fps is not None and not args.fps > 0):
        demo.error("--seconds and --fps must be positive")
    if args.people < 1:
        demo.error("--people must be at least 1")
    if args.snapshot is not None and not args.snapshot.lower().endswith(".svg"):
        demo.error(f"--snapshot writes SVG: give a .svg path, not {args.snapshot}")
    require_controller_extra("python -m brp demo")
    from brp import controller, demo as demo_module

    try:
        source = controller.make_source(args.recording, args.people)
    except (OSError, ValueError) as error:
        demo.error(str(error))
    demo_module.main(
        args.seconds,
        args.fps,
        source=source,
        plain=True if args.plain else None,
        snapshot=args.snapshot,
    )


def json_object(parser: argparse.ArgumentParser, option: str, text: str | None) -> dict[str, Any]:
    """The JSON object ``text`` given to ``option`` (``{}`` when absent);
    anything else is a ``parser`` error."""
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except ValueError as error:
        parser.error(f"{option} is not JSON: {error}")
    if not isinstance(value, dict):
        parser.error(f"{option} must be a JSON object")
    return value


def run_server(
    parser: argparse.ArgumentParser,
    address: str,
    token: str | None,
    config_json: str | None,
    hz: float,
    settings: dict[str, Any],
) -> None:
    """``python -m brp serve``: serves a new App on ``address`` with the
    server ``settings`` and runs its schedule ``hz`` times a second until
    SIGINT or SIGTERM; bad settings are ``parser`` errors (exit status 2)."""
    if not (math.isfinite(hz) and hz > 0):
        parser.error("--hz must be a positive number")
    config = json_object(parser, "--config", config_json) if config_json is not None else None
    import brp

    try:
        app = brp.App(config)
        server = app.serve(address, token=token, **settings)
    except brp.BrpError as error:
        parser.error(str(error))
    with signals_interrupt(), server:
        try:
            print(f"brp serving on {server.address} (HTTP POST and WebSocket)", flush=True)
            run_frames(app, hz)
        except KeyboardInterrupt:
            pass
        finally:
            # Stopping (leaving `with server`) is bounded by stop_timeout_ms;
            # a signal meanwhile would only interrupt the exit.
            ignore_signals()


def run_frames(app: App, hz: float) -> None:
    """Runs ``app.update()`` ``hz`` times a second, for ever; a frame that
    runs late does not make the next ones hurry."""
    period = 1.0 / hz
    due = time.monotonic()
    while True:
        app.update()
        due += period
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            due = time.monotonic()


#: The signals that stop ``python -m brp serve``.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def interrupt(_signum: int, _frame: FrameType | None) -> None:
    """The handler of SIGTERM while serving: stops as Ctrl-C does."""
    raise KeyboardInterrupt


@contextmanager
def signals_interrupt() -> Iterator[None]:
    """While inside, SIGINT and SIGTERM raise ``KeyboardInterrupt`` (in
    the main thread; elsewhere, signals stay as they are); the handlers
    are restored on leaving."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        for number, handler in previous.items():
            # None: a handler not installed from Python, left as it is.
            if handler is not None:
                signal.signal(number, handler)


def ignore_signals() -> None:
    """Ignores SIGINT and SIGTERM (in the main thread) until
    :func:`signals_interrupt` restores them."""
    if threading.current_thread() is threading.main_thread():
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_IGN)


if __name__ == "__main__":
    main(sys.argv[1:])
