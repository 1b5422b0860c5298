"""Workflow variables (Assign) and the JSONata query language, as on AWS."""

from __future__ import annotations

from typing import Any

import pytest
from asl.kit import chain, run, single

from landlord_workflow._asl import compile_definition

pytestmark = pytest.mark.asyncio


async def echo(value: Any) -> Any:
    return value


async def test_assigned_variables_are_readable_by_later_states() -> None:
    definition = chain(
        ("A", {"Type": "Pass", "Assign": {"tenant.$": "$.t", "plan": "small"}}),
        ("B", {"Type": "Pass", "Parameters": {"who.$": "$tenant", "plan.$": "$plan"}}),
    )
    result = await run(definition, {"t": "acme"})
    assert result.output == {"who": "acme", "plan": "small"}
    exited = result.of_type("PassStateExited")[0]
    assert exited.details is not None
    assert exited.details["assignedVariables"] == {"tenant": "acme", "plan": "small"}


async def test_assign_reads_values_from_state_entry_not_from_its_own_assignments() -> None:
    definition = chain(
        ("A", {"Type": "Pass", "Assign": {"x": 1}}),
        ("B", {"Type": "Pass", "Assign": {"x": 2, "y.$": "$x"}}),
        ("C", {"Type": "Pass", "Parameters": {"x.$": "$x", "y.$": "$y"}}),
    )
    result = await run(definition)
    assert result.output == {"x": 2, "y": 1}


async def test_task_assign_sees_the_raw_result_before_result_selector() -> None:
    definition = chain(
        (
            "T",
            {
                "Type": "Task",
                "Resource": "f",
                "Assign": {"raw.$": "$.v"},
                "ResultSelector": {"w.$": "$.v"},
            },
        ),
        ("P", {"Type": "Pass", "Parameters": {"raw.$": "$raw", "out.$": "$"}}),
    )
    result = await run(definition, {"v": 1}, handlers={"f": echo})
    assert result.output == {"raw": 1, "out": {"w": 1}}


async def test_inner_scopes_read_outer_variables_but_cannot_assign_them() -> None:
    reads = chain(
        ("A", {"Type": "Pass", "Assign": {"outer": "o"}}),
        (
            "P",
            {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "B",
                        "States": {
                            "B": {
                                "Type": "Pass",
                                "Assign": {"inner": 1},
                                "Parameters": {"v.$": "$outer"},
                                "End": True,
                            }
                        },
                    },
                ],
            },
        ),
    )
    assert (await run(reads)).output == [{"v": "o"}]
    writes = chain(
        ("A", {"Type": "Pass", "Assign": {"outer": "o"}}),
        (
            "M",
            {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "B",
                    "States": {"B": {"Type": "Pass", "Assign": {"outer": 2}, "End": True}},
                },
            },
        ),
    )
    result = await run(writes, [1])
    assert result.error[0] == "States.Runtime"


async def test_inner_variables_are_not_visible_after_the_parallel() -> None:
    definition = chain(
        (
            "P",
            {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "B",
                        "States": {"B": {"Type": "Pass", "Assign": {"inner": 1}, "End": True}},
                    },
                ],
            },
        ),
        ("C", {"Type": "Pass", "Parameters": {"v.$": "$inner"}}),
    )
    result = await run(definition)
    assert result.error[0] == "States.Runtime"


async def test_jsonata_arguments_output_and_states_variables() -> None:
    definition = chain(
        (
            "T",
            {
                "Type": "Task",
                "Resource": "f",
                "Arguments": {"n": "{% $states.input.n * 2 %}", "fixed": 1},
                "Assign": {"seen": "{% $states.result.n %}"},
                "Output": {"result": "{% $states.result %}", "input": "{% $states.input %}"},
            },
        ),
        ("P", {"Type": "Pass", "Output": "{% [$seen, $states.context.State.Name] %}"}),
        QueryLanguage="JSONata",
    )
    result = await run(definition, {"n": 2}, handlers={"f": echo})
    assert result.output == [4, "P"]


async def test_jsonata_errors_are_query_evaluation_errors_worded_as_aws() -> None:
    definition = single(
        {"Type": "Pass", "Output": {"x": "{% $doesNotExist %}"}}, QueryLanguage="JSONata"
    )
    result = await run(definition)
    assert result.error == (
        "States.QueryEvaluationError",
        "An error occurred while executing the state 'S' (entered at the event id #2). "
        "The JSONata expression '$doesNotExist' specified for the field 'Output/x' returned "
        "nothing (undefined).",
    )
    assert "EvaluationFailed" in result.types()


async def test_jsonata_catch_sees_the_error_output() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "f",
                "End": True,
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Next": "H",
                        "Output": "{% $states.errorOutput.Error %}",
                    }
                ],
            },
            "H": {"Type": "Pass", "End": True},
        },
    }
    result = await run(definition, {})
    assert result.output == "States.TaskFailed"


async def test_aws_jsonata_functions_are_available_and_deterministic() -> None:
    definition = single(
        {
            "Type": "Pass",
            "Output": {
                "partition": "{% $partition([1,2,3], 2) %}",
                "range": "{% $range(0, 4, 2) %}",
                "hash": "{% $hash('a', 'MD5') %}",
                "parse": "{% $parse('{\"a\": null}') %}",
                "uuid": "{% $uuid() %}",
                "random": "{% $random() %}",
                "now": "{% $now() %}",
                "millis": "{% $millis() %}",
            },
        },
        QueryLanguage="JSONata",
    )
    first = (await run(definition, seed=3)).output
    second = (await run(definition, seed=3)).output
    assert first == second
    assert first["partition"] == [[1, 2], [3]]
    assert first["range"] == [0, 2, 4]
    assert first["hash"] == "0cc175b9c0f1b6a831c399e269772661"
    assert first["parse"] == {"a": None}
    assert first["now"] == "2024-01-01T00:00:00.000Z"
    assert first["millis"] == 1_704_067_200_000  # the execution clock, not the wall clock


async def test_jsonata_choice_conditions_and_rule_outputs() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Default": "No",
                "Choices": [
                    {
                        "Condition": "{% $states.input.n > 1 %}",
                        "Next": "Yes",
                        "Output": "{% 'big' %}",
                    }
                ],
            },
            "Yes": {"Type": "Succeed"},
            "No": {"Type": "Fail", "Error": "Small"},
        },
    }
    assert (await run(definition, {"n": 2})).output == "big"
    assert (await run(definition, {"n": 0})).error[0] == "Small"


async def test_jsonata_expressions_compile_once_per_definition() -> None:
    machine = compile_definition(
        single({"Type": "Pass", "Output": "{% $states.input %}"}, QueryLanguage="JSONata")
    )
    output = machine.states["S"].output
    assert output is machine.states["S"].output
