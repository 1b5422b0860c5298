"""The documentation is executed: every code block in README.md and docs/*.md runs here.

* ```python blocks run page by page, in order, in one namespace per page (the
  working directory is the repository root; ``docs/examples`` and
  ``examples`` are importable). A block that is only a snippet include
  (``--8<-- "file"``) runs the included file.
* ```json blocks parse; those that are WorkflowSpecs parse with the codec; the
  IAM policy lists exactly the actions the Step Functions adapter documents.
* ```console blocks: ``$ landlord-workflow ...`` lines run through
  ``cli.main`` (on local moto and Temporal servers) and must print what the
  page shows under them, durations and times aside;
  ``LANDLORD_UPDATE_DOCS=1`` writes the real output into the pages instead.
  ``$ python examples/...`` lines must be commands that tests/test_examples.py
  runs.
* The pytest modules the docs include (docs/examples/test_*.py) are collected
  here (tests/test_minimal_provider.py collects the conformance one).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from landlord_workflow import WorkflowSpec, codec
from landlord_workflow.cli import main as cli_main

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
SNIPPET_PATHS = (DOCS / "examples", ROOT / "examples")
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.M)

sys.path[:0] = [str(path) for path in SNIPPET_PATHS]

from test_examples import EXAMPLE_COMMANDS  # noqa: E402
from test_user_code import (  # noqa: E402
    test_provision_on_a_local_step_functions_engine,
    test_provision_reports_where_it_failed,
    test_provision_survives_a_throttled_engine,
)

# The moto fixtures those tests use come from the suite-wide plugin (tests/conftest.py).
__all__ = [
    "test_provision_on_a_local_step_functions_engine",
    "test_provision_reports_where_it_failed",
    "test_provision_survives_a_throttled_engine",
]


def include(match: re.Match[str]) -> str:
    for base in SNIPPET_PATHS:
        path = base / match.group(1)
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise AssertionError(f"snippet {match.group(1)} not found")


def blocks(page: Path, language: str) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return [SNIPPET.sub(include, body) for lang, body in FENCE.findall(text) if lang == language]


def pages_with(language: str) -> list[Any]:
    return [
        pytest.param(page, id=str(page.relative_to(ROOT)))
        for page in PAGES
        if blocks(page, language)
    ]


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize("page", pages_with("python"))
def test_python_blocks_run(page: Path, capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for number, code in enumerate(blocks(page, "python"), 1):
        try:
            exec(compile(code, f"{page.name} block {number}", "exec"), namespace)  # noqa: S102
        except Exception as exc:
            raise AssertionError(f"{page.name} block {number} failed: {exc!r}") from exc
    capsys.readouterr()
    assert set(namespace) - {"__name__", "__builtins__"}, "the blocks defined nothing"


def test_every_page_is_checked() -> None:
    """Guard against a fence the extractor cannot see (e.g. indented blocks)."""
    checked = {page.name for page in PAGES}
    assert {"README.md", "index.md", "workflow-providers.md", "cli.md"} <= checked
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert text.count("```") % 2 == 0, f"unbalanced fences in {page.name}"


@pytest.mark.parametrize("page", pages_with("json"))
def test_json_blocks_parse(page: Path) -> None:
    for body in blocks(page, "json"):
        document = json.loads(body)
        if "workflow_id" in document:
            spec = codec.from_json(WorkflowSpec, body)
            assert codec.from_json(WorkflowSpec, codec.to_json(spec)) == spec


def documented_actions() -> set[str]:
    """The IAM actions the adapter's module docstring says each method calls."""
    from landlord_workflow.providers.stepfunctions import _provider as provider

    assert provider.__doc__ is not None
    return set(re.findall(r"\b(?:states|iam):[A-Za-z]+", provider.__doc__))


def test_iam_policy_lists_exactly_the_actions_the_adapter_calls() -> None:
    policies = [
        json.loads(body)
        for body in blocks(DOCS / "step-functions.md", "json")
        if "Statement" in json.loads(body)
    ]
    assert len(policies) == 1
    actions: set[str] = set()
    for statement in policies[0]["Statement"]:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    assert actions == documented_actions()


LAMBDA_ECHO = {"lambda": {"use_docker": False}}


@contextlib.contextmanager
def _restore_lambda(engine: Any) -> Iterator[None]:
    try:
        yield
    finally:
        engine.configure({"lambda": {"use_docker": True}})


UPDATE_DOCS = os.environ.get("LANDLORD_UPDATE_DOCS") == "1"
"""``LANDLORD_UPDATE_DOCS=1 pytest tests/test_docs.py -k console`` writes the real
output of every documented command into the pages instead of comparing it."""

DURATION = re.compile(r"\b[0-9]+\.[0-9]{3}s\b|\b[0-9]+m[0-9]{2}s\b|\b[0-9]+h[0-9]{2}m\b")
TIMESTAMP = re.compile(r"\b[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z\b")
PROGRESS = re.compile(r"^\S+: (?:running|error \(.*\)|retrying, attempt .*)$")
"""Plain progress lines a poll may or may not catch (a state that starts and
ends between two polls shows only its end)."""
DOCUMENTED = {
    "WORKFLOW_SFN_ENDPOINT_URL": "http://127.0.0.1:5000",
    "WORKFLOW_TEMPORAL_ADDRESS": "127.0.0.1:7233",
    "WORKFLOW_TEMPORAL_TASK_QUEUE": "tenant-workers",
}
"""The local engines' settings as the pages show them (the tests' engines replace them)."""


def comparable(lines: list[str]) -> list[str]:
    """Lines with what differs from run to run (durations, times) and table padding
    made equal."""
    result = []
    for line in lines:
        stable = TIMESTAMP.sub("<time>", DURATION.sub("N.NNNs", line))
        result.append(re.sub(" {2,}", "  ", stable).rstrip())
    while result and not result[-1]:
        result.pop()
    return result


def matches(documented: list[str], actual: list[str]) -> bool:
    shown = comparable(documented)
    wanted = set(shown)
    got = [line for line in comparable(actual) if line in wanted or not PROGRESS.match(line)]
    return got == shown


class ConsoleSession:
    """Runs the console blocks of one page: ``export`` lines set the environment,
    ``landlord-workflow`` lines run through ``cli.main``, ``$NAME`` words expand."""

    def __init__(self, engines: dict[str, str], env: dict[str, str]) -> None:
        self.engines = engines
        self.env = env
        self.last_execution_name: str | None = None
        self.waits: dict[str, int] = {}
        """Execution name -> how many times its callback task has been entered."""

    def export(self, words: list[str]) -> None:
        for assignment in words:
            key, _, value = assignment.partition("=")
            if key in DOCUMENTED:
                assert value == DOCUMENTED[key], f"document {key} as {DOCUMENTED[key]}"
                value = self.engines[key]
            self.env[key] = value

    def expand(self, word: str) -> str:
        if word == "$TASK_TOKEN":
            return self.task_token()
        assert not word.startswith("$"), f"unknown variable {word}"
        return word

    def task_token(self) -> str:
        """The token of the task the last execution started or redriven waits on (the
        session's ASL worker keeps each token its ``notify`` handler was given, as an
        approval service would keep the SQS message); a redrive sends a new one."""
        from temporal.asl_handlers import tokens_of

        name = self.last_execution_name
        assert name is not None, "$TASK_TOKEN before any start"
        count = self.waits[name]
        return asyncio.run(tokens_of(name, count))[count - 1]

    def run(self, argv: list[str]) -> tuple[int, str, str]:
        argv = [self.expand(word) for word in argv]
        if argv[0] == "start" and "--name" in argv:
            self.last_execution_name = argv[argv.index("--name") + 1]
            self.waits[self.last_execution_name] = 1
        elif argv[0] == "redrive":
            self.last_execution_name = argv[1].rsplit("/", 1)[-1]
            self.waits[self.last_execution_name] = self.waits.get(self.last_execution_name, 0) + 1
        return run_cli(argv, {**os.environ, **self.env})

    def shown(self, text: str) -> str:
        """``text`` with the tests' engine settings put back as the page shows them."""
        for key, documented in DOCUMENTED.items():
            if key in self.engines:
                text = text.replace(self.engines[key], documented)
        return text


def console_steps(body: str) -> list[tuple[str, list[str]]]:
    """(command, the output lines shown under it) for each ``$`` line of a block."""
    steps: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:].strip(), []))
        elif steps:
            steps[-1][1].append(line)
    return steps


def run_cli(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(argv, stdout=out, stderr=err, environ=env)
    return code, out.getvalue(), err.getvalue()


CONSOLE_PAGES = pages_with("console")


@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize("page", CONSOLE_PAGES)
def test_console_blocks_run_and_show_their_real_output(
    page: Path, local_stepfunctions: Any, request: pytest.FixtureRequest
) -> None:
    """Commands run in order and print what the page shows under them (durations,
    times, table padding and progress lines a poll may miss aside); a trailing
    ``# exit N`` comment states the exit code. Step Functions commands run against
    the local moto engine, Temporal ones against the session's dev server and ASL
    worker (their settings replace the documented ones)."""
    text = page.read_text(encoding="utf-8")
    engines = {"WORKFLOW_SFN_ENDPOINT_URL": local_stepfunctions.endpoint_url}
    if "WORKFLOW_TEMPORAL_ADDRESS=" in text:
        engines["WORKFLOW_TEMPORAL_ADDRESS"] = request.getfixturevalue("local_temporal").target
        engines["WORKFLOW_TEMPORAL_TASK_QUEUE"] = request.getfixturevalue("asl_worker")
    local_stepfunctions.reset()
    # Lambda tasks echo their input instead of needing Docker (restored below).
    local_stepfunctions.configure(LAMBDA_ECHO)
    session = ConsoleSession(
        engines, {"WORKFLOW_POLL_INITIAL_INTERVAL": "10ms", "WORKFLOW_POLL_MAX_INTERVAL": "50ms"}
    )
    credentials = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }
    updated = text
    ran = 0
    with pytest.MonkeyPatch.context() as patch, _restore_lambda(local_stepfunctions):
        for key, value in credentials.items():
            patch.setenv(key, value)
        for body in blocks(page, "console"):
            new_body = []
            for command, documented in console_steps(body):
                new_body.append(f"$ {command}")
                shown_code = command.partition("# exit ")[2]
                expected = int(shown_code) if shown_code else 0
                words = shlex.split(command.partition("# exit ")[0])
                if words[0] == "export":
                    session.export(words[1:])
                    continue
                if words[0] == "python" and words[1].startswith("examples/"):
                    assert words[1:] in EXAMPLE_COMMANDS, f"{command!r} is not run by test_examples"
                    new_body.extend(documented)
                    continue
                assert words[0] == "landlord-workflow", command
                code, out, err = session.run(words[1:])
                ran += 1
                assert code == expected, f"{command!r} exited {code}:\n{out}\n{err}"
                actual = session.shown(out + err).splitlines()
                new_body.extend(line for line in actual if not PROGRESS.match(line))
                if not UPDATE_DOCS:
                    assert matches(documented, actual), (
                        f"{page.name}: {command!r} printed\n" + "\n".join(actual)
                    )
            updated = updated.replace(body, "\n".join(new_body) + "\n", 1)
    assert ran or "$ landlord-workflow" not in text, "the page runs its commands"
    if UPDATE_DOCS and updated != text:
        page.write_text(updated, encoding="utf-8")


def test_cli_page_shows_the_real_graph_output() -> None:
    (documented,) = blocks(DOCS / "cli.md", "mermaid")
    code, out, _ = run_cli(
        ["graph", str(ROOT / "examples/definitions/tenant_provisioning.json")], {}
    )
    assert code == 0
    assert out == documented


def test_cli_page_shows_the_real_progress_views() -> None:
    """The plain progress lines and the live table on the CLI page are what the
    views show for the example workflow with its handlers (durations aside): the
    lines as it runs, the table as it is left on screen."""
    from _tenants import TenantHandlers, load_spec
    from rich.console import Console

    from landlord_workflow import ExecutionInput, ExecutionStatus, Manager, PollPolicy, Registry
    from landlord_workflow.cli._live import PlainView, follow
    from landlord_workflow.cli._rich import RichView
    from landlord_workflow.providers.mock import MockProvider

    async def progress() -> tuple[str, ExecutionStatus]:
        spec = load_spec()
        registry = Registry()
        handlers = TenantHandlers(step_seconds=0.1, failing_migrations=1)
        registry.register(MockProvider(task_handlers=handlers.for_spec(spec)))
        every_10ms = PollPolicy(
            initial_interval=timedelta(milliseconds=10),
            max_interval=timedelta(milliseconds=10),
            jitter=False,
        )
        async with Manager(registry, poll_policy=every_10ms) as manager:
            await manager.create_workflow(spec)
            started = await manager.start_execution(
                spec.workflow_id,
                ExecutionInput(input={"tenant_id": "acme"}, execution_name="acme-1"),
            )
            out = io.StringIO()
            final = await follow(manager, started.execution_id, PlainView(out))
        return out.getvalue(), final

    lines, final = asyncio.run(progress())
    view = RichView(io.StringIO(), console=Console(file=io.StringIO(), force_terminal=True))
    view.update(final)
    view.close()
    screen = Console(file=io.StringIO(), width=100, color_system=None, record=True)
    screen.print(view.render())

    texts = blocks(DOCS / "cli.md", "text")
    documented_lines = next(body for body in texts if body.startswith("ProvisionCompute"))
    assert comparable(lines.splitlines()) == comparable(documented_lines.splitlines())
    documented_table = next(body for body in texts if body.startswith("mock:tenant-provisioning"))
    assert comparable(screen.export_text().splitlines()) == comparable(
        documented_table.splitlines()
    )


def test_concepts_error_tree_is_the_one_in_the_errors_module() -> None:
    from landlord_workflow import errors

    assert errors.__doc__ is not None
    (tree,) = blocks(DOCS / "concepts.md", "text")
    documented = errors.__doc__[errors.__doc__.index("WorkflowError\n") :]
    assert tree.strip() == "\n".join(
        line.removeprefix("    ") for line in documented.strip().splitlines()
    )


SPHINX_ROLE = re.compile(
    r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj|const|ref|term):(?:`|<code>)"
)


def test_the_built_site_shows_no_sphinx_roles(tmp_path: Path) -> None:
    """Cross-references in docstrings render as links or code, never as literal roles."""
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    leftovers = {
        str(page.relative_to(site)): SPHINX_ROLE.findall(page.read_text(encoding="utf-8"))
        for page in site.rglob("*.html")
    }
    assert {page: found for page, found in leftovers.items() if found} == {}
    reference = (site / "reference" / "index.html").read_text(encoding="utf-8")
    assert 'href="#landlord_workflow.errors.InvalidSpecError"' in reference, "links resolve"


def test_every_test_the_reliability_page_names_exists() -> None:
    """The guarantees page names the tests that keep them: none may go missing."""
    page = (DOCS / "reliability.md").read_text(encoding="utf-8")
    named = re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)`", page)
    assert len(named) >= 30
    for path, test in named:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert re.search(rf"^(async )?def {test}\(", source, re.M), f"{path}::{test}"
