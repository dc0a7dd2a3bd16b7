"""The package's optional parts: the ``controller`` extra (``websockets``
and ``flatbuffers``), which the reference controller and the demo need."""

from __future__ import annotations

import importlib
import sys

#: The modules the controller imports, and the package that provides each.
CONTROLLER_MODULES = {"websockets.asyncio.server": "websockets>=13", "flatbuffers": "flatbuffers"}
#: How to install them.
CONTROLLER_INSTALL = "pip install 'brp[controller]'"


def missing_controller_packages() -> list[str]:
    """The packages of the ``controller`` extra that cannot be imported."""
    missing = []
    for module, package in CONTROLLER_MODULES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    return missing


def require_controller_extra(command: str) -> None:
    """Exits with status 2, saying how to install them, when a package of
    the ``controller`` extra is missing; ``command`` names what needs it."""
    missing = missing_controller_packages()
    if missing:
        print(
            f"{command} needs the packages of brp's controller extra; not installed: "
            f"{', '.join(missing)}.\nInstall them with: {CONTROLLER_INSTALL}",
            file=sys.stderr,
        )
        raise SystemExit(2)
