"""The dashboard in a real (headless) Chromium against the local API and a seeded tenant.

Needs Debian's chromium (infra/browser/install.sh) and Playwright's Python package (dev extra);
skipped when either is missing. Screenshots go to test-artifacts/.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.support import data
from tests.support.live import serving

CHROMIUM = os.environ.get("SEIA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]' (playwright)")
if not os.path.exists(CHROMIUM):
    pytest.skip("chromium is not installed: run infra/browser/install.sh", allow_module_level=True)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture
def page(browser):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.close()
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.fixture
def seeded(tenant, api):
    """Two models; churn has 30 predictions on 2026-11-01 (10:00 and 11:00 UTC), 12 of them labelled."""
    assert api.post("/v1/models", tenant.api_key, json=data.model()).status == 201
    assert api.post("/v1/models", tenant.api_key, json=data.model(name="fraud")).status == 201
    assert api.post("/v1/models/churn/predictions", tenant.api_key, json=data.predictions(20, hour=10)).status == 202
    assert (
        api.post("/v1/models/churn/predictions", tenant.api_key, json=data.predictions(10, start=20, hour=11)).status
        == 202
    )
    labels = {"records": [{"prediction_id": f"p{i}", "label": "stay"} for i in range(12)]}
    assert api.post("/v1/models/churn/ground-truths", tenant.api_key, json=labels).status == 202
    with serving() as url:
        yield url, tenant


def _sign_in(page, url, key, hash_=""):
    page.goto(f"{url}/dashboard{hash_}")
    page.fill("#api-key", key)
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("body[data-state=ready], body[data-state=error]")


def _shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def test_the_page_asks_for_the_key_and_keeps_it_out_of_the_url(page, seeded):
    url, tenant = seeded
    page.goto(f"{url}/dashboard")
    assert page.is_visible("#key-form")
    _sign_in(page, url, tenant.api_key)
    assert tenant.api_key not in page.url
    assert page.evaluate("sessionStorage.getItem('seia.apiKey')") == tenant.api_key
    page.click("#forget-key")
    assert page.is_visible("#key-form") and page.evaluate("sessionStorage.getItem('seia.apiKey')") is None


def test_a_refused_key_is_said_in_words(page, seeded):
    url, _ = seeded
    page.goto(f"{url}/dashboard")
    page.fill("#api-key", "seia_0123456789_" + "x" * 43)
    page.click("#key-form button[type=submit]")
    page.wait_for_selector("#key-error:not([hidden])")
    assert "refused" in page.inner_text("#key-error")


def test_the_models_list_shows_each_model_with_its_counts_and_health(page, seeded):
    url, tenant = seeded
    _sign_in(page, url, tenant.api_key)
    _shot(page, "models")
    churn = page.locator("#models tr[data-model=churn]")
    assert churn.locator(".model-link").inner_text() == "churn"
    assert churn.locator(".predictions").inner_text() == "30"
    assert churn.locator(".labelled").inner_text() == "12 (40.0%)"
    assert churn.locator(".health").inner_text() == "receiving"
    fraud = page.locator("#models tr[data-model=fraud]")
    assert fraud.locator(".predictions").inner_text() == "0"
    assert fraud.locator(".health").inner_text() == "no data"


def test_a_model_page_draws_predictions_per_window_and_empty_states_for_what_is_not_served(page, seeded):
    url, tenant = seeded
    _sign_in(page, url, tenant.api_key)
    page.click("#models tr[data-model=churn] .model-link")
    page.wait_for_selector("#model-name")
    # the link opens the last 7 days; the seeded day is further back: a custom range of that day (a shared link)
    assert page.get_attribute("#range-picker [data-range='7d']", "aria-current") == "true"
    page.goto(f"{url}/dashboard#/models/churn?from=2026-11-01&to=2026-11-02")
    page.wait_for_selector("body[data-state=ready][data-from='2026-11-01T00:00:00Z'][data-granularity=hour]")
    _shot(page, "model")
    assert page.inner_text("#model-name") == "churn"
    assert page.inner_text("#total-predictions") == "30"
    assert page.inner_text("#total-labelled") == "12"
    assert page.inner_text("#label-coverage") == "40.0%"
    assert page.locator("#chart-volume canvas").count() == 1
    rows = page.locator("#volume-table tbody tr")
    # The chart's data table sits in a closed <details>: read its text, not its rendering.
    assert [rows.nth(i).locator("td").all_text_contents() for i in range(rows.count())] == [
        ["2026-11-01 10:00", "20", "12"],
        ["2026-11-01 11:00", "10", "0"],
    ]
    assert "No drift results yet" in page.inner_text("#drift-empty")
    assert "No performance yet" in page.inner_text("#performance-empty")
    assert page.inner_text("#alerts-empty") == "No open alerts."


def test_the_day_view_adds_the_windows_up(page, seeded):
    url, tenant = seeded
    _sign_in(page, url, tenant.api_key, "#/models/churn?from=2026-11-01&to=2026-11-02&granularity=day")
    rows = page.locator("#volume-table tbody tr")
    assert rows.count() == 1 and rows.first.locator("td").all_text_contents() == ["2026-11-01 00:00", "30", "12"]


def test_the_feature_view_has_an_empty_state_until_distributions_exist(page, seeded):
    url, tenant = seeded
    _sign_in(page, url, tenant.api_key, "#/models/churn")
    page.click("#features a:has-text('plan')")
    page.wait_for_selector("#feature-name")
    page.wait_for_selector("body[data-state=ready]")
    _shot(page, "feature")
    assert page.inner_text("#feature-name") == "plan"
    assert page.is_visible("#distribution-empty")


def test_an_unknown_model_is_not_found_in_words(page, seeded):
    url, tenant = seeded
    _sign_in(page, url, tenant.api_key, "#/models/ghost")
    page.wait_for_selector("body[data-state=error]")
    assert page.inner_text("#page-error").startswith("Not found: model 'ghost' not found")


def test_the_assets_have_their_content_types_and_unknown_files_are_404(seeded):
    import urllib.error
    import urllib.request

    url, _ = seeded
    for name, expected in [
        ("", "text/html"),
        ("/app.js", "application/javascript"),
        ("/app.css", "text/css"),
        ("/echarts.min.js", "application/javascript"),
    ]:
        with urllib.request.urlopen(f"{url}/dashboard{name}", timeout=10) as resp:
            assert resp.headers["Content-Type"].startswith(expected), name
            assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    for bad in ("/nope.js", "/..%2Fquery_app.py", "/query_app.py"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{url}/dashboard{bad}", timeout=10)
        assert caught.value.code == 404


# Real drift results: a seeded scenario (x1 shifted by one standard deviation) run through the drift engine.
@pytest.fixture
def drifted(tenant, settings):
    from tests.support import drift_seed, scenarios

    data = scenarios.generate("covariate_shift", 1)
    # min_rows 50: the ~83 rows of each hour are enough to judge, so the hourly heat map has verdicts.
    with tenant.connect() as conn:
        scenarios.load(conn, "shift", drift_seed.recent(data), {"min_rows": 50})
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine

    databases = WorkerDatabases(settings)
    try:
        DriftEngine(databases).run(tenant.tenant, "shift")
    finally:
        databases.close()
    with serving() as url:
        yield url, tenant, data.injected


def test_the_hour_view_draws_the_estimate_with_its_band_beside_the_realized_metric(page, drifted):
    url, tenant, _ = drifted
    _sign_in(page, url, tenant.api_key, "#/models/shift?granularity=hour")
    page.wait_for_selector("#chart-performance canvas")
    rows = page.locator("#performance-table tbody tr")
    assert rows.count() == 24
    cells = [rows.nth(i).locator("td").all_text_contents()[-1] for i in range(rows.count())]
    assert all(re.fullmatch(r"0\.\d{3} \(0\.\d{3}–(0\.\d{3}|1\.00)\)", c) for c in cells), cells
    page.locator("#performance").screenshot(path=str(ARTIFACTS / "dashboard-performance-estimated-hours.png"))


def test_the_day_view_draws_real_drift_performance_and_alerts_with_causes(page, drifted):
    url, tenant, injected = drifted
    _sign_in(page, url, tenant.api_key, "#/models/shift")
    page.wait_for_selector("#alert-list")
    _shot(page, "model-with-drift")
    assert page.get_attribute("body", "data-granularity") == "day"
    assert page.locator(f'#heatmap button.drift[data-column="{injected}"]').count() == 1
    rows = page.locator("#drift-table tbody tr")
    cells = {
        rows.nth(i).locator("td").all_text_contents()[1]: rows.nth(i).locator("td").all_text_contents()[2:4]
        for i in range(rows.count())
    }
    assert cells[injected][0] == "drift" and cells[injected][1] in ("medium", "high")
    assert cells["x3"] == ["no_drift", "–"]
    # the heat map's row for multivariate drift: a shift of one feature also breaks the reconstruction
    assert cells["multivariate"] == ["drift", "high"]
    assert page.locator("#chart-performance canvas").count() == 1
    assert page.locator("#performance-table tbody td").all_text_contents()[1:4] == ["2,000", "100.0%", "no"]
    # the estimated accuracy beside the realized one, with its band
    assert page.locator("#performance-table thead th").all_text_contents()[-1].startswith("estimated accuracy")
    estimated = page.locator("#performance-table tbody td").all_text_contents()[-1]
    assert re.fullmatch(r"0\.\d{3} \(0\.\d{3}–(0\.\d{3}|1\.00)\)", estimated), estimated
    page.locator("#performance").screenshot(path=str(ARTIFACTS / "dashboard-performance-estimated.png"))
    feature_alert = page.locator("#alert-list .alert", has_text=f"Feature {injected} drifted")
    assert feature_alert.count() == 1
    prediction_alert = page.locator("#alert-list .alert", has_text="Predictions (__score__) drifted")
    causes = prediction_alert.first.locator(".causes li").all_inner_texts()
    assert causes and injected in causes[0]
    prediction_alert.first.scroll_into_view_if_needed()
    page.locator("#alerts").screenshot(path=str(ARTIFACTS / "dashboard-alert-with-causes.png"))


def test_the_hour_view_draws_a_heat_map_of_hourly_verdicts(page, drifted):
    url, tenant, injected = drifted
    _sign_in(page, url, tenant.api_key, "#/models/shift?range=7d&granularity=hour")
    page.wait_for_selector("#heatmap")
    _shot(page, "model-hourly-heatmap")
    assert page.locator(f'#heatmap button[data-column="{injected}"]').count() == 7 * 24
    rows = page.locator("#drift-table tbody tr")
    verdicts = [rows.nth(i).locator("td").all_text_contents()[1:3] for i in range(rows.count())]
    assert len(verdicts) == 24 * 11  # 7 features, prediction, score, label and multivariate per hour
    assert sum(1 for name, v in verdicts if name == injected and v == "drift") >= 20


def test_acknowledging_an_alert_takes_it_off_the_page(page, drifted):
    url, tenant, injected = drifted
    _sign_in(page, url, tenant.api_key, "#/models/shift?granularity=day")
    page.wait_for_selector("#alert-list")
    before = page.locator("#alert-list .alert").count()
    page.locator("#alert-list .alert", has_text=f"Feature {injected} drifted").locator("button.acknowledge").click()
    # (The page's CSP forbids wait_for_function's eval: poll the DOM through the locator instead.)
    alerts = page.locator("#alert-list .alert")
    for _ in range(100):
        if alerts.count() == before - 1:
            break
        page.wait_for_timeout(50)
    assert alerts.count() == before - 1
    from seia_client.client import Client

    acknowledged = Client(url, tenant.api_key).alert_list("shift", status="acknowledged")
    assert [a["subject"] for a in acknowledged] == [injected]


def test_the_feature_view_plots_reference_and_current_shares(page, drifted):
    url, tenant, injected = drifted
    _sign_in(page, url, tenant.api_key, f"#/models/shift/features/{injected}")
    page.wait_for_selector("#chart-distribution canvas")
    _shot(page, "feature-distribution")
    rows = page.locator("#distribution-table tbody tr")
    assert 10 <= rows.count() <= 20
    assert rows.first.locator("td").first.text_content().startswith("< ")


def test_the_settings_form_saves_thresholds_and_names_a_refused_field(page, drifted):
    url, tenant, _ = drifted
    _sign_in(page, url, tenant.api_key, "#/models/shift?granularity=day")
    page.click("#settings-toggle")
    page.wait_for_selector("#settings-form")
    assert page.locator("#settings-readonly").count() == 0 and page.inner_text("#key-scopes") == "key: admin"
    assert page.input_value("#setting-min_rows") == "50"
    page.fill("#setting-min_rows", "0")
    page.click("#settings-form button[type=submit]")
    page.wait_for_selector("#settings-status.error")
    assert "min_rows must be an integer >= 1" in page.inner_text("#settings-status")
    page.fill("#setting-min_rows", "80")
    page.fill("#setting-psi", "0.3")
    page.select_option("#setting-window", "hour")
    page.click("#settings-form button[type=submit]")
    page.wait_for_selector("#settings-status:has-text('Saved')")
    _shot(page, "model-settings")
    from seia_client.client import Client

    assert Client(url, tenant.api_key).model("shift")["settings"] == {
        "window": "hour",
        "min_rows": 80,
        "thresholds": {"psi": 0.3},
    }


def test_a_read_only_key_sees_settings_and_alerts_with_their_controls_off_and_why(page, drifted, tenant_admin):
    url, tenant, injected = drifted
    key = tenant_admin.create_key(tenant.name, ["read"])
    _sign_in(page, url, key, "#/models/shift?granularity=day")
    page.wait_for_selector("#alert-list")
    page.click("#settings-toggle")
    page.wait_for_selector("#settings-form")
    assert page.inner_text("#key-scopes") == "key: read"
    assert page.inner_text("#settings-readonly") == (
        "This key has scope read: changing settings needs a key with scope admin."
    )
    assert page.input_value("#setting-min_rows") == "50"  # what is in force is still shown
    assert page.is_disabled("#setting-min_rows") and page.is_disabled("#settings-form button[type=submit]")
    assert page.inner_text("#alerts-readonly") == (
        "This key has scope read: acknowledging an alert needs a key with scope admin."
    )
    buttons = page.locator("#alert-list button.acknowledge")
    assert buttons.count() >= 2 and all(buttons.nth(i).is_disabled() for i in range(buttons.count()))
    _shot(page, "read-only-key")
    from seia_client.client import Client

    assert Client(url, tenant.api_key).alert_list("shift", status="acknowledged") == []


def test_an_ingest_key_is_told_it_cannot_read(page, seeded, tenant_admin):
    url, tenant = seeded
    key = tenant_admin.create_key(tenant.name, ["ingest"])
    _sign_in(page, url, key)
    assert page.inner_text("#page-error") == (
        "Could not load this page: this key has scope ingest; GET /v1/models needs read"
    )
    assert page.inner_text("#key-scopes") == "key: ingest"


def test_an_incident_page_shows_its_timeline_causes_and_delivery_then_acknowledge_and_resolve(page, drifted):
    url, tenant, injected = drifted
    _sign_in(page, url, tenant.api_key, "#/models/shift?granularity=day")
    page.wait_for_selector("#alert-list")
    assert page.get_attribute("#all-incidents", "href") == "#/models/shift/alerts"
    page.locator("#alert-list .alert", has_text=f"Feature {injected} drifted").locator("a.incident-link").click()
    page.wait_for_selector("#incident-summary")
    _shot(page, "incident")
    from seia_client.client import Client

    [incident] = [
        a for a in Client(url, tenant.api_key).alert_list("shift", status="all") if a["kind"] == "feature_drift"
    ]
    detail = Client(url, tenant.api_key).alert_get("shift", incident["id"])
    assert page.inner_text("#incident-summary") == incident["summary"]
    assert page.url.endswith(f"#/models/shift/alerts/{incident['id']}")
    rows = page.locator("#timeline-table tbody tr")
    assert (
        rows.count()
        == len(detail["timeline"])
        == incident["windows_flagged"] + sum(w["state"] != "flagged" for w in detail["timeline"])
    )
    states = [rows.nth(i).locator("td").all_text_contents()[1] for i in range(rows.count())]
    assert states == [w["state"] for w in detail["timeline"]] and "flagged" in states
    assert page.locator("#timeline-strip .tick.flagged").count() == incident["windows_flagged"]
    causes = page.locator("#incident-causes .causes li").all_inner_texts()
    assert causes == [c["message"] for c in detail["causes"]] and causes
    assert page.inner_text("#deliveries-empty").startswith("No channel configured")
    page.locator("#incident-actions button.acknowledge").click()
    page.wait_for_selector("#incident-facts .status.warn")
    assert page.locator("#incident-facts tr[data-fact=Status] td").inner_text() == "acknowledged"
    assert page.locator("#incident-actions button.acknowledge").count() == 0
    page.locator("#incident-actions button.resolve").click()
    page.wait_for_selector("#incident-facts .status.ok")
    assert page.locator("#incident-actions button").count() == 0
    assert "(by a user)" in page.locator("#incident-facts tr[data-fact=Resolved] td").inner_text()
    after = Client(url, tenant.api_key).alert_get("shift", incident["id"])
    assert (after["status"], after["resolved_by"], after["acknowledged_at"] is not None) == ("resolved", "user", True)


def test_an_incident_page_renders_its_deliveries_when_the_service_has_them(page, drifted, monkeypatch):
    from seia_query.service import QueryService

    url, tenant, injected = drifted
    sent = {"channel": "slack", "change": "opened", "status": "sent", "attempts": 1, "last_error": None}
    failing = {"channel": "webhook", "change": "opened", "status": "failed", "attempts": 3, "last_error": "HTTP 500"}
    plain = QueryService.alert
    monkeypatch.setattr(
        QueryService,
        "alert",
        lambda self, *a: (
            plain(self, *a)
            | {"deliveries": [sent | {"sent_at": "2026-11-02T10:00:00+00:00"}, failing | {"sent_at": None}]}
        ),
    )
    from seia_client.client import Client

    ident = Client(url, tenant.api_key).alert_list("shift", status="all")[0]["id"]
    _sign_in(page, url, tenant.api_key, f"#/models/shift/alerts/{ident}")
    rows = page.locator("#deliveries-table tbody tr")
    assert [rows.nth(i).locator("td").all_text_contents() for i in range(rows.count())] == [
        ["slack", "opened", "sent", "1", "–", "2026-11-02 10:00"],
        ["webhook", "opened", "failed", "3", "HTTP 500", "–"],
    ]
    assert page.locator("#deliveries-empty").count() == 0


def test_the_incidents_page_lists_open_first_then_recent_a_page_at_a_time(page, drifted):
    url, tenant, _ = drifted
    with tenant.connect() as conn:
        # 30 resolved incidents of earlier days on top of the engine's open ones: two pages of 25
        conn.execute(
            """INSERT INTO incidents (model_id, kind, subject, condition, reference_key, granularity, status,
                                      severity, peak_severity, first_window_start, last_window_end, windows_flagged,
                                      resolved_at, resolved_by, summary)
               SELECT m.id, 'data_quality', 'x4', 'missing_rate', 'uploaded:1', 'day', 'resolved', 'low', 'low',
                      timestamptz '2020-01-01' + d * interval '1 day', timestamptz '2020-01-02' + d * interval '1 day',
                      1, now(), 'auto', 'old incident ' || d
               FROM models m, generate_series(1, 30) d WHERE m.name = 'shift'"""
        )
        conn.commit()
    from seia_client.client import Client

    everything = Client(url, tenant.api_key).alert_list("shift", status="all")
    opened = [a for a in everything if a["status"] != "resolved"]
    _sign_in(page, url, tenant.api_key, "#/models/shift/alerts")
    first = page.locator("#incidents tbody tr")
    assert first.count() == 25
    ids = [first.nth(i).get_attribute("data-alert") for i in range(25)]
    assert ids == [a["id"] for a in everything[:25]]
    assert ids[: len(opened)] == [a["id"] for a in opened]
    summaries = [first.nth(i).locator("td").all_text_contents()[-1] for i in range(25)]
    olds = [t for t in summaries if t.startswith("old incident ")]
    assert olds and olds == [f"old incident {d}" for d in range(30, 30 - len(olds), -1)]
    page.click("#next-page")
    page.wait_for_selector("#first-page")
    second = page.locator("#incidents tbody tr")
    assert [second.nth(i).get_attribute("data-alert") for i in range(second.count())] == [
        a["id"] for a in everything[25:]
    ]
    assert page.locator("#next-page").count() == 0
    page.select_option("#incident-status", "open")
    page.wait_for_selector("#first-page", state="detached")
    rows = page.locator("#incidents tbody tr")
    for _ in range(100):
        if rows.count() == len([a for a in opened if a["status"] == "open"]):
            break
        page.wait_for_timeout(50)
    assert rows.count() == len([a for a in opened if a["status"] == "open"])


def test_the_settings_form_has_every_setting_the_api_reports_with_its_default(page, seeded):
    import json
    import urllib.request

    url, tenant = seeded
    with urllib.request.urlopen(f"{url}/v1/openapi.json", timeout=10) as resp:
        schemas = json.load(resp)["components"]["schemas"]
    expected = {}  # field id -> its default (None: the setting has none)
    for key, prop in schemas["ModelSettings"]["properties"].items():
        ref = next((s["$ref"] for s in prop.get("anyOf", []) if "$ref" in s), None)
        if ref is None:
            expected[f"setting-{key}"] = prop.get("default")
            continue
        for member, schema in schemas[ref.split("/")[-1]]["properties"].items():
            expected[f"setting-{member if key == 'thresholds' else key + '-' + member}"] = schema.get("default")
    assert len(expected) >= 8
    _sign_in(page, url, tenant.api_key, "#/models/churn")
    page.click("#settings-toggle")
    page.wait_for_selector("#settings-form")
    for field, default in expected.items():
        assert page.locator(f"#{field}").count() == 1, field
        label = page.locator("label.setting", has=page.locator(f"#{field}")).inner_text()
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            assert f"(default {default:g})" in label or f"(default {default})" in label, (field, label)
        elif isinstance(default, str):
            assert f"(default {default})" in label, (field, label)
    assert page.locator("#settings-form label.setting").count() == len(expected)


@pytest.fixture
def segmented(tenant, api, settings):
    """A model declaring region whose small eu region (4% of the rows) drifts in x on 2026-11-01."""
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine
    from tests.support import segments

    segments._model(api, tenant, "shop")
    segments._reference(api, tenant, "shop")
    segments._send(api, tenant, "shop", segments._records(segments.DAY1, segments.SHARES, "p", 2, {"eu": 2.0}))
    databases = WorkerDatabases(settings)
    try:
        DriftEngine(databases).run(tenant.tenant, "shop")
    finally:
        databases.close()
    with serving() as url:
        yield url, tenant


def test_the_segment_picker_shows_one_regions_traffic_in_every_chart_and_keeps_it_in_the_url(page, segmented):
    url, tenant = segmented
    _sign_in(page, url, tenant.api_key, "#/models/shop?from=2026-11-01&to=2026-11-02&granularity=day")
    page.wait_for_selector("#segment")
    options = page.locator("#segment option").all_text_contents()
    assert options[0] == "all traffic" and {"region = eu", "region = us", "region = ap", "region = other"} <= set(
        options
    )
    assert page.locator('#heatmap button.drift[data-column="x"]').count() == 0  # the whole did not drift in x
    assert page.locator("#total-predictions").inner_text() == "3,000"

    page.select_option("#segment", "region:eu")
    page.wait_for_function("location.hash.includes('segment=region%3Aeu')")
    page.wait_for_selector('#heatmap button.drift[data-column="x"]')
    assert page.locator("#total-predictions").inner_text() == "120"
    assert page.locator("#alert-list .alert", has_text="in region = eu").count() >= 1
    _shot(page, "segment-eu")

    # the URL alone opens the same view
    page.goto(f"{url}/dashboard#/models/shop?from=2026-11-01&to=2026-11-02&granularity=day&segment=region:eu")
    page.wait_for_selector('#heatmap button.drift[data-column="x"]')
    assert page.locator("#segment").input_value() == "region:eu"
