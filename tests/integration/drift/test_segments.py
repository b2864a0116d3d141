"""Segments (docs/segments.md): drift followed per value of a declared field, through the real engine and API.

A model declares ``region``; its rows carry eu (4% of traffic), us and ap. The engine follows each value as a
segment model and raises an incident for a segment only when the whole model does not flag the same thing:
one small region drifting opens ``region:eu``'s incident and no model-wide one; the whole model drifting opens
the model-wide one and no per-region copies (what a naive per-segment version gets wrong); a stationary control
opens nothing. Then: values beyond ``segment_top_values`` go to ``other``, the query routes' ``segment=``
parameter, segment models never show as models, and DELETE takes them along.

Everything goes through the real write path: the model declares ``segments`` on ``POST /v1/models``, records
carry ``"segments": {"region": ...}`` (API batches), and the scenario's day comes half as an API batch, half as a
bulk CSV file with a ``region`` column (the file ingest function, S3 and SQS from moto).
"""

from __future__ import annotations

import psycopg
import pytest

from tests.integration.test_file_ingest import files  # noqa: F401 - the fixture
from tests.support.segments import DAY1, DAY2, SHARES, _csv, _model, _records, _reference, _send

UNIVARIATE = ("feature_drift", "prediction_drift", "label_drift")


@pytest.fixture
def engine(settings):
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine

    dbs = WorkerDatabases(settings)
    yield DriftEngine(dbs)
    dbs.close()


def _incidents(tenant, model: str) -> list[dict]:
    """(segment, kind, subject) of the model's incidents and its segment models', with their summary."""
    with tenant.connect(row_factory=psycopg.rows.dict_row) as conn:
        return conn.execute(
            """SELECT m.segment, i.kind, i.subject, i.condition, i.status, i.summary FROM incidents i
               JOIN models m ON m.id = i.model_id
               JOIN models p ON p.id = coalesce(m.parent_id, m.id)
               WHERE p.name = %s AND i.kind <> 'data_quality' ORDER BY m.segment NULLS FIRST, i.kind, i.subject""",
            (model,),
        ).fetchall()


def _drift(tenant, model: str, feature: str = "x") -> dict[str | None, str]:
    """Segment (None: model-wide) → the day's drift verdict on `feature`."""
    with tenant.connect() as conn:
        rows = conn.execute(
            """SELECT m.segment, r.verdict FROM drift_results r JOIN models m ON m.id = r.model_id
               JOIN models p ON p.id = coalesce(m.parent_id, m.id)
               WHERE p.name = %s AND r.feature = %s AND r.granularity = 'day' AND r.window_start = %s""",
            (model, feature, f"{DAY1}T00:00:00Z"),
        ).fetchall()
    return dict(rows)


def _run(api, tenant, engine, name: str, shift: dict[str, float] | None, files=None) -> dict:  # noqa: F811
    """A model declaring region, its reference, the day's rows (with `files`: the second half as a CSV file)."""
    _model(api, tenant, name)
    _reference(api, tenant, name)
    day = _records(DAY1, SHARES, "p", 2, shift)
    if files is None:
        _send(api, tenant, name, day)
    else:
        half = len(day) // 2
        _send(api, tenant, name, day[:half])
        key = f"{tenant.name}/{name}/predictions/day1.csv"
        files.drop(key, _csv(day[half:]))
        assert files.result(key)["rows"] == len(day) - half, files.result(key)
    return engine.run(tenant.tenant, name)


# --- the scenario ------------------------------------------------------------------------------------------------
def test_one_small_region_drifting_opens_its_segment_incident_and_not_the_model_wide_one(
    api,
    tenant,
    engine,
    files,  # noqa: F811
):
    report = _run(api, tenant, engine, "shop", {"eu": 2.0}, files)
    with tenant.connect() as conn:  # the rows of the API batch and of the file carry their region
        regions = dict(conn.execute("SELECT seg[1], count(*) FROM predictions GROUP BY 1"))
    assert regions == SHARES

    # every followed value and `other` ran its own steps
    assert set(report["segments"]) == {"region:eu", "region:us", "region:ap", "region:other"}
    verdicts = _drift(tenant, "shop")
    assert verdicts[None] != "drift"  # the whole stays within the thresholds (eu is 4% of it)
    assert verdicts["region:eu"] == "drift"
    assert verdicts["region:us"] != "drift" and verdicts["region:ap"] != "drift"
    found = [(i["segment"], i["kind"], i["subject"]) for i in _incidents(tenant, "shop") if i["kind"] in UNIVARIATE]
    assert ("region:eu", "feature_drift", "x") in found
    # nothing model-wide, nothing in us or ap (the PCA's reconstruction error, which a few outlying rows move,
    # may flag the whole model: then eu's own multivariate flag is the parent's incident, not one more)
    assert [f for f in found if f[0] != "region:eu"] == []
    eu = next(i for i in _incidents(tenant, "shop") if i["kind"] == "feature_drift")
    assert "in region = eu" in eu["summary"] and eu["status"] == "open"

    # the API lists it under the parent, naming its segment; the filter narrows the list
    listed = api.get("/v1/models/shop/alerts", tenant.api_key)
    assert listed.status == 200, listed.body
    drift = [a for a in listed.body["alerts"] if a["kind"] == "feature_drift"]
    assert [(a["segment"], a["subject"]) for a in drift] == [("region:eu", "x")]
    one = api.get(f"/v1/models/shop/alerts/{drift[0]['id']}", tenant.api_key)
    assert one.status == 200 and one.body["segment"] == "region:eu" and one.body["timeline"]
    assert api.get("/v1/models/shop/alerts?segment=region:us", tenant.api_key).body["alerts"] == []
    only_eu = api.get("/v1/models/shop/alerts?segment=region:eu", tenant.api_key).body["alerts"]
    assert drift[0]["id"] in [a["id"] for a in only_eu]
    ack = api.post(f"/v1/models/shop/alerts/{drift[0]['id']}/acknowledge", tenant.api_key, json={})
    assert ack.status == 200 and ack.body["status"] == "acknowledged"
    resolved = api.post(f"/v1/models/shop/alerts/{drift[0]['id']}/resolve", tenant.api_key, json={})
    assert resolved.status == 200 and resolved.body["status"] == "resolved"

    # /drift per segment: eu's day drifted in x, the whole's did not
    eu_drift = api.get("/v1/models/shop/drift?segment=region:eu&granularity=day", tenant.api_key)
    assert eu_drift.status == 200, eu_drift.body
    (window,) = eu_drift.body["windows"]
    assert {f["name"]: f["verdict"] for f in window["features"]}["x"] == "drift"
    whole = api.get("/v1/models/shop/drift?granularity=day", tenant.api_key).body["windows"]
    assert {f["name"]: f["verdict"] for f in whole[0]["features"]}["x"] != "drift"
    # /stats per segment counts that region's rows
    stats = api.get("/v1/models/shop/stats?granularity=day&segment=region:eu", tenant.api_key)
    assert stats.status == 200, stats.body
    assert [w["predictions"] for w in stats.body["windows"]] == [SHARES["eu"]]
    assert [
        w["predictions"] for w in api.get("/v1/models/shop/stats?granularity=day", tenant.api_key).body["windows"]
    ] == [sum(SHARES.values())]
    # the drift cell of eu's x
    cell = api.get(
        f"/v1/models/shop/drift/x?segment=region:eu&granularity=day&window_start={DAY1}T00:00:00Z", tenant.api_key
    )
    assert cell.status == 200, cell.body
    assert cell.body["result"]["verdict"] == "drift"


def test_the_whole_model_drifting_opens_only_the_model_wide_incident(api, tenant, engine):
    _run(api, tenant, engine, "all", {"eu": 1.0, "us": 1.0, "ap": 1.0})

    verdicts = _drift(tenant, "all")
    # every segment drifts too: a naive version opens one incident per region besides the model-wide one
    assert verdicts[None] == "drift" and verdicts["region:eu"] == "drift" and verdicts["region:us"] == "drift"
    found = {(i["segment"], i["kind"], i["subject"]) for i in _incidents(tenant, "all")}
    assert (None, "feature_drift", "x") in found
    assert {f for f in found if f[0] is not None} == set()  # of any kind


def test_when_the_whole_catches_up_later_the_segment_incident_gives_way_to_the_model_wide_one(api, tenant, engine):
    # Given eu drifting alone in x (its incident open)
    _run(api, tenant, engine, "later", {"eu": 2.0})
    assert ("region:eu", "feature_drift", "x") in {
        (i["segment"], i["kind"], i["subject"]) for i in _incidents(tenant, "later")
    }

    # When rows of us and ap only (eu's window does not change) make the whole day drift in x
    _send(api, tenant, "later", _records(DAY1, {"us": 3000, "ap": 3000}, "q", 7, {"us": 1.5, "ap": 1.5}))
    engine.run(tenant.tenant, "later")

    # Then x is the model-wide incident only: eu's day is revisited against its parent's flags
    assert _drift(tenant, "later")[None] == "drift"
    found = {(i["segment"], i["kind"], i["subject"]) for i in _incidents(tenant, "later") if i["kind"] in UNIVARIATE}
    assert (None, "feature_drift", "x") in found
    assert ("region:eu", "feature_drift", "x") not in found


def test_a_stationary_control_opens_nothing(api, tenant, engine):
    report = _run(api, tenant, engine, "calm", None)

    assert _incidents(tenant, "calm") == []
    assert set(_drift(tenant, "calm").values()) <= {"no_drift"}
    assert report["segments"]["region:eu"]["profile"]["rows"] == SHARES["eu"]


# --- followed values, other ----------------------------------------------------------------------------------------
def test_values_beyond_the_top_n_are_grouped_as_other_and_new_values_fill_free_places(api, tenant, engine):
    # Given segment_top_values 2: the reference's two most frequent regions are followed, eu goes to other
    _model(api, tenant, "top", {"segment_top_values": 2})
    _reference(api, tenant, "top")
    _send(api, tenant, "top", _records(DAY1, SHARES, "p", 2))
    report = engine.run(tenant.tenant, "top")

    assert set(report["segments"]) == {"region:us", "region:ap", "region:other"}
    body = api.get("/v1/models/top", tenant.api_key).body
    assert body["segment_values"] == {"region": ["ap", "us", "other"]}
    # other's rows: eu's (a new value found later goes there too: no place is free)
    assert report["segments"]["region:other"]["profile"]["rows"] == SHARES["eu"]
    _send(api, tenant, "top", _records(DAY2, {"sa": 80, "us": 100}, "q", 3))
    again = engine.run(tenant.tenant, "top")
    assert set(again["segments"]) == {"region:us", "region:ap", "region:other"}
    assert again["segments"]["region:other"]["profile"]["rows"] == 80

    # When the setting grows to 4, the next new value takes a free place as it first appears (eu, already
    # passed, stays in other's history; it is followed from the next rows that carry it on)
    put = api.request("PUT", "/v1/models/top/settings", tenant.api_key, json_body={"segment_top_values": 4})
    assert put.status == 200, put.body
    _send(api, tenant, "top", _records(DAY2, {"mx": 60}, "s", 4))
    third = engine.run(tenant.tenant, "top")
    # (mx is not in the uploaded reference: its segment model waits for a first window of its own)
    assert "region:mx" in third["segments"]
    stats = api.get("/v1/models/top/stats?granularity=day&segment=region:mx", tenant.api_key).body
    assert [w["predictions"] for w in stats["windows"]] == [60]


# --- the query routes' parameter -----------------------------------------------------------------------------------
CELL = f"granularity=day&window_start={DAY1}T00:00:00Z&"


@pytest.mark.parametrize(
    "route, extra, listed",
    [
        ("/drift", "", "windows"),
        ("/performance", "", "windows"),
        ("/stats", "", "windows"),
        ("/alerts", "", "alerts"),
        ("/drift/x", CELL, None),
    ],
    ids=["drift", "performance", "stats", "alerts", "cell"],
)
def test_a_bad_segment_parameter_is_a_400_naming_it(api, tenant, engine, route, extra, listed):
    _model(api, tenant, "q", {"segment_top_values": 2})
    _reference(api, tenant, "q")
    engine.run(tenant.tenant, "q")

    def get(segment: str):
        return api.get(f"/v1/models/q{route}?{extra}segment={segment}", tenant.api_key)

    for value, words in (
        ("eu", "<field>:<value>"),
        ("country:fr", "'country' is not a segment field"),
        ("region:", "the value is empty"),
        ("region:eu", "followed: ap, us); the rest are under region:other"),
    ):
        reply = get(value)
        assert reply.status == 400, (value, reply.body)
        (detail,) = reply.body["error"]["details"]
        assert detail["field"] == "segment" and words in detail["message"], (value, detail)
    # a followed value whose segment model has no results yet (no rows after the reference): an empty list
    for value in ("region:us", "region:other"):
        ok = get(value)
        assert ok.status == 200, ok.body
        if listed:
            assert ok.body[listed] == []
        else:
            assert ok.body["result"] is None


def test_a_model_without_segments_refuses_the_parameter(api, tenant):
    _model(api, tenant, "plain", fields=())
    reply = api.get("/v1/models/plain/drift?segment=region:eu", tenant.api_key)
    assert reply.status == 400
    (detail,) = reply.body["error"]["details"]
    assert detail["field"] == "segment" and "declared: none" in detail["message"]
    assert "segment_values" not in api.get("/v1/models/plain", tenant.api_key).body


# --- isolation and deletion ----------------------------------------------------------------------------------------
def test_segment_models_are_never_models_to_the_user_and_go_with_their_parent(api, tenant, engine):
    _run(api, tenant, engine, "iso", {"eu": 2.0})

    assert [m["name"] for m in api.get("/v1/models", tenant.api_key).body["models"]] == ["iso"]
    assert api.get("/v1/models/iso%2Fregion:eu", tenant.api_key).status == 404
    reply = api.post(
        "/v1/models/iso%2Fregion:eu/predictions", tenant.api_key, json={"records": _records(DAY2, {"eu": 1}, "z", 5)}
    )
    assert reply.status in (400, 404), reply.body
    # the planner plans the parent only
    from seia_drift.repositories.planning import PlanningRepository

    _send(api, tenant, "iso", _records(DAY2, {"eu": 10}, "y", 6))
    with tenant.connect() as conn:
        assert PlanningRepository(conn).pending_models() == ["iso"]

    assert api.request("DELETE", "/v1/models/iso", tenant.api_key).status == 202
    with tenant.connect() as conn:
        assert conn.execute("SELECT count(*) FROM models").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM incidents").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM drift_results").fetchone()[0] == 0


# --- client and CLI ------------------------------------------------------------------------------------------------
def test_the_client_and_the_cli_take_a_segment(api, tenant, engine, monkeypatch, capsys):
    import json

    from seia_admin.cli import main
    from seia_client.client import Client
    from tests.support.live import serving

    _run(api, tenant, engine, "cli", {"eu": 2.0})
    with serving() as url:
        client = Client(url, tenant.api_key)
        eu = client.drift("cli", start=f"{DAY1}T00:00:00Z", end=f"{DAY2}T00:00:00Z", segment="region:eu")
        assert set(eu.loc[eu["name"] == "x", "verdict"]) == {"drift"}
        whole = client.drift("cli", start=f"{DAY1}T00:00:00Z", end=f"{DAY2}T00:00:00Z")
        assert "drift" not in set(whole.loc[whole["name"] == "x", "verdict"])
        assert (
            client.stats("cli", start=f"{DAY1}T00:00:00Z", end=f"{DAY2}T00:00:00Z", segment="region:eu")[
                "predictions"
            ].sum()
            == SHARES["eu"]
        )
        alerts = client.alert_list("cli", segment="region:eu")
        assert {a["segment"] for a in alerts} == {"region:eu"} and any(a["subject"] == "x" for a in alerts)

        monkeypatch.setenv("SEIA_URL", url)
        monkeypatch.setenv("SEIA_API_KEY", tenant.api_key)
        code = main(["drift", "show", "cli", "--since", "3650d", "--segment", "region:eu", "--drift-only", "--json"])
        out, _ = capsys.readouterr()
        assert code == 0
        assert {f["name"]: f["verdict"] for w in json.loads(out)["windows"] for f in w["features"]}["x"] == "drift"
        code = main(["alerts", "cli", "--segment", "region:eu"])
        out, _ = capsys.readouterr()
        assert code == 0 and "in region = eu" in out
        code = main(["drift", "show", "cli", "--segment", "region:xx"])
        _, err = capsys.readouterr()
        assert code != 0 and "segment" in err and "region:other" in err and "Traceback" not in err


def test_a_value_with_quotes_braces_and_colons_is_a_value_like_any_other(api, tenant, engine):
    from urllib.parse import quote

    odd = "o'b{r}:%s\\"
    _model(api, tenant, "odd")
    _reference(api, tenant, "odd", {"us": 300})
    day = _records(DAY1, {"us": 200}, "p", 2)
    for r in day:  # the rows us-p1* carry the odd value (it is not in the reference)
        if r["prediction_id"].startswith("us-p1"):
            r["segments"] = {"region": odd}
    moved = sum(r["segments"]["region"] == odd for r in day)
    _send(api, tenant, "odd", day)
    with tenant.connect() as conn:
        assert conn.execute("SELECT count(*) FROM predictions WHERE seg = ARRAY[%s]", (odd,)).fetchone()[0] == moved
    report = engine.run(tenant.tenant, "odd")

    assert f"region:{odd}" in report["segments"]
    assert api.get("/v1/models/odd", tenant.api_key).body["segment_values"] == {
        "region": sorted(["us", odd]) + ["other"]
    }
    stats = api.get(f"/v1/models/odd/stats?granularity=day&segment={quote('region:' + odd)}", tenant.api_key)
    assert stats.status == 200, stats.body
    assert [w["predictions"] for w in stats.body["windows"]] == [moved]
    us = api.get("/v1/models/odd/stats?granularity=day&segment=region:us", tenant.api_key).body["windows"]
    assert [w["predictions"] for w in us] == [200 - moved]


# --- causes naming a segment value -------------------------------------------------------------------------------
def _labelled(day: str, counts: dict[str, int], prefix: str, seed: int, wrong: dict[str, float]):
    """Records whose label is the prediction except for a share ``wrong[region]`` of each region's rows."""
    import numpy as np

    rng = np.random.default_rng(seed)
    records, truths = [], []
    for r in _records(day, counts, prefix, seed):
        region = r["segments"]["region"]
        predicted = "yes" if rng.uniform() < 0.5 else "no"
        flipped = rng.uniform() < wrong[region]
        label = {"yes": "no", "no": "yes"}[predicted] if flipped else predicted
        records.append(dict(r, prediction=predicted, score=0.8 if predicted == "yes" else 0.2))
        truths.append({"prediction_id": r["prediction_id"], "label": label})
    return records, truths


def test_a_model_wide_accuracy_drop_confined_to_one_region_names_that_region_first(api, tenant, engine):
    # Given a reference where every region is right 90% of the time (eu 30%, us 40%, ap 30% of the rows)
    _model(api, tenant, "acc")
    ref, ref_truths = _labelled("2026-10-31", {"eu": 300, "us": 400, "ap": 300}, "r", 1, dict.fromkeys(SHARES, 0.1))
    labels = {t["prediction_id"]: t["label"] for t in ref_truths}
    _send(api, tenant, "acc", [dict(r, label=labels[r["prediction_id"]]) for r in ref], kind="reference")
    # When, in a day where us merely grows (40% -> 60% of the rows, as right as before), eu is wrong 80% of the
    # time: accuracy falls about 0.9 -> 0.76 for the whole model
    day, truths = _labelled(DAY1, {"eu": 200, "us": 600, "ap": 200}, "p", 2, {"eu": 0.8, "us": 0.1, "ap": 0.1})
    _send(api, tenant, "acc", day)
    _send(api, tenant, "acc", truths, kind="ground-truths")
    engine.run(tenant.tenant, "acc")

    # Then the model-wide performance incident opens (eu's own would be the same series: none)
    perf = [i for i in _incidents(tenant, "acc") if i["kind"] == "performance" and i["condition"] == "accuracy"]
    assert [i["segment"] for i in perf] == [None], perf
    listed = api.get("/v1/models/acc/alerts", tenant.api_key).body["alerts"]
    (alert,) = [a for a in listed if a["kind"] == "performance" and a["condition"] == "accuracy"]
    assert alert["segment"] is None
    causes = api.get(f"/v1/models/acc/alerts/{alert['id']}", tenant.api_key).body["causes"]
    # and its first cause is the region eu (concept drift there), not us, which only grew, nor a feature
    first = causes[0]
    assert (first["kind"], first["name"], first["segment"]) == ("segment_field", "region", "region = eu"), causes
    assert "rows in region = eu" in first["message"] and "concept drift" in first["message"], first["message"]
    assert "region = us" not in [c["segment"] for c in causes[:1]]
    # (the stored cause segments of the field: the reference's and the day's rows per region)
    with tenant.connect() as conn:
        ref_rows, day_rows = (
            dict(
                conn.execute(
                    f"""SELECT s.segment, sum(s.rows)::int FROM {table} s JOIN models m ON m.id = s.model_id
                        WHERE m.name = 'acc' AND s.feature = 'region' GROUP BY 1"""
                ).fetchall()
            )
            for table in ("drift_segments_reference", "drift_segments_hourly")
        )
    assert (ref_rows, day_rows) == ({"eu": 300, "us": 400, "ap": 300}, {"eu": 200, "us": 600, "ap": 200})
