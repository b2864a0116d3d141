"""The report's HTML alone: escaped text, no script, and empty sections said in words."""

from seia_client import report

EMPTY = {
    "model": "churn",
    "from": "2026-11-01T00:00:00+00:00",
    "to": "2026-11-02T00:00:00+00:00",
    "granularity": "hour",
    "generated_at": "2026-11-02T00:00:05+00:00",
    "summary": {"drift_windows": 0, "performance_windows": 0, "drifting_columns": [], "alerts": 0, "open_alerts": 0},
    "features": ["age"],
    "drift": [],
    "performance": [],
    "alerts": [],
}


def test_an_empty_range_says_so_in_each_section():
    html = report.render_html(EMPTY)
    assert "No drift results in this range." in html and "No alerts in this range." in html
    assert "No performance windows in this range" in html
    assert "2026-11-01 00:00 to 2026-11-02 00:00 UTC · hour windows" in html


def test_text_from_the_api_is_escaped_and_open_alerts_come_first():
    alerts = [
        {"id": "1", "status": "acknowledged", "opened_at": "2026-11-01T12:00:00+00:00", "summary": "old"},
        {
            "id": "2",
            "status": "open",
            "opened_at": "2026-11-01T01:00:00+00:00",
            "summary": "<b>x</b> drifted",
            "causes": [{"message": "rows with <script> went up"}],
        },
    ]
    html = report.render_html({**EMPTY, "alerts": alerts, "summary": {**EMPTY["summary"], "alerts": 2}})
    assert "<script" not in html and "&lt;b&gt;x&lt;/b&gt; drifted" in html
    assert html.index("drifted") < html.index(">old<")


def test_a_heat_cell_carries_its_verdict_and_a_tooltip():
    window = {
        "window_start": "2026-11-01T05:00:00+00:00",
        "features": [{"name": "age", "verdict": "drift", "severity": "high", "effect_ratio": 2.5, "driver": "psi"}],
    }
    html = report.heat_map({**EMPTY, "drift": [window]})
    assert 'data-column="age"' in html and 'data-verdict="drift"' in html and 'fill="#b5171f"' in html
    assert "<title>age · 11-01 05h: drift (high), 2.50× the threshold of psi</title>" in html


def test_report_times_read_as_dates_iso_times_or_durations(capsys):
    from datetime import UTC, datetime

    from seia_client import cli

    assert cli._when("2026-11-01", None) == datetime(2026, 11, 1, tzinfo=UTC)
    assert cli._when("2026-11-01T12:00Z", None) == datetime(2026, 11, 1, 12, tzinfo=UTC)
    assert abs((datetime.now(UTC) - cli._when("7d", None)).total_seconds() - 7 * 86400) < 60
    assert cli.main(["report", "churn", "--from", "2026-11-02", "--to", "2026-11-01", "--api-key", "k"]) == 2
    assert "--from (2026-11-02T00:00:00+00:00) must be before --to" in capsys.readouterr().err
    assert cli.main(["report", "churn", "--from", "last week", "--api-key", "k"]) == 2
    assert "'last week' is neither a time" in capsys.readouterr().err


def test_check_reads_an_answer_it_does_not_understand_as_a_usage_error_not_as_open(capsys):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from seia_client import cli

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            raw = json.dumps({"items": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert cli.main(["check", "churn", "--url", url, "--api-key", "k"]) == 2
    finally:
        server.shutdown()
        server.server_close()
    assert capsys.readouterr().err.strip() == "error: unexpected answer from GET /v1/models/churn/alerts (no 'alerts')"
