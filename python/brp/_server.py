""":class:`Server`: an :class:`~brp.App`'s world served over HTTP and WebSocket."""

from __future__ import annotations

import asyncio
from brp import _native


class Server:
    """A running HTTP and WebSocket server of one :class:`~brp.App`'s world,
    made by :meth:`App.serve <brp.App.serve>`; docs/server.md has the
    protocol. It answers both dialects (libbrp's ``{"id", "request",
    "params"}`` and bevy_remote's JSON-RPC 2.0) on one address, from a thread
    of its own, through sessions on the app's world.

    ``with app.serve() as server:`` stops it on leaving the block; ``async
    with`` does the same without blocking the event loop. Also stopped when
    garbage collected.
    """

    def __init__(self, native: _native.Server) -> None:
        self._native = native
        self._address = native.address()

    def __repr__(self) -> str:
        return f"<brp.Server {self._address}>"

    @property
    def address(self) -> str:
        """Where it listens, ``"<ip>:<port>"`` (the port picked for port 0),
        e.g. ``"127.0.0.1:15702"``."""
        return self._address

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._address.rpartition(":")[2])

    def stats(self) -> dict[str, int]:
        """What it has done so far: ``connections`` (accepted),
        ``open_connections``, ``refused_connections`` (over
        ``max_connections``), ``requests``, ``unauthorized``, ``forbidden``
        (Origin or Host refused), ``oversized``, ``busy``
        (``max_request_bytes_total`` held), ``timeouts``,
        ``slow_disconnects`` and ``accept_errors`` (docs/server.md). Works
        after :meth:`stop`."""
        return self._native.stats()

    def stop(self) -> None:
        """Stops accepting, cancels the parked POLLs and watches of its
        connections (they answer :class:`~brp.Cancelled`, -23405), and
        returns once every connection is closed or ``stop_timeout_ms`` has
        passed. Blocks (with the GIL released); idempotent."""
        self._native.stop()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.to_thread(self.stop)
