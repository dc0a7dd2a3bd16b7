"""libbrp for Python: an embedded Bevy ECS world driven by Bevy Remote
Protocol requests, in-process.

>>> import brp
>>> app = brp.App({"components": ["Position"]})
>>> player = app.spawn({"Name": "Player", "Position": {"x": 1.0}})
>>> app.get(player, ["Position"])
{'Position': {'x': 1.0}}

The names below load on first use, so ``import brp.tools.controller`` (the
pure Python reference controller) does not need the native module. The
tools (the controller, the demo, the command line) are the subpackage
:mod:`brp.tools`; ``brp.controller`` is the controller under its former name.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Where each public name lives, but for the exceptions: those are the
#: classes brp.errors exports, one per error code of the native table.
_HOMES = {
    "App": "brp._app",
    "AsyncSession": "brp._async",
    "Stream": "brp._async",
    "PoseClient": "brp._pose",
    "Server": "brp._server",
    "Session": "brp._app",
    "Watch": "brp._watch",
    "__version__": "brp._native",
    "brp_request": "brp._app",
    "module_app": "brp._app",
}

if TYPE_CHECKING:
    # For type checkers, which cannot follow the lazy loading below: the
    # public names, each re-exported as itself.
    from brp._app import App as App
    from brp._app import Session as Session
    from brp._app import brp_request as brp_request
    from brp._app import module_app as module_app
    from brp._async import AsyncSession as AsyncSession
    from brp._async import Stream as Stream
    from brp._native import __version__ as __version__
    from brp._pose import PoseClient as PoseClient
    from brp._server import Server as Server
    from brp._watch import Watch as Watch
    from brp.errors import BrpError as BrpError
    from brp.errors import Cancelled as Cancelled
    from brp.errors import ComponentError as ComponentError
    from brp.errors import ComponentNotPresent as ComponentNotPresent
    from brp.errors import DuplicateId as DuplicateId
    from brp.errors import EntityNotFound as EntityNotFound
    from brp.errors import InternalError as InternalError
    from brp.errors import InvalidParams as InvalidParams
    from brp.errors import InvalidRequest as InvalidRequest
    from brp.errors import ParseError as ParseError
    from brp.errors import ResourceError as ResourceError
    from brp.errors import ResourceNotPresent as ResourceNotPresent
    from brp.errors import SelfReparent as SelfReparent
    from brp.errors import Timeout as Timeout
    from brp.errors import UnknownRequest as UnknownRequest

    __all__: list[str]
else:

    def _exceptions() -> tuple[str, ...]:
        """The names of the exceptions (this loads the native module)."""
        return importlib.import_module("brp.errors")._EXCEPTIONS

    def __getattr__(name: str) -> Any:
        """Loads a public name from its module on first use; ``__all__``
        too, as it lists the exceptions."""
        if name == "__all__":
            value: Any = sorted([*_HOMES, *_exceptions()])
        else:
            home = _HOMES.get(name)
            # Exceptions are capitalised; other names (submodules such as
            # ``tools`` and ``controller``) are left to the import system, so
            # that ``from brp import tools`` does not load the native module.
            if home is None and name[:1].isupper() and name in _exceptions():
                home = "brp.errors"
            if home is None:
                raise AttributeError(f"module 'brp' has no attribute {name!r}")
            value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        """The module's names, including those not loaded yet."""
        return sorted({*globals(), *_HOMES, *_exceptions()})
