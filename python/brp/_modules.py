"""The native modules that :class:`~brp.App` drives: ``brp._native`` and the
``<game>._native`` modules of games' own wheels, all made by the Rust macro
``brp_python::module!`` (docs/python.md, "Your own wheel")."""

from __future__ import annotations

from types import ModuleType
from typing import Protocol, cast

from brp import _native


class Native(Protocol):
    """The classes of a native module, as the package uses them. Each
    module has classes of its own, alike but for the plugins its apps hold."""

    @property
    def App(self) -> type[_native.App]:
        """The world."""

    @property
    def Session(self) -> type[_native.Session]:
        """A session on one of the module's worlds."""

    @property
    def PoseClient(self) -> type[_native.PoseClient]:
        """A pose stream into one of the module's worlds."""


#: The session classes of the native modules adopted so far.
_sessions: tuple[type[_native.Session], ...] = (_native.Session,)


def is_session(value: object) -> bool:
    """Whether ``value`` is a session of a native module that is in use."""
    return isinstance(value, _sessions)


def adopt(native: ModuleType) -> Native:
    """``native``, checked to be a native module of this version of brp
    (else :class:`ImportError`), its sessions accepted from now on."""
    global _sessions
    name = native.__name__
    version = getattr(native, "__version__", None)
    if version != _native.__version__:
        built = "not by brp_python::module!" if version is None else f"for brp {version}"
        raise ImportError(
            f"{name} was built {built}, but brp {_native.__version__} is installed; "
            "a wheel's native module needs the brp of its own version",
            name=name,
        )
    if getattr(native, "ERROR_CODES", None) != _native.ERROR_CODES:
        raise ImportError(
            f"{name}'s error codes differ from those of brp {_native.__version__}",
            name=name,
        )
    adopted = cast(Native, native)
    if adopted.Session not in _sessions:
        _sessions = (*_sessions, adopted.Session)
    return adopted
