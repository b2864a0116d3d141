"""The model page on ten months of history, in a real (headless) Chromium, as a new user first sees it.

The history is bench/history.py's (a 7-feature binary model; from the sixth month n0, n1, n3 and c0
drift gradually), thinned to 100 rows a day and ending yesterday, loaded through the ingest
repositories and run once through the drift engine. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration import test_dashboard as dashboard
from tests.support.live import serving

# the dashboard tests' Chromium (module-scoped) and its pages, with their helpers
browser, page = dashboard.browser, dashboard.page
_shot, _sign_in = dashboard._shot, dashboard._sign_in

ROWS_PER_DAY = 100
DRIFTING = ("n0", "n1", "n3", "c0")
STEADY = ("n2", "n4", "c1")


@pytest.fixture(scope="module")
def history(tenant_admin, settings):
    """A tenant with model m: ten months of daily history ending yesterday, its drift engine run."""
    from bench import history as bench_history
    from seia.repositories.models import ModelRepository
    from seia.repositories.records import GroundTruthRepository, PredictionRepository, ReferenceRepository
    from seia.schema import Feature
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine
    from tests.conftest import TenantHandle

    tenant = TenantHandle(tenant_admin, tenant_admin.create_tenant("h" + secrets.token_hex(4)))
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=bench_history.DAYS)
    reference, rows = bench_history.generate(rows_per_day=ROWS_PER_DAY, start=start)
    features = [Feature(f, "numeric") for f in bench_history.NUMERIC]
    features += [Feature(c, "categorical") for c in bench_history.CATEGORICAL]
    with tenant.connect() as conn, conn.transaction():
        # 100 rows a day: each day is judged (min_rows 100)
        model = ModelRepository(conn).insert("m", "binary_classification", features, list(bench_history.LABELS), {})
        assert model is not None
        ReferenceRepository(conn).add(model.id, bench_history._records(reference, "r", True), replace=False)
        PredictionRepository(conn).add(model.id, bench_history._records(rows, "d", False))
        GroundTruthRepository(conn).add(
            model.id, [(f"d{i}", bench_history.LABELS[y], None, None) for i, y in enumerate(rows["y_true"])]
        )
    databases = WorkerDatabases(settings)
    try:
        DriftEngine(databases).run(tenant.tenant, "m")
    finally:
        databases.close()
    with serving() as url:
        yield url, tenant, today


def _heat_map(page) -> dict[str, list[tuple[str, str]]]:
    """Per row of the visible heat map: (window, class) of each cell."""
    out: dict[str, list[tuple[str, str]]] = {}
    cells = page.locator("#heatmap button.cell")
    for column, window, cls in cells.evaluate_all(
        "els => els.map(e => [e.dataset.column, e.dataset.window, e.className])"
    ):
        out.setdefault(column, []).append((window, cls))
    return out


def _colour(page, column: str, window: str) -> tuple[int, int, int]:
    css = page.locator(f'#heatmap button[data-column="{column}"][data-window="{window}"]').evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return r, g, b


def test_the_model_page_opens_on_the_latest_week_with_the_drifting_features_red_within_two_screens(page, history):
    url, tenant, today = history
    _sign_in(page, url, tenant.api_key, "#/models/m")
    page.wait_for_selector("#heatmap")
    _shot(page, "history-model")

    # Given ten months of history, the page asks for the last 7 days (whole UTC days, today's included)
    body = page.locator("body")
    assert body.get_attribute("data-granularity") == "day"
    assert body.get_attribute("data-to") == (today + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body.get_attribute("data-from") == (today - timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert page.locator("#range-picker [data-range='7d']").get_attribute("aria-current") == "true"
    # The heat map covers that week: 7 day columns per row (the last 6 days of data, and today's, still empty)
    rows = _heat_map(page)
    days = [(today - timedelta(days=6 - i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(7)]
    assert set(DRIFTING + STEADY) <= set(rows)
    for column in DRIFTING + STEADY:
        assert [w for w, _ in rows[column]] == days
    # The drifting features are red on the days with data; the steady ones mostly are not.
    for column in DRIFTING:
        flagged = [w for w, cls in rows[column][:-1] if "drift" in cls.split()]
        assert len(flagged) >= 5, (column, rows[column])
        r, g, b = _colour(page, column, flagged[-1])
        assert r > 130 and g < 120 and b < 120, (column, (r, g, b))
    for column in STEADY:
        assert sum("drift" in cls.split() for _, cls in rows[column]) <= 2, (column, rows[column])
    assert "none" in rows["n0"][-1][1].split()  # today: no result yet
    # And the page stays within two screens.
    height = page.evaluate("document.documentElement.scrollHeight")
    viewport = page.evaluate("window.innerHeight")
    assert height <= 2 * viewport, (height, viewport)


def test_a_range_is_kept_in_the_url_and_every_chart_follows_it(page, history):
    url, tenant, today = history
    _sign_in(page, url, tenant.api_key, "#/models/m")
    page.wait_for_selector("#heatmap")
    page.click("#range-picker [data-range='24h']")
    page.wait_for_selector("body[data-granularity=hour]")
    page.wait_for_selector("body[data-state=ready]")
    assert "range=24h" in page.url
    # 24 hours ending at the next full hour, per hour: the heat map has 24 columns (results or not), the
    # volume table only the hours of that span
    start, end = body_time(page, "data-from"), body_time(page, "data-to")
    assert end - start == timedelta(hours=24) and end.minute == 0
    assert timedelta(0) < end - datetime.now(UTC) <= timedelta(hours=1)
    assert len(_heat_map(page)["n0"]) == 24
    for text in page.locator("#volume-table tbody tr td:first-child").all_text_contents():
        assert text >= start.strftime("%Y-%m-%d %H:%M")
    # A shared link opens the same custom range
    first, last = today - timedelta(days=120), today - timedelta(days=91)
    link = f"#/models/m?from={first:%Y-%m-%d}&to={last:%Y-%m-%d}"
    page.goto(f"{url}/dashboard{link}")
    page.reload()  # as a link opened afresh (the key stays in the tab's session storage)
    page.wait_for_selector(f"body[data-state=ready][data-from='{first:%Y-%m-%dT%H:%M:%SZ}']")
    assert page.locator(".range-custom").get_attribute("class").split()[-1] == "selected"
    assert body_time(page, "data-from") == first and body_time(page, "data-to") == last
    assert len(_heat_map(page)["n0"]) == 29
    windows = page.locator("#performance-table tbody tr td:first-child").all_text_contents()
    assert windows[0] == f"{first:%Y-%m-%d} 00:00" and windows[-1] == f"{last - timedelta(days=1):%Y-%m-%d} 00:00"
    _shot(page, "history-custom-range")


def body_time(page, attribute: str) -> datetime:
    return datetime.fromisoformat(page.locator("body").get_attribute(attribute).replace("Z", "+00:00"))


def test_a_click_on_a_cell_shows_that_window_distributions_statistics_and_causes(page, history):
    url, tenant, today = history
    _sign_in(page, url, tenant.api_key, "#/models/m")
    page.wait_for_selector("#heatmap")
    day = (today - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    page.click(f'#heatmap button[data-column="n0"][data-window="{day}"]')
    page.wait_for_selector("#cell-title")
    page.wait_for_selector("#chart-cell canvas")
    assert f"cell=n0%40{day.replace(':', '%3A')}" in page.url or f"cell=n0@{day}" in page.url
    _shot(page, "history-cell")
    assert page.inner_text("#cell-title").startswith("n0 · " + day[:10])
    assert page.inner_text("#cell-verdict").startswith("drift")
    # the window's statistics: n0's mean moved ~1.5 standard deviations from the reference's ~0
    stat = lambda name: float(page.locator(f'#cell-statistics tr[data-stat="{name}"] td').inner_text())  # noqa: E731
    assert abs(stat("mean_ref")) < 0.2 and 1.1 < stat("mean_cur") < 1.9
    assert stat("rows_cur") == ROWS_PER_DAY
    causes = page.locator("#cell-causes .alert")
    assert causes.count() >= 1
    assert "n0" in causes.first.inner_text()
