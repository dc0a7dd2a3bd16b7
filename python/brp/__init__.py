"""libbrp for Python: an embedded Bevy ECS world driven by Bevy Remote
Protocol requests, in-process.

>>> import brp
>>> app = brp.App({"components": ["Position"]})
>>> player = app.spawn({"Name": "Player", "Position": {"x": 1.0}})
>>> app.get(player, ["Position"])
{'Position': {'x': 1.0}}

The names below load on first use, so ``import brp.controller`` (the pure
Python reference controller) does not need the native module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Where each public name lives.
_HOMES = {
    "App": "brp._app",
    "AsyncSession": "brp._async",
    "PoseClient": "brp._pose",
    "Session": "brp._app",
    "Watch": "brp._watch",
    "__version__": "brp._native",
    "brp_request": "brp._app",
    **{
        name: "brp.errors"
        for name in (
            "BrpError",
            "Cancelled",
            "ComponentError",
            "ComponentNotPresent",
            "DuplicateId",
            "EntityNotFound",
            "InternalError",
            "InvalidParams",
            "InvalidRequest",
            "ParseError",
            "SelfReparent",
            "Timeout",
            "UnknownRequest",
        )
    },
}

__all__ = [
    "App",
    "AsyncSession",
    "BrpError",
    "Cancelled",
    "ComponentError",
    "ComponentNotPresent",
    "DuplicateId",
    "EntityNotFound",
    "InternalError",
    "InvalidParams",
    "InvalidRequest",
    "ParseError",
    "PoseClient",
    "SelfReparent",
    "Session",
    "Timeout",
    "UnknownRequest",
    "Watch",
    "__version__",
    "brp_request",
]

if TYPE_CHECKING:
    from brp._app import App, Session, brp_request
    from brp._async import AsyncSession
    from brp._native import __version__
    from brp._pose import PoseClient
    from brp._watch import Watch
    from brp.errors import (
        BrpError,
        Cancelled,
        ComponentError,
        ComponentNotPresent,
        DuplicateId,
        EntityNotFound,
        InternalError,
        InvalidParams,
        InvalidRequest,
        ParseError,
        SelfReparent,
        Timeout,
        UnknownRequest,
    )
else:

    def __getattr__(name: str) -> Any:
        """Loads a public name from its module on first use."""
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'brp' has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        """The module's names, including those not loaded yet."""
        return sorted({*globals(), *__all__})
