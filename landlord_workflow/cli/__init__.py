"""The ``landlord-workflow`` command line, and `WorkflowConfig` (configuration from
the environment, which the CLI and `Manager.from_config` share).

The commands, their live progress view and the Mermaid graph live in private
modules, imported only when the command line runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TextIO

from landlord_workflow.cli._config import WorkflowConfig

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "WorkflowConfig", "main"]

EXIT_OK = 0
"""The command succeeded (``run``/``wait``: the execution succeeded)."""
EXIT_FAILED = 1
"""The execution failed, timed out or was cancelled, or the engine reported an error."""
EXIT_USAGE = 2
"""Bad arguments, configuration or spec (problems printed field by field)."""


def main(
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
    from landlord_workflow.cli._app import run_cli

    return run_cli(argv, stdout=stdout, stderr=stderr, environ=environ)
