"""Step 5: the metrics hold through the verification window, and the quick e2e test passes.
Without a metrics source a person confirms the checks on the dashboards."""

from __future__ import annotations

from typing import Any

from bot.integrations import e2e
from bot.playbook import OPS, MetricCheck
from bot.rollback.model import NOT_CONFIGURED, RequestView
from bot.rollback.steps.base import BaseStep, StepError, StepResult
from storage.models import RunbookStep
from storage.status import StepStatus


class Verify(BaseStep):
    name = "verify"
    title = "Verify: metrics and the quick e2e test"
    by_hand = "Check saga_success_rate and p95 latency on the dashboards and run the e2e test."

    def run(self, view: RequestView, step: RunbookStep) -> StepResult:
        output = dict(step.output or {})
        checks = self.kit.playbook.rollback.verify.checks
        if checks and "metrics" not in output:
            if self.kit.metrics is None and not output.get("metrics_confirmed_by"):
                return StepResult(StepStatus.WAITING, {**output, "note": _ask_person(checks)})
            if self.kit.metrics is None:
                output["metrics"] = f"confirmed by {output['metrics_confirmed_by']}"
            else:
                output["metrics"] = self._hold(checks)
            self.kit.store.merge_output(step.id, metrics=output["metrics"])
        if checks:
            self.done(step, "metrics", _metrics_text(output["metrics"]), metrics=output["metrics"])
        command = self.kit.playbook.rollback.verify.e2e_command
        if command:
            result = self.attempt(
                step,
                "e2e test",
                "Run the quick e2e test by hand.",
                lambda: self._e2e(view, command),
            )
            self.done(step, "e2e test", f"`{command}` passed", e2e=result)
        else:
            self.skipped(
                step,
                "e2e test",
                f"{NOT_CONFIGURED} (rollback.verify.e2e_command)",
                "Run the quick e2e test by hand.",
            )
        self.kit.store.mark_recovered(view.id, self.kit.clock.now())
        return StepResult(output={**output, **(step.output or {})})

    def _e2e(self, view: RequestView, command: str) -> dict[str, Any]:
        result = e2e.run(command, self.kit.playbook.rollback.e2e_timeout_seconds)
        if not result.passed:
            last = result.tail.splitlines()[-1] if result.tail else "no output"
            outcome = f"exit {result.exit_code}" if result.exit_code is not None else last
            raise StepError(f"the e2e test `{command}` failed ({outcome})")
        tail = result.tail
        self.kit.display.say(view.id, lambda n, v: n.e2e_passed(v, command, tail))
        return {"exit_code": result.exit_code, "tail": result.tail}

    def _hold(self, checks: list[MetricCheck]) -> dict[str, Any]:
        """Every check must pass on every sample through the verification window."""
        verify = self.kit.playbook.rollback.verify
        metrics = self.kit.metrics
        assert metrics is not None
        samples = max(1, int(verify.window_seconds // verify.sample_seconds) + 1)
        readings: dict[str, Any] = {}
        for sample in range(samples):
            if sample:
                self.kit.sleep(verify.sample_seconds)
            for check in checks:
                reading = metrics.read(check.metric)
                if reading is None:
                    raise StepError(f"no data from Prometheus for {check.metric}")
                if not OPS[check.op](float(reading.value), float(check.value)):
                    raise StepError(
                        f"{check.metric} is {reading.value:g}, needs "
                        f"{check.op} {check.value:g} (sample {sample + 1}/{samples})"
                    )
                readings[check.metric] = {"value": reading.value, "ok": True, "samples": sample + 1}
        return readings


def _metrics_text(metrics: object) -> str:
    if isinstance(metrics, dict):
        return "held: " + ", ".join(f"{k} {v.get('value')}" for k, v in metrics.items())
    return str(metrics)


def _ask_person(checks: list[MetricCheck]) -> str:
    wanted = ", ".join(f"{c.metric} {c.op} {c.value:g}" for c in checks)
    return f"no metrics source configured: a person confirms {wanted}"
