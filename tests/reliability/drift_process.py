"""The drift worker as a process that SIGKILLs itself after (or in the middle of) a given step.

Usage: python -m tests.reliability.drift_process TENANT MODEL STEP after|during
"""

import os
import signal
import sys


def main() -> None:
    from seia.config import get_settings
    from seia_drift.db import WorkerDatabases
    from seia_drift.engine import DriftEngine
    from seia_drift.steps import DEFAULT_STEPS
    from seia_drift.steps.base import Step

    tenant_name, model, target, when = sys.argv[1:5]

    def die():
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    class KillAfter(Step):
        name = "kill"

        def run(self, ctx):
            die()

    steps = []
    for cls in DEFAULT_STEPS:
        if cls.name == target and when == "during":

            class KillDuring(cls):
                def run(self, ctx):
                    super().run(ctx)
                    die()  # the step's work is done but its transaction never commits

            steps.append(KillDuring)
        else:
            steps.append(cls)
        if cls.name == target and when == "after":
            steps.append(KillAfter)
    databases = WorkerDatabases(get_settings())
    DriftEngine(databases, steps).run(databases.tenant_named(tenant_name), model)
    print("finished without being killed", flush=True)


if __name__ == "__main__":
    main()
