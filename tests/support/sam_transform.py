"""template.yaml as SAM transforms it: the SAM CLI's own transform, run offline
(scripts/sam-translate, in the SAM CLI's virtualenv), with parameter overrides."""

from __future__ import annotations

import functools
import json
import os
import subprocess
from typing import Any

import pytest

from devstack.template import REPO_ROOT

SAM_PYTHON = REPO_ROOT / ".venv-sam/bin/python"


def generated(**overrides: str) -> dict[str, Any]:
    return dict(json.loads(_generated_json(tuple(sorted(overrides.items())))))


@functools.cache
def _generated_json(overrides: tuple[tuple[str, str], ...]) -> str:
    if not SAM_PYTHON.exists():
        pytest.fail(f"{SAM_PYTHON} is missing: `make tools` makes the SAM CLI's virtualenv")
    # A profile this machine lacks would stop the SAM CLI; nothing here talks to AWS.
    environ = {
        k: v for k, v in os.environ.items() if k not in {"AWS_PROFILE", "AWS_DEFAULT_PROFILE"}
    }
    result = subprocess.run(
        [
            str(SAM_PYTHON),
            str(REPO_ROOT / "scripts/sam-translate"),
            str(REPO_ROOT / "template.yaml"),
            *(f"{name}={value}" for name, value in overrides),
        ],
        capture_output=True,
        text=True,
        env={**environ, "SAM_CLI_TELEMETRY": "0"},
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
