"""Seia's shared package: the Lambda layer every function sees.

Configuration, connections and tenancy, migrations, auth, domain types, naming, errors and the
repositories (the SQL) live here; each function's own code lives in its folder under ``functions/``.
No numpy, pandas, scipy or pyarrow may be imported from this package's import path: the ingest and
query functions must start fast. The Python client is its own distribution (``client/``,
``from seia_client import Client``).
"""

__version__ = "0.1.0"
