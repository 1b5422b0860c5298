"""Definitions are validated as AWS validates them at create time.

Problems come back all at once as ``InvalidSpecError`` with dotted field
paths; no definition, however malformed, raises anything else.
"""

from __future__ import annotations

from typing import Any

import pytest
from asl.kit import single

from landlord_workflow._asl import compile_definition
from landlord_workflow.errors import InvalidSpecError


def problems(definition: Any) -> dict[str, str]:
    with pytest.raises(InvalidSpecError) as caught:
        compile_definition(definition)
    return dict(caught.value.problems)


def test_a_valid_definition_compiles_to_an_immutable_machine() -> None:
    machine = compile_definition(single({"Type": "Pass"}))
    assert machine.start_at == "S"
    assert set(machine.states) == {"S"}


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ([], "definition"),
        ({"States": {}}, "definition.States"),
        ({"StartAt": "X", "States": {"A": {"Type": "Pass", "End": True}}}, "definition.StartAt"),
        (single({"Type": ["Pass"]}), "definition.States.S.Type"),
        (single({"Type": "Nope"}), "definition.States.S.Type"),
        (single({"Type": "Pass", "Next": "Nowhere"}), "definition.States.S.Next"),
        (single({"Type": "Pass", "Unknown": 1}), "definition.States.S.Unknown"),
        (single({"Type": "Wait", "Seconds": 100_000_000}), "definition.States.S.Seconds"),
        (
            single({"Type": "Wait", "Timestamp": "2016-12-05 21:29:29Z"}),
            "definition.States.S.Timestamp",
        ),
        (
            single(
                {
                    "Type": "Task",
                    "Resource": "r",
                    "Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 100_000_000}],
                }
            ),
            "definition.States.S.Retry[0].MaxAttempts",
        ),
        (
            single(
                {
                    "Type": "Task",
                    "Resource": "r",
                    "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["E"]}],
                }
            ),
            "definition.States.S.Retry[0].ErrorEquals",
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
        ),
        (
            single({"Type": "Task", "Resource": "r", "TimeoutSeconds": 5, "HeartbeatSeconds": 5}),
            "definition.States.S.HeartbeatSeconds",
        ),
        (
            single({"Type": "Task", "Resource": "arn:aws:states:::dynamodb:query"}),
            "definition.States.S.Resource",
        ),
        (
            single({"Type": "Pass", "Parameters": {"x.$": "not a path"}}),
            "definition.States.S.Parameters",
        ),
        (
            single({"Type": "Pass", "Parameters": {"x.$": "States.Nope()"}}),
            "definition.States.S.Parameters",
        ),
        (single({"Type": "Pass", "ResultPath": "$.a[*]"}), "definition.States.S.ResultPath"),
        (single({"Type": "Pass", "Output": {}}), "definition.States.S.Output"),
        (
            single({"Type": "Pass", "QueryLanguage": "JSONata", "Parameters": {}}),
            "definition.States.S.Parameters",
        ),
        (
            single({"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $$ + %}"}),
            "definition.States.S.Output",
        ),
        (single({"Type": "Pass", "Assign": {"states": 1}}), "definition.States.S.Assign.states"),
        (single({"Type": "Pass", "Assign": {"1x": 1}}), "definition.States.S.Assign.1x"),
        (
            single({"Type": "Pass", "QueryLanguage": "JSONPath"}, QueryLanguage="JSONata"),
            "definition.States.S.QueryLanguage",
        ),
    ],
)
def test_invalid_definition_names_the_field(definition: Any, field: str) -> None:
    assert field in problems(definition)


def test_every_problem_is_reported_at_once() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "Missing"},
            "B": {"Type": "Wait"},
        },
    }
    found = problems(definition)
    assert "definition.States.A.Next" in found
    assert "definition.States.B" in found


def test_unreachable_states_are_refused() -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Succeed"}, "Orphan": {"Type": "Succeed"}},
    }
    assert "UNREACHABLE_STATE" in problems(definition)["definition.States.Orphan"]


def test_nested_machines_are_checked_under_their_own_path() -> None:
    definition = single(
        {
            "Type": "Parallel",
            "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass"}}}],
        }
    )
    assert "definition.States.S.Branches[0].States.X" in problems(definition)


def test_absurdly_deep_definitions_are_refused_cleanly() -> None:
    payload: Any = {}
    for _ in range(5_000):
        payload = {"x": payload}
    found = problems(single({"Type": "Pass", "Result": payload}))
    assert "definition" in found


def test_non_string_state_names_are_refused_cleanly() -> None:
    definition = {"StartAt": "A", "States": {"A": {"Type": "Succeed"}, 1: {"Type": "Succeed"}}}
    assert "definition.States" in problems(definition)


def test_jsonata_choice_rules_need_a_condition() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Next": "D"}], "Default": "D"},
            "D": {"Type": "Succeed"},
        },
    }
    assert "definition.States.C.Choices[0].Condition" in problems(definition)


def test_what_aws_accepts_is_accepted() -> None:
    """Constructs AWS accepts that a stricter reader might refuse."""
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Credentials": {"RoleArn": "arn:aws:iam::123456789012:role/x"},
                "HeartbeatSecondsPath": "$.beat",
                "TimeoutSecondsPath": "$.timeout",
                "Retry": [
                    {"ErrorEquals": ["States.ALL"], "JitterStrategy": "FULL", "MaxDelaySeconds": 10}
                ],
                "Parameters": {"Payload.$": "$.[0]", "Token.$": "$$.Task.Token"},
                "ResultSelector": {"v.$": "$.items[?(@.x > 1)]"},
                "Next": "M",
            },
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "ItemBatcher": {"MaxItemsPerBatch": 2},
                "ToleratedFailurePercentage": 10,
                "MaxConcurrencyPath": "$.concurrency",
                "End": True,
            },
        },
    }
    assert compile_definition(definition).start_at == "T"
