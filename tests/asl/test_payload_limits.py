"""The payload limit is enforced on every state output, at exactly the limit.

The interpreter does not measure an output when an upper bound of its size
(from the sizes of the input, of constants and of the parts of the input a
template reads) is within the limit. These tests check the verdicts against
measuring: for generated inputs and chains of Pass states (Result and
Parameters merged at nested ResultPaths, InputPath and OutputPath, keys that
JSON escapes or encodes on several bytes), with the limit set just below and
at each state's measured output size, the execution fails with
``States.DataLimitExceeded`` at exactly the first state whose output is over
the limit, and succeeds when none is (an output that is the state's input
itself is not a new payload, and is not checked, on AWS either).
"""

from __future__ import annotations

from typing import Any

import pytest
from asl.kit import KitRuntime, ListRecorder, chain
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landlord_workflow._asl import Execution, ExecutionInfo, compile_definition
from landlord_workflow._asl._values import payload_size

pytestmark = pytest.mark.asyncio

KEYS = st.sampled_from(["a", "b", "é", 'q"t', "back\\slash", "tab\t", "\u2603", "日本"])
SCALARS = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=12)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)


def _path(keys: list[str]) -> str:
    return "$" + "".join(f"['{key}']" if not key.isalnum() else f".{key}" for key in keys)


@st.composite
def templates(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    """A Parameters template: paths into the input, constants, nested objects and lists."""
    template: dict[str, Any] = {}
    for key in draw(st.lists(KEYS, min_size=1, max_size=3, unique=True)):
        kind = draw(st.integers(0, 3 if depth < 2 else 1))
        if kind == 0:
            template[f"{key}.$"] = draw(st.sampled_from(["$", "$", "$.a", "$['é']"]))
        elif kind == 1:
            template[key] = draw(VALUES)
        elif kind == 2:
            template[key] = draw(templates(depth + 1))
        else:
            template[key] = draw(st.lists(templates(depth + 1), min_size=1, max_size=3))
    return template


@st.composite
def pass_states(draw: st.DrawFn) -> dict[str, Any]:
    """A Pass state that makes a new output (never its input unchanged)."""
    state: dict[str, Any] = {"Type": "Pass"}
    if draw(st.booleans()):
        state["Result"] = draw(VALUES)
    else:
        state["Parameters"] = draw(templates())
    state["ResultPath"] = _path(draw(st.lists(KEYS, max_size=3)))
    if draw(st.integers(0, 3)) == 0:
        state["OutputPath"] = _path(draw(st.lists(KEYS, min_size=1, max_size=1)))
    return state


async def _run(definition: dict[str, Any], data: Any, limit: int) -> tuple[Any, ListRecorder]:
    runtime = KitRuntime()
    recorder = ListRecorder()
    info = ExecutionInfo(
        execution_id="arn:aws:states:us-east-1:123456789012:execution:machine:run",
        name="run",
        state_machine_id="arn:aws:states:us-east-1:123456789012:stateMachine:machine",
        state_machine_name="machine",
        start_time=runtime.now(),
    )
    execution = Execution(
        compile_definition(definition),
        runtime=runtime,
        recorder=recorder,
        info=info,
        input=data,
        max_payload_bytes=limit,
        input_size=payload_size(data),
    )
    outcome = await execution.run()
    await runtime.clock.quiesce()
    return outcome, recorder


@given(
    data=st.dictionaries(KEYS, VALUES, min_size=1, max_size=4),
    states=st.lists(pass_states(), min_size=1, max_size=4),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
async def test_outputs_fail_at_exactly_the_limit_as_measuring_them_decides(
    data: dict[str, Any], states: list[dict[str, Any]]
) -> None:
    definition = chain(*((f"S{index}", state) for index, state in enumerate(states)))
    unlimited, recorder = await _run(definition, data, 10**9)
    if not unlimited.succeeded:
        return  # a path that selects nothing, say: not about sizes
    entered = [e.details for e in recorder.events if e.type == "PassStateEntered"]
    exited = [e.details for e in recorder.events if e.type == "PassStateExited"]
    assert len(entered) == len(exited) == len(states)
    # An output that is the state's input itself is not a new payload: not checked.
    sizes = [
        None if after["output"] is before["input"] else payload_size(after["output"])
        for before, after in zip(entered, exited, strict=True)
        if before is not None and after is not None
    ]
    measured = {size for size in sizes if size is not None}
    for limit in sorted(measured | {size - 1 for size in measured}):
        outcome, _ = await _run(definition, data, limit)
        over = [index for index, size in enumerate(sizes) if size is not None and size > limit]
        if over:
            assert (outcome.error, outcome.state) == ("States.DataLimitExceeded", f"S{over[0]}")
        else:
            assert outcome.succeeded, (limit, sizes, outcome)


async def test_a_constant_merged_into_a_large_input_is_checked_at_the_byte() -> None:
    """An input just under the limit, then a merge that crosses it by one byte."""
    data = {"pad": "x" * 1000}
    merge = {"Type": "Pass", "Result": "é", "ResultPath": "$.k"}
    size = payload_size({**data, "k": "é"})
    for limit, fails in ((size - 1, True), (size, False)):
        outcome, _ = await _run(chain(("S", merge)), data, limit)
        assert outcome.succeeded is not fails
        if fails:
            assert outcome.error == "States.DataLimitExceeded"
