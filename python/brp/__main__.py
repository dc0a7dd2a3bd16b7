"""The command line: ``python -m brp controller ...`` and ``python -m brp demo``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> None:
    """Runs the subcommand named first in ``argv``."""
    parser = argparse.ArgumentParser(prog="python -m brp", description="libbrp tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "controller",
        help="serve poses over WebSocket (options: python -m brp controller --help)",
        add_help=False,
    )
    demo = commands.add_parser("demo", help="stream poses into an embedded world and watch them")
    demo.add_argument("--seconds", type=float, default=5.0, help="how long to run (default 5)")
    demo.add_argument("--fps", type=float, default=30.0, help="the controller's frame rate")
    args, rest = parser.parse_known_args(argv)
    if args.command == "controller":
        from brp import controller

        controller.main(rest)
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    from brp import demo as demo_module

    demo_module.main(args.seconds, args.fps)


if __name__ == "__main__":
    main(sys.argv[1:])
