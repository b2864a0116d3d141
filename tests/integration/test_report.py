"""`seia report` (one HTML file that opens offline, and --json) and `seia check` (a CI gate's exit codes)."""

import json
import os
import shutil
import socket
from pathlib import Path

import pytest

from seia_admin.cli import main
from seia_client import Client
from tests.support import data
from tests.support.live import serving

CHROMIUM = os.environ.get("SEIA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.fixture
def cli(tenant, monkeypatch, capsys):
    with serving() as url:
        monkeypatch.setenv("SEIA_URL", url)
        monkeypatch.setenv("SEIA_API_KEY", tenant.api_key)

        def run(*argv):
            code = main(list(argv))
            out, err = capsys.readouterr()
            return code, out, err

        run.url = url
        yield run


@pytest.fixture
def drifted(tenant, settings):
    """Model "shift": x1 shifted two days ago, run through the drift engine (open alerts with causes)."""
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine
    from tests.support import drift_seed, scenarios

    seeded = scenarios.generate("covariate_shift", 1)
    # min_rows 50: the ~83 rows of each hour are enough to judge, so hourly windows have verdicts too.
    with tenant.connect() as conn:
        scenarios.load(conn, "shift", drift_seed.recent(seeded), {"min_rows": 50})
    databases = WorkerDatabases(settings)
    try:
        DriftEngine(databases).run(tenant.tenant, "shift")
    finally:
        databases.close()
    return seeded.injected


def test_the_report_is_one_file_that_opens_offline_with_its_plots(cli, drifted, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]' (playwright)")
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed: run infra/browser/install.sh")
    path = tmp_path / "report.html"
    code, _, err = cli("report", "shift", "--from", "14d", "-o", str(path))
    assert code == 0, err
    code, out, _ = cli("report", "shift", "--from", "14d", "--json", "-o", "-")
    report = json.loads(out)
    assert code == 0 and report["granularity"] == "day"
    assert drifted in report["summary"]["drifting_columns"]
    assert report["summary"]["open_alerts"] == len(report["alerts"]) > 0
    assert all(a["causes"] for a in report["alerts"] if a["kind"] == "feature_drift")
    windows = len(report["drift"])
    columns = len(report["features"]) + 3  # prediction, score, label

    html = path.read_text()
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    requests = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        cells = page.locator("svg.heat-map rect.cell")
        assert cells.count() == windows * columns
        drifting = page.locator(f'svg.heat-map rect.cell[data-column="{drifted}"][data-verdict="drift"]')
        assert drifting.count() >= 1
        assert drifting.first.get_attribute("fill") in ("#f4a261", "#e76f51", "#b5171f")  # coloured by severity
        box = drifting.first.bounding_box()
        assert box["width"] > 5 and box["height"] > 10  # drawn, not just present
        assert page.locator("svg.performance circle.point[data-series='accuracy']").count() == len(
            report["performance"]
        )
        assert page.locator("svg.performance circle.point[data-series='label coverage']").count() >= 1
        assert page.locator("table.alerts tr.alert").count() == len(report["alerts"])
        assert page.locator("table.alerts ol.causes li").count() >= 1
        assert page.inner_text("#open-alerts") == str(report["summary"]["open_alerts"])
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)

        # Hours: the seeded day is 24 windows wide, the shift a run of red cells.
        hourly = tmp_path / "hourly.html"
        code, _, err = cli("report", "shift", "--from", "3d", "--granularity", "hour", "-o", str(hourly))
        assert code == 0, err
        page.goto(hourly.as_uri())
        hours = page.locator("svg.heat-map text.axis").count()
        assert hours > columns  # the column names and some hour labels
        assert page.locator("svg.heat-map rect.cell").count() == 24 * columns
        assert page.locator(f'svg.heat-map rect.cell[data-column="{drifted}"][data-verdict="drift"]').count() >= 20
        page.screenshot(path=str(ARTIFACTS / "report-hourly.png"), full_page=True)
        browser.close()
    assert requests == [path.as_uri(), hourly.as_uri()]  # nothing fetched but the files themselves


def test_check_gates_on_what_is_open(cli, drifted, tenant):
    code, out, _ = cli("check", "shift", "--since", "7d")
    lines = out.splitlines()
    assert code == 1
    assert lines[0].endswith("open for shift (windows since 7d):") and f"Feature {drifted} drifted" in out
    opened = Client(cli.url, tenant.api_key).alert_list("shift", status="open", since="7d")
    assert lines[0] == f"{len(opened)} open for shift (windows since 7d):"
    for alert in opened:
        Client(cli.url, tenant.api_key).acknowledge("shift", alert["id"])
    code, out, _ = cli("check", "shift", "--since", "7d")
    assert code == 0 and out.strip() == "ok: nothing open for shift (windows since 7d)"


def test_check_of_a_quiet_model_exits_0_with_json(cli, tenant, api):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    code, out, _ = cli("check", "churn", "--json")
    assert code == 0 and json.loads(out) == {"model": "churn", "since": "1d", "open": []}


def test_check_exits_2_on_usage_and_connection_errors(cli, tenant, api):
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    code, _, err = cli("check", "churn", "--since", "yesterday")
    assert code == 2 and err.startswith("error: since must look like 30m, 12h, 7d or 2w")
    code, _, err = cli("check", "ghost")
    assert code == 2 and "(HTTP 404" in err
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out, err = cli("check", "churn", "--url", f"http://127.0.0.1:{port}")
    assert code == 2 and out == "" and "connection refused" in err
    with pytest.raises(SystemExit) as exited:
        cli("check")  # no model
    assert exited.value.code == 2
