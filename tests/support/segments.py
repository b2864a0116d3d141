"""Segment test data (docs/segments.md): a model declaring ``region``, rows of three regions, one of them small.

Everything goes through the real API: the model declares ``segments`` on ``POST /v1/models``, and each record
carries its region in ``"segments": {"region": ...}`` (also the first part of its prediction id, ``eu-p12``).
"""

from __future__ import annotations

import numpy as np

REFERENCE_DAY, DAY1, DAY2 = "2026-10-31", "2026-11-01", "2026-11-02"
SETTINGS = {"window": "day", "min_rows": 50}
SHARES = {"eu": 120, "us": 1440, "ap": 1440}  # rows per day: eu is 4% of the traffic


def _records(day: str, counts: dict[str, int], prefix: str, seed: int, shift: dict[str, float] | None = None):
    """Rows spread over the day, the region first in the prediction id (``eu-p12``): x ~ N(shift, 1)."""
    rng = np.random.default_rng(seed)
    regions = [r for r, n in counts.items() for _ in range(n)]
    order = rng.permutation(len(regions))
    out = []
    for k, j in enumerate(order):
        region = regions[j]
        seconds = k * 86000 // len(regions)
        out.append(
            {
                "prediction_id": f"{region}-{prefix}{k}",
                "timestamp": f"{day}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z",
                "features": {
                    "x": float(rng.normal((shift or {}).get(region, 0.0), 1.0)),
                    "c": ["a", "b", "c"][int(rng.integers(3))],
                },
                "segments": {"region": region},
                "prediction": "yes" if rng.uniform() < 0.3 else "no",
                "score": float(rng.uniform()),
            }
        )
    return out


def _send(api, tenant, model: str, records: list[dict], kind: str = "predictions") -> None:
    for i in range(0, len(records), 1000):
        reply = api.post(f"/v1/models/{model}/{kind}", tenant.api_key, json={"records": records[i : i + 1000]})
        assert reply.status == 202, reply.body


def _model(api, tenant, name: str, settings: dict | None = None, fields=("region",)) -> None:
    body = {
        "name": name,
        "task": "binary_classification",
        "features": [{"name": "x", "type": "numeric"}, {"name": "c", "type": "categorical"}],
        "labels": ["no", "yes"],
        "settings": {**SETTINGS, **(settings or {})},
        "segments": list(fields),
    }
    reply = api.post("/v1/models", tenant.api_key, json=body)
    assert reply.status == 201, reply.body


def _reference(api, tenant, name: str, counts=SHARES) -> None:
    rows = [dict(r, label="yes" if i % 3 == 0 else "no") for i, r in enumerate(_records(REFERENCE_DAY, counts, "r", 1))]
    _send(api, tenant, name, rows, kind="reference")


def _csv(records: list[dict]) -> str:
    """The records as a bulk CSV file (docs/bulk-files.md): the features and the segment field as columns."""
    lines = ["prediction_id,timestamp,x,c,region,prediction,score"]
    for r in records:
        f = r["features"]
        lines.append(
            f"{r['prediction_id']},{r['timestamp']},{f['x']!r},{f['c']},{r['segments']['region']},"
            f"{r['prediction']},{r['score']!r}"
        )
    return "\n".join(lines) + "\n"
