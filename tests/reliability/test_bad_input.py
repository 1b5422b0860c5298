"""Bad input through the Manager, generated with hypothesis.

Specs and execution inputs with one or more fields corrupted - wrong types,
huge sizes, invalid names, non-JSON values (sets, bytes, NaN, objects,
non-string keys, 5,000-digit integers), nesting past the limit, garbage ASL,
Unicode edge cases (lone surrogates, RTL overrides, zero-width characters,
NUL) - must give a typed ``WorkflowError`` (``InvalidSpecError`` for
everything but an unknown provider) and reach no engine: on the mock
``provider.faults.calls(op) == 0`` for every API operation but the local
``validate``; on Step Functions the provider never even opens its client.
Garbage execution ids and stop reasons give typed errors too, and
``codec.from_json`` of mutated documents gives only ``InvalidSpecError`` or
a value the Manager then handles without a raw exception.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import string
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from conftest import make_spec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability.support import PASS, manager_for, no_sleep_policy, offline_provider

from landlord_workflow import (
    CreateWorkflowResult,
    ExecutionError,
    ExecutionEvent,
    ExecutionInput,
    ExecutionResult,
    InvalidSpecError,
    ProviderNotFoundError,
    RetryPolicy,
    WorkflowError,
    WorkflowSpec,
    codec,
)
from landlord_workflow._json import MAX_JSON_DEPTH
from landlord_workflow._limits import MAX_DEFINITION_BYTES, MAX_PAYLOAD_BYTES
from landlord_workflow._validation import EXECUTION_NAME_PATTERN, WORKFLOW_ID_PATTERN
from landlord_workflow.providers.mock import MockProvider
from landlord_workflow.providers.mock._faults import OPERATIONS

# -- the numbers this module runs with --------------------------------------------------------
SPEC_EXAMPLES = 150
"""Corrupted WorkflowSpecs per provider (mock, Step Functions)."""
INPUT_EXAMPLES = 100
"""Corrupted ExecutionInputs (start and run) per provider."""
ID_EXAMPLES = 100
"""Garbage workflow ids, execution ids and stop reasons."""
CODEC_EXAMPLES = 150
"""Mutated JSON documents per public type through codec.from_json."""
MAX_CORRUPTED_FIELDS = 3
UNICODE_EDGES = (
    "\ud800",  # lone high surrogate
    "\udfff",  # lone low surrogate
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "\u200b",  # zero-width space
    "\u2060",  # word joiner
    "\ufeff",  # byte order mark
    "\x00",  # NUL
    "\x1b",  # escape
    "\u0301",  # combining acute accent
    "\U0001d518",  # astral plane letter
    "\U0010ffff",  # last code point
    "\u0663",  # Arabic-Indic digit three
    " ",
    "\n",
)
ENGINE_OPERATIONS = sorted(OPERATIONS - {"validate"})
"""Mock operations that would reach the engine; ``validate`` is a local check."""

GENERATION = settings(
    max_examples=SPEC_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- strategies ---------------------------------------------------------------------------------

edge_text = st.lists(
    st.sampled_from(UNICODE_EDGES) | st.text(string.ascii_letters + "-_", max_size=4),
    min_size=1,
    max_size=6,
).map("".join)
surrogate_text = st.tuples(
    st.text(max_size=5), st.sampled_from(["\ud800", "\udc00", "\udfff"])
).map("".join)


class Opaque:
    """An object JSON knows nothing about."""


def nested(depth: int, kind: str) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


non_json = st.one_of(
    st.sets(st.integers(), min_size=1, max_size=3),
    st.frozensets(st.text(max_size=3), min_size=1, max_size=3),
    st.binary(max_size=8),
    st.binary(max_size=4).map(bytearray),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.builds(Opaque),
    st.complex_numbers(allow_nan=False, allow_infinity=False, max_magnitude=10),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.datetimes(timezones=st.just(UTC)),
    st.timedeltas(),
    st.just(10**5000),  # beyond the int -> str digit limit
    st.dictionaries(st.integers() | st.none() | st.booleans(), st.integers(), min_size=1),
    surrogate_text,
    st.builds(
        nested,
        st.integers(MAX_JSON_DEPTH + 1, 3 * MAX_JSON_DEPTH),
        st.sampled_from(["list", "dict"]),
    ),
)
"""Values that are not strict JSON (or nest too deeply)."""

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | edge_text.filter(lambda t: not any("\ud800" <= c <= "\udfff" for c in t))
)
fine_json = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def poisoned(draw: st.DrawFn, container: str = "dict") -> Any:
    """A fine JSON document with one non-JSON value buried somewhere in it."""
    bad = draw(non_json)
    path = draw(st.lists(st.sampled_from(["list", "dict"]), max_size=4))
    value = bad
    for step in reversed(path):
        value = [draw(fine_json), value] if step == "list" else {"k": draw(fine_json), "x": value}
    if container == "dict":
        return {"tenant": "t-1", "payload": value}
    return [value]


huge_text = st.integers(1, 64).map(lambda n: "x" * (MAX_PAYLOAD_BYTES + n))
wrong_type = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(max_size=4),
    st.builds(Opaque),
    st.lists(st.integers(), max_size=2),
    st.sets(st.integers(), max_size=2),
)


def invalid_id(pattern: Any, max_length: int) -> st.SearchStrategy[Any]:
    texts = st.one_of(
        st.text(max_size=max_length + 5),
        edge_text,
        st.just(""),
        st.just("x" * (max_length + 1)),
        st.just("Tenant-Provisioning"),
        st.just("tenant provisioning"),
        st.just("tenant/provisioning"),
    )
    return wrong_type | texts.filter(lambda t: pattern.fullmatch(t) is None)


def garbage_asl() -> st.SearchStrategy[Any]:
    """Definitions the engines must refuse: a dangling Next, odd types, odd fields."""
    state = st.fixed_dictionaries(
        {
            "Type": st.sampled_from(
                ["Pass", "Task", "Wait", "Choice", "Succeed", "Fail", "Parallel", "Map", "Bogus"]
            )
            | wrong_type,
            "Next": st.just("Nowhere-To-Be-Found"),
        },
        optional={
            "Seconds": st.integers(-5, 5) | st.floats() | st.text(max_size=3) | wrong_type,
            "Resource": st.text(max_size=5) | wrong_type,
            "Parameters": fine_json | wrong_type,
            "ResultPath": st.text(max_size=6) | wrong_type,
            "InputPath": st.text(max_size=6) | wrong_type,
            "Retry": st.lists(fine_json, max_size=2) | wrong_type,
            "Catch": st.lists(fine_json, max_size=2) | wrong_type,
            "Choices": st.lists(fine_json, max_size=2) | wrong_type,
            "TimeoutSeconds": st.integers(-5, 5) | st.floats() | wrong_type,
        },
    )
    return st.fixed_dictionaries(
        {
            "StartAt": st.just("Start"),
            "States": st.dictionaries(st.just("Start"), state, min_size=1),
        },
        optional={
            "TimeoutSeconds": st.integers(-3, 0) | st.floats() | wrong_type,
            "Comment": fine_json,
        },
    ) | st.fixed_dictionaries({"StartAt": wrong_type | edge_text, "States": wrong_type | fine_json})


big_definition = st.just({**PASS, "Comment": "x" * (MAX_DEFINITION_BYTES + 1)})


@attrs.frozen
class Lazy:
    """A value built inside the call under test (its constructor may raise typed errors)."""

    build: Callable[[], Any]


def _resolved(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v.build() if isinstance(v, Lazy) else v for k, v in fields.items()}


def _policy(**kwargs: Any) -> Lazy:
    return Lazy(lambda: RetryPolicy(**kwargs))


bad_retry = st.one_of(
    wrong_type.filter(lambda v: v is not None),
    st.builds(
        lambda v: _policy(max_attempts=v),
        st.integers(max_value=-1) | st.floats() | st.text(max_size=2) | st.builds(Opaque),
    ),
    st.builds(
        lambda v: _policy(backoff_rate=v), st.sampled_from([math.nan, math.inf, 0.5, -1.0, 0.0])
    ),
    st.just(_policy(initial_interval=timedelta(seconds=10), max_interval=timedelta(seconds=1))),
    st.just(_policy(initial_interval=timedelta(0))),
    st.just(_policy(max_interval=timedelta(seconds=-1))),
    st.just(_policy(initial_interval="1s")),
)

bad_tags = st.one_of(
    wrong_type.filter(lambda v: v is not None),
    st.dictionaries(st.text("ab", min_size=1, max_size=8), st.just("v"), min_size=51, max_size=55),
    st.dictionaries(st.integers() | st.none(), st.just("v"), min_size=1, max_size=2),
    st.just({"k" * 129: "v"}),
    st.just({"k": "v" * 129}),
    st.just({"": "v"}),
    st.dictionaries(surrogate_text, st.just("v"), min_size=1, max_size=1),
    st.dictionaries(st.just("k"), wrong_type | surrogate_text, min_size=1),
)
CORRUPTIONS: dict[str, st.SearchStrategy[Any]] = {
    "workflow_id": invalid_id(WORKFLOW_ID_PATTERN, 128),
    "provider_type": st.one_of(
        wrong_type, st.just(""), st.just("   "), surrogate_text, st.just("p" * 257)
    ),
    "name": wrong_type | st.just("") | st.just("n" * 257) | surrogate_text,
    "description": wrong_type.filter(lambda v: v is not None)
    | st.just("d" * 1025)
    | surrogate_text,
    "definition": st.one_of(
        wrong_type,
        st.just({}),
        poisoned(),
        st.builds(lambda d: {**PASS, "Comment": d}, non_json),
        big_definition,
        garbage_asl(),
        st.builds(nested, st.integers(MAX_JSON_DEPTH + 1, 4 * MAX_JSON_DEPTH), st.just("dict")),
    ),
    "timeout": st.one_of(
        wrong_type.filter(lambda v: v is not None),
        st.just("30m"),
        st.just(timedelta(0)),
        st.just(timedelta(seconds=-1)),
    ),
    "retry_policy": bad_retry,
    "tags": bad_tags,
    "provider_config": wrong_type.filter(lambda v: v is not None) | poisoned(),
}


@st.composite
def corrupted_fields(draw: st.DrawFn, provider_type: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "workflow_id": "tenant-provisioning",
        "provider_type": provider_type,
        "name": "Tenant provisioning \u202e\u200b",  # edge characters are fine in names
        "definition": PASS,
        "description": "",
        "timeout": None,
        "retry_policy": None,
        "tags": {"team": "platform"},
        "provider_config": {},
    }
    chosen = draw(
        st.lists(
            st.sampled_from(sorted(CORRUPTIONS)),
            min_size=1,
            max_size=MAX_CORRUPTED_FIELDS,
            unique=True,
        )
    )
    for field in chosen:
        fields[field] = draw(CORRUPTIONS[field])
    return fields


@st.composite
def corrupted_inputs(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {"input": {"tenant": "t-1"}, "execution_name": None, "tags": {}}
    corruptions = {
        "input": st.one_of(
            wrong_type.filter(lambda v: not isinstance(v, list)),
            edge_text,
            poisoned("dict"),
            poisoned("list"),
            huge_text.map(lambda t: {"blob": t}),
            st.builds(
                nested,
                st.integers(MAX_JSON_DEPTH + 1, 4 * MAX_JSON_DEPTH),
                st.sampled_from(["list", "dict"]),
            ),
        ),
        "execution_name": invalid_id(EXECUTION_NAME_PATTERN, 80).filter(lambda v: v is not None),
        "tags": bad_tags,
    }
    chosen = draw(
        st.lists(st.sampled_from(sorted(corruptions)), min_size=1, max_size=3, unique=True)
    )
    for field in chosen:
        fields[field] = draw(corruptions[field])
    return fields


# -- providers that prove no engine call happened ----------------------------------------------


def _engine_calls(provider: Any) -> int:
    if isinstance(provider, MockProvider):
        return sum(provider.faults.calls(op) for op in ENGINE_OPERATIONS)
    # Step Functions opens its client lazily, on the first call that needs the engine.
    return 0 if provider._sfn.client is None else 1


def _provider(provider_type: str) -> Any:
    return MockProvider() if provider_type == "mock" else offline_provider()


DURATION_TYPE_ERROR = re.compile(
    r"^(timeout|initial_interval|max_interval) must be a datetime\.timedelta"
)
"""The one documented TypeError: a duration of the wrong Python type, named at construction."""


async def _expect_typed(call: Callable[[], Awaitable[Any]]) -> WorkflowError | TypeError:
    try:
        await call()
    except WorkflowError as exc:
        return exc
    except TypeError as exc:
        if not DURATION_TYPE_ERROR.match(str(exc)):
            raise AssertionError(f"an undocumented TypeError: {exc!r}") from exc
        return exc
    raise AssertionError("bad input was accepted")


def _run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


PROVIDER_TYPES = ["mock", "step-functions"]


@pytest.mark.parametrize("provider_type", PROVIDER_TYPES)
@given(data=st.data())
@GENERATION
def test_corrupted_specs_give_typed_errors_and_reach_no_engine(
    provider_type: str, data: st.DataObject
) -> None:
    fields = data.draw(corrupted_fields(provider_type))

    async def scenario() -> None:
        provider = _provider(provider_type)
        manager, metrics = manager_for(provider)
        async with manager:

            async def create() -> Any:
                return await manager.create_workflow(WorkflowSpec(**_resolved(fields)))

            async def validate() -> Any:
                return await manager.validate_workflow_spec(WorkflowSpec(**_resolved(fields)))

            for call in (create, validate):
                error = await _expect_typed(call)
                assert isinstance(error, InvalidSpecError | ProviderNotFoundError | TypeError), (
                    repr(error)
                )
                if isinstance(error, InvalidSpecError):
                    assert error.problems
                    assert all(isinstance(f, str) and isinstance(m, str) for f, m in error.problems)
            assert _engine_calls(provider) == 0
            assert sum(metrics.attempts.values()) == 0, "no provider call was even attempted"

    _run(scenario())


@pytest.mark.parametrize("provider_type", PROVIDER_TYPES)
@given(data=st.data())
@settings(GENERATION, max_examples=INPUT_EXAMPLES)
def test_corrupted_inputs_give_invalid_spec_errors_and_reach_no_engine(
    provider_type: str, data: st.DataObject
) -> None:
    fields = data.draw(corrupted_inputs())

    async def scenario() -> None:
        provider = _provider(provider_type)
        manager, metrics = manager_for(provider)
        async with manager:
            bad = ExecutionInput(**fields)
            for call in (
                lambda: manager.start_execution("tenant-provisioning", bad),
                lambda: manager.run("tenant-provisioning", bad),
            ):
                error = await _expect_typed(call)
                assert isinstance(error, InvalidSpecError), repr(error)
            assert _engine_calls(provider) == 0
            assert sum(metrics.attempts.values()) == 0

    _run(scenario())


@pytest.mark.parametrize("provider_type", PROVIDER_TYPES)
@given(workflow_id=invalid_id(WORKFLOW_ID_PATTERN, 128))
@settings(GENERATION, max_examples=ID_EXAMPLES)
def test_invalid_workflow_ids_reach_no_engine(provider_type: str, workflow_id: Any) -> None:
    async def scenario() -> None:
        provider = _provider(provider_type)
        manager, _ = manager_for(provider)
        async with manager:
            for call in (
                lambda: manager.start_execution(workflow_id),
                lambda: manager.run(workflow_id),
                lambda: manager.delete_workflow(workflow_id),
            ):
                assert isinstance(await _expect_typed(call), InvalidSpecError)
            assert _engine_calls(provider) == 0

    _run(scenario())


garbage_ids = st.one_of(
    wrong_type,
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    edge_text,
    st.just(""),
    st.just("x" * 100_000),
    st.builds(lambda t: f"arn:aws:states:us-east-1:123456789012:execution:wf:{t}", edge_text),
    st.builds(lambda t: f"mock:wf:{t}", edge_text),
)


@pytest.mark.parametrize("provider_type", PROVIDER_TYPES)
@given(execution_id=garbage_ids, reason=wrong_type | edge_text)
@settings(GENERATION, max_examples=ID_EXAMPLES)
def test_garbage_execution_ids_and_reasons_give_typed_errors(
    provider_type: str, execution_id: Any, reason: Any
) -> None:
    async def scenario() -> None:
        provider = _provider(provider_type)
        # One attempt: an unreachable endpoint is transient, not worth retrying here.
        manager, _ = manager_for(provider, call_policy=no_sleep_policy(max_attempts=1))
        async with manager:
            for call in (
                lambda: manager.get_execution_status(execution_id),
                lambda: manager.get_execution_status(execution_id, include_history=True),
                lambda: manager.stop_execution(execution_id, reason),
                lambda: manager.stop_execution(execution_id, "reason"),
                lambda: manager.redrive_execution(execution_id),
                lambda: manager.wait_for_completion(execution_id, timeout=timedelta(seconds=5)),
            ):
                await _expect_typed(call)

    _run(scenario())


# -- codec.from_json with mutated documents -------------------------------------------------------

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SEEDS: dict[type[Any], Any] = {
    WorkflowSpec: make_spec(PASS, workflow_id="tenant-provisioning"),
    ExecutionInput: ExecutionInput(input={"tenant": "t-1"}, execution_name="run-1"),
    RetryPolicy: RetryPolicy(max_attempts=3),
    ExecutionError: ExecutionError(code="Boom", message="m", cause="c", failed_at="A"),
    ExecutionEvent: ExecutionEvent(timestamp=T0, type="StateEntered", details={"state": "A"}),
    ExecutionResult: ExecutionResult(
        execution_id="e", workflow_id="w", provider_type="mock", state="running", started_at=T0
    ),
    CreateWorkflowResult: CreateWorkflowResult(
        workflow_id="w", provider_type="mock", resource_ids={"a": "b"}, created_at=T0
    ),
}
SPLICES = (
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999999",
    "9" * 5000,
    '"\\ud800"',
    '"\\u0000"',
    "[" * 5000,
    "{" * 100,
    '{"a":1,"a":2}',
    "null",
    "true",
    '"PT-5M"',
    '"-30m"',
    '"2025-13-45T99:99:99Z"',
    '"2025-01-01T00:00:00"',
    "\ufeff",
    "\x00",
    "]",
    "}",
    ",",
    ":",
    '"',
)


@st.composite
def mutated_document(draw: st.DrawFn) -> tuple[type[Any], str | bytes]:
    cls = draw(st.sampled_from(list(SEEDS)))
    text = codec.to_json(SEEDS[cls])
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["splice", "replace", "truncate", "delete"]))
        piece = draw(st.sampled_from(SPLICES) | st.text(max_size=4))
        if action == "splice":
            text = text[:where] + piece + text[where:]
        elif action == "replace":
            end = draw(st.integers(where, min(len(text), where + 12)))
            text = text[:where] + piece + text[end:]
        elif action == "truncate":
            text = text[:where]
        else:
            text = text[:where] + text[where + 1 :]
    if draw(st.booleans()):
        return cls, text.encode("utf-8", "surrogatepass")
    return cls, text


@given(document=mutated_document())
@settings(GENERATION, max_examples=CODEC_EXAMPLES)
def test_mutated_json_documents_parse_or_raise_invalid_spec_error(
    document: tuple[type[Any], str | bytes],
) -> None:
    cls, text = document
    try:
        value = codec.from_json(cls, text)
    except InvalidSpecError as exc:
        problems = exc.problems
    else:
        problems = []
    if problems:
        return
    assert isinstance(value, cls)
    if cls is WorkflowSpec:
        # Whatever parses must then be handled by the Manager without a raw exception.
        async def scenario() -> None:
            provider = MockProvider()
            manager, _ = manager_for(provider)
            async with manager:
                try:
                    await manager.create_workflow(attrs.evolve(value, provider_type="mock"))
                except WorkflowError:
                    assert provider.faults.calls("create_workflow") == 0

        _run(scenario())


def test_the_seeds_round_trip() -> None:
    """The mutation seeds are valid documents (so mutations start from good JSON)."""
    for cls, value in SEEDS.items():
        text = codec.to_json(value)
        assert json.loads(text)
        assert codec.from_json(cls, text) == value
