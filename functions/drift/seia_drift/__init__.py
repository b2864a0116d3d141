"""Seia drift engine: hourly sketches counted in PostgreSQL, drift and performance per window,
alerts and their probable causes (see docs/drift.md). ``stats`` is the pure statistics library."""
