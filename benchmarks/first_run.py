"""A newcomer's first `make run`: a fresh clone of this repository (its committed HEAD) in a
temporary directory, `make run` until the banner's `Ready:` line, Ctrl-C, then `make run` again.

Prints the two times (part of `make bench`; alone: `.venv/bin/python benchmarks/first_run.py`).
The first includes creating .venv and installing the stack's packages from pip's cache: the
machine's cache is what it is (warm once `make test` or any install ran). Targets: fresh clone
under 60 s, later runs under 10 s.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRESH_TARGET_SECONDS, AGAIN_TARGET_SECONDS = 60.0, 10.0
DEADLINE_SECONDS = 600.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def time_to_ready(checkout: Path, port: int) -> float:
    """Seconds from `make run` to its `Ready:` line; the stack is stopped (SIGINT) after."""
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
        if not ready.wait(DEADLINE_SECONDS) or process.poll() is not None and not ready.is_set():
            raise RuntimeError("make run did not get ready:\n" + "".join(seen[-40:]))
        return time.monotonic() - started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        reader.join(5)


def measure() -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="first-run-") as tmp:
        checkout = Path(tmp) / "esms-calls"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True)
        port = _free_port()
        return time_to_ready(checkout, port), time_to_ready(checkout, port)


def rows() -> list[tuple[str, str, str, str]]:
    fresh, again = measure()
    fresh_ok = "ok" if fresh < FRESH_TARGET_SECONDS else "MISSED"
    again_ok = "ok" if again < AGAIN_TARGET_SECONDS else "MISSED"
    return [
        ("make run: fresh clone to Ready", f"{fresh:.1f} s", "venv + stack packages (pip cache)",
         f"< {FRESH_TARGET_SECONDS:g} s: {fresh_ok}"),
        ("make run: again, to Ready", f"{again:.1f} s", f"{again / fresh:.2f}x the first",
         f"< {AGAIN_TARGET_SECONDS:g} s: {again_ok}"),
    ]  # fmt: skip


if __name__ == "__main__":
    for row in rows():
        print(" | ".join(row))
    sys.exit(0)
