"""Checks the contents of the built wheel and sdist (scripts/test-wheel,
scripts/dist) without building or installing anything.

Usage:
  python tests/wheel/check_artifacts.py wheel PATH VERSION
  python tests/wheel/check_artifacts.py sdist PATH VERSION

wheel: the file name carries a manylinux tag (and the WHEEL file the same
tag), the native module is in it, and so are the licence files, under the
.dist-info. sdist: its workspace lists only members whose crates it holds
(maturin drops the examples/dance members), and it holds every file git
tracks of the crates the wheel builds (rust/brp, rust/brp-python,
rust/brp-py) and of the Python package, plus the workspace's Cargo.toml and
Cargo.lock. Paths are relative to the checkout (the current directory).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import PurePosixPath

LICENCES = ("LICENSE-MIT", "LICENSE-APACHE")
#: The workspace crates the wheel's module is built from.
CRATES = ("rust/brp", "rust/brp-python", "rust/brp-py")


def fail(message: str) -> None:
    print(f"check_artifacts: {message}", file=sys.stderr)
    sys.exit(1)


def check_wheel(path: str, version: str) -> None:
    name = PurePosixPath(path).name
    match = re.fullmatch(
        rf"brp-{re.escape(version)}-cp310-abi3-(manylinux_\d+_\d+_\w+?)\.whl", name
    )
    if match is None:
        fail(f"{name} is not a cp310-abi3 manylinux wheel of brp {version}")
        return
    tag = f"cp310-abi3-{match.group(1)}"
    dist_info = f"brp-{version}.dist-info"
    with zipfile.ZipFile(path) as wheel:
        names = set(wheel.namelist())
        wheel_file = wheel.read(f"{dist_info}/WHEEL").decode()
        if f"Tag: {tag}" not in wheel_file.splitlines():
            fail(f"{dist_info}/WHEEL does not carry the tag {tag}:\n{wheel_file}")
        for licence in LICENCES:
            if f"{dist_info}/licenses/{licence}" not in names:
                fail(f"{name} has no {dist_info}/licenses/{licence}")
        modules = [n for n in names if re.fullmatch(r"brp/_native\..*so", n)]
        if len(modules) != 1:
            fail(f"{name} holds {modules or 'no'} native module(s), not one")
        size = wheel.getinfo(modules[0]).file_size
    print(f"check_artifacts: {name}: {tag}, {modules[0]} {size / 1e6:.1f} MB, licences in {dist_info}/licenses")


def tracked(paths: tuple[str, ...]) -> list[str]:
    """The files git tracks under ``paths``."""
    out = subprocess.run(
        ["git", "ls-files", "--", *paths], check=True, capture_output=True, text=True
    ).stdout
    return out.splitlines()


def check_sdist(path: str, version: str) -> None:
    top = f"brp-{version}"
    with tarfile.open(path) as sdist:
        names = {m.name for m in sdist.getmembers() if m.isfile()}
        manifest = sdist.extractfile(f"{top}/Cargo.toml")
        if manifest is None:
            fail(f"{path} has no {top}/Cargo.toml")
            return
        workspace = manifest.read().decode()
    members_line = re.search(r"(?m)^members\s*=\s*\[(.*?)\]", workspace, re.S)
    if members_line is None:
        fail(f"{top}/Cargo.toml lists no workspace members")
        return
    members = re.findall(r'"([^"]+)"', members_line.group(1))
    missing = [m for m in members if f"{top}/{m}/Cargo.toml" not in names]
    if missing:
        fail(f"the sdist's workspace lists members it does not hold: {missing}")
    if not set(CRATES) <= set(members):
        fail(f"the sdist's workspace members {members} lack some of {list(CRATES)}")
    needed = ["Cargo.toml", "Cargo.lock", "pyproject.toml", "PKG-INFO", *LICENCES]
    needed += tracked((*CRATES, "python/brp"))
    absent = [n for n in needed if f"{top}/{n}" not in names]
    if absent:
        fail(f"{path} lacks {absent}")
    print(f"check_artifacts: {PurePosixPath(path).name}: {len(names)} files, workspace members {members}")


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[1] not in ("wheel", "sdist"):
        fail(__doc__ or "")
    kind, path, version = sys.argv[1:]
    (check_wheel if kind == "wheel" else check_sdist)(path, version)


if __name__ == "__main__":
    main()
