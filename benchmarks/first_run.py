"""A newcomer's first `make run`: a fresh clone of this repository (its committed HEAD) in a
temporary directory, `make run` until the banner's `Ready:` line, Ctrl-C, then `make run` again.

Prints the two times (part of `make bench`; alone: `.venv/bin/python benchmarks/first_run.py`).
The first includes creating .venv and installing the stack's packages from pip's cache: the
machine's cache is what it is (warm once `make test` or any install ran). Targets: fresh clone
under 60 s, later runs under 10 s.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "local")]  # services reads the template with devstack's reader
from services import free_port, stop_group  # noqa: E402

FRESH_TARGET_SECONDS, AGAIN_TARGET_SECONDS = 60.0, 10.0
DEADLINE_SECONDS = 600.0


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_to_ready(checkout: Path, port: int) -> tuple[float, float]:
    """Seconds from `make run` to its `Ready:` line, and the CPU seconds the run used (make,
    pip and the stack, until stopped): on a busy machine the first says how long a user waits,
    the second how much work it was. The stack is stopped (SIGINT) after."""
    cpu_before = _children_cpu_seconds()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    env.update(NO_COLOR="1", PORT=str(port))
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "run", "ARGS=--reconcile-every 0"],
        cwd=checkout,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: Ctrl-C reaches make and the stack
    )
    ready = threading.Event()
    seen: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if line.startswith("Ready:"):
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(DEADLINE_SECONDS):
            raise RuntimeError("make run did not get ready:\n" + "".join(seen[-40:]))
        elapsed = time.monotonic() - started
    finally:
        stop_group(process, signal.SIGINT, timeout=30)  # Ctrl-C
        reader.join(5)
    return elapsed, _children_cpu_seconds() - cpu_before


def rows() -> list[tuple[str, str, str, str]]:
    with tempfile.TemporaryDirectory(prefix="first-run-") as tmp:
        checkout = Path(tmp) / "esms-calls"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True)
        port = free_port()
        (fresh, fresh_cpu), (again, again_cpu) = [time_to_ready(checkout, port) for _ in "12"]
    load = os.getloadavg()[0]
    return [
        ("make run: fresh clone to Ready", f"{fresh:.1f} s",
         f"{fresh_cpu:.0f} CPU s; load {load:.1f} on {os.cpu_count()} cores",
         f"< {FRESH_TARGET_SECONDS:g} s: {'ok' if fresh < FRESH_TARGET_SECONDS else 'MISSED'}"),
        ("make run: again, to Ready", f"{again:.1f} s", f"{again_cpu:.0f} CPU s",
         f"< {AGAIN_TARGET_SECONDS:g} s: {'ok' if again < AGAIN_TARGET_SECONDS else 'MISSED'}"),
    ]  # fmt: skip


if __name__ == "__main__":
    for row in rows():
        print(" | ".join(row))
    sys.exit(0)
