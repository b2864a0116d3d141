"""A file loaded in parts while its tenant's database goes away in the middle of a part: that part's message
comes back (batchItemFailures), SQS delivers it again once the database is back, and the file completes once."""

from __future__ import annotations

import pytest
from moto import mock_aws

from tests.conftest import reset_process_caches
from tests.reliability.conftest import count, point_tenant_at, say


@pytest.mark.parametrize("step", ["stage", "publish"])
def test_the_database_down_mid_part_retries_the_part_and_the_file_completes_once(
    settings, monkeypatch, churn_tenant, tenant_admin, db_proxy, request, step
):
    from seia_files import parts
    from seia_files.service import get_file_ingest_service
    from tests.integration.test_file_ingest import csv_rows
    from tests.integration.test_file_parts import _drop

    point_tenant_at(tenant_admin, churn_tenant, db_proxy.port)
    request.addfinalizer(lambda: point_tenant_at(tenant_admin, churn_tenant, None))
    cut = {"done": False}
    real_add_chunk, real_write = parts.PartsRepository.add_chunk, parts.FileStagingRepository.write_chunk
    # every part is published through write_chunk (predictions staged in the wide form by an earlier version
    # through write_staged_predictions)
    real_write_staged = parts.FileStagingRepository.write_staged_predictions

    def outage_once():
        if not cut["done"]:
            cut["done"] = True
            db_proxy.stop()  # every connection cut mid-transaction, new ones refused
            say(f"db fault: proxy stopped during a part's {step} step")

    def add_chunk(self, file_id, part, chunk, *args):
        if step == "stage" and part == 2:  # the part's row is locked and its rows read: mid-transaction
            outage_once()
        return real_add_chunk(self, file_id, part, chunk, *args)

    def write_chunk(self, *args):
        if step == "publish":
            outage_once()
        return real_write(self, *args)

    monkeypatch.setattr(parts.PartsRepository, "add_chunk", add_chunk)

    def write_staged_predictions(self, *args):
        if step == "publish":
            outage_once()
        return real_write_staged(self, *args)

    monkeypatch.setattr(parts.FileStagingRepository, "write_chunk", write_chunk)
    monkeypatch.setattr(parts.FileStagingRepository, "write_staged_predictions", write_staged_predictions)
    with mock_aws():
        files = _drop(settings, monkeypatch, 60_000)
        key = f"{churn_tenant.name}/churn/predictions/outage-{step}.csv"
        files.put(key, csv_rows(20_000))  # about 1.3 MB: some 20 parts
        failed_messages = 0
        for _ in range(500):
            messages = files.receive()
            if not messages:
                break
            reply = files.deliver(messages)
            failed = reply["batchItemFailures"]
            if failed:
                failed_messages += len(failed)
                db_proxy.start()
                say(f"db fault: {len(failed)} message(s) reported failed; proxy back")
                for m in messages:
                    if m["MessageId"] in {f["itemIdentifier"] for f in failed}:
                        files.sqs.change_message_visibility(
                            QueueUrl=files.queue, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                        )
        result = files.result(key)
        get_file_ingest_service().db.close()
        get_file_ingest_service.cache_clear()
    reset_process_caches()

    with churn_tenant.connect() as conn:
        states = conn.execute("SELECT state, count(*) FROM file_parts GROUP BY state").fetchall()
        logged = conn.execute("SELECT count(*), sum(rows) FROM file_ingests").fetchone()
        distinct = conn.execute("SELECT count(DISTINCT prediction_id) FROM predictions").fetchone()[0]
    say(
        f"db fault ({step}): result {result['status']} rows={result['rows']}; parts {states}; stored {count(churn_tenant)}"
    )
    assert cut["done"] and failed_messages >= 1
    assert (result["status"], result["rows"], result["duplicates"]) == ("loaded", 20_000, 0)
    assert [s for s, _ in states] == ["published"] and states[0][1] >= 8
    assert count(churn_tenant) == distinct == 20_000
    assert (logged[0], int(logged[1])) == (1, 20_000)
