"""Seia's Python client: ``from seia_client import Client``.

Pure Python; pandas is imported only where a DataFrame is asked for, boto3 only for uploads.
"""

__version__ = "0.1.0"


def __getattr__(name):
    # ``from seia_client import Client`` without importing the client module until it is used.
    if name in ("Client", "SeiaAPIError", "SeiaConnectionError", "SeiaForbiddenError"):
        from seia_client import client

        return getattr(client, name)
    raise AttributeError(name)
