"""The client distribution stands alone: what it declares, and what importing it loads."""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[2] / "client"
SERVER_SIDE = ("chalice", "psycopg", "psycopg_pool", "boto3", "botocore", "seia", "seia_admin", "seia_ingest")


def test_the_client_declares_urllib3_alone_and_the_rest_as_extras():
    project = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "seia-client"
    assert project["dependencies"] == ["urllib3>=2,<3"]
    assert project["optional-dependencies"] == {
        "pandas": ["pandas>=2.2"],
        "parquet": ["pyarrow>=16"],
        "s3": ["boto3>=1.34"],
    }


def test_importing_the_client_and_building_the_command_loads_nothing_of_the_server():
    # Only the client's folder on the path, and no plugins: what a fresh install sees.
    code = (
        "import json, sys\n"
        "from seia_client import Client\n"
        "from seia_client import cli\n"
        "Client('http://127.0.0.1:1', 'k')\n"
        "cli._plugins = lambda: []\n"
        "cli.build_parser()\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(CLIENT)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert "seia_client" in loaded and "urllib3" in loaded
    assert not loaded & {*SERVER_SIDE, "pandas", "numpy", "pyarrow"}
