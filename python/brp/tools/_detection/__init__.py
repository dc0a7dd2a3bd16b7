"""Code flatc generates from ``schema/detection.fbs`` (``scripts/generate``
regenerates it). Pure Python over the ``flatbuffers`` package."""
