"""The native module of libbrp: thin handles on the Rust core.

Use the package ``brp``; this module is private.
"""

from collections.abc import Callable
from typing import Any, final

__all__ = ["__version__", "App", "Session", "PoseClient", "Server", "ERROR_CODES"]

__version__: str

#: The core's error-code table: ``(code, name, meaning)`` per code, in order.
ERROR_CODES: tuple[tuple[int, str, str], ...]

# One constant per code of ERROR_CODES, named as it is there (``brp.errors``
# gives each its exception class). The module sets them outside ``__all__``.
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
TIMEOUT: int
RESOURCE_ERROR: int
RESOURCE_NOT_PRESENT: int

@final
class App:
    """An embedded Bevy world that answers BRP requests."""

    def __new__(cls, config_json: str | None = None) -> App: ...
    def request(self, request_json: str) -> str:
        """Answers one request's JSON text with the response's JSON text;
        ``KeyboardInterrupt`` ends a POLL's wait and cancels it."""
    def declare_component(self, name: str) -> None:
        """Declares a dynamic component called ``name``."""
    def update(self) -> None:
        """Runs the world's schedule once."""
    def session(self) -> Session:
        """A new session: its own request-id scope on this world."""
    def close(self) -> None:
        """Cancels every parked POLL and refuses new ones."""
    def serve(self, config_json: str | None = None) -> Server:
        """Starts an HTTP and WebSocket server of this world (``ServerConfig`` JSON)."""
    def push_pose(self, frame: bytes, target_json: str | None = None) -> None:
        """Applies one controller frame (FlatBuffers or JSON bytes) to the target."""

@final
class Session:
    """One client's request-id scope on an ``App``."""

    def request(self, request_json: str) -> str:
        """Answers one request's JSON text, like ``App.request``."""
    def submit(self, request_json: str) -> None:
        """Submits one request; its response comes from ``receive`` or the callback."""
    def try_submit(self, request_json: str) -> str | None:
        """``submit``, but returns the answer of a request refused before it
        is carried out (unreadable, id in flight, session closed)."""
    def receive(self, timeout: float | None = None) -> str | None:
        """The next submitted response's JSON text, or ``None`` on timeout or
        close; ``KeyboardInterrupt`` ends the wait."""
    def set_callback(self, callback: Callable[[str], object] | None) -> None:
        """Sends each submitted response's JSON text to ``callback``."""
    def cancel(self, id: int) -> bool:
        """Cancels this session's parked POLL ``id``."""
    def close(self) -> None:
        """Cancels parked POLLs, refuses requests, waits for running callbacks."""

@final
class PoseClient:
    """A pose stream from one controller into one ``App``."""

    def __new__(
        cls,
        app: App,
        config_json: str,
        on_frame: Callable[[dict[str, Any]], object] | None = None,
    ) -> PoseClient: ...
    def stats(self) -> dict[str, Any]:
        """The statistics as of now."""
    def wait_connected(self, timeout: float) -> bool:
        """Waits up to ``timeout`` seconds for the connection; whether it is up."""
    def stop(self) -> None:
        """Disconnects and stops."""

@final
class Server:
    """An HTTP and WebSocket server of one ``App``'s world, made by ``App.serve``."""

    def address(self) -> str:
        """Where it listens, ``"<ip>:<port>"``."""
    def stats(self) -> dict[str, int]:
        """Its counters as of now."""
    def stop(self) -> None:
        """Stops it, cancelling its connections' parked requests; idempotent."""
