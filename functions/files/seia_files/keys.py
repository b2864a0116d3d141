"""What an object key means: ``<tenant>/<model>/<kind>/<name>``, and where its result object goes.

``name`` may contain slashes (``2026/11/01.csv``). Keys with a ``_results`` segment are results
and are never loaded, so writing a result never triggers another load.
"""

from __future__ import annotations

from dataclasses import dataclass

from seia import naming
from seia_files.errors import FileRejected

RESULTS = "_results"
KINDS = ("predictions", "ground-truths", "reference")
# extension -> (format, compression)
EXTENSIONS = {
    ".csv": ("csv", None),
    ".csv.gz": ("csv", "gzip"),
    ".parquet": ("parquet", None),
    ".jsonl": ("jsonl", None),
    ".jsonl.gz": ("jsonl", "gzip"),
}


@dataclass(frozen=True)
class FileLocation:
    """A well-formed data key."""

    key: str
    tenant: str
    model: str
    kind: str
    name: str
    format: str
    compression: str | None

    @property
    def result_key(self) -> str:
        return f"{self.tenant}/{self.model}/{RESULTS}/{self.kind}/{self.name}.json"


def is_result_key(key: str) -> bool:
    return RESULTS in key.split("/")


def result_key_for(key: str) -> str | None:
    """Where the result of any data key goes, even a malformed one; None when there is no tenant segment.

    ``<tenant>/<model>/<kind>/<name>`` -> ``<tenant>/<model>/_results/<kind>/<name>.json``;
    shorter keys put ``_results`` after the first segment (``acme/x.csv`` -> ``acme/_results/x.csv.json``).
    """
    parts = key.split("/")
    if len(parts) < 2 or not parts[0]:
        return None
    if len(parts) >= 4:
        return "/".join(parts[:2] + [RESULTS] + parts[2:]) + ".json"
    return "/".join(parts[:1] + [RESULTS] + parts[1:]) + ".json"


def split_extension(name: str) -> tuple[str, str | None] | None:
    lowered = name.lower()
    for ext in sorted(EXTENSIONS, key=len, reverse=True):
        if lowered.endswith(ext) and len(name) > len(ext):
            return EXTENSIONS[ext]
    return None


def parse(key: str) -> FileLocation:
    """The meaning of a data key, or ``FileRejected`` saying what is wrong with it."""
    parts = key.split("/")
    if len(parts) < 4 or not all(parts):
        raise FileRejected.file("the key must be <tenant>/<model>/<kind>/<name> with kind one of " + ", ".join(KINDS))
    tenant, model, kind, name = parts[0], parts[1], parts[2], "/".join(parts[3:])
    if not naming.is_tenant_name(tenant):
        raise FileRejected.file(f"unknown tenant {tenant[:64]!r}")
    if not naming.is_model_name(model):
        raise FileRejected.file(f"unknown model {model[:64]!r}")
    if kind not in KINDS:
        raise FileRejected.file(f"unknown kind {kind[:64]!r}: use one of {', '.join(KINDS)}")
    fmt = split_extension(name)
    if fmt is None:
        raise FileRejected.file(f"unsupported file name {name[-64:]!r}: it must end in " + ", ".join(EXTENSIONS))
    return FileLocation(key, tenant, model, kind, name, fmt[0], fmt[1])
