"""3. What waiting costs: API calls made and how late the end is noticed.

Three executions of a workflow that runs D seconds (one Wait state on moto)
start together and are awaited side by side, each with its own client and
its own request counter (a botocore ``before-send.sfn`` hook):

* the baseline: ``describe_execution`` every second until the status is not
  RUNNING (what the AWS data science SDK does);
* ``Manager.wait_for_completion`` with the default ``PollPolicy``;
* ``Manager.wait_for_completion`` with a PollPolicy tuned to the expected
  duration: first poll after 0.4 D, doubling, capped at 0.8 D, no jitter.

The detection delay is the time between the ``stop_time`` the engine
recorded and the moment the waiter returned (same clock: moto runs in this
process).

For longer executions (60 s, 600 s) the call counts are modelled, not
measured: the default policy's own intervals (jitter included), counted until
the end, against the ``D + 1`` calls of the fixed poll.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from _common import Results, moto_provider, spec, wait_definition

from landlord_workflow import ExecutionInput, Manager, PollPolicy, Registry

if TYPE_CHECKING:
    from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
    from landlord_workflow.testing._moto import LocalStepFunctions

WORKFLOW = "bench-wait"
FIXED_POLL_SECONDS = 1.0
MODELLED_DURATIONS = (60, 600)


class RequestCounter:
    """Counts the HTTP requests a botocore client sends (``before-send`` hook)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, **kwargs: Any) -> None:
        self.count += 1


def counted(provider: StepFunctionsProvider) -> RequestCounter:
    """Start counting the requests of ``provider``'s client."""
    counter = RequestCounter()
    provider.client.meta.events.register("before-send.sfn", counter)
    return counter


def tuned_policy(duration: float) -> PollPolicy:
    """A PollPolicy for executions expected to take about ``duration`` seconds."""
    return PollPolicy(
        initial_interval=timedelta(seconds=0.4 * duration),
        backoff_rate=2.0,
        max_interval=timedelta(seconds=0.8 * duration),
        jitter=False,
    )


async def _fixed_poll(provider: StepFunctionsProvider, name: str) -> dict[str, Any]:
    """The baseline: start, then describe every second until not RUNNING."""
    started = await provider.start_execution(WORKFLOW, ExecutionInput(execution_name=name))
    counter = counted(provider)
    client = provider.client
    while True:
        described = await client.describe_execution(executionArn=started.execution_id)
        if described["status"] != "RUNNING":
            break
        await asyncio.sleep(FIXED_POLL_SECONDS)
    detected = datetime.now(UTC)
    stop = described["stopDate"].astimezone(UTC)
    return {
        "calls": counter.count,
        "delay_s": (detected - stop).total_seconds(),
        "ran_s": (stop - described["startDate"].astimezone(UTC)).total_seconds(),
        "state": described["status"].lower(),
        "cap_s": FIXED_POLL_SECONDS,
    }


async def _manager_wait(
    provider: StepFunctionsProvider, policy: PollPolicy, name: str
) -> dict[str, Any]:
    """Start, then ``Manager.wait_for_completion`` under ``policy``."""
    registry = Registry()
    registry.register(provider)
    manager = Manager(registry, default_provider=provider.name, poll_policy=policy)
    started = await manager.start_execution(WORKFLOW, ExecutionInput(execution_name=name))
    counter = counted(provider)
    status = await manager.wait_for_completion(started.execution_id)
    detected = datetime.now(UTC)
    assert status.stop_time is not None
    return {
        "calls": counter.count,
        "delay_s": (detected - status.stop_time).total_seconds(),
        "ran_s": (status.stop_time - status.start_time).total_seconds(),
        "state": status.state.value,
        "cap_s": policy.max_interval.total_seconds(),
    }


async def run(results: Results, engine: LocalStepFunctions, quick: bool) -> None:
    """Measure section 3 into ``results``."""
    duration = 1 if quick else 10
    tuned = tuned_policy(duration)
    async with (
        moto_provider(engine) as fixed_provider,
        moto_provider(engine) as default_provider,
        moto_provider(engine) as tuned_provider,
    ):
        await default_provider.create_workflow(
            spec(WORKFLOW, default_provider.name, wait_definition(duration))
        )
        fixed, default, tuned_result = await asyncio.gather(
            _fixed_poll(fixed_provider, "fixed-1s"),
            _manager_wait(default_provider, PollPolicy(), "default-policy"),
            _manager_wait(tuned_provider, tuned, "tuned-policy"),
        )
    for name, measured in (("fixed", fixed), ("default", default), ("tuned", tuned_result)):
        if measured["state"] != "succeeded":
            raise RuntimeError(f"waiting/{name}: the execution ended {measured['state']}")

    results.add("waiting.duration_s", duration)
    results.add("waiting.fixed_1s_calls", fixed["calls"])
    results.add("waiting.fixed_1s_delay_s", fixed["delay_s"])
    results.add("waiting.execution_ran_s", fixed["ran_s"])
    section = "3 waiting"
    results.row(
        section,
        f"fixed 1 s poll, D = {duration} s: API calls",
        f"{fixed['calls']} calls, end seen {fixed['delay_s']:.2f} s late",
    )
    for key, label, measured in (
        ("default", "default PollPolicy", default),
        ("tuned", f"tuned PollPolicy ({_describe(tuned)})", tuned_result),
    ):
        share = measured["calls"] / fixed["calls"]
        within_cap = measured["delay_s"] <= measured["cap_s"]
        results.add(f"waiting.{key}_calls", measured["calls"])
        results.add(f"waiting.{key}_calls_over_fixed", share)
        results.add(f"waiting.{key}_delay_s", measured["delay_s"])
        results.add(f"waiting.{key}_max_interval_s", measured["cap_s"])
        results.row(
            section,
            f"{label}: API calls",
            f"{measured['calls']} calls, end seen {measured['delay_s']:.2f} s late",
        )
        results.target(
            f"waiting_{key}_calls",
            section=section,
            figure=f"{label}: calls / fixed-poll calls",
            value=f"{share:.0%}",
            target="<= 30%",
            met=share <= 0.30,
        )
        results.target(
            f"waiting_{key}_delay",
            section=section,
            figure=f"{label}: end detected after",
            value=f"{measured['delay_s']:.2f} s",
            target=f"<= max_interval ({measured['cap_s']:g} s)",
            met=within_cap,
        )
    results.add("waiting.tuned_policy", _policy_dict(tuned))

    # The same comparison for longer executions, from the policy's own intervals.
    for seconds in MODELLED_DURATIONS:
        share = modelled_calls(PollPolicy(), seconds) / (seconds + 1)
        results.add(f"waiting.modelled_default_calls_over_fixed_{seconds}s", share)
        results.row(
            section,
            f"default PollPolicy, D = {seconds} s (modelled): calls / fixed",
            f"{share:.0%}",
        )


def modelled_calls(policy: PollPolicy, duration: float, draws: int = 200) -> float:
    """Mean number of polls ``policy`` makes for an execution ending at ``duration``.

    Polls at 0 and after each interval; the first poll at or after the end
    sees it. A fixed 1-second poll makes ``duration + 1`` this way.
    """
    total = 0
    for _ in range(draws):
        polls, elapsed = 1, 0.0
        intervals = policy.intervals()
        while elapsed < duration:
            elapsed += next(intervals)
            polls += 1
        total += polls
    return total / draws


def _policy_dict(policy: PollPolicy) -> dict[str, Any]:
    return {
        "initial_interval_s": policy.initial_interval.total_seconds(),
        "backoff_rate": policy.backoff_rate,
        "max_interval_s": policy.max_interval.total_seconds(),
        "jitter": policy.jitter,
    }


def _describe(policy: PollPolicy) -> str:
    return (
        f"{policy.initial_interval.total_seconds():g} s x{policy.backoff_rate:g}, "
        f"cap {policy.max_interval.total_seconds():g} s"
    )
