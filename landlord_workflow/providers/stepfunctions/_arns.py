"""Partitions and ARNs of Step Functions resources.

A state machine is addressed by
``arn:{partition}:states:{region}:{account}:stateMachine:{name}`` and an
execution by ``arn:{partition}:states:{region}:{account}:execution:{machine}:{name}``.
The adapter uses the workflow id as the state machine name and the execution
ARN as the execution id, so both can be built and parsed without an API call.
"""

from __future__ import annotations

import attrs

__all__ = [
    "ExecutionArn",
    "execution_arn",
    "parse_execution_arn",
    "partition_for_region",
    "state_machine_arn",
]

_PARTITION_PREFIXES: tuple[tuple[str, str], ...] = (
    # Longest prefix first: "us-isob-" must win over "us-iso-".
    ("us-isob-", "aws-iso-b"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-isof-", "aws-iso-f"),
    ("us-gov-", "aws-us-gov"),
    ("cn-", "aws-cn"),
)


def partition_for_region(region: str) -> str:
    """The ARN partition of ``region``: ``aws``, ``aws-cn``, ``aws-us-gov``, ...

    >>> partition_for_region("cn-north-1"), partition_for_region("us-gov-west-1")
    ('aws-cn', 'aws-us-gov')
    """
    for prefix, partition in _PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws"


def state_machine_arn(*, partition: str, region: str, account_id: str, name: str) -> str:
    """The ARN of the state machine called ``name``."""
    return f"arn:{partition}:states:{region}:{account_id}:stateMachine:{name}"


def execution_arn(*, state_machine: str, name: str) -> str:
    """The ARN of execution ``name`` of the state machine ``state_machine`` (an ARN)."""
    prefix, sep, machine = state_machine.rpartition(":stateMachine:")
    if not sep:
        raise ValueError("not a state machine ARN")
    return f"{prefix}:execution:{machine}:{name}"


@attrs.frozen(kw_only=True)
class ExecutionArn:
    """The parts of a standard-workflow execution ARN."""

    arn: str
    partition: str
    region: str
    account_id: str
    state_machine_name: str
    execution_name: str

    @property
    def state_machine_arn(self) -> str:
        """The ARN of the state machine this execution belongs to."""
        return state_machine_arn(
            partition=self.partition,
            region=self.region,
            account_id=self.account_id,
            name=self.state_machine_name,
        )


_EXECUTION_ARN_PARTS = 8


def parse_execution_arn(arn: str) -> ExecutionArn | None:
    """Split an execution ARN into its parts; ``None`` if ``arn`` is not one.

    Only ``execution`` ARNs of standard workflows are accepted (express
    executions cannot be described, Map Run ARNs are not executions).
    """
    parts = arn.split(":")
    if len(parts) != _EXECUTION_ARN_PARTS:
        return None
    scheme, partition, service, region, account_id, kind, machine, name = parts
    if scheme != "arn" or service != "states" or kind != "execution":
        return None
    if not (partition and region and account_id and machine and name):
        return None
    return ExecutionArn(
        arn=arn,
        partition=partition,
        region=region,
        account_id=account_id,
        state_machine_name=machine,
        execution_name=name,
    )
