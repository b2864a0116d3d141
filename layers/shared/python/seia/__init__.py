"""Seia's shared package: the Lambda layer every function sees.

Config, tenancy and connections, migrations, repositories (the SQL), validation and auth live
here; the function modules under ``functions/`` only parse events and shape responses.
No numpy, pandas or scipy may be imported from this package's import path: the ingest and
query functions must start fast.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # ``from seia import Client`` without paying for the client's imports on the handler path.
    if name == "Client":
        from seia.client import Client

        return Client
    raise AttributeError(name)
