"""The public surface is curated: __all__ is sorted, complete and pinned."""

from __future__ import annotations

import subprocess
import sys

import landlord_workflow

EXPECTED = [
    "CallDetails",
    "CallPolicy",
    "CreateWorkflowResult",
    "ExecutionAlreadyExistsError",
    "ExecutionError",
    "ExecutionEvent",
    "ExecutionFailedError",
    "ExecutionInput",
    "ExecutionNotFoundError",
    "ExecutionOutcome",
    "ExecutionResult",
    "ExecutionState",
    "ExecutionStatus",
    "Hook",
    "InvalidSpecError",
    "Manager",
    "MetricsCollector",
    "OperationTimeoutError",
    "PollPolicy",
    "Provider",
    "ProviderConflictError",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderUnavailableError",
    "Registry",
    "RetryPolicy",
    "SupportsListExecutions",
    "SupportsRedrive",
    "SupportsWatch",
    "TaskTokenError",
    "ThrottledError",
    "TransientError",
    "UnsupportedOperationError",
    "WorkflowConfig",
    "WorkflowError",
    "WorkflowNotFoundError",
    "WorkflowSpec",
    "__version__",
]


def test_all_is_pinned_and_sorted() -> None:
    assert landlord_workflow.__all__ == EXPECTED
    assert landlord_workflow.__all__ == sorted(landlord_workflow.__all__)


def test_every_name_in_all_is_exported_and_public_names_are_in_all() -> None:
    for name in landlord_workflow.__all__:
        assert hasattr(landlord_workflow, name), name
    public = {
        name
        for name, value in vars(landlord_workflow).items()
        if not name.startswith("_") and not isinstance(value, type(sys))
    }
    assert public == set(EXPECTED) - {"__version__"}


def test_importing_the_package_does_not_import_aioboto3_or_the_adapter() -> None:
    code = (
        "import sys, landlord_workflow, landlord_workflow.providers.mock;"
        "roots = ('aioboto3', 'aiobotocore', 'botocore');"
        "bad = [m for m in sys.modules if m.split('.')[0] in roots"
        " or m.startswith('landlord_workflow.providers.stepfunctions')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_error_tree_matches_the_contract() -> None:
    lw = landlord_workflow
    assert issubclass(lw.ThrottledError, lw.TransientError)
    assert issubclass(lw.ProviderUnavailableError, lw.TransientError)
    assert issubclass(lw.OperationTimeoutError, TimeoutError)
    for name in landlord_workflow.errors.__all__:
        if name != "WorkflowError":
            assert issubclass(getattr(lw, name), lw.WorkflowError), name
    assert not issubclass(lw.ProviderError, lw.TransientError)
