"""AWS Step Functions adapter (extra ``aws``): :class:`StepFunctionsProvider`.

Importing this package imports aioboto3; ``import landlord_workflow`` alone
never does.
"""

from landlord_workflow.providers.stepfunctions._provider import StepFunctionsProvider

__all__ = ["StepFunctionsProvider"]
