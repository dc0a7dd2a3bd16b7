"""The pose tests' runner (CTest's pose_callback here, and pose_stream of
cpp-example/): starts the reference pose controller (``brp.controller``) on
a free port, runs a program against it, and exits with the program's status.

Usage: python with_pose_controller.py PYTHON_DIR PROGRAM ARGS...

``{url}`` in ARGS is replaced by the controller's ``ws://`` URL, e.g.
``pose_callback_test {url} 20`` or ``controller --pose-url {url} --frames
30`` (the C++ example's pose-stream mode).

The controller is pure Python (websockets + flatbuffers): it runs from
PYTHON_DIR without libbrp's native extension.
"""

import os
import subprocess
import sys

# Bounds on every wait, only to turn a hang into a failure.
STARTUP_TIMEOUT_S = 60
RUN_TIMEOUT_S = 120


def main() -> int:
    python_dir, program, *args = sys.argv[1:]
    env = dict(os.environ, PYTHONPATH=python_dir)
    server = subprocess.Popen(
        [sys.executable, "-m", "brp.controller", "--port", "0", "--fps", "60"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
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
            [program, *(arg.replace("{url}", words[3]) for arg in args)],
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        return run.returncode
    finally:
        server.terminate()
        server.wait(timeout=STARTUP_TIMEOUT_S)


if __name__ == "__main__":
    sys.exit(main())
