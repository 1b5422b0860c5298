"""Every intrinsic function, with AWS's argument rules (JSONPath states)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from asl.kit import run, single

pytestmark = pytest.mark.asyncio


async def evaluate(expression: str, data: Any = None, **options: Any) -> Any:
    """The value of ``expression`` in a Pass state's Parameters."""
    result = await run(
        single({"Type": "Pass", "Parameters": {"value.$": expression}}), data or {}, **options
    )
    return result.output["value"]


async def failure(expression: str, data: Any = None) -> tuple[str | None, str | None]:
    result = await run(single({"Type": "Pass", "Parameters": {"value.$": expression}}), data or {})
    return result.error


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("States.Format('Hello, {}!', $.name)", "Hello, Ada!"),
        ("States.Format('{} {} {}', 1, true, null)", "1 true null"),
        ("States.Format('{} and {}', $.obj, $.list)", "{Arg1=1, Arg2=[]} and [1, a]"),
        ("States.Format('literal \\\\{\\\\}')", "literal {}"),
        ("States.StringToJson('{\"a\": [1]}')", {"a": [1]}),
        ("States.StringToJson('')", None),
        ("States.StringToJson(' ')", None),
        ("States.JsonToString($.obj)", '{"Arg1":1,"Arg2":[]}'),
        ("States.Array(1, 'a', $.name)", [1, "a", "Ada"]),
        ("States.ArrayPartition(States.Array(1,2,3,4,5), 2)", [[1, 2], [3, 4], [5]]),
        ("States.ArrayContains($.list, 'a')", True),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayGetItem($.list, 1)", "a"),
        ("States.ArrayLength($.list)", 2),
        ("States.ArrayUnique(States.Array(1, 1, 'x', 'x', 2))", [1, "x", 2]),
        ("States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "Data to encode"),
        ("States.Hash('input data', 'SHA-256')", hashlib.sha256(b"input data").hexdigest()),
        (
            "States.JsonMerge($.obj, States.StringToJson('{\"Arg1\": 2}'), false)",
            {"Arg1": 2, "Arg2": []},
        ),
        ("States.MathAdd(1.49, 1.5)", 3),
        ("States.MathAdd(-9, 3)", -6),
        ("States.StringSplit('1,2;3', ',;')", ["1", "2", "3"]),
    ],
)
async def test_intrinsic_returns_what_aws_returns(expression: str, expected: Any) -> None:
    data = {"name": "Ada", "obj": {"Arg1": 1, "Arg2": []}, "list": [1, "a"]}
    assert await evaluate(expression, data) == expected


async def test_math_random_is_in_range_and_reproducible_with_a_seed() -> None:
    unseeded = await evaluate("States.MathRandom(1, 10)")
    assert 1 <= unseeded < 10
    seeded = [await evaluate("States.MathRandom(0, 1000, 7)", seed=s) for s in (1, 2)]
    assert seeded[0] == seeded[1]


async def test_random_intrinsics_draw_from_the_execution_source() -> None:
    first = await evaluate("States.UUID()", seed=42)
    again = await evaluate("States.UUID()", seed=42)
    other = await evaluate("States.UUID()", seed=43)
    assert first == again != other
    assert len(first) == 36


@pytest.mark.parametrize(
    "expression",
    [
        "States.ArrayGetItem($.list, 5)",
        "States.ArrayRange(1, 2000, 1)",
        "States.StringToJson('{nope')",
        "States.JsonMerge($.obj, $.obj, true)",
        "States.Format('{} {}', 1)",
        "States.Base64Decode('%%%')",
        "States.Hash('x', 'SHA-3')",
        "States.MathAdd('1', 2)",
    ],
)
async def test_invalid_arguments_fail_with_states_intrinsic_failure(expression: str) -> None:
    error, cause = await failure(expression, {"list": [1], "obj": {}})
    assert error == "States.IntrinsicFailure"
    assert cause


async def test_a_path_argument_that_selects_nothing_fails_with_states_runtime() -> None:
    error, cause = await failure("States.Format('{}', $.missing)")
    assert error == "States.Runtime"
    assert "The JSONPath '$.missing' specified for the field 'value.$' could not be found" in (
        cause or ""
    )
