"""Lambda SnapStart's runtime hooks (template parameter SnapStart=PublishedVersions).

With SnapStart, Lambda runs init once per published version, snapshots the memory, and starts
every new execution environment from that snapshot: whatever init left in memory is shared by
all of them. So before the snapshot, the hook finishes the work every environment would repeat
(`warm_up`: importing and registering every route) and forgets whatever the root had built, so
that no secret, credential or open connection is in the snapshot; after a restore, the hook
forgets it all again, resolves AWS credentials anew, and reseeds `random` (botocore's retry
jitter draws from it: restored environments must not back off in step). Identifiers come from
`uuid4`/`secrets`, which read the OS's entropy on every call and need no reseeding.

Registering is harmless without SnapStart: the runtime never calls the hooks. Outside Lambda's
managed runtime (the local stack, a machine without `snapshot-restore-py`) nothing registers.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from esms_calls import dependencies


def register(warm_up: Callable[[], object] | None = None) -> bool:
    """Register the hooks; False when the runtime's hook library is not there."""
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(before_snapshot, warm_up)
    register_after_restore(after_restore)
    return True


def before_snapshot(warm_up: Callable[[], object] | None = None) -> None:
    if warm_up is not None:
        warm_up()
    dependencies.reset()


def after_restore() -> None:
    dependencies.renew_after_restore()
    random.seed()
