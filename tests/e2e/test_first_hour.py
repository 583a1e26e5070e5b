"""What a newcomer meets in the first hour with `make run`: the banner, the gateway's answers to
odd methods, status lines that agree with the problems, a quiet terminal, `make invoke`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from devstack.running import running_urls
from esms_simulator import PRESETS
from tests.e2e.stack import ROOT, RunningStack, local_stack, stack_environment, wait_for

pytestmark = pytest.mark.e2e

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def busy_stack() -> Iterator[RunningStack]:
    """A stack as `make run` starts it, but with the reconcile schedule every second."""
    with local_stack("--reconcile-every", "1") as running:
        yield running


def test_the_banner_shows_the_simulator_admin_address_and_every_preset(
    busy_stack: RunningStack,
) -> None:
    # Given a running stack, When a newcomer reads its banner
    banner = busy_stack.output()

    # Then it shows the simulator's admin address on the API's own port, and the presets
    admin = f"{busy_stack.url}/_simulator/"
    assert f"simulator  {admin}" in banner
    for preset in PRESETS:
        shown = preset.phone if preset.rule.code is None else preset.rule.code
        assert shown in banner
    # ...and that address answers
    presets = httpx.get(f"{admin}presets", timeout=5).json()["presets"]
    assert [item["phone"] for item in presets] == [preset.phone for preset in PRESETS]


def _banner(text: str) -> list[str]:
    """The banner's lines, numbers (ports, counts, times) as N."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line == "Local stack of template.yaml")
    end = next(n for n in range(start, len(lines)) if lines[n].startswith("Ready:"))
    return [re.sub(r"[0-9]+", "N", line) for line in lines[start : end + 1]]


@pytest.mark.parametrize("document", ["README.md", "docs/local-stack.md"])
def test_the_documented_banner_is_the_one_make_run_prints(
    busy_stack: RunningStack, document: str
) -> None:
    assert _banner((ROOT / document).read_text("utf-8")) == _banner(busy_stack.output())


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "PUT"])
def test_a_method_without_a_route_gets_the_gateways_404(
    busy_stack: RunningStack, method: str
) -> None:
    # When a method no route serves reaches a path without a catch-all route
    answer = httpx.request(method, f"{busy_stack.url}/callbacks/esms/abc/def", timeout=5)

    # Then the gateway answers as API Gateway does
    assert (answer.status_code, answer.json()) == (404, {"message": "Not Found"})


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("TRACE", "/calls", "GET, POST"), ("PUT", "/calls", "GET, POST"),
    ("DELETE", "/calls/0", "GET"), ("GET", "/batches", "POST"),
])  # fmt: skip
def test_another_method_on_a_calls_path_gets_405_with_allow(
    busy_stack: RunningStack, method: str, path: str, allowed: str
) -> None:
    # When a calls path is asked with a method it does not serve
    answer = httpx.request(method, f"{busy_stack.url}{path}", timeout=10)

    # Then the function answers 405, saying which method it serves
    assert answer.status_code == 405, answer.text
    assert answer.headers["Allow"] == allowed
    assert answer.json()["title"] == "Method Not Allowed"


@pytest.mark.parametrize(("content", "headers", "status"), [
    ("phone=0912345678", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ('{"phone": "", "template_id": "0"}', JSON, 422),
    ("{", JSON, 400),
    ("x" * (65 * 1024), JSON, 413),
])  # fmt: skip
def test_the_status_line_and_the_problem_title_name_the_status_alike(
    busy_stack: RunningStack, content: str, headers: dict[str, str], status: int
) -> None:
    # When a request is refused
    answer = httpx.post(f"{busy_stack.url}/calls", content=content, headers=headers, timeout=10)

    # Then the status line's phrase is the problem's title (RFC 9110's names)
    assert answer.status_code == status, answer.text
    assert answer.reason_phrase == answer.json()["title"]


def test_idle_reconciliation_and_ordinary_reads_leave_the_terminal_quiet(
    busy_stack: RunningStack,
) -> None:
    # Given a stack whose reconcile schedule has run several times with nothing due
    time.sleep(3.5)
    # When a call is read (an invocation that records no metric)
    with httpx.Client(base_url=busy_stack.url, timeout=10) as api:
        assert api.get(f"/calls/{uuid.uuid4().hex}").status_code == 404
        assert wait_for(lambda: "GET    /calls/{call_id} → 404" in busy_stack.output(), timeout=5)

    # Then no idle run printed anything, and no library warned about empty metrics
    output = busy_stack.output()
    assert "schedule Reconcile" not in output
    # ... and the balance check, finding the same balance every run, printed it once (and each
    # environment its first reading), however many runs there were
    assert output.count("schedule CheckBalance") <= 1
    environments = int(re.search(r"CallbackFunction: up to (\d+) environment", output)[1])
    assert output.count("esms balance") <= environments
    assert output.count("EsmsBalance=") <= environments
    assert "reconciliation run" not in output
    assert "CallsReconciled=0" not in output
    assert "No application metrics" not in output


def test_invoke_without_port_finds_the_stack_on_its_own_port(busy_stack: RunningStack) -> None:
    # Given a stack on a port other than 3000, and no PORT in the environment
    assert busy_stack.url in running_urls()

    # When the reconcile event is invoked the way `make invoke` does
    done = subprocess.run(
        [sys.executable, "-m", "devstack", "invoke", "CallbackFunction",
         "events/reconcile_schedule.json"],
        cwd=ROOT, env=stack_environment(), capture_output=True, timeout=60, check=False,
    )  # fmt: skip

    # Then it ran on a running stack of this checkout, not on resources of its own
    assert done.returncode == 0, done.stderr.decode()
    logs = done.stderr.decode()
    assert "on the running local stack at http://127.0.0.1:" in logs, logs
    used = logs.split("on the running local stack at ")[1].split()[0]
    assert used in running_urls()
    assert json.loads(done.stdout)["errors"] == []
