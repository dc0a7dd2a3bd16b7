"""``python -m brp``: the command line, which brp.tools.cli implements."""

from __future__ import annotations

import sys

from brp.tools.cli import main

if __name__ == "__main__":
    main(sys.argv[1:])
