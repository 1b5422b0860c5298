"""The public surface is the package root: __all__ is exactly what it exports, documented."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import landlord_workflow

ROOT = Path(__file__).parent.parent


def public_members() -> list[str]:
    """Every public name bound in the package root, except the submodules it contains."""
    return sorted(
        name
        for name, value in vars(landlord_workflow).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    )


def test_all_is_sorted_and_is_exactly_the_public_members() -> None:
    assert landlord_workflow.__all__ == sorted(landlord_workflow.__all__)
    assert [name for name in landlord_workflow.__all__ if name != "__version__"] == public_members()
    assert "__version__" in landlord_workflow.__all__


def test_every_public_name_lives_in_a_private_module_or_the_public_ones() -> None:
    public_modules = {
        "landlord_workflow.errors",
        "landlord_workflow.codec",
        "landlord_workflow.cli",
    }
    for name in public_members():
        module = getattr(landlord_workflow, name).__module__
        parts = module.split(".")
        assert module in public_modules or any(part.startswith("_") for part in parts[1:]), (
            f"{name} is defined in the public module {module}"
        )


def test_the_reference_page_documents_exactly_the_root_api() -> None:
    page = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: landlord_workflow\.([A-Za-z]\w*)$", page, re.M))
    documented -= {"errors", "codec", "testing", "providers"}
    assert documented == set(public_members()) - set(landlord_workflow.errors.__all__), (
        "docs/reference.md lists the root names (errors are documented with their module)"
    )


def test_importing_the_package_does_not_import_an_engine_client() -> None:
    code = (
        "import sys, landlord_workflow, landlord_workflow.providers.mock,"
        " landlord_workflow.providers.stepfunctions;"
        "roots = ('aioboto3', 'aiobotocore', 'botocore', 'temporalio');"
        "bad = [m for m in sys.modules if m.split('.')[0] in roots];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_core_module_imports_a_concrete_engine() -> None:
    """Only the providers' own packages, the testing kit and the CLI name an engine."""
    package = ROOT / "landlord_workflow"
    engine = re.compile(
        r"^\s*(from|import) landlord_workflow\.providers\.(mock|stepfunctions|temporal)\b", re.M
    )
    offenders = []
    for path in package.rglob("*.py"):
        relative = path.relative_to(package).as_posix()
        if relative.startswith(("providers/", "testing/", "contrib/")):
            continue
        if engine.search(path.read_text(encoding="utf-8")):
            offenders.append(relative)
    assert offenders == []


def test_the_manager_has_no_logging_schema_of_its_own() -> None:
    source = (ROOT / "landlord_workflow" / "_manager.py").read_text(encoding="utf-8")
    assert "extra=" not in source
    assert "duration_ms" not in source


def test_error_tree_matches_the_contract() -> None:
    lw = landlord_workflow
    assert issubclass(lw.ThrottledError, lw.TransientError)
    assert issubclass(lw.ProviderUnavailableError, lw.TransientError)
    assert issubclass(lw.OperationTimeoutError, TimeoutError)
    for name in landlord_workflow.errors.__all__:
        if name != "WorkflowError":
            assert issubclass(getattr(lw, name), lw.WorkflowError), name
    assert not issubclass(lw.ProviderError, lw.TransientError)
