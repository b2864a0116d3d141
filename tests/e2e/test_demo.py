"""`make demo` end to end on LocalStack: its story names the feature shifted on day 8 as the top cause."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from infra.local.paths import pythonpath

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_finds_the_price_rise_and_blames_monthly_charges(localstack, settings):
    # Given this run's database prefix and keys (the session drops what the demo creates)
    env = dict(os.environ)
    env["PYTHONPATH"] = pythonpath()
    env["DATABASE_URL"] = settings.database_url
    # When the demo runs with a stack of its own, as `make demo` does without `make up`
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "infra.local.demo", "--standalone", "--no-wait"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    seconds = time.monotonic() - began
    out = result.stdout
    # Then it tells the story to the end, within two minutes
    assert result.returncode == 0, out + result.stderr
    assert seconds < 120, f"the demo took {seconds:.0f} s"
    assert "33,600 predictions" in out
    assert re.search(r"days 1[0-3]–14 are still provisional", out), out
    # And the top incident starts on day 8 and spans the days after it, its top cause the shifted feature
    opened = re.search(
        r"^  Done .*: (\d+) open incident\(s\), one per condition, over (\d+) flagged windows$", out, re.M
    )
    assert opened and int(opened.group(1)) < int(opened.group(2)), out
    top = re.search(r"^Top incident +\[\w+\] \w+ on .+, day 8 \(\w+ \d+\) to day (\d+) .*: (\d+) of its", out, re.M)
    assert top and int(top.group(1)) > 8 and int(top.group(2)) > 1, out
    assert re.search(r"^Top cause +monthly_charges: ", out, re.M), out
    assert re.search(r"^See it in the dashboard: http://127\.0\.0\.1:\d+/dashboard$", out, re.M), out
    assert re.search(r"paste the API key: seia_[0-9a-f]{10}_", out), out
