"""The command line: ``python -m brp controller ...`` and ``python -m brp demo``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from brp._extras import require_controller_extra


def main(argv: Sequence[str] | None = None) -> None:
    """Runs the subcommand named first in ``argv``. Both need the
    ``controller`` extra: without it they say how to install it and exit
    with status 2."""
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
    args, rest = parser.parse_known_args(argv)
    if args.command == "controller":
        require_controller_extra("python -m brp controller")
        from brp import controller

        controller.main(rest, prog="python -m brp controller")
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
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


if __name__ == "__main__":
    main(sys.argv[1:])
