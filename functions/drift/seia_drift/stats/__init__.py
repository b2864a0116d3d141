"""The drift engine's statistics: the shared core (:mod:`seia.stats`) plus bucketing of raw values.

Everything computed on sketches is :mod:`seia.stats` (pure Python, shared with the query path);
only what buckets raw values (:mod:`.binning`) and the bucket-level part of numeric drift for many
windows at once (:mod:`.batch`, equal to the core's to the last bit, by test), where numpy pays, lives here.
"""

from seia.stats import *  # noqa: F403  (the engine reads the core through this package)
from seia.stats import __all__ as _core

from .binning import bucketize, fit_edges, sketch_values

__all__ = [*_core, "bucketize", "fit_edges", "sketch_values"]
