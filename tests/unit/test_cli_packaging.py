"""The command-line client is a console script of the project, and stays out of the Lambda
layer: the layer is built from layers/shared (SharedLayer's ContentUri), which copies only
esms_calls."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from devstack.template import load_template

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_esms_calls_is_the_projects_console_script() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"] == {"esms-calls": "esms_calls_cli.app:main"}


def test_the_layer_is_built_without_the_client() -> None:
    content = ROOT / load_template()["Resources"]["SharedLayer"]["Properties"]["ContentUri"]
    assert not list(content.rglob("esms_calls_cli"))
    copies = [line for line in (content / "Makefile").read_text().splitlines() if "cp -R" in line]
    assert copies == ['\tcp -R esms_calls "$(ARTIFACTS_DIR)/python/"']


def test_the_client_answers_help_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "esms_calls_cli", "--help"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for command in ("place", "get", "list", "batch", "watch"):
        assert command in done.stdout
