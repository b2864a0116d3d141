"""The scheduled path end to end on the local stack: schedule -> planner -> drift queue -> worker."""

import json
import time

from infra.local import stack
from tests.events import load as load_event
from tests.support import scenarios


def test_a_scheduled_event_fans_out_to_the_worker_which_stores_results_and_incidents(local_stack, aws_env, tenant):
    plan, urls = local_stack
    data = scenarios.generate("covariate_shift", seed=3)
    with tenant.connect() as conn:
        scenarios.load(conn, "churn", data)
    (schedule,) = plan.schedules
    # What the EventBridge rule delivers to its target: the scheduled event, as the body.
    stack.client("sqs", aws_env).send_message(
        QueueUrl=urls[schedule.queue], MessageBody=json.dumps(load_event("eventbridge_drift_schedule"))
    )
    top = None
    deadline = time.time() + 120
    while time.time() < deadline and top is None:  # the causes step is the last to commit
        time.sleep(1)
        with tenant.connect() as conn:
            top = conn.execute("""
                SELECT c.feature FROM incident_causes c JOIN incidents i ON i.id = c.incident_id
                WHERE i.kind = 'prediction_drift' ORDER BY c.rank LIMIT 1""").fetchone()
    assert top is not None, "no prediction-drift incident with causes within 120 s"
    assert top == (data.injected,)
    with tenant.connect() as conn:
        assert conn.execute("SELECT count(*) FROM drift_windows WHERE status = 'ok'").fetchone()[0] >= 1
    dlq = stack.client("sqs", aws_env).get_queue_attributes(
        QueueUrl=urls[f"{plan.stack}-drift-dlq"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert dlq["Attributes"]["ApproximateNumberOfMessages"] == "0"
