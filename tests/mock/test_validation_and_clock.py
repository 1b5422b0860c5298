"""Definition checks (engine-neutral structure, then the mock's supported subset)
and the virtual clock."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import make_spec

from landlord_workflow import ExecutionInput, InvalidSpecError
from landlord_workflow._asl.structure import structure_problems
from landlord_workflow._limits import name_problem
from landlord_workflow.providers.mock import MockProvider, RealClock, VirtualClock

OK = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}


# ------------------------------------------------------- asl.structure_problems


def test_a_sound_definition_has_no_structure_problems() -> None:
    assert structure_problems(OK) == []


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        ([], ("definition", "must be a JSON object")),
        ({"States": OK["States"]}, ("definition.StartAt", "is required")),
        ({"StartAt": "A"}, ("definition.States", "is required")),
        ({"StartAt": "A", "States": {}}, ("definition.States", "must define at least one state")),
        ({"StartAt": "Z", "States": OK["States"]}, ("definition.StartAt", "names no state: 'Z'")),
        (
            {"StartAt": "A", "States": {"A": {"End": True}}},
            ("definition.States.A.Type", "is required"),
        ),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}},
            ("definition.States.A.Next", "names no state: 'B'"),
        ),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Pass"}}},
            ("definition.States.A", "a non-terminal state needs Next or End: true"),
        ),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [], "Default": "A"}}},
            ("definition.States.A.Choices", "must be a non-empty array"),
        ),
        (
            {
                "StartAt": "A",
                "States": {
                    "A": {"Type": "Choice", "Choices": [{"Next": "X"}], "Default": "Y"},
                },
            },
            ("definition.States.A.Choices[0].Next", "names no state: 'X'"),
        ),
        (
            {
                "StartAt": "A",
                "States": {
                    "A": {"Type": "Task", "Resource": "r", "End": True, "Catch": [{"Next": "Q"}]},
                },
            },
            ("definition.States.A.Catch[0].Next", "names no state: 'Q'"),
        ),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}},
            (
                "definition.States",
                "no terminal state (End: true, Succeed or Fail) is reachable from 'A'",
            ),
        ),
        (
            {"StartAt": "A", "States": {"x" * 81: {"Type": "Succeed"}, "A": {"Type": "Succeed"}}},
            (f"definition.States.{'x' * 81}", "state names must be at most 80 characters (got 81)"),
        ),
    ],
)
def test_structure_problems_name_the_field(definition: Any, problem: tuple[str, str]) -> None:
    assert problem in structure_problems(definition)


def test_structure_checks_nested_branches_without_judging_support() -> None:
    definition = {
        "StartAt": "F",
        "States": {
            "F": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Q", "States": {"Q": {"Type": "Pass", "Next": "Gone"}}}],
                "End": True,
            }
        },
    }
    problems = structure_problems(definition)
    assert ("definition.States.F.Branches[0].States.Q.Next", "names no state: 'Gone'") in problems
    assert not any("not supported" in message for _, message in problems)


@pytest.mark.parametrize(
    ("name", "ok"),
    [("tenant-42_a.b", True), ("x" * 80, True), ("", False), ("x" * 81, False), ("a b", False)]
    + [(f"a{char}b", False) for char in '<>{}[]?*"#%\\^|~`$&,;:/'],
)
def test_resource_names_follow_the_step_functions_rule(name: str, ok: bool) -> None:
    assert (name_problem(name) is None) is ok


def test_every_character_is_judged_by_the_rule_alone_or_among_others() -> None:
    """No whitespace, no control characters (C0, DEL, C1, U+FFFE/FFFF), none of the
    forbidden ones; anything else, ASCII or not, is allowed, alone or in a longer name."""
    forbidden = set('<>{}[]?*"#%\\^|~`$&,;:/')
    for code in [*range(0x3000), 0xFFFE, 0xFFFF, 0x1F600]:
        char = chr(code)
        control = code <= 0x1F or 0x7F <= code <= 0x9F or code in (0xFFFE, 0xFFFF)
        allowed = not (char.isspace() or control or char in forbidden)
        for name in (char, f"tenant{char}42", char * 80):
            assert (name_problem(name) is None) is allowed, (hex(code), name)
        assert name_problem(char * 81) is not None


# ------------------------------------------------------- the mock's subset


def single(state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": {**state, "End": True}}}


@pytest.mark.parametrize(
    "definition",
    [
        single({"Type": "Map", "ItemProcessor": OK}),
        {**OK, "QueryLanguage": "JSONata"},
        single({"Type": "Pass", "QueryLanguage": "JSONata"}),
        single({"Type": "Task", "Resource": "r", "HeartbeatSeconds": 5}),
        single({"Type": "Pass", "Parameters": {"x.$": "States.MathRandom(1, 9)"}}),
        single({"Type": "Pass", "InputPath": "$..deep"}),
        single({"Type": "Pass", "InputPath": "$.a[?(@.x > 1)]"}),
        single(
            {
                "Type": "Task",
                "Resource": "r",
                "Retry": [{"ErrorEquals": ["E"], "JitterStrategy": "FULL"}],
            }
        ),
    ],
)
@pytest.mark.asyncio
async def test_the_mock_accepts_the_whole_language_aws_accepts(
    make_provider: Any, make_spec: Any, definition: Any
) -> None:
    await make_provider().validate(make_spec(definition))


@pytest.mark.parametrize(
    ("definition", "field", "words"),
    [
        (
            single({"Type": "Pass", "ResultPath": "$.a[*]"}),
            "definition.States.S.ResultPath",
            "single node",
        ),
        (
            single({"Type": "Pass", "Nxt": "typo"}),
            "definition.States.S.Nxt",
            "not supported",
        ),
        (
            single({"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s"}),
            "definition.States.S",
            "exactly one of",
        ),
        (
            single(
                {
                    "Type": "Task",
                    "Resource": "r",
                    "Retry": [{"ErrorEquals": ["E"], "JitterStrategy": "HALF"}],
                }
            ),
            "definition.States.S.Retry[0].JitterStrategy",
            "must be FULL or NONE",
        ),
        (
            single({"Type": "Task", "Resource": "r", "Retry": [{"ErrorEquals": []}]}),
            "definition.States.S.Retry[0].ErrorEquals",
            "non-empty array",
        ),
        (
            {
                "StartAt": "C",
                "States": {
                    "C": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.a", "NumericEquals": "1", "Next": "D"}],
                    },
                    "D": {"Type": "Succeed"},
                },
            },
            "definition.States.C.Choices[0].NumericEquals",
            "must be a number",
        ),
    ],
)
@pytest.mark.asyncio
async def test_the_mock_refuses_what_aws_refuses_or_needs_aws_storage(
    make_provider: Any, make_spec: Any, definition: Any, field: str, words: str
) -> None:
    provider = make_provider()
    with pytest.raises(InvalidSpecError) as caught:
        await provider.validate(make_spec(definition))
    assert any(f == field and words in message for f, message in caught.value.problems), (
        caught.value.problems
    )


@pytest.mark.asyncio
async def test_structure_and_support_problems_are_reported_together(
    make_provider: Any, make_spec: Any
) -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Parallel", "Branches": [OK], "Next": "Missing"},
            "M": {"Type": "Pass", "ResultPath": "$.a[*]", "End": True},
        },
    }
    provider = make_provider()
    with pytest.raises(InvalidSpecError) as caught:
        await provider.create_workflow(make_spec(definition))
    fields = [field for field, _ in caught.value.problems]
    assert "definition.States.P.Next" in fields
    assert "definition.States.M.ResultPath" in fields


# ------------------------------------------------------------- VirtualClock


@pytest.mark.asyncio
async def test_virtual_sleeps_wake_in_deadline_order_without_wall_time() -> None:
    clock = VirtualClock(start=datetime(2024, 1, 1, tzinfo=UTC))
    woke: list[tuple[str, datetime]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))

    loop = asyncio.get_running_loop()
    begin = loop.time()
    await asyncio.gather(sleeper("day", 86_400), sleeper("hour", 3600), sleeper("also-hour", 3600))
    assert loop.time() - begin < 1.0
    assert [name for name, _ in woke] == ["hour", "also-hour", "day"]
    assert woke[-1][1] == datetime(2024, 1, 2, tzinfo=UTC)
    assert clock.elapsed == timedelta(days=1)
    await clock.quiesce()
    assert clock.pending == 0


@pytest.mark.asyncio
async def test_virtual_clock_does_not_jump_while_other_work_is_runnable() -> None:
    clock = VirtualClock()
    steps = 0

    async def busy() -> None:
        nonlocal steps
        for _ in range(50):
            steps += 1
            await asyncio.sleep(0)

    async def sleeper() -> int:
        await clock.sleep(10)
        return steps

    busy_task = asyncio.create_task(busy())
    steps_when_woken = await sleeper()
    await busy_task
    assert steps_when_woken == 50


@pytest.mark.asyncio
async def test_manual_advance_fires_due_timers_and_cancelled_timers_never_fire() -> None:
    clock = VirtualClock()
    fired: list[str] = []
    clock.call_later(5, lambda: fired.append("five"))
    cancelled = clock.call_later(6, lambda: fired.append("six"))
    cancelled.cancel()
    clock.call_later(60, lambda: fired.append("sixty"))
    clock.advance(timedelta(seconds=10))
    assert fired == ["five"]
    assert clock.elapsed == timedelta(seconds=10)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    clock.advance(50)
    assert fired == ["five", "sixty"]
    await clock.quiesce()


def test_virtual_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        VirtualClock(start=datetime(2024, 1, 1))


# ------------------------------------------------------- history timestamps

WAITS = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Wait", "Seconds": 90, "Next": "B"},
        "B": {"Type": "Pass", "End": True},
    },
}


class _OwnClock(RealClock):
    """A clock of the user's own (any Clock): the engine reads its now()."""

    def now(self) -> datetime:
        return datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


@pytest.mark.asyncio
@pytest.mark.parametrize("clock_kind", ["virtual", "real", "own"])
async def test_history_timestamps_are_the_clocks_time_when_each_event_happened(
    clock_kind: str,
) -> None:
    """Events are stamped cheaply and read back as the datetimes ``clock.now()``
    gives: exact on a VirtualClock, between start and stop on the real clock,
    the clock's own answer for any other Clock."""
    clock = {"virtual": VirtualClock(), "real": RealClock(), "own": _OwnClock()}[clock_kind]
    definition = WAITS if clock_kind == "virtual" else OK
    async with MockProvider(clock=clock) as provider:
        await provider.create_workflow(make_spec(definition, workflow_id="wf"))
        started = await provider.start_execution("wf", ExecutionInput(execution_name="e"))
        async with aclosing(provider.watch_execution(started.execution_id)) as statuses:
            async for status in statuses:
                if status.state.is_terminal:
                    break
        status = await provider.get_execution_status(started.execution_id, include_history=True)
    times = [event.timestamp for event in status.history]
    assert status.stop_time is not None
    assert times == sorted(times)
    assert all(moment.tzinfo is not None and moment.utcoffset() == timedelta(0) for moment in times)
    if clock_kind == "virtual":
        assert times[0] == status.start_time
        assert [event.type for event in status.history][2:4] == ["StateExited", "StateEntered"]
        assert times[2] - times[1] == timedelta(seconds=90)
        assert times[-1] == status.stop_time
    elif clock_kind == "real":
        assert status.start_time <= times[0]
        assert times[-1] <= status.stop_time
    else:
        assert set(times) == {clock.now()}
