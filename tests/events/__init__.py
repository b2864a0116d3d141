"""Sample Lambda events, as the AWS services send them; ``load("name")`` reads ``name.json`` from here."""

import json
from pathlib import Path

HERE = Path(__file__).parent


def load(name: str) -> dict:
    return json.loads((HERE / f"{name}.json").read_text())
