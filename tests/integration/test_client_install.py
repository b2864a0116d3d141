"""``pip install ./client`` into a fresh virtualenv: the client and urllib3, nothing of the server.

Slow (a virtualenv and a real pip install, ~30 s on the pip cache): ``-m "not slow"`` leaves it out.
"""

import json
import os
import re
import socket
import subprocess
import venv
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "client"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A new virtualenv with ``pip install ./client`` done: (its bin folder, an environment to run it in)."""
    home = tmp_path_factory.mktemp("client-venv")
    venv.create(home / "venv", with_pip=True)
    bin_dir = home / "venv" / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(SEIA_HOME=str(home), SEIA_URL="", SEIA_API_KEY="")
    subprocess.run([bin_dir / "pip", "install", "-q", str(CLIENT)], env=env, cwd=home, check=True)
    return bin_dir, env, home


def _run(fresh, *argv):
    bin_dir, env, home = fresh
    return subprocess.run([str(a) for a in argv], env=env, cwd=home, capture_output=True, text=True)


@pytest.mark.slow
def test_the_install_pulls_neither_chalice_psycopg_nor_boto3(fresh):
    bin_dir, _, _ = fresh
    listed = _run(fresh, bin_dir / "pip", "list", "--format=json")
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert installed - {"pip", "setuptools", "wheel"} == {"seia-client", "urllib3"}
    requires = _run(fresh, bin_dir / "python", "-c", "import importlib.metadata as m; print(m.requires('seia-client'))")
    assert "urllib3<3,>=2" in requires.stdout and "boto3" in requires.stdout  # boto3 only under the s3 extra
    assert 'extra == "s3"' in requires.stdout


@pytest.mark.slow
def test_the_installed_command_works_alone(fresh):
    bin_dir, _, _ = fresh
    version = _run(fresh, bin_dir / "seia", "--version")
    assert version.returncode == 0 and version.stdout.strip() == "seia-client 0.1.0"
    helped = _run(fresh, bin_dir / "seia", "--help")
    # The operator's commands (tenant, key, migrate, drift run) come with the server package, not here.
    [choices] = re.findall(r"\{([a-z,]+)\}", helped.stdout)[:1]
    assert set(choices.split(",")) == {
        "models",
        "whoami",
        "predictions",
        "drift",
        "performance",
        "alerts",
        "report",
        "check",
        "upload",
        "settings",
    }
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused = _run(fresh, bin_dir / "seia", "models", "--url", f"http://127.0.0.1:{port}", "--api-key", "k")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip() == (
        f"error: cannot reach the Seia API: GET http://127.0.0.1:{port}/v1/models: "
        "connection refused (is the server running, and is this its port?)"
    )
    no_pandas = _run(fresh, bin_dir / "python", "-c", "from seia_client import Client; print(Client('http://x', 'k'))")
    assert no_pandas.stdout.strip() == "Client('http://x')"
