"""Cold init as Lambda runs it: fresh python3.13 processes importing the `sam build` output.

Each process gets the function's directory first on its path, then the layer's `python/`, then a
precompiled boto3 standing in for the runtime's, with PYTHONDONTWRITEBYTECODE=1 (Lambda's code
directories are read-only: bytecode not in the artifact is compiled again on every cold start),
in a clean `venv --without-pip` (this machine's 3.13 loads certifi through a .pth otherwise).
It imports `app`, handles one event against moto's server and the eSMS simulator, and ends with
`os._exit` as soon as the handler returns: the time is init plus the first event, as Lambda bills
it, without the interpreter's shutdown, which Lambda never pays. The hand-written twins
(twins/*/app.py) are measured the same way, in the same run.

The layer is built for arm64; this machine may not be. Its native packages (pydantic_core,
wrapt) are swapped for the same versions built for this machine; nothing else is touched.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / ".aws-sam" / "build"

# The code a cold process runs: import the handler, handle one event, check the answer.
PROBE = """\
import json, os, sys, uuid
import app
class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:" + function_name
    aws_request_id = str(uuid.uuid4())
    def get_remaining_time_in_millis(self):
        return 29000
event = json.loads(os.environ["BENCH_EVENT"])
if event.get("body"):
    event["headers"]["idempotency-key"] = uuid.uuid4().hex
answer = app.lambda_handler(event, Context())
sys.stdout.flush()
os._exit(0 if answer.get("statusCode") in (200, 202) else 3)
"""
FLOOR = "import boto3"
# Each function's hand-written twin: benchmarks/twins/<name>/app.py, and <name>_libraries/app.py
# (the twin behind the libraries its function keeps).
TWINS = {"CallsFunction": "calls", "CallbackFunction": "callback"}
# Each twin behind one of these alone (twins/one_library/app.py, BENCH_LIBRARY names it).
ONE_LIBRARY = ("pydantic", "Tracer", "event handler", "Logger and Metrics")
# The processes counted under callgrind, each function's: ours, and these against the twin.
COUNTED = ("ours", "twin", "twin + its libraries", "twin + pydantic alone")


def run(cmd: list[str], **kwargs: object) -> None:
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def python313() -> str:
    return subprocess.run(
        [str(ROOT / "scripts" / "find-python313")], check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class ColdEnv:
    """Everything the cold processes need, under `work` (kept between runs: only pip is slow)."""

    work: Path
    py313: str
    python: Path = field(init=False)  # the clean venv's interpreter
    runtime: Path = field(init=False)  # precompiled boto3, standing in for the runtime's

    def __post_init__(self) -> None:
        self.python = self.work / "venv313" / "bin" / "python"
        self.runtime = self.work / "runtime"

    def prepare(self, boto3_version: str) -> None:
        if not self.python.exists():
            run([self.py313, "-m", "venv", "--without-pip", str(self.work / "venv313")])
        stamp = self.runtime / f".boto3-{boto3_version}"
        if not stamp.exists():
            shutil.rmtree(self.runtime, ignore_errors=True)
            # pip of python3.13 (or any pip, then compileall by 3.13): .pyc must be 3.13's.
            self._pip_target(self.runtime, [f"boto3=={boto3_version}"], deps=True)
            run([self.py313, "-m", "compileall", "-q", "-j", "0", str(self.runtime)])
            stamp.touch()

    def _pip_target(self, target: Path, requirements: list[str], *, deps: bool) -> None:
        pip = [self.py313, "-m", "pip"]
        if subprocess.run([*pip, "--version"], capture_output=True).returncode:
            pip = [sys.executable, "-m", "pip"]
        flags = ["--python-version", "3.13", "--only-binary=:all:"]
        run(
            [
                *pip,
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--target",
                str(target),
                *flags,
                *([] if deps else ["--no-deps"]),
                *requirements,
            ]
        )

    def artifacts(
        self, *, compiled: bool, build: Path = BUILD, name: str | None = None
    ) -> dict[str, Path]:
        """Copies of a build output (this tree's unless `build` names another) runnable here;
        without `compiled`, with no __pycache__."""
        name = name or ("compiled" if compiled else "stripped")
        dest = self.work / "artifacts" / name
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        out = {}
        for part in ("CallsFunction", "CallbackFunction", "SharedLayer"):
            shutil.copytree(build / part, dest / part, symlinks=True)
            out[part] = dest / part
        self._native_for_this_machine(dest / "SharedLayer" / "python", compiled=compiled)
        if not compiled:
            for cache in dest.rglob("__pycache__"):
                shutil.rmtree(cache)
        return out

    def twins(self) -> dict[str, Path]:
        """The hand-written twins (twins/<name>/app.py and minimal_handlers.py), each in a
        directory of its own, compiled by python3.13 as the functions' code is; and each twin
        behind the libraries its function uses (twins/*_libraries), and behind one library alone
        (twins/one_library, as twin.py)."""
        here = Path(__file__).resolve().parent
        out = {}
        names = {
            **TWINS,
            **{f"{fn}+libraries": f"{n}_libraries" for fn, n in TWINS.items()},
            **{f"{fn}+one library": "one_library" for fn in TWINS},
        }
        for function, name in names.items():
            dest = self.work / "artifacts" / "twins" / function
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            shutil.copy(here / "twins" / name / "app.py", dest)
            shutil.copy(here / "minimal_handlers.py", dest)
            twin = here / "twins" / TWINS[function.partition("+")[0]] / "app.py"
            if name.endswith("_libraries"):
                shutil.copy(twin, dest / f"{twin.parent.name}_twin.py")
            elif name == "one_library":
                shutil.copy(twin, dest / "twin.py")
            run(
                [self.py313, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash"]
                + [str(dest)]
            )
            out[function] = dest
        return out

    def _native_for_this_machine(self, layer: Path, *, compiled: bool) -> None:
        machine = platform.machine()
        foreign = [so for so in layer.rglob("*.so") if machine not in so.name]
        packages = {so.relative_to(layer).parts[0] for so in foreign}
        if not packages:
            return
        wheels = self.work / f"native-{machine}"
        pins = []
        for dist in layer.glob("*.dist-info"):
            top = (
                (dist / "top_level.txt").read_text().split()
                if (dist / "top_level.txt").exists()
                else []
            )
            dist_name, _, version = dist.name[: -len(".dist-info")].rpartition("-")
            if packages & ({dist_name.lower()} | set(top)) or dist_name.lower() in packages:
                pins.append(f"{dist_name}=={version}")
        stamp = wheels / (".pins-" + "-".join(sorted(pins)))
        if not stamp.exists():
            shutil.rmtree(wheels, ignore_errors=True)
            self._pip_target(wheels, pins, deps=False)
            stamp.touch()
        for package in packages:
            shutil.rmtree(layer / package)
            shutil.copytree(wheels / package, layer / package)
        if compiled:  # as the layer's Makefile compiles
            run(
                [self.py313, "-m", "compileall", "-q", "-j", "0"]
                + ["--invalidation-mode", "unchecked-hash"]
                + [str(layer / p) for p in packages]
            )

    def command(self, code: str) -> list[str]:
        return [str(self.python), "-c", code]

    def environ(
        self,
        function_dir: Path | None,
        layer: Path | None,
        extra: dict[str, str],
        *,
        runtime_first: bool = False,
    ) -> dict:
        """`runtime_first`: the runtime's boto3 before the layer's (the twins': a hand-written
        handler uses the runtime's boto3, and takes only httpx from the layer)."""
        parts = (function_dir, self.runtime, layer and layer / "python")
        if not runtime_first:
            parts = (function_dir, layer and layer / "python", self.runtime)
        path = [p for p in parts if p]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": os.pathsep.join(str(p) for p in path),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.update(extra)
        return env


def lambda_environ(function: str, function_env: dict[str, str]) -> dict[str, str]:
    """What Lambda sets, plus the function's own variables (from template.yaml)."""
    return {
        **function_env,
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_REGION": "ap-southeast-1",
        "AWS_DEFAULT_REGION": "ap-southeast-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        # Tracing: Active: the runtime hands each invocation a sampled trace header.
        "_X_AMZN_TRACE_ID": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};"
        "Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    }


@dataclass
class Scenario:
    name: str
    cmd: list[str]
    env: dict[str, str]
    times: list[float] = field(default_factory=list)
    per_run: Callable[[], dict[str, str]] | None = None  # extra environment for each process

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000

    def next_environ(self) -> dict[str, str]:
        """The environment of the next process (a fresh seeded call for each callback)."""
        return {**self.env, **self.per_run()} if self.per_run else self.env


def measure(scenarios: list[Scenario], runs: int, warmup: int = 2) -> None:
    """Interleaved: each round runs every scenario once, in a shuffled order, so that drift of the
    machine (other work, frequency) spreads over all of them instead of biasing one."""
    for scenario in scenarios:
        for _ in range(warmup):
            _once(scenario)
    order = list(scenarios)
    for _ in range(runs):
        random.shuffle(order)
        for scenario in order:
            scenario.times.append(_once(scenario))


def _once(scenario: Scenario) -> float:
    env = scenario.next_environ()
    start = time.perf_counter()
    done = subprocess.run(scenario.cmd, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(
            f"{scenario.name}: exit {done.returncode}\n{done.stderr.decode(errors='replace')}"
        )
    return elapsed


def instructions(scenario: Scenario) -> int:
    """The instructions one cold process of the scenario runs, counted by valgrind's callgrind
    (about 50 times slower than a plain run): repeatable whatever else the machine is doing,
    where times on a shared machine move by 0.1-0.2x between runs. Requests to moto and the
    simulator are the same for a function and its twin and their servers' work is not counted,
    so the ratio is the CPU work the code itself adds."""
    env = scenario.next_environ()
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *scenario.cmd]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    collected = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or not collected:
        raise RuntimeError(f"{scenario.name}, callgrind: exit {done.returncode}\n{done.stderr}")
    return int(collected.group(1))


def probe(event: dict) -> tuple[str, dict[str, str]]:
    return PROBE, {"BENCH_EVENT": json.dumps(event)}
