"""AWS Step Functions adapter (extra ``aws``): `StepFunctionsProvider`.

``import landlord_workflow`` alone never imports aioboto3; this package
imports it when `StepFunctionsProvider` is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from landlord_workflow.providers.stepfunctions._provider import StepFunctionsProvider

__all__ = ["StepFunctionsProvider"]


def __getattr__(name: str) -> Any:
    if name == "StepFunctionsProvider":
        from landlord_workflow.providers.stepfunctions._provider import StepFunctionsProvider

        return StepFunctionsProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
