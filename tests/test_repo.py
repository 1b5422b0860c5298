"""Repository promises: CI runs the README's test command verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_readme_quickstart_has_the_main_job_and_the_test_command() -> None:
    main_job, test_command = quickstart_commands()
    assert "examples/provision_tenant.py" in main_job
    assert "nox -s tests" in test_command


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, test_command = quickstart_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


def test_python_version_file_lists_every_supported_python() -> None:
    versions = (ROOT / ".python-version").read_text(encoding="utf-8").split()
    assert [v.rsplit(".", 1)[0] for v in versions] == ["3.11", "3.12", "3.13"]
