"""Cyclic garbage collection paused for a cold start: importing this module pauses it, and
`resumed_after_first_event` starts it again once the first event is answered.

Init and the first event build the modules, models, clients and routes an execution environment
keeps for its life; with collection on, the interpreter ran ~58 collections over them during one
CallsFunction cold start, 9-11 % of its time, and found almost nothing to free. After the first
event, `gc.freeze()` moves everything built so far out of the collector's sight (it lives as long
as the environment), then collection resumes for what events allocate. Each function's app.py
imports this module before anything else. (Python offers the calls, not the policy: no library
does this, hence the few lines here.)
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any, TypeVar

gc.disable()

Handler = TypeVar("Handler", bound=Callable[..., Any])


def resumed_after_first_event(handler: Handler) -> Handler:
    """The handler, resuming collection when its first event ends, answered or raised."""
    first = True

    @functools.wraps(handler)
    def handle(event: Any, context: Any) -> Any:
        nonlocal first
        try:
            return handler(event, context)
        finally:
            if first:
                first = False
                resume()

    return handle  # type: ignore[return-value]


def resume() -> None:
    """Freeze what exists now into the permanent generation, then collect again."""
    gc.freeze()
    gc.enable()
