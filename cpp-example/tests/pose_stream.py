"""CTest's pose_stream test: starts the reference pose controller
(``brp.controller``) on a free port, runs the C++ example's pose-stream mode
against it, and exits with the example's status.

Usage: python pose_stream.py PYTHON_DIR CONTROLLER_EXE FRAMES

The controller is pure Python (websockets + flatbuffers), but the ``brp``
package's ``__init__`` loads the native extension, which a C++ build need
not have: the package directory is therefore mounted without running it.
"""

import subprocess
import sys

# Runs brp.controller's command line without brp/__init__.py.
BOOTSTRAP = """
import sys, types
package = types.ModuleType("brp")
package.__path__ = [sys.argv.pop(1) + "/brp"]
sys.modules["brp"] = package
from brp.controller import main
main()
"""

# Bounds on every wait, only to turn a hang into a failure.
STARTUP_TIMEOUT_S = 60
RUN_TIMEOUT_S = 120


def main() -> int:
    python_dir, controller_exe, frames = sys.argv[1:4]
    server = subprocess.Popen(
        [sys.executable, "-c", BOOTSTRAP, python_dir, "--port", "0", "--fps", "60"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()  # "serving poses on ws://HOST:PORT at 60 fps"
        print(banner, end="", flush=True)
        words = banner.split()
        if len(words) < 4 or not words[3].startswith("ws://"):
            print("the pose controller did not start", file=sys.stderr)
            return 1
        run = subprocess.run(
            [controller_exe, "--pose-url", words[3], "--frames", frames],
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        return run.returncode
    finally:
        server.terminate()
        server.wait(timeout=STARTUP_TIMEOUT_S)


if __name__ == "__main__":
    sys.exit(main())
