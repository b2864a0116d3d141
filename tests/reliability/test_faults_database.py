"""Faults around a tenant's database: it goes away mid-ingest and comes back; a write commits but its
answer (or the file's result and message delete) is lost, so the same work arrives again."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

from tests.reliability.conftest import count, drift_matches_clean, point_tenant_at, say, stored_ids
from tests.support import data
from tests.support.live import serving

BATCHES, BATCH_ROWS = 90, 200


def _records(batch: int) -> list[dict]:
    out = []
    for i in range(BATCH_ROWS):
        rec = data.prediction(batch * BATCH_ROWS + i)
        rec["prediction_id"] = f"b{batch}-{i}"
        out.append(rec)
    return out


def test_database_unreachable_mid_ingest_is_503_and_retrying_clients_store_everything_once(
    api, churn_tenant, tenant_admin, db_proxy, settings, request
):
    point_tenant_at(tenant_admin, churn_tenant, db_proxy.port)
    # Pointed back even when an assertion fails: a tenant left behind a dead proxy would fail every
    # later test that walks all tenants (seia migrate) on this worker.
    request.addfinalizer(lambda: point_tenant_at(tenant_admin, churn_tenant, None))
    batches = [_records(b) for b in range(BATCHES)]
    statuses: dict[int, int] = {}
    accepted = duplicates = 0
    # Rows answered as duplicates, and how many of them belong to batches that had been answered 503
    # before: a commit whose answer the outage cut is the only way a first send can already be stored.
    retried_duplicates = 0
    outage = threading.Event()
    lock = threading.Lock()
    bad: list[str] = []

    with serving() as url:
        port = int(url.rsplit(":", 1)[1])

        def client(mine: list[list[dict]]) -> None:
            nonlocal accepted, duplicates, retried_duplicates
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            headers = {"Authorization": f"Bearer {churn_tenant.api_key}", "Content-Type": "application/json"}
            for records in mine:
                body = json.dumps({"records": records}).encode()
                saw_503 = False
                for _attempt in range(60):
                    conn.request("POST", "/v1/models/churn/predictions", body=body, headers=headers)
                    reply = conn.getresponse()
                    payload = json.loads(reply.read())
                    with lock:
                        statuses[reply.status] = statuses.get(reply.status, 0) + 1
                    if reply.status == 202:
                        with lock:
                            accepted += payload["accepted"]
                            duplicates += payload["duplicates"]
                            if saw_503:
                                retried_duplicates += payload["duplicates"]
                            if payload["accepted"] + payload["duplicates"] != len(records):
                                bad.append(f"partial answer {payload}")
                        break
                    if reply.status != 503:
                        with lock:
                            bad.append(f"HTTP {reply.status}: {payload}")
                        return
                    assert payload["error"]["code"] == "service_unavailable"
                    saw_503 = True
                    time.sleep(0.3)
                else:
                    bad.append("gave up after 60 attempts")
                time.sleep(0.15)
            conn.close()

        threads = [threading.Thread(target=client, args=(batches[k::3],)) for k in range(3)]
        for th in threads:
            th.start()
        time.sleep(1.0)
        say(
            f"db fault: tenant {churn_tenant.name} reached through a proxy on :{db_proxy.port}; "
            f"{count(churn_tenant)} rows stored before the outage"
        )
        db_proxy.stop()
        outage.set()
        say(
            "db fault: proxy stopped (every connection cut, new ones refused) for 12 s mid-ingest (longer than the pool wait of 10 s)"
        )
        time.sleep(12)
        in_outage = count(churn_tenant)
        db_proxy.start()
        say(f"db fault: proxy back; {in_outage} rows were stored when it came back")
        for th in threads:
            th.join(180)

    ids = stored_ids(churn_tenant)
    sent = [r["prediction_id"] for b in batches for r in b]
    say(
        f"db fault: statuses {statuses}; accepted {accepted}, duplicates {duplicates} "
        f"(batches committed whose answer was lost, then retried); rows stored {len(ids)} of {len(sent)} sent"
    )
    assert not bad, bad
    assert set(statuses) <= {202, 503} and statuses.get(503, 0) > 0
    assert sorted(ids) == sorted(sent)  # every record exactly once
    # Every row counted once: accepted by the send that stored it, or a duplicate of a send whose
    # commit went through while its answer was lost to the outage (then only whole batches, and only
    # for batches that were answered 503 first; a batch never sent before is never a duplicate).
    assert accepted + duplicates == len(ids)
    assert duplicates == retried_duplicates
    assert duplicates % BATCH_ROWS == 0
    point_tenant_at(tenant_admin, churn_tenant, None)
    drift_matches_clean(api, churn_tenant, settings, "churn", [r for b in batches for r in b])


def test_a_batch_whose_answer_is_lost_after_commit_is_counted_as_duplicates_when_resent(api, churn_tenant, monkeypatch):
    """The write commits, then the function dies before answering (here: the response is lost)."""
    import seia_ingest.service as service_module

    real = service_module.IngestService.add_predictions
    calls = {"n": 0}

    def commit_then_crash(self, tenant, model_name, body):
        result = real(self, tenant, model_name, body)
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionResetError("the function died after COMMIT, before answering")
        return result

    monkeypatch.setattr(service_module.IngestService, "add_predictions", commit_then_crash)
    body = {"records": _records(0)}
    first = api.post("/v1/models/churn/predictions", churn_tenant.api_key, json=body)
    again = api.post("/v1/models/churn/predictions", churn_tenant.api_key, json=body)
    say(
        f"lost answer: first attempt -> {first.status}, retry -> {again.status} {again.body}; "
        f"rows stored {count(churn_tenant)}"
    )
    assert first.status == 500 and first.error["message"] == "internal error"
    assert again.status == 202 and again.body == {"accepted": 0, "duplicates": BATCH_ROWS}
    assert count(churn_tenant) == BATCH_ROWS


def test_a_file_message_redelivered_after_the_load_committed_adds_no_rows(
    file_drop, churn_tenant, monkeypatch, api, settings
):
    """The handler commits the file's rows, then dies before writing the result and before the
    message is deleted; SQS delivers the message again."""
    from seia_files.storage import ObjectStore
    from tests.integration.test_file_ingest import csv_rows

    key = f"{churn_tenant.name}/churn/predictions/partial.csv"
    file_drop.put(key, csv_rows(3000))
    [message] = file_drop.receive()
    real_put = ObjectStore.put_result

    def die(self, *args, **kwargs):
        raise SystemExit("killed after COMMIT, before the result and the delete")

    monkeypatch.setattr(ObjectStore, "put_result", die)
    with pytest.raises(SystemExit):
        file_drop.deliver([message], delete=False)
    after_crash = count(churn_tenant)
    monkeypatch.setattr(ObjectStore, "put_result", real_put)
    file_drop.sqs.change_message_visibility(
        QueueUrl=file_drop.queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    [again] = file_drop.receive()
    reply = file_drop.deliver([again])
    result = file_drop.result(key)
    with churn_tenant.connect() as conn:
        logged = conn.execute("SELECT count(*), sum(rows) FROM file_ingests").fetchone()
    say(
        f"redelivery: rows after the crash {after_crash}; redelivered message -> {reply}; result {result['status']} "
        f"rows={result['rows']}; rows stored {count(churn_tenant)}; file_ingests {logged}"
    )
    assert after_crash == 3000
    assert reply == {"batchItemFailures": []}
    assert result["status"] == "loaded" and result["rows"] == 3000
    assert count(churn_tenant) == 3000 and (logged[0], int(logged[1])) == (1, 3000)
    assert file_drop.deliver() == {"batchItemFailures": []}  # the result object's own notification, ignored
    assert count(churn_tenant) == 3000
