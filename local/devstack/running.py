"""Where the running local stacks of this checkout are, so ``make invoke`` finds one on any port.

A serving stack writes ``.devstack/stack-<pid>.json`` (its URL) once ready and removes it when it
stops; an entry whose process is gone (killed) is ignored and removed by the next reader.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from devstack import template as tpl

RUN_DIR = tpl.REPO_ROOT / ".devstack"


def register(url: str) -> Path:
    RUN_DIR.mkdir(exist_ok=True)
    entry = RUN_DIR / f"stack-{os.getpid()}.json"
    partial = entry.with_suffix(".partial")
    partial.write_text(json.dumps({"url": url, "pid": os.getpid(), "started": time.time()}))
    partial.replace(entry)
    return entry


def unregister(entry: Path) -> None:
    entry.unlink(missing_ok=True)


def running_urls() -> list[str]:
    """URLs of this checkout's stacks whose process lives, the most recently started first."""
    found: list[dict[str, Any]] = []
    for entry in RUN_DIR.glob("stack-*.json"):
        try:
            record = json.loads(entry.read_text("utf-8"))
            alive = _alive(int(record["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if alive:
            found.append(record)
        else:
            entry.unlink(missing_ok=True)
    found.sort(key=lambda record: record.get("started", 0), reverse=True)
    return [str(record["url"]) for record in found]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process, alive
        pass
    return True
