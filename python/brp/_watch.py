""":class:`Watch`: a blocking iterator over a POLL's successive answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from brp import _calls, _native, _wire
from brp.errors import Cancelled


class Watch(Iterator[list[dict[str, Any]]]):
    """Yields the matching rows now, then again each time they change;
    ``next()`` blocks (with the GIL released) until they do. Ctrl-C
    (``KeyboardInterrupt``) ends a ``next()`` and cancels its POLL; the
    watch goes on from the last rows it yielded.

    It owns a session: :meth:`close` (from any thread, or leaving a ``with``
    block) cancels a parked POLL and ends the iteration.
    """

    def __init__(
        self, native: _native.Session, selection: _calls.Selection, timeout: float | None = None
    ) -> None:
        self._native = native
        self._params = _calls.watch_params(selection, timeout)
        self._watermark: str | None = None
        self._closed = False

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __iter__(self) -> Watch:
        return self

    def __next__(self) -> list[dict[str, Any]]:
        if self._closed:
            raise StopIteration
        call = _calls.poll(self._params, self._watermark)
        text = _wire.dumps({"id": 1, "request": call.request, "params": call.params})
        try:
            rows, self._watermark = call.decode(_wire.response(self._native.request(text)))
        except Cancelled:
            if self._closed:
                raise StopIteration from None
            raise
        return rows

    def close(self) -> None:
        """Cancels a parked POLL and ends the iteration. Idempotent."""
        self._closed = True
        self._native.close()
