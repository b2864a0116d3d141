"""The template's plan with a short visibility timeout on the file queue, deployed on a LocalStack."""

from __future__ import annotations

import dataclasses


def plan_for(stack: str, visibility: int):
    from infra.local import template

    plan = template.plan(stack)
    for name, queue in list(plan.queues.items()):
        if queue.dead_letter:  # the queues that feed functions
            plan.queues[name] = dataclasses.replace(queue, visibility_timeout=visibility)
    return plan


def deploy_plan(stack: str, visibility: int, endpoint: str):
    from infra.local import stack as local_stack

    plan = plan_for(stack, visibility)
    return plan, local_stack.deploy(plan, endpoint)
