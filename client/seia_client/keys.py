"""Where ``seia upload`` puts a file: ``<tenant>/<model>/<kind>/<name>`` in the bucket.

The client installs alone, so it carries the key rules of the file-ingest function
(``functions/files/seia_files/keys.py``) itself, to refuse here what the function would refuse
there; ``tests/unit/files/test_keys.py`` holds the two to the same answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RESULTS = "_results"
KINDS = ("predictions", "ground-truths", "reference")
EXTENSIONS = (".csv", ".csv.gz", ".parquet", ".jsonl", ".jsonl.gz")
MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class BadKey(ValueError):
    """The file ingest function would refuse this key."""


@dataclass(frozen=True)
class FileLocation:
    key: str
    tenant: str
    model: str
    kind: str
    name: str

    @property
    def result_key(self) -> str:
        return f"{self.tenant}/{self.model}/{RESULTS}/{self.kind}/{self.name}.json"


def parse(key: str) -> FileLocation:
    """The meaning of a data key, or ``BadKey`` saying what is wrong with it."""
    parts = key.split("/")
    if len(parts) < 4 or not all(parts):
        raise BadKey("the key must be <tenant>/<model>/<kind>/<name> with kind one of " + ", ".join(KINDS))
    tenant, model, kind, name = parts[0], parts[1], parts[2], "/".join(parts[3:])
    if not TENANT_NAME.fullmatch(tenant):
        raise BadKey(f"unknown tenant {tenant[:64]!r}")
    if not MODEL_NAME.fullmatch(model):
        raise BadKey(f"unknown model {model[:64]!r}")
    if kind not in KINDS:
        raise BadKey(f"unknown kind {kind[:64]!r}: use one of {', '.join(KINDS)}")
    lowered = name.lower()
    if not any(lowered.endswith(ext) and len(name) > len(ext) for ext in EXTENSIONS):
        raise BadKey(f"unsupported file name {name[-64:]!r}: it must end in " + ", ".join(EXTENSIONS))
    return FileLocation(key, tenant, model, kind, name)
