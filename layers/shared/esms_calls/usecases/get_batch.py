"""Read a batch: its summary, counted from its calls as they are now, or the calls themselves."""

from __future__ import annotations

import re

from esms_calls.domain.batches import Batch, BatchCall, BatchSummary, summarise
from esms_calls.domain.ids import BATCH_ID_PATTERN
from esms_calls.errors import BatchNotFound
from esms_calls.usecases.ports import BatchStore

_BATCH_ID = re.compile(BATCH_ID_PATTERN)


class GetBatch:
    def __init__(self, *, batches: BatchStore) -> None:
        self._batches = batches

    def batch(self, batch_id: str) -> Batch:
        # Ids of another shape cannot exist: answer without touching the table.
        batch = self._batches.get(batch_id) if _BATCH_ID.fullmatch(batch_id) else None
        if batch is None:
            raise BatchNotFound(batch_id)
        return batch

    def summary(self, batch_id: str) -> BatchSummary:
        return summarise(self.batch(batch_id), self._batches.calls(batch_id))

    def calls(self, batch_id: str) -> list[BatchCall]:
        self.batch(batch_id)
        return list(self._batches.calls(batch_id))
