"""Small, valid payloads for the tests to start from."""

from __future__ import annotations

import copy

CHURN = {
    "name": "churn",
    "task": "binary_classification",
    "features": [
        {"name": "age", "type": "numeric"},
        {"name": "income", "type": "numeric"},
        {"name": "plan", "type": "categorical"},
    ],
    "labels": ["stay", "churn"],
}


def model(**overrides) -> dict:
    body = copy.deepcopy(CHURN)
    body.update(overrides)
    return body


def prediction(i: int, hour: int = 10, **overrides) -> dict:
    rec = {
        "prediction_id": f"p{i}",
        "timestamp": f"2026-11-01T{hour:02d}:{i % 60:02d}:00Z",
        "features": {"age": 20 + i % 50, "income": 1000.0 * (i % 90), "plan": ["free", "pro", "team"][i % 3]},
        "prediction": "churn" if i % 4 == 0 else "stay",
        "score": (i % 100) / 100,
    }
    rec.update(overrides)
    return rec


def predictions(n: int, start: int = 0, hour: int = 10) -> dict:
    return {"records": [prediction(i, hour) for i in range(start, start + n)]}
