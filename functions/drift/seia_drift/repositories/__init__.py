"""SQL of the drift engine, one repository per concern; each takes a connection."""
