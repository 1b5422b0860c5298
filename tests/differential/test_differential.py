"""Differential tests: every corpus definition runs on the mock engine and on moto.

Each ``corpus/*.json`` entry holds an ASL ``definition`` (JSONPath: moto
cannot evaluate JSONata, which the AWS-recorded corpus in ``tests/recorded``
covers instead), an ``input``, a ``note`` and the ``expected`` outcome as
AWS Step Functions documents or records it: final state, output (parsed
JSON), error code, the sequence of entered state names and the ``[type,
state]`` sequence of state/task history events (``cause`` only where the
definition, the task integration or an AWS recording determines it). An
entry whose Parallel branches or Map iterations run side by side says
``"concurrent": true``: the events inside them are compared as a multiset
(``harness.in_comparable_order``), since AWS interleaves them in no fixed
order.

For every entry the test runs the definition on :class:`MockProvider`
(virtual clock) and on moto (:class:`StepFunctionsProvider` through the
``stepfunctions_provider`` fixture) concurrently, then checks that

1. the mock's outcome is the expected one;
2. moto's outcome is the expected one, except where the entry carries a
   ``quirk``: a documented moto divergence from AWS, whose ``moto`` object
   gives moto's outcome for exactly the fields that differ (``why`` and
   ``reference`` justify it from the AWS documentation, from an execution
   recorded against AWS in ``tests/recorded``, or from a LocalStack
   snapshot recorded against AWS);
3. the two engines agree on every compared field outside the quirk, and
   really differ on each field the quirk names (so a quirk fixed in a later
   moto release fails here and the entry gets updated).

Comparisons are type-strict JSON equality (``true`` is not ``1``; object key
order does not matter, since moto re-serialises outputs).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest
from differential.harness import (
    MOCK_TASKS,
    Entry,
    Outcome,
    in_comparable_order,
    load_corpus,
    outcome_of,
    run_on_mock,
    run_on_moto,
    runs_concurrently,
)

from landlord_workflow.providers.stepfunctions import StepFunctionsProvider

ENTRIES = load_corpus()
MIN_CORPUS_SIZE = 15
ALWAYS_COMPARED = ("state", "output", "error", "entered", "events")
QUIRK_FIELDS = frozenset({*ALWAYS_COMPARED, "cause"})
AWS_REFERENCES = (
    "https://docs.aws.amazon.com/",
    "tests/recorded/",
    # LocalStack's snapshots recorded against AWS, at the commit tests/recorded uses.
    "https://github.com/localstack/localstack/blob/8b9a79f05846835cf4dff63ab7eefdde9df83783/tests/aws/",
)


def canonical(value: Any) -> Any:
    """A form of a JSON value whose ``==`` is type-strict JSON equality."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, Mapping):
        return ("object", tuple(sorted((key, canonical(item)) for key, item in value.items())))
    if isinstance(value, list | tuple):
        return ("array", tuple(canonical(item) for item in value))
    raise TypeError(f"not a JSON value: {value!r}")


def compared_fields(entry: Entry) -> tuple[str, ...]:
    """The outcome fields compared for ``entry`` (``cause`` only when expected)."""
    return (*ALWAYS_COMPARED, "cause") if "cause" in entry.expected else ALWAYS_COMPARED


def quirk_overrides(entry: Entry) -> Mapping[str, Any]:
    return {} if entry.quirk is None else entry.quirk["moto"]


def mismatches(outcome: Outcome | Mapping[str, Any], expected: Mapping[str, Any]) -> dict[str, Any]:
    """``{field: {"got": ..., "expected": ...}}`` for each field of ``expected`` that differs."""
    got = outcome.as_dict() if isinstance(outcome, Outcome) else outcome
    return {
        field: {"got": got[field], "expected": value}
        for field, value in expected.items()
        if canonical(got[field]) != canonical(value)
    }


def render(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True)


# ---------------------------------------------------------------- the corpus


def test_corpus_is_large_enough_and_covers_the_subset() -> None:
    assert len(ENTRIES) >= MIN_CORPUS_SIZE
    states = {entry.expected["state"] for entry in ENTRIES}
    assert states == {"succeeded", "failed", "timed_out"}

    text = "\n".join(json.dumps(entry.definition) for entry in ENTRIES)
    for construct in (
        '"Type": "Pass"',
        '"Type": "Task"',
        '"Type": "Choice"',
        '"Type": "Wait"',
        '"Type": "Succeed"',
        '"Type": "Fail"',
        '"Retry"',
        '"Catch"',
        '"BackoffRate"',
        '"MaxAttempts": 0',
        '"States.ALL"',
        '"States.TaskFailed"',
        '"Default"',
        '"And"',
        '"Or"',
        '"Not"',
        '"IsPresent"',
        '"IsNull"',
        '"IsNumeric"',
        '"IsString"',
        '"IsTimestamp"',
        "NumericLessThanPath",
        "StringEqualsPath",
        "BooleanEqualsPath",
        "TimestampLessThanEqualsPath",
        "StringMatches",
        "TimestampGreaterThan",
        '"Seconds": 1',
        '"SecondsPath"',
        '"TimestampPath"',
        '"InputPath"',
        '"OutputPath"',
        '"ResultPath": null',
        '"InputPath": null',
        '"OutputPath": null',
        '"ResultSelector"',
        '"ErrorPath"',
        '"CausePath"',
        "$$.Execution",
        "$$.State.RetryCount",
        "States.Format(",
        "States.StringToJson(",
        "States.JsonToString(",
        "States.Array(",
        # Parallel and Map
        '"Type": "Parallel"',
        '"Type": "Map"',
        '"ItemProcessor"',
        '"Iterator"',
        '"ItemSelector"',
        '"ItemsPath"',
        '"MaxConcurrency"',
        '"MaxConcurrencyPath"',
        '"Mode": "DISTRIBUTED"',
        "$$.Map.Item.Index",
        "$$.Map.Item.Value",
        # variables
        '"Assign"',
        # JSONPath as AWS reads it
        "[?(@.",
        "$..",
        "[1:3]",
        "[0,2]",
        "$.[0]",
        # intrinsics
        "States.ArrayPartition(",
        "States.ArrayRange(",
        "States.ArrayUnique(",
        "States.Base64Encode(",
        "States.Base64Decode(",
        "States.Hash(",
        "States.JsonMerge(",
        "States.StringSplit(",
        "States.MathAdd(",
        "States.UUID(",
        # timeouts and retries
        '"TimeoutSecondsPath"',
        '"HeartbeatSecondsPath"',
        "waitForTaskToken",
        '"MaxDelaySeconds"',
        '"JitterStrategy": "FULL"',
        "States.HeartbeatTimeout",
    ):
        assert construct in text, f"no corpus entry uses {construct}"
    assert any("TimeoutSeconds" in entry.definition for entry in ENTRIES)
    assert any(entry.concurrent for entry in ENTRIES)


def test_corpus_entries_are_well_formed() -> None:
    for entry in ENTRIES:
        assert entry.note, entry.name
        assert set(entry.expected) <= QUIRK_FIELDS, entry.name
        assert {"state", "entered", "events"} <= set(entry.expected), entry.name
        succeeded = entry.expected["state"] == "succeeded"
        assert ("output" in entry.expected) is succeeded, entry.name
        assert ("error" in entry.expected) is not succeeded, entry.name
        entered = [state for kind, state in entry.expected["events"] if kind == "StateEntered"]
        assert entered == entry.expected["entered"], entry.name
        # Side-by-side branches interleave in no fixed order: the entry must say so.
        assert entry.concurrent is runs_concurrently(entry.definition), entry.name
        if entry.quirk is not None:
            assert set(entry.quirk) == {"why", "reference", "moto"}, entry.name
            assert entry.quirk["reference"].startswith(AWS_REFERENCES), entry.name
            assert entry.quirk["moto"], entry.name
            assert set(entry.quirk["moto"]) <= QUIRK_FIELDS, entry.name


def test_every_task_resource_has_a_mock_handler_modelling_moto() -> None:
    # Each Task must do on the mock what moto's integration does: a handler
    # modelling it, or (lambda:invoke of a missing function) no handler, since
    # the mock then fails the Task as AWS does.
    resources = {
        state["Resource"]
        for entry in ENTRIES
        for state in entry.definition["States"].values()
        if state["Type"] == "Task"
    }
    assert resources
    assert resources <= {*MOCK_TASKS, "arn:aws:states:::lambda:invoke"}


# ------------------------------------------------------------ the comparison


@pytest.mark.asyncio
@pytest.mark.moto
@pytest.mark.parametrize("entry", ENTRIES, ids=[entry.name for entry in ENTRIES])
async def test_mock_and_moto_agree(
    entry: Entry, stepfunctions_provider: StepFunctionsProvider
) -> None:
    mock_status, moto_status = await asyncio.gather(
        run_on_mock(entry), run_on_moto(stepfunctions_provider, entry)
    )
    mock_fields = in_comparable_order(entry, outcome_of(mock_status).as_dict())
    moto_fields = in_comparable_order(entry, outcome_of(moto_status).as_dict())
    overrides = quirk_overrides(entry)

    # 1. The mock does what AWS documents.
    wrong = mismatches(mock_fields, in_comparable_order(entry, entry.expected))
    assert not wrong, f"mock differs from the expected AWS outcome:\n{render(wrong)}"

    # 2. moto does the same, apart from the documented quirk.
    moto_expected = in_comparable_order(entry, {**entry.expected, **overrides})
    wrong = mismatches(moto_fields, moto_expected)
    quirk_note = f"\n(documented quirk: {entry.quirk['why']})" if entry.quirk else ""
    assert not wrong, f"moto differs from the expected outcome:\n{render(wrong)}{quirk_note}"

    # 3. The engines agree outside the quirk and really differ where it says so.
    for field in compared_fields(entry):
        same = canonical(mock_fields[field]) == canonical(moto_fields[field])
        if field in overrides:
            assert not same, (
                f"quirk no longer reproduces on {field!r}: moto now agrees with the mock "
                f"({render(moto_fields[field])}); update corpus/{entry.name}.json"
            )
        else:
            assert same, (
                f"engines disagree on {field!r}: mock {render(mock_fields[field])}, "
                f"moto {render(moto_fields[field])}"
            )
