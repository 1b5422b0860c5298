"""The mock engine: Amazon States Language workflows simulated on asyncio.

:class:`MockProvider` runs each execution as an asyncio task walking this
subset of the Amazon States Language, with the data flow Step Functions
applies, so the same definition behaves the same on the mock and on AWS:

* states: ``Pass``, ``Task``, ``Wait`` (``Seconds``, ``SecondsPath``,
  ``Timestamp``, ``TimestampPath``), ``Choice`` (every comparison operator,
  their ``...Path`` forms, ``IsPresent``/``IsNull``/``IsNumeric``/
  ``IsString``/``IsBoolean``/``IsTimestamp``, ``And``/``Or``/``Not``,
  ``Default``), ``Succeed``, ``Fail`` (``Error``/``Cause``,
  ``ErrorPath``/``CausePath``);
* paths: ``InputPath``, ``Parameters`` (``key.$`` paths, ``$$`` context
  object, intrinsic functions: see :data:`intrinsics.INTRINSICS`), ``Result``,
  ``ResultSelector``, ``ResultPath`` (incl. ``null``), ``OutputPath``;
* Task ``Retry`` (``ErrorEquals``, ``IntervalSeconds``, ``MaxAttempts``,
  ``BackoffRate``, ``MaxDelaySeconds``), ``Catch`` (``ResultPath`` gets
  ``{"Error", "Cause"}``), ``TimeoutSeconds``; top-level ``TimeoutSeconds``
  and ``WorkflowSpec.timeout`` end an execution ``timed_out``.

Everything else (``Parallel``, ``Map``, JSONata, heartbeats, ``JitterStrategy``
``FULL``, recursive-descent or filter paths, other intrinsics) is refused by
``validate``/``create_workflow`` with :class:`InvalidSpecError` naming the
state and construct - never run differently from AWS.
"""

from landlord_workflow._limits import MAX_HISTORY_EVENTS, MAX_PAYLOAD_BYTES
from landlord_workflow.providers.mock._clock import Clock, RealClock, VirtualClock
from landlord_workflow.providers.mock._engine import MockProvider
from landlord_workflow.providers.mock._faults import Faults
from landlord_workflow.providers.mock.interpreter import TaskFailure, TaskHandler

__all__ = [
    "MAX_HISTORY_EVENTS",
    "MAX_PAYLOAD_BYTES",
    "Clock",
    "Faults",
    "MockProvider",
    "RealClock",
    "TaskFailure",
    "TaskHandler",
    "VirtualClock",
]
