"""The documentation is executed: every code block in README.md and docs/*.md runs here.

* ```python blocks run page by page, in order, in one namespace per page (the
  working directory is the repository root; ``docs/examples`` and
  ``examples`` are importable). A block that is only a snippet include
  (``--8<-- "file"``) runs the included file.
* ```json blocks parse; those that are WorkflowSpecs parse with the codec; the
  IAM policy lists exactly the actions the Step Functions adapter documents.
* ```console blocks: ``$ landlord-workflow ...`` lines run through
  ``cli.main``; ``$ python examples/...`` lines must be commands that
  tests/test_examples.py runs.
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


def console_commands(page: Path) -> list[str]:
    return [
        line[2:].strip()
        for body in blocks(page, "console")
        for line in body.splitlines()
        if line.startswith("$ ")
    ]


def run_cli(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(argv, stdout=out, stderr=err, environ=env)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.usefixtures("at_root")
@pytest.mark.parametrize("page", pages_with("console"))
def test_console_blocks_run(page: Path, local_stepfunctions: Any) -> None:
    """Commands run in order; ``export`` lines set the environment. Step
    Functions commands run against the local engine (its URL replaces the
    documented endpoint); a trailing ``# exit N`` comment states the exit code."""
    local_stepfunctions.reset()
    # Lambda tasks echo their input instead of needing Docker (restored below).
    local_stepfunctions.configure(LAMBDA_ECHO)
    env = {
        "WORKFLOW_POLL_INITIAL_INTERVAL": "10ms",
        "WORKFLOW_POLL_MAX_INTERVAL": "50ms",
    }
    credentials = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }
    with pytest.MonkeyPatch.context() as patch, _restore_lambda(local_stepfunctions):
        for key, value in credentials.items():
            patch.setenv(key, value)
        for line in console_commands(page):
            command, _, code = line.partition("# exit ")
            expected = int(code) if code else 0
            words = shlex.split(command)
            if words[0] == "export":
                for assignment in words[1:]:
                    key, _, value = assignment.partition("=")
                    if key == "WORKFLOW_SFN_ENDPOINT_URL":
                        value = local_stepfunctions.endpoint_url
                    env[key] = value
                continue
            if words[0] == "python" and words[1].startswith("examples/"):
                assert words[1:] in EXAMPLE_COMMANDS, f"{command!r} is not run by test_examples"
                continue
            assert words[0] == "landlord-workflow", command
            code, out, err = run_cli(words[1:], {**os.environ, **env})
            assert code == expected, f"{command!r} exited {code}:\n{out}\n{err}"
    assert console_commands(page), "the page has commands"


def test_cli_page_shows_the_real_graph_output() -> None:
    (documented,) = blocks(DOCS / "cli.md", "mermaid")
    code, out, _ = run_cli(
        ["graph", str(ROOT / "examples/definitions/tenant_provisioning.json")], {}
    )
    assert code == 0
    assert out == documented


def test_cli_page_shows_real_plain_progress_lines() -> None:
    """The plain progress lines on the CLI page are what the view prints for
    the example workflow (durations aside)."""
    from _tenants import TenantHandlers, load_spec

    from landlord_workflow import ExecutionInput, Manager, PollPolicy, Registry
    from landlord_workflow.cli._live import PlainView, follow
    from landlord_workflow.providers.mock import MockProvider

    async def progress() -> str:
        spec = load_spec()
        registry = Registry()
        handlers = TenantHandlers(step_seconds=0.1)
        registry.register(MockProvider(task_handlers=handlers.for_spec(spec)))
        every_10ms = PollPolicy(
            initial_interval=timedelta(milliseconds=10),
            max_interval=timedelta(milliseconds=10),
            jitter=False,
        )
        async with Manager(registry, poll_policy=every_10ms) as manager:
            await manager.create_workflow(spec)
            started = await manager.start_execution(
                spec.workflow_id, ExecutionInput(input={"tenant_id": "acme"})
            )
            out = io.StringIO()
            await follow(manager, started.execution_id, PlainView(out))
        return out.getvalue()

    def without_durations(text: str) -> str:
        return re.sub(r"[0-9]+\.[0-9]+s", "N.NNNs", text)

    documented = next(
        body for body in blocks(DOCS / "cli.md", "text") if body.startswith("ProvisionCompute")
    )
    assert without_durations(asyncio.run(progress())) == without_durations(documented)


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
