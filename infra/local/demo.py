"""``make demo``: two weeks of a churn model in under two minutes, told as a short story.

A tenant and a binary churn model; its training reference; fourteen days of hourly predictions sent
through ``seia_client.Client``, prices rising on day 8 (a covariate shift of ``monthly_charges``) and labels
arriving days late in simulated time; then the drift schedule runs the way it does locally (the
EventBridge event on the planner's schedule queue, the function host hands it to the planner, which
fans out to the drift queue and the worker) and the top alert is printed with its probable cause.

With ``make up`` running (the API answers on 127.0.0.1:${SEIA_PORT:-8000}, LocalStack on :4566) the
demo uses it. Otherwise it starts what it needs in the background (PostgreSQL and migrations,
LocalStack, the template's queues under a stack name of its own, the function host, the API on a free
port) and stops it at the end; ``--standalone`` always does so.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from infra.local import postgres
from infra.local import stack as local_stack
from infra.local import template as tpl
from infra.local.events import scheduled_event

LOCALSTACK_SH = postgres.ROOT / "infra" / "localstack" / "localstack.sh"
LOCALSTACK_HEALTH = "http://127.0.0.1:4566/_localstack/health"

MODEL = "churn"
LABELS = ["stay", "churn"]
FEATURES = {
    "tenure_months": "numeric",
    "monthly_charges": "numeric",
    "support_calls": "numeric",
    "age": "numeric",
    "plan": "categorical",
    "region": "categorical",
}
SHIFTED = "monthly_charges"
DAYS, SHIFT_DAY, PER_HOUR, REFERENCE_ROWS = 14, 8, 100, 5000
PRICE_RISE = 20.0
COVERAGE_THRESHOLD = 0.5  # the engine's default: below it a day's performance is provisional
SUBJECTS = {"__score__": "the score", "__prediction__": "the predicted label", "__label__": "the labels"}
KIND_ORDER = ("prediction_drift", "performance", "label_drift", "feature_drift", "data_quality")
SEVERITY_ORDER = ("high", "medium", "low")


# -- the story's data --------------------------------------------------------------------------------
def customers(rng: np.random.Generator, n: int, price_rise: float = 0.0):
    """n customers, their true churn probability (the deployed model's score) and what they did."""
    import pandas as pd

    tenure = rng.gamma(2.0, 12.0, n).round(1)
    charges = (rng.normal(65.0, 18.0, n).clip(15.0, 200.0) + price_rise).round(2)
    calls = rng.poisson(1.2, n)
    age = rng.normal(44.0, 13.0, n).clip(18.0, 90.0).round()
    plan = rng.choice(["basic", "standard", "premium"], n, p=[0.5, 0.35, 0.15])
    region = rng.choice(["north", "south", "east", "west"], n)
    plan_effect = np.select([plan == "basic", plan == "premium"], [0.3, -0.4], 0.0)
    z = -1.2 + 0.045 * (charges - 65.0) - 0.05 * (tenure - 24.0) + 0.35 * (calls - 1.2) + plan_effect
    score = 1.0 / (1.0 + np.exp(-z))
    churned = rng.random(n) < score
    return pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_charges": charges,
            "support_calls": calls,
            "age": age,
            "plan": plan,
            "region": region,
            "score": score.round(4),
            "prediction": np.where(score >= 0.5, LABELS[1], LABELS[0]),
            "label": np.where(churned, LABELS[1], LABELS[0]),
        }
    )


def reference(rng: np.random.Generator, start: datetime):
    df = customers(rng, REFERENCE_ROWS)
    df.insert(0, "prediction_id", [f"ref-{i:05d}" for i in range(len(df))])
    df.insert(1, "timestamp", [start - timedelta(days=30) + timedelta(minutes=5 * i) for i in range(len(df))])
    return df


@dataclass
class Traffic:
    """What the simulation sent, per day (0-based)."""

    predictions: list[int] = field(default_factory=lambda: [0] * DAYS)
    labelled: list[int] = field(default_factory=lambda: [0] * DAYS)
    labels_sent: int = 0

    def provisional_days(self) -> list[int]:
        return [d for d in range(DAYS) if self.labelled[d] < COVERAGE_THRESHOLD * self.predictions[d]]


def two_weeks(client, rng: np.random.Generator, start: datetime, traffic: Traffic):
    """Day by day in simulated time, the frames of predictions for the client to send.

    Between two days, the labels known by the end of the day are sent: each customer's outcome is
    known 1.5 to 5 days after the prediction, so the last days end the story still unlabelled.
    """
    import pandas as pd

    waiting = []  # per day already sent: when each label becomes known, the labels, which went out
    for day in range(DAYS):
        day_start = start + timedelta(days=day)
        frames = []
        for hour in range(24):
            df = customers(rng, PER_HOUR, PRICE_RISE if day + 1 >= SHIFT_DAY else 0.0)
            offsets = np.sort(rng.uniform(0, 3600, PER_HOUR))
            df.insert(0, "prediction_id", [f"d{day + 1:02d}h{hour:02d}-{i:03d}" for i in range(PER_HOUR)])
            df.insert(1, "timestamp", [day_start + timedelta(hours=hour, seconds=float(s)) for s in offsets])
            frames.append(df)
        predictions = pd.concat(frames, ignore_index=True)
        delay = pd.to_timedelta(rng.uniform(1.5, 5.0, len(predictions)), unit="D")
        waiting.append(
            (
                predictions["timestamp"] + delay,
                predictions[["prediction_id", "label"]],
                np.zeros(len(predictions), dtype=bool),
            )
        )
        traffic.predictions[day] = len(predictions)
        yield predictions.drop(columns=["label"])

        end_of_day = pd.Timestamp(day_start + timedelta(days=1))
        for origin, (known_at, labels, sent) in enumerate(waiting):
            due = (known_at <= end_of_day).to_numpy() & ~sent
            if due.any():
                client.log_ground_truths(labels[due], MODEL, progress=False)
                sent |= due
                traffic.labelled[origin] += int(due.sum())
                traffic.labels_sent += int(due.sum())


# -- the stack: `make up`'s, or one of our own in the background -------------------------------------
def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@dataclass
class Stack:
    api_url: str
    plan: tpl.LocalPlan
    urls: dict[str, str]  # queue name -> URL
    description: str

    def stop(self) -> None:
        pass


def running_stack(port: int) -> Stack | None:
    """`make up`'s stack when it serves both the API and the template's queues, else None."""
    from seia.config import load_local_env, seia_home

    if not (_answers(f"http://127.0.0.1:{port}/health") and _answers(LOCALSTACK_HEALTH)):
        return None
    try:
        if "SEIA_DRIFT_QUEUE_URL=" not in (seia_home() / "env").read_text():
            return None  # `make up` without LocalStack (SEIA_NO_LOCALSTACK=1): no function host
    except OSError:
        return None
    load_local_env()
    plan = tpl.plan("seia")  # the stack name `make up` deploys
    sqs = local_stack.client("sqs")
    try:
        urls = {name: sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in plan.queues}
    except sqs.exceptions.QueueDoesNotExist:
        return None
    return Stack(f"http://127.0.0.1:{port}", plan, urls, f"`make up` (API on :{port}, LocalStack on :4566)")


class BackgroundStack(Stack):
    """PostgreSQL, migrations, LocalStack, the template's resources, the function host and the API."""

    def __init__(self):
        self._cleanup = []
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        if not os.environ.get("DATABASE_URL"):
            os.environ["DATABASE_URL"] = postgres.resolve()
        if not os.environ.get("SEIA_SECRET_KEY"):
            from infra.local.up import ensure_secret_key

            ensure_secret_key()
        from seia.config import get_settings
        from seia.tenancy import TenantAdmin

        TenantAdmin(get_settings()).migrate_all()
        started = ""
        if not local_stack.localstack_answers():
            subprocess.run(["bash", str(LOCALSTACK_SH.parent / "install.sh")], check=True, stdout=subprocess.DEVNULL)
            subprocess.run(["bash", str(LOCALSTACK_SH), "start"], check=True, stdout=subprocess.DEVNULL)
            self._cleanup.append(
                lambda: subprocess.run(["bash", str(LOCALSTACK_SH), "stop"], stdout=subprocess.DEVNULL)
            )
            started = "LocalStack started, "

        from infra.local.apihost import ApiHost, default_functions, make_server
        from infra.local.functionhost import FunctionHost

        self.plan = tpl.plan("demo" + secrets.token_hex(3))
        self.urls = local_stack.deploy(self.plan)
        self._cleanup.append(lambda: local_stack.teardown(self.plan))
        os.environ.update({**local_stack.aws_environment(), **self.plan.environment})
        host = FunctionHost(self.plan, self.urls)
        host.start()
        self._cleanup.append(host.stop)
        server = make_server(ApiHost(default_functions()), "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, name="demo-api", daemon=True).start()
        self._cleanup.append(server.server_close)
        self._cleanup.append(server.shutdown)
        port = server.server_address[1]
        self.api_url = f"http://127.0.0.1:{port}"
        self.description = f"its own, in the background ({started}stack {self.plan.stack}, API on :{port})"

    def stop(self) -> None:
        while self._cleanup:
            try:
                self._cleanup.pop()()
            except Exception as exc:  # noqa: BLE001 - stop the rest all the same
                print(f"  (while stopping: {type(exc).__name__}: {exc})", file=sys.stderr)


# -- the drift schedule ------------------------------------------------------------------------------
def _depth(sqs, url: str) -> int:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(n, 0)) for n in names)


def run_schedule(stack: Stack, timeout: float = 90.0) -> float:
    """Deliver one scheduled event to the planner and wait until the planner and the worker are done.

    The planner sends its per-tenant messages before its own message is deleted, and the worker sends a
    tenant's per-model messages before deleting that tenant's, so once the schedule queue is empty the
    drift queue holds every message the run produced, until the worker deletes each one after running
    its steps. Returns the seconds it took.
    """
    (schedule,) = stack.plan.schedules
    drift = next(c.queue for c in stack.plan.consumers if c.function == "DriftWorkerFunction")
    rule_arn = f"arn:aws:events:{tpl.REGION}:{tpl.ACCOUNT}:rule/{schedule.rule_name}"
    sqs = local_stack.client("sqs")
    began = time.monotonic()
    sqs.send_message(QueueUrl=stack.urls[schedule.queue], MessageBody=json.dumps(scheduled_event(rule_arn)))
    for queue in (schedule.queue, drift):
        while _depth(sqs, stack.urls[queue]) > 0:
            if time.monotonic() - began > timeout:
                raise SystemExit(
                    f"the drift run did not finish within {timeout:.0f} s (queue {queue} is not empty); "
                    "see the function host's log (the `make up` terminal)"
                )
            time.sleep(0.3)
    return time.monotonic() - began


def top_alert(alerts: list[dict]) -> dict:
    """The most severe incident (at its peak), the model's own output first, and of those the earliest.

    Multivariate drift comes last whatever its severity: it also fires on a shift the univariate
    incidents name more precisely, and the story is about the feature that moved."""

    def rank(a):
        worst = a["peak_severity"]
        severity = SEVERITY_ORDER.index(worst) if worst in SEVERITY_ORDER else len(SEVERITY_ORDER)
        kind = KIND_ORDER.index(a["kind"]) if a["kind"] in KIND_ORDER else len(KIND_ORDER)
        return a["kind"] == "multivariate_drift", severity, kind, a["first_window_start"]

    return min(alerts, key=rank)


def wait_for_alerts(client, timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        alerts = client.alert_list(MODEL, status="open")
        if alerts and all(a["causes"] for a in alerts if a["kind"] != "data_quality"):
            return alerts
        if time.monotonic() > deadline:
            return alerts
        time.sleep(0.5)


# -- the story ---------------------------------------------------------------------------------------
def _day(start: datetime, when: str) -> str:
    moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    return f"day {(moment - start).days + 1} ({moment:%b %d})"


def _days(numbers: list[int]) -> str:
    if not numbers:
        return "none"
    return f"{numbers[0]}–{numbers[-1]}" if len(numbers) > 1 else str(numbers[0])


def tell(stack: Stack, seed: int) -> str:
    """Tell the story on stdout; return the dashboard URL."""
    from seia.config import get_settings
    from seia.tenancy import TenantAdmin
    from seia_client.client import Client

    began = time.monotonic()
    rng = np.random.default_rng(seed)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=DAYS)
    print(f"  Stack      {stack.description}")

    tenant = TenantAdmin(get_settings()).create_tenant(f"demo-{secrets.token_hex(3)}")
    client = Client(stack.api_url, tenant.api_key)
    client.create_model(MODEL, "binary_classification", FEATURES, labels=LABELS)
    print(f"  Tenant     {tenant.tenant.name}, with its own database and API key")
    print(f"  Model      {MODEL}: binary classification ({' / '.join(LABELS)}) on {', '.join(FEATURES)}")
    sent = client.log_reference(reference(rng, start), MODEL)
    print(f"  Reference  {sent['accepted']:,} labelled training rows uploaded\n")

    print(
        f"Two weeks, {start:%b %d} – {today - timedelta(days=1):%b %d}: {PER_HOUR * 24:,} predictions a day, sent "
        "hour by hour through seia_client.Client."
    )
    print(
        f"On day {SHIFT_DAY} prices rise by ${PRICE_RISE:.0f} a month: {SHIFTED} shifts for every customer "
        "from then on."
    )
    print("Whether a customer churned is known 1.5 to 5 days after the prediction: labels trail behind.")
    traffic = Traffic()
    t0 = time.monotonic()
    client.log_predictions(two_weeks(client, rng, start, traffic), MODEL, total=DAYS * 24 * PER_HOUR)
    provisional = [d + 1 for d in traffic.provisional_days()]
    print(
        f"  Sent       {sum(traffic.predictions):,} predictions and {traffic.labels_sent:,} labels "
        f"in {time.monotonic() - t0:.0f} s; days {_days(provisional)} are still provisional "
        f"(under {COVERAGE_THRESHOLD:.0%} labelled)\n"
    )

    print("Running the drift schedule: scheduled event → planner → drift queue → worker")
    seconds = run_schedule(stack)
    alerts = wait_for_alerts(client)
    flagged = sum(a["windows_flagged"] for a in alerts)
    print(
        f"  Done       in {seconds:.1f} s: {len(alerts)} open incident(s), one per condition, "
        f"over {flagged} flagged windows\n"
    )
    if not alerts:
        raise SystemExit("no alert was raised: the demo expected the price rise to be found")

    top = client.alert_get(MODEL, top_alert(alerts)["id"])
    last = datetime.fromisoformat(top["last_window_end"]) - timedelta(days=1)
    print(
        f"Top incident [{top['peak_severity']}] {top['kind']} on {SUBJECTS.get(top['subject'], top['subject'])}, "
        f"{_day(start, top['first_window_start'])} to {_day(start, last.isoformat())}: "
        f"{top['windows_flagged']} of its {len(top['timeline'])} windows flagged"
    )
    print(f"             {top['summary']}")
    if top["causes"]:
        cause = top["causes"][0]
        print(f"Top cause    {cause['name']}: {cause['message']}")
    others = Counter(
        f"{a['kind']} ({SUBJECTS.get(a['subject'], a['subject'])})" for a in alerts if a["id"] != top["id"]
    )
    if others:
        print("Also open    " + ", ".join(f"{what} ×{n}" for what, n in others.most_common()))
    print(f"\nSee it in the dashboard: {stack.api_url}/dashboard")
    print(f"  and paste the API key: {tenant.api_key}")
    print(f"\n(the demo took {time.monotonic() - began:.0f} s)")
    return f"{stack.api_url}/dashboard"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--standalone", action="store_true", help="start a stack of its own even when `make up` is running"
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="stop the background stack at once, without waiting for Enter"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    port = int(os.environ.get("SEIA_PORT", "8000"))

    print("Seia demo: a churn model's two weeks, in under two minutes\n", flush=True)
    found = None if args.standalone else running_stack(port)
    own = found is None
    if found is None:
        print("  (starting PostgreSQL, LocalStack, the function host and the API in the background ...)", flush=True)
    stack = BackgroundStack() if found is None else found
    try:
        tell(stack, args.seed)
        if own and not args.no_wait and sys.stdin.isatty():
            input("\nThe dashboard is served until you press Enter. ")
    finally:
        stack.stop()
    if own:
        print(
            f"The demo's stack has stopped; the data stays: with `make up` running it is at "
            f"http://127.0.0.1:{port}/dashboard, with the same key."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
