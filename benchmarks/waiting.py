"""3. What waiting costs: API calls made and how late the end is noticed.

Three executions of a workflow that runs D = 10 s (one Wait state on moto)
start together and are awaited side by side, each with its own client and
its own request counter (a botocore ``before-send.sfn`` hook):

* the baseline: ``describe_execution`` every second until the status is not
  RUNNING (what the AWS data science SDK does);
* ``Manager.wait_for_completion`` with the defaults: a Manager without a
  ``poll_policy`` waits under the provider's own
  (``StepFunctionsProvider.poll_policy``: 2 s, x1.25, up to 30 s, no jitter);
* the same with ``PollPolicy()``, the general policy (200 ms, x1.5, up to
  5 s, jitter): what waiting did before providers advertised their own.

The detection delay is the time between the ``stop_time`` the engine
recorded and the moment the waiter returned (same clock: moto runs in this
process).

A 10-minute execution is modelled, not measured: the policy's own intervals,
the first call right away, counted until the first call at or after the end,
against the ``D + 1`` calls of the fixed poll. Without jitter the model is
exact; for a policy with jitter it is drawn 2,000 times and the mean and the
worst draw are given. The same model over other durations shows where the
bounds hold (the latest an end is noticed, for any end in the last fifth
before each duration).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from _common import Results, moto_provider, spec, wait_definition

from landlord_workflow import ExecutionInput, Manager, PollPolicy, Registry

if TYPE_CHECKING:
    from landlord_workflow.providers.stepfunctions import StepFunctionsProvider
    from landlord_workflow.testing._moto import LocalStepFunctions

WORKFLOW = "bench-wait"
FIXED_POLL_SECONDS = 1.0
LONG = 600.0
PROFILE = (5.0, 30.0, 60.0, 120.0, 300.0)


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
    }


async def _manager_wait(
    provider: StepFunctionsProvider, policy: PollPolicy | None, name: str
) -> dict[str, Any]:
    """Start, then ``Manager.wait_for_completion`` (``policy`` None: the defaults)."""
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
    }


def modelled(policy: PollPolicy, duration: float, draws: int = 2_000) -> dict[str, float]:
    """Calls and detection delay of ``policy`` for an execution ending at ``duration``.

    The first call right away, then one after each interval; the first call
    at or after the end sees it. Mean and worst over ``draws`` (one without
    jitter: the model is then exact).
    """
    calls: list[int] = []
    delays: list[float] = []
    for _ in range(draws if policy.jitter else 1):
        moment, count = 0.0, 1
        intervals = policy.intervals()
        while moment < duration:
            moment += next(intervals)
            count += 1
        calls.append(count)
        delays.append(moment - duration)
    fixed = int(duration) + 1  # the 1-second poll, from 0 to the end
    return {
        "calls_mean": sum(calls) / len(calls),
        "calls_worst": max(calls),
        "share_mean": sum(calls) / len(calls) / fixed,
        "share_worst": max(calls) / fixed,
        "delay_mean_s": sum(delays) / len(delays),
        "delay_worst_s": max(delays),
        "delay_bound_s": 0.1 * duration + 1,
    }


def _describe(policy: PollPolicy) -> str:
    jitter = ", jitter" if policy.jitter else ""
    return (
        f"{policy.initial_interval.total_seconds():g} s x{policy.backoff_rate:g}, "
        f"cap {policy.max_interval.total_seconds():g} s{jitter}"
    )


async def run(results: Results, engine: LocalStepFunctions, quick: bool) -> None:
    """Measure section 3 into ``results``."""
    duration = 1 if quick else 10
    async with (
        moto_provider(engine) as fixed_provider,
        moto_provider(engine) as default_provider,
        moto_provider(engine) as general_provider,
    ):
        own = default_provider.poll_policy
        await default_provider.create_workflow(
            spec(WORKFLOW, default_provider.name, wait_definition(duration))
        )
        fixed, default, general = await asyncio.gather(
            _fixed_poll(fixed_provider, "fixed-1s"),
            _manager_wait(default_provider, None, "provider-policy"),
            _manager_wait(general_provider, PollPolicy(), "general-policy"),
        )
    for name, measured in (("fixed", fixed), ("default", default), ("general", general)):
        if measured["state"] != "succeeded":
            raise RuntimeError(f"waiting/{name}: the execution ended {measured['state']}")

    section = "3 waiting"
    bound = 0.1 * duration + 1
    share = default["calls"] / fixed["calls"]
    results.add("waiting.duration_s", duration)
    results.add("waiting.execution_ran_s", fixed["ran_s"])
    results.add("waiting.fixed_1s_calls", fixed["calls"])
    results.add("waiting.fixed_1s_delay_s", fixed["delay_s"])
    results.add("waiting.default_policy", _policy_dict(own))
    results.add("waiting.default_calls", default["calls"])
    results.add("waiting.default_calls_over_fixed", share)
    results.add("waiting.default_delay_s", default["delay_s"])
    results.add("waiting.general_calls", general["calls"])
    results.add("waiting.general_calls_over_fixed", general["calls"] / fixed["calls"])
    results.add("waiting.general_delay_s", general["delay_s"])
    results.row(
        section,
        f"fixed 1 s poll, D = {duration} s: API calls",
        f"{fixed['calls']} calls, end seen {fixed['delay_s']:.2f} s late",
    )
    results.row(
        section,
        f"defaults (provider's: {_describe(own)}): API calls",
        f"{default['calls']} calls, end seen {default['delay_s']:.2f} s late",
    )
    results.target(
        "waiting_10s_calls",
        section=section,
        figure=f"defaults, D = {duration} s: calls / fixed-poll calls",
        value=f"{share:.0%}",
        target="<= 50%",
        met=share <= 0.50,
    )
    results.target(
        "waiting_10s_delay",
        section=section,
        figure=f"defaults, D = {duration} s: end noticed after",
        value=f"{default['delay_s']:.2f} s",
        target=f"<= 10% D + 1 s ({bound:g} s)",
        met=default["delay_s"] <= bound,
    )
    results.row(
        section,
        f"PollPolicy() ({_describe(PollPolicy())}): API calls",
        f"{general['calls']} calls ({general['calls'] / fixed['calls']:.0%}), "
        f"end seen {general['delay_s']:.2f} s late",
    )

    # Ten minutes, and a profile over other durations, from the policies' intervals.
    state = random.getstate()
    random.seed(20_240_601)  # the jittered draws repeat from run to run
    try:
        long = modelled(own, LONG)
        general_long = modelled(PollPolicy(), LONG)
        profile = {seconds: modelled(own, seconds) for seconds in PROFILE}
        for seconds, figures in profile.items():
            # The worst for an end anywhere in the last fifth before D.
            figures["delay_worst_near_s"] = max(
                modelled(own, seconds * (0.8 + 0.2 * step / 200))["delay_worst_s"]
                for step in range(201)
            )
    finally:
        random.setstate(state)
    results.add("waiting.modelled_600s", long)
    results.add("waiting.modelled_general_600s", general_long)
    results.add("waiting.modelled_profile", {f"{k:g}": v for k, v in profile.items()})
    results.target(
        "waiting_600s_calls",
        section=section,
        figure="defaults, D = 600 s (modelled, exact): calls / fixed-poll calls",
        value=f"{long['calls_worst']:.0f} calls, {long['share_worst']:.0%}",
        target="<= 15%",
        met=long["share_worst"] <= 0.15,
    )
    results.target(
        "waiting_600s_delay",
        section=section,
        figure="defaults, D = 600 s (modelled, exact): end noticed after",
        value=f"{long['delay_worst_s']:.1f} s",
        target="<= 10% D + 1 s (61 s)",
        met=long["delay_worst_s"] <= long["delay_bound_s"],
    )
    results.row(
        section,
        "PollPolicy(), D = 600 s (modelled): calls mean / worst",
        f"{general_long['share_mean']:.0%} / {general_long['share_worst']:.0%}, "
        f"late {general_long['delay_mean_s']:.1f} / {general_long['delay_worst_s']:.1f} s",
    )
    for seconds, figures in profile.items():
        results.row(
            section,
            f"defaults, D = {seconds:g} s (modelled): calls / fixed; late at most",
            f"{figures['share_worst']:.0%}; {figures['delay_worst_near_s']:.1f} s for D in "
            f"[{0.8 * seconds:g}, {seconds:g}] s (10% D + 1 s: {figures['delay_bound_s']:g} s)",
        )


def _policy_dict(policy: PollPolicy) -> dict[str, Any]:
    return {
        "initial_interval_s": policy.initial_interval.total_seconds(),
        "backoff_rate": policy.backoff_rate,
        "max_interval_s": policy.max_interval.total_seconds(),
        "jitter": policy.jitter,
    }
