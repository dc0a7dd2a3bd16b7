""":class:`PoseClient`: streams poses from a controller into an :class:`~brp.App`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from brp import _wire
from brp._app import App, Target, target_object


class PoseClient:
    """Connects to the pose controller at ``url`` (``ws://`` or ``wss://``)
    in the background and lands every pose on ``target`` (default: the
    entity named ``Player``) as the ``PoseLandmarks`` component.

    Keyword settings are those of docs/pose.md. ``connect_timeout``,
    ``ping_interval`` (default 5: a WebSocket ping every 5 s) and
    ``idle_timeout`` (default 15: a connection that receives nothing, not
    even a pong, for 15 s is dropped and re-established) are in seconds; 0
    turns the last two off. ``backoff`` is a mapping such as
    ``{"initial_ms": 100}``. A bad setting raises :class:`~brp.InvalidParams`
    at once; connection failures are retried (with ``reconnect``) and show in
    :meth:`stats`. Use it as a context manager or call :meth:`close`.

    ``on_frame``, if given, is called once per applied frame, in order, with
    a dict: ``detected`` (``False`` for nobody in view), ``sequence``,
    ``timestamp``, ``capture_time_ns`` and ``latency_ms`` (``None`` when the
    frame did not carry them). It runs on the client's network thread (with
    the GIL), after the world's lock is released, so it may make requests;
    it must not close its own client, and should be quick (no frame is
    received meanwhile). Exceptions it raises are reported through
    :func:`sys.unraisablehook`. It is never called after :meth:`close`
    returns.
    """

    def __init__(
        self,
        app: App,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        target: Target | None = None,
        max_message_size: int | None = None,
        reconnect: bool = True,
        backoff: Mapping[str, float] | None = None,
        connect_timeout: float | None = None,
        ping_interval: float | None = None,
        idle_timeout: float | None = None,
        ca_cert_pem: str | None = None,
        ca_cert_path: str | None = None,
        on_frame: Callable[[dict[str, Any]], object] | None = None,
    ) -> None:
        if not isinstance(app, App):
            raise TypeError(f"app must be a brp.App, got {type(app).__name__}")
        settings: dict[str, Any] = {
            "url": url,
            "headers": None if headers is None else dict(headers),
            "target": target_object(target),
            "max_message_size": max_message_size,
            "reconnect": reconnect,
            "backoff": None if backoff is None else dict(backoff),
            "connect_timeout_ms": milliseconds(connect_timeout),
            "ping_interval_ms": milliseconds(ping_interval),
            "idle_timeout_ms": milliseconds(idle_timeout),
            "ca_cert_pem": ca_cert_pem,
            "ca_cert_path": ca_cert_path,
        }
        config = {key: value for key, value in settings.items() if value is not None}
        pose_client = app._native_module.PoseClient
        self._native = pose_client(app._native, _wire.dumps(config), on_frame)

    def __enter__(self) -> PoseClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def stats(self) -> dict[str, Any]:
        """The stream's statistics now: ``state`` (``"connecting"``,
        ``"connected"``, ``"waiting"``, ``"stopped"``), the frame counters,
        ``idle_timeouts``, ``last_error``, ``pose_age_ms`` and latencies (see
        docs/pose.md). Never waits for :meth:`close` (``on_frame`` may call
        it while another thread closes the client) and works after it."""
        return self._native.stats()

    def wait_connected(self, timeout: float) -> bool:
        """Waits up to ``timeout`` seconds for the connection to be up;
        whether it is."""
        return self._native.wait_connected(timeout)

    def close(self) -> None:
        """Disconnects and stops; no pose applies and ``on_frame`` is not
        called after this returns. Idempotent."""
        self._native.stop()


def milliseconds(seconds: float | None) -> int | None:
    """``seconds`` as whole milliseconds for the JSON config (``None`` stays
    ``None``: the setting's default)."""
    return None if seconds is None else round(seconds * 1000)
