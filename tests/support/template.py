"""Reading template.yaml (CloudFormation tags such as !Ref are kept as plain values)."""

from __future__ import annotations

from pathlib import Path

import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node, deep=True)}
    return {suffix: loader.construct_mapping(node, deep=True)}


_CfnLoader.add_multi_constructor("!", _tag)


def load() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)


def api_routes(template: dict) -> dict[tuple[str, str], str]:
    """(path, METHOD) → function logical id, from every function's Api events."""
    routes = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event["Type"] == "Api":
                routes[(event["Properties"]["Path"], event["Properties"]["Method"].upper())] = name
    return routes
