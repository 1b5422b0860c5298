"""The AWS-recorded corpus is well formed, and its matcher compares as documented.

These tests check the corpus itself (files, ids, fields, placeholder rules),
not any engine: which cases the mock engine passes is measured elsewhere.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from recorded.corpus import (
    CASES_DIR,
    INVALID_DIR,
    PLACEHOLDER,
    VALIDATE_DIR,
    Case,
    load_cases,
    load_invalid_definitions,
    load_validations,
    matches,
    normalize,
)

CASES = load_cases()
INVALID = load_invalid_definitions()
VALIDATIONS = load_validations()
MIN_CASES = 900
STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
HANDLER_KINDS = frozenset(
    {"echo", "constant", "raise", "python_format", "oversized_result", "sleep_echo"}
)
SOURCE_KEYS = frozenset({"repository", "commit", "license", "snapshot", "test_module"})
EXPECTED_KEYS = frozenset(
    {
        "status",
        "output",
        "error",
        "cause",
        "states",
        "states_order",
        "states_ignore",
        "normalize",
        "events",
    }
)
DATA_FILES = sorted(
    [*CASES_DIR.glob("*.json"), *INVALID_DIR.glob("*.json"), *VALIDATE_DIR.glob("*.json")]
)


def observed_as_recorded(case: Case) -> dict[str, Any]:
    """The recorded outcome of ``case`` in the shape an engine run is reported."""
    expected = case.expected
    cause = expected.get("cause")
    return {
        "status": expected["status"],
        "output": expected.get("output"),
        "error": expected.get("error"),
        "cause": cause if cause is None or isinstance(cause, str) else json.dumps(cause),
        "states": expected.get("states"),
    }


def test_the_corpus_holds_the_recorded_executions() -> None:
    assert len(CASES) >= MIN_CASES
    assert INVALID
    assert VALIDATIONS


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_data_file_is_utf8_json_with_two_space_indent_and_a_source(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert set(data["source"]) == SOURCE_KEYS
    assert data["source"]["repository"] == "localstack/localstack"
    assert data["source"]["license"] == "Apache-2.0"
    assert re.fullmatch(r"[0-9a-f]{40}", data["source"]["commit"])
    assert data["source"]["snapshot"] == data["source"]["test_module"][:-3] + ".snapshot.json"
    assert data["cases"]


def test_case_ids_are_unique_across_the_corpus() -> None:
    counts = Counter(case.id for case in [*CASES, *INVALID, *VALIDATIONS])
    assert [case_id for case_id, n in counts.items() if n > 1] == []


def test_every_case_names_the_snapshot_entry_it_comes_from() -> None:
    for case in [*CASES, *INVALID, *VALIDATIONS]:
        assert case.node.startswith(case.source["test_module"] + "::"), case.id


def test_every_definition_is_a_state_machine_and_every_input_is_json() -> None:
    for case in CASES:
        assert isinstance(case.definition, dict), case.id
        assert {"StartAt", "States"} <= set(case.definition), case.id
        assert json.loads(json.dumps(case.input)) == case.input, case.id


def test_every_expected_outcome_has_a_status_and_only_known_fields() -> None:
    for case in CASES:
        expected = case.expected
        assert expected["status"] in STATUSES, case.id
        assert set(expected) <= EXPECTED_KEYS, case.id
        if "output" in expected:
            assert expected["status"] == "SUCCEEDED", case.id
        if expected["status"] == "SUCCEEDED":
            assert "error" not in expected, case.id
            assert "cause" not in expected, case.id


def test_normalize_rules_are_literal_or_regex_replacements() -> None:
    for case in CASES:
        for rule in case.expected.get("normalize", []):
            assert set(rule) in ({"literal", "to"}, {"regex", "to"}), case.id
            if "regex" in rule:
                re.compile(rule["regex"])


def test_placeholders_in_expected_values_are_snapshot_tokens() -> None:
    # A token is <name>, <name:N> or <name_Nidx>; nothing else in angle brackets
    # (a literal '<' in a recorded value would be ambiguous).
    token = re.compile(r"<[A-Za-z][A-Za-z0-9_.\-]*(:\d+)?>")
    for case in CASES:
        text = json.dumps({k: case.expected.get(k) for k in ("output", "error", "cause")})
        for found in PLACEHOLDER.findall(text):
            assert token.fullmatch(found), (case.id, found)


def test_lambda_emulated_cases_describe_each_function() -> None:
    emulated = [case for case in CASES if case.handlers]
    assert emulated
    for case in emulated:
        definition_text = json.dumps(case.definition)
        for name, spec in case.handlers.items():
            assert spec["kind"] in HANDLER_KINDS, case.id
            assert spec["function_name"] == name, case.id
            assert spec["function_arn"].endswith(f":function:{name}"), case.id
            if spec["kind"] == "raise":
                assert {"error_type", "error_message", "stack_trace"} <= set(spec), case.id
        assert (
            any(spec["function_arn"] in definition_text for spec in case.handlers.values())
            or "arn:aws:states:::lambda:invoke" in definition_text
        ), case.id


def test_refused_definitions_carry_aws_wording() -> None:
    for case in INVALID:
        assert case.expected_error_code == "InvalidDefinition", case.id
        assert case.expected_error_message, case.id


def test_validation_answers_are_ok_or_fail_with_diagnostics() -> None:
    for case in VALIDATIONS:
        assert case.expected_result in {"OK", "FAIL"}, case.id
        assert bool(case.expected_diagnostics) == (case.expected_result == "FAIL"), case.id


# ------------------------------------------------------------------ matcher


def test_every_recorded_outcome_matches_itself() -> None:
    mismatched = {
        case.id: diffs
        for case in CASES
        if (diffs := matches(case.expected, observed_as_recorded(case)))
    }
    assert mismatched == {}


def test_a_placeholder_matches_any_text_and_a_numbered_one_the_same_text_each_time() -> None:
    expected = {
        "status": "SUCCEEDED",
        "output": {"a": "id-<uuid:1>", "b": "<uuid:1>", "c": "<region>"},
    }
    same = {"status": "SUCCEEDED", "output": {"a": "id-x1", "b": "x1", "c": "anything"}}
    other = {"status": "SUCCEEDED", "output": {"a": "id-x1", "b": "x2", "c": "anything"}}
    assert matches(expected, same) == []
    assert [d.split(":")[0] for d in matches(expected, other)] == ["output.b"]


def test_a_lone_placeholder_matches_any_json_value() -> None:
    expected = {"status": "SUCCEEDED", "output": {"n": "<RandomNumberGenerated>"}}
    assert matches(expected, {"status": "SUCCEEDED", "output": {"n": 42}}) == []


def test_numbers_compare_by_type_and_key_order_does_not_matter() -> None:
    expected = {"status": "SUCCEEDED", "output": {"x": 1, "y": True}}
    assert matches(expected, {"status": "SUCCEEDED", "output": {"y": True, "x": 1}}) == []
    assert matches(expected, {"status": "SUCCEEDED", "output": {"x": 1.0, "y": True}})
    assert matches(expected, {"status": "SUCCEEDED", "output": {"x": 1, "y": 1}})


def test_observed_values_are_normalised_like_the_recording() -> None:
    rules = [{"literal": "arn:aws:iam::111111111111:role/sfn-role", "to": "snf_role_arn"}]
    observed = {
        "role": "arn:aws:iam::111111111111:role/sfn-role",
        "at": "2024-06-01T00:00:00Z",
        "arn": "arn:aws:lambda:us-east-1:111111111111:function:f",
        "Timestamp": 1717200000,
    }
    assert normalize(observed, rules) == {
        "role": "snf_role_arn",
        "at": "date",
        "arn": "arn:<partition>:lambda:<region>:111111111111:function:f",
        "Timestamp": "timestamp",
    }


def test_failure_fields_and_a_json_cause_are_compared() -> None:
    expected = {
        "status": "FAILED",
        "error": "Exception",
        "cause": {"errorMessage": "boom", "errorType": "Exception", "requestId": "<uuid:1>"},
    }
    cause = json.dumps({"errorType": "Exception", "errorMessage": "boom", "requestId": "r-1"})
    assert matches(expected, {"status": "FAILED", "error": "Exception", "cause": cause}) == []
    diffs = matches(expected, {"status": "FAILED", "error": "States.Runtime", "cause": "boom"})
    assert [d.split(":")[0] for d in diffs] == ["error", "cause"]


def test_states_compare_in_order_unless_the_case_says_multiset() -> None:
    expected = {"status": "SUCCEEDED", "states": ["A", "B"]}
    swapped = {"status": "SUCCEEDED", "states": ["B", "A"]}
    assert matches(expected, swapped)
    assert matches({**expected, "states_order": "multiset"}, swapped) == []
    ignoring = {**expected, "states_ignore": ["Inner"]}
    assert matches(ignoring, {"status": "SUCCEEDED", "states": ["A", "Inner", "B"]}) == []


def test_key_order_is_compared_only_when_asked() -> None:
    expected = {"status": "SUCCEEDED", "output": {"b": 1, "a": 2}}
    observed = {"status": "SUCCEEDED", "output": {"a": 2, "b": 1}}
    assert matches(expected, observed) == []
    assert [d.split(":")[0] for d in matches(expected, observed, key_order=True)] == ["output"]
