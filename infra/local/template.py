"""template.yaml, read for the local stack: resources resolved as CloudFormation would resolve them.

Only what the local stack needs is resolved: Ref (parameters, pseudo parameters, queues, buckets, topics),
Fn::GetAtt <queue>.Arn, Fn::Sub, Fn::Select and Fn::Join. The result is a ``LocalPlan``: the buckets,
queues, SNS topics, notifications and schedules to create on LocalStack, and which handler consumes which queue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ACCOUNT = "000000000000"
REGION = "us-east-1"


class _Loader(yaml.SafeLoader):
    pass


def _construct(loader, suffix, node):
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", _construct)


def load(path: Path = TEMPLATE) -> dict:
    return yaml.load(path.read_text(), Loader=_Loader)


@dataclass(frozen=True)
class Queue:
    logical_id: str
    name: str
    visibility_timeout: int | None
    retention: int | None
    dead_letter: str | None  # queue name
    max_receive_count: int | None


@dataclass(frozen=True)
class Bucket:
    logical_id: str
    name: str
    versioned: bool
    notify_queues: tuple[tuple[str, tuple[str, ...]], ...]  # (queue name, events)


@dataclass(frozen=True)
class Consumer:
    """A function fed by a queue (an SQS event source, or a schedule delivered through a local queue)."""

    function: str
    handler: str
    queue: str
    batch_size: int
    report_failures: bool
    timeout: int


@dataclass(frozen=True)
class Schedule:
    rule_name: str
    expression: str
    queue: str  # locally, the rule targets this queue; the host hands its messages to the function
    input: str | None


@dataclass
class LocalPlan:
    stack: str
    queues: dict[str, Queue] = field(default_factory=dict)
    buckets: dict[str, Bucket] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)  # topic name -> logical id
    consumers: list[Consumer] = field(default_factory=list)
    schedules: list[Schedule] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)

    def queue_arn(self, name: str) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"

    def topic_arn(self, name: str) -> str:
        return f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"


class Resolver:
    def __init__(
        self, template: dict, stack: str, overrides: dict | None = None, sqs_endpoint: str = "http://127.0.0.1:4566"
    ):
        self.sqs_endpoint = sqs_endpoint
        self.template = template
        self.resources = template["Resources"]
        self.values = {
            "AWS::StackName": stack,
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        for name, spec in (template.get("Parameters") or {}).items():
            if "Default" in spec:
                self.values[name] = str(spec["Default"])
        self.values.update(overrides or {})

    def resolve(self, value):
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                resource, attribute = arg
                if attribute == "Arn" and self.resources[resource]["Type"] == "AWS::SQS::Queue":
                    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self._queue_name(resource)}"
                raise ValueError(f"cannot resolve GetAtt {resource}.{attribute} locally")
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(extra.get(m.group(1)) or self._ref(m.group(1))), text)
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::Join":
                return arg[0].join(str(self.resolve(v)) for v in arg[1])
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str):
        if name in self.values:
            return self.values[name]
        resource = self.resources.get(name)
        if resource is None:
            raise ValueError(f"unknown reference {name}")
        if resource["Type"] == "AWS::SQS::Queue":  # Ref of a queue is its URL, as in CloudFormation
            return f"{self.sqs_endpoint}/queue/{REGION}/{ACCOUNT}/{self._queue_name(name)}"
        if resource["Type"] == "AWS::S3::Bucket":
            return self.resolve(resource["Properties"]["BucketName"])
        if resource["Type"] == "AWS::SNS::Topic":  # Ref of a topic is its ARN
            return f"arn:aws:sns:{REGION}:{ACCOUNT}:{self.resolve(resource['Properties']['TopicName'])}"
        return name

    def _queue_name(self, logical_id: str) -> str:
        return self.resolve(self.resources[logical_id]["Properties"]["QueueName"])


def plan(stack: str = "seia", template: dict | None = None, overrides: dict | None = None) -> LocalPlan:
    template = template or load()
    r = Resolver(template, stack, overrides)
    out = LocalPlan(stack=stack)
    arn_to_queue = {}
    for logical_id, res in template["Resources"].items():
        if res["Type"] == "AWS::SQS::Queue":
            props = r.resolve(res["Properties"])
            redrive = props.get("RedrivePolicy") or {}
            dlq = redrive.get("deadLetterTargetArn")
            q = Queue(
                logical_id,
                props["QueueName"],
                props.get("VisibilityTimeout"),
                props.get("MessageRetentionPeriod"),
                dlq.rsplit(":", 1)[-1] if dlq else None,
                int(redrive["maxReceiveCount"]) if redrive else None,
            )
            out.queues[q.name] = q
            arn_to_queue[out.queue_arn(q.name)] = q.name
    for logical_id, res in template["Resources"].items():
        if res["Type"] == "AWS::SNS::Topic":
            out.topics[r.resolve(res["Properties"]["TopicName"])] = logical_id
    for logical_id, res in template["Resources"].items():
        if res["Type"] == "AWS::S3::Bucket":
            props = r.resolve(res["Properties"])
            notes = (props.get("NotificationConfiguration") or {}).get("QueueConfigurations") or []
            out.buckets[props["BucketName"]] = Bucket(
                logical_id,
                props["BucketName"],
                (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled",
                tuple((arn_to_queue[n["Queue"]], (n["Event"],)) for n in notes),
            )
    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    for logical_id, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = res["Properties"]
        # Function-level variables only (bucket, queue URLs): the database and credential settings in
        # Globals are AWS's; locally they come from .local (see infra/local/up.py).
        env = {k: str(v) for k, v in r.resolve((props.get("Environment") or {}).get("Variables") or {}).items()}
        # One local process hosts every function: a service name would be the last function's.
        env.pop("POWERTOOLS_SERVICE_NAME", None)
        timeout = int(r.resolve(props.get("Timeout", globals_fn.get("Timeout", 3))))
        for event_name, event in (props.get("Events") or {}).items():
            ep = r.resolve(event.get("Properties") or {})
            if event["Type"] == "SQS":
                out.consumers.append(
                    Consumer(
                        logical_id,
                        props["Handler"],
                        arn_to_queue[ep["Queue"]],
                        int(ep.get("BatchSize", 10)),
                        "ReportBatchItemFailures" in (ep.get("FunctionResponseTypes") or []),
                        timeout,
                    )
                )
                out.environment.update(env)
            elif event["Type"] == "Schedule":
                queue = f"{stack}-{logical_id}-{event_name}-local"
                out.queues[queue] = Queue(f"{logical_id}{event_name}Local", queue, timeout * 6, None, None, None)
                out.schedules.append(
                    Schedule(
                        ep.get("Name") or f"{stack}-{logical_id}-{event_name}", ep["Schedule"], queue, ep.get("Input")
                    )
                )
                out.consumers.append(Consumer(logical_id, props["Handler"], queue, 1, False, timeout))
                out.environment.update(env)
    return out
