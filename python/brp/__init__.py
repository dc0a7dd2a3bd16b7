"""libbrp for Python: an embedded Bevy ECS world driven by Bevy Remote
Protocol requests, in-process.

>>> import brp
>>> app = brp.App({"components": ["Position"]})
>>> player = app.spawn({"Name": "Player", "Position": {"x": 1.0}})
>>> app.get(player, ["Position"])
{'Position': {'x': 1.0}}
"""

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
