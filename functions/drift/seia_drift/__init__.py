"""Seia drift engine: sketches of feature data and the statistics computed from them."""
