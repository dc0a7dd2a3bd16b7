"""The native module of libbrp: thin handles on the Rust core.

Use the package ``brp``; this module is private.
"""

from typing import final

__all__ = [
    "__version__",
    "App",
    "Session",
    "PARSE_ERROR",
    "INVALID_REQUEST",
    "UNKNOWN_REQUEST",
    "INVALID_PARAMS",
    "INTERNAL_ERROR",
    "ENTITY_NOT_FOUND",
    "COMPONENT_ERROR",
    "COMPONENT_NOT_PRESENT",
    "SELF_REPARENT",
    "CANCELLED",
    "DUPLICATE_ID",
]

__version__: str

PARSE_ERROR: int
INVALID_REQUEST: int
UNKNOWN_REQUEST: int
INVALID_PARAMS: int
INTERNAL_ERROR: int
ENTITY_NOT_FOUND: int
COMPONENT_ERROR: int
COMPONENT_NOT_PRESENT: int
SELF_REPARENT: int
CANCELLED: int
DUPLICATE_ID: int

@final
class App:
    """An embedded Bevy world that answers BRP requests."""

    def __new__(cls, config_json: str | None = None) -> App: ...
    def request(self, request_json: str) -> str:
        """Answers one request's JSON text with the response's JSON text."""
    def declare_component(self, name: str) -> None:
        """Declares a dynamic component called ``name``."""
    def update(self) -> None:
        """Runs the world's schedule once."""
    def session(self) -> Session:
        """A new session: its own request-id scope on this world."""

@final
class Session:
    """One client's request-id scope on an ``App``."""

    def request(self, request_json: str) -> str:
        """Answers one request's JSON text, like ``App.request``."""
