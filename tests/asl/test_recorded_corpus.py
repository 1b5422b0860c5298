"""Executions recorded against real AWS run the same on the ASL core.

Every case of ``tests/recorded`` (LocalStack's Step Functions snapshots,
recorded against AWS) runs on the core with the test kit's runtime; the
outcome (status, output, error, cause, entered states) must match the
recording. A case that cannot match is listed in ``expected_deviations.json``
with the reason, never skipped silently.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from asl.recorded import observe
from recorded.corpus import load_cases, load_invalid_definitions, matches

from landlord_workflow._asl import compile_definition
from landlord_workflow.errors import InvalidSpecError

CASES = load_cases()
DEVIATIONS: dict[str, str] = json.loads(
    (Path(__file__).parent / "expected_deviations.json").read_text()
)["cases"]


@pytest.mark.asyncio
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_recorded_execution_matches_aws(case: object) -> None:
    """The core's outcome equals what AWS recorded (or the deviation is documented)."""
    observed = await observe(case)
    differences = matches(case.expected, observed)  # type: ignore[attr-defined]
    if case.id in DEVIATIONS:  # type: ignore[attr-defined]
        assert differences, f"listed as a deviation but matches now: {case.id}"  # type: ignore[attr-defined]
    else:
        assert differences == []


def test_listed_deviations_name_existing_cases() -> None:
    """Every documented deviation names a case of the corpus and gives a reason."""
    ids = {case.id for case in CASES}
    assert all(name in ids and reason for name, reason in DEVIATIONS.items())


@pytest.mark.parametrize("case", load_invalid_definitions(), ids=lambda case: case.id)
def test_definition_aws_refused_is_refused(case: object) -> None:
    """A definition AWS refused at CreateStateMachine does not compile."""
    with pytest.raises(InvalidSpecError):
        compile_definition(case.definition)  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_match_rate_is_reported_and_at_least_97_percent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The match rate over the whole corpus (printed) is at least 97 %."""
    matched = 0
    for case in CASES:
        if not matches(case.expected, await observe(case)):
            matched += 1
    rate = matched / len(CASES)
    with capsys.disabled():
        print(f"\nrecorded corpus: {matched}/{len(CASES)} executions match AWS ({rate:.1%})")
    assert rate >= 0.97
