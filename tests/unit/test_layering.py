"""The layering of the shared package (pyproject's [tool.importlinter], run by `make lint`):
the contracts hold on the tree as it is, and a wrong-way import or a cycle breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "shared" / "esms_calls"


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess[str]:
    """import-linter with the project's contracts, on the package found under `package_parent`."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_package_keeps_every_contract() -> None:
    # When the contracts are checked on the tree as it is
    result = lint_imports(PACKAGE.parent)
    # Then every one is kept
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "added_import", "broken"),
    [
        # a use case reaching the database itself, not through the composition root
        ("usecases/get_call.py", "from esms_calls.storage import items", "one way"),
        # the HTTP layer building a repository of its own
        ("api/calls_api.py", "from esms_calls.storage import calls", "only through the root"),
        # the domain knowing a use case
        ("domain/calls.py", "from esms_calls.usecases import ports", "one way"),
        # a use case reading the settings
        ("usecases/reconcile.py", "from esms_calls import settings", "reads the settings"),
        # two domain modules importing each other
        ("domain/phone.py", "from esms_calls.domain import send_date", None),
    ],
)
def test_a_wrong_way_import_breaks_a_contract(
    tmp_path: Path, module: str, added_import: str, broken: str | None
) -> None:
    # Given a copy of the package with one import added
    copy = tmp_path / "esms_calls"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text() + f"\n{added_import}  # noqa\n")
    if broken is None:  # the cycle needs its other half
        other = copy / "domain" / "send_date.py"
        other.write_text(other.read_text() + "\nfrom esms_calls.domain import phone  # noqa\n")
        broken = "No import cycles"
    # When the contracts are checked on it
    result = lint_imports(tmp_path)
    # Then the check fails, naming the contract that broke
    assert result.returncode != 0
    assert f"{broken} BROKEN" in " ".join(result.stdout.split()), result.stdout
