"""The reference pose controller's former name: ``brp.controller`` is the
module :mod:`brp.tools.controller` itself, so ``from brp.controller import
Controller`` and ``python -m brp.controller`` work as they did before the
controller moved (docs/python.md, "Command line")."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from brp.tools.controller import *  # noqa: F403
elif __name__ == "__main__":
    from brp.tools._extras import require_controller_extra

    require_controller_extra("python -m brp.controller")
    importlib.import_module("brp.tools.controller").main(prog="python -m brp.controller")
else:
    # The import system hands out what sys.modules holds once this module
    # has run, and sets it as the attribute ``controller`` of ``brp``.
    sys.modules[__name__] = importlib.import_module("brp.tools.controller")
