"""WorkflowConfig.from_env: defaults, every variable, all problems at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from landlord_workflow import InvalidSpecError, Manager, PollPolicy, WorkflowConfig


def test_defaults_use_the_mock_engine() -> None:
    config = WorkflowConfig.from_env({})
    assert config.default_provider == "mock"
    assert config.providers == ("mock",)
    assert config.call_policy.max_attempts == 5


def test_without_poll_variables_each_provider_is_polled_at_its_own_pace() -> None:
    assert WorkflowConfig.from_env({}).poll_policy is None
    assert Manager.from_config(WorkflowConfig.from_env({})).poll_policy is None
    one = WorkflowConfig.from_env({"WORKFLOW_POLL_MAX_INTERVAL": "20s"}).poll_policy
    assert one == PollPolicy(max_interval=timedelta(seconds=20))


def test_every_variable_is_read() -> None:
    config = WorkflowConfig.from_env(
        {
            "WORKFLOW_DEFAULT_PROVIDER": "step-functions",
            "WORKFLOW_SFN_REGION": "eu-west-1",
            "WORKFLOW_SFN_ROLE_ARN": "arn:aws:iam::123456789012:role/sfn",
            "WORKFLOW_SFN_ENDPOINT_URL": "http://127.0.0.1:5000",
            "WORKFLOW_SFN_ACCOUNT_ID": "123456789012",
            "WORKFLOW_CALL_MAX_ATTEMPTS": "7",
            "WORKFLOW_CALL_ATTEMPT_TIMEOUT": "10s",
            "WORKFLOW_CALL_DEADLINE": "PT1M",
            "WORKFLOW_CALL_INITIAL_INTERVAL": "50ms",
            "WORKFLOW_CALL_MAX_INTERVAL": "2",
            "WORKFLOW_POLL_INITIAL_INTERVAL": "1s",
            "WORKFLOW_POLL_MAX_INTERVAL": "1m",
        }
    )
    assert config.default_provider == "step-functions"
    assert config.providers == ("mock", "step-functions")
    assert config.settings["WORKFLOW_SFN_REGION"] == "eu-west-1"
    policy = config.call_policy
    assert policy.max_attempts == 7
    assert policy.attempt_timeout == timedelta(seconds=10)
    assert policy.deadline == timedelta(minutes=1)
    assert policy.initial_interval == timedelta(milliseconds=50)
    assert policy.max_interval == timedelta(seconds=2)
    assert config.poll_policy is not None
    assert config.poll_policy.initial_interval == timedelta(seconds=1)
    assert config.poll_policy.max_interval == timedelta(minutes=1)


def test_none_disables_the_attempt_timeout() -> None:
    config = WorkflowConfig.from_env({"WORKFLOW_CALL_ATTEMPT_TIMEOUT": "none"})
    assert config.call_policy.attempt_timeout is None


def test_all_problems_are_reported_at_once_with_variable_names() -> None:
    with pytest.raises(InvalidSpecError) as info:
        WorkflowConfig.from_env(
            {
                "WORKFLOW_DEFAULT_PROVIDER": "no-such-engine",
                "WORKFLOW_SFN_ENDPOINT_URL": "localhost:5000",
                "WORKFLOW_SFN_ACCOUNT_ID": "12",
                "WORKFLOW_CALL_MAX_ATTEMPTS": "zero",
                "WORKFLOW_CALL_ATTEMPT_TIMEOUT": "soon",
                "WORKFLOW_CALL_INITIAL_INTERVAL": "-1s",
                "WORKFLOW_POLL_MAX_INTERVAL": "0s",
            }
        )
    fields = [field for field, _ in info.value.problems]
    assert fields == [
        "WORKFLOW_DEFAULT_PROVIDER",
        "WORKFLOW_SFN_ENDPOINT_URL",
        "WORKFLOW_SFN_ACCOUNT_ID",
        "WORKFLOW_CALL_MAX_ATTEMPTS",
        "WORKFLOW_CALL_ATTEMPT_TIMEOUT",
        "WORKFLOW_CALL_INITIAL_INTERVAL",
        "WORKFLOW_POLL_MAX_INTERVAL",
    ]


def test_step_functions_default_needs_a_region() -> None:
    with pytest.raises(InvalidSpecError) as info:
        WorkflowConfig.from_env({"WORKFLOW_DEFAULT_PROVIDER": "step-functions"})
    assert info.value.problems[0][0] == "WORKFLOW_SFN_REGION"


@pytest.mark.asyncio
async def test_manager_from_config_registers_the_mock_engine() -> None:
    async with Manager.from_config(WorkflowConfig.from_env({})) as manager:
        assert manager.list_providers() == ["mock"]
        assert manager.default_provider == "mock"


@pytest.mark.asyncio
async def test_manager_from_config_registers_step_functions_with_a_region() -> None:
    config = WorkflowConfig.from_env(
        {
            "WORKFLOW_SFN_REGION": "us-east-1",
            "WORKFLOW_SFN_ACCOUNT_ID": "123456789012",
            "WORKFLOW_SFN_ROLE_ARN": "arn:aws:iam::123456789012:role/sfn",
        }
    )
    async with Manager.from_config(config) as manager:
        assert manager.list_providers() == ["mock", "step-functions"]
        sfn = manager.registry.get("step-functions")
        assert "region='us-east-1'" in repr(sfn)
        assert "role_arn='arn:aws:iam::123456789012:role/sfn'" in repr(sfn)


def test_providers_are_found_through_the_entry_point_group() -> None:
    from importlib.metadata import entry_points

    names = {entry.name for entry in entry_points(group="landlord_workflow.providers")}
    assert {"mock", "step-functions"} <= names
    config = WorkflowConfig.from_env({"WORKFLOW_SFN_REGION": "eu-west-1"})
    assert [provider.name for provider in config.build_providers()] == ["mock", "step-functions"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("WORKFLOW_SFN_REGION", "us east!"), ("WORKFLOW_SFN_ENDPOINT_URL", "notaurl")],
)
def test_an_unusable_engine_setting_is_a_problem_naming_the_variable(
    variable: str, value: str
) -> None:
    environ = {"WORKFLOW_SFN_REGION": "eu-west-1", variable: value}
    with pytest.raises(InvalidSpecError) as info:
        WorkflowConfig.from_env(environ)
    assert [field for field, _ in info.value.problems] == [variable]
