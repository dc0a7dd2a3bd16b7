"""Code flatc generates from ``schema/detection.fbs`` (see that file's
header for how to regenerate it). Pure Python over the ``flatbuffers``
package."""
