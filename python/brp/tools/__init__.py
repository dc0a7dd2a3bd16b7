"""The tools built on the binding, apart from its API (docs/python.md,
"Command line"):

- :mod:`brp.tools.controller`: the reference pose controller, a WebSocket
  server of poses (pure Python; needs the ``controller`` extra);
- :mod:`brp.tools.demo`: ``python -m brp demo``;
- :mod:`brp.tools.skeleton`: drawing poses as terminal text or SVG;
- :mod:`brp.tools.cli`: the command line, ``python -m brp``.

Importing this package loads nothing else, so the controller runs without
libbrp's native module.
"""
