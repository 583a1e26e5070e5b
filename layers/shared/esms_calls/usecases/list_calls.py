"""List calls, newest first, a page at a time, through the index that serves the filters.

Each page reads index entries (keys only: they never change after a call is recorded), fetches
those calls, and keeps the ones that match the filters the index did not apply (status among
them). The cursor names the last entry read, so a call is on exactly one page however its
status moves meanwhile. A page stops at `limit` matches, or after a bounded number of index
reads (filters that match rarely then give a shorter page, with a cursor to go on).
"""

from __future__ import annotations

from collections.abc import Callable

from esms_calls.domain import cursors
from esms_calls.domain.calls import Call
from esms_calls.domain.cursors import CursorState, InvalidCursor
from esms_calls.domain.listing import (
    CallFilter,
    CallIndex,
    CallsPage,
    Listing,
    Position,
    Window,
)
from esms_calls.errors import InvalidListingCursor
from esms_calls.usecases.ports import CallIndexReader, Clock, utc_now

# Index reads per page: one per day of a 31-day window, and a few more for sparse filters.
MAX_INDEX_READS_PER_PAGE = 40


class ListCalls:
    def __init__(
        self, *, index: CallIndexReader, cursor_key: Callable[[], bytes], clock: Clock = utc_now
    ) -> None:
        self._index = index
        self._cursor_key = cursor_key
        self._clock = clock

    def __call__(
        self, listing: Listing, calls: CallFilter, *, limit: int, cursor: str | None = None
    ) -> CallsPage:
        """Raises InvalidListingCursor (a cursor not ours for this listing and filters) and
        InvalidQueryParameters (the window is backwards or too wide)."""
        if cursor:
            try:
                state = cursors.decode(self._cursor_key(), listing, calls, cursor)
            except InvalidCursor as exc:
                raise InvalidListingCursor(str(exc)) from None
            window, position = state.window, state.position
        else:
            window, position = calls.window(self._clock()), None
        index, partition = calls.index()
        partitions = [partition] if partition else window.days()
        if position is not None:
            if position.partition not in partitions:
                raise InvalidListingCursor("a cursor of another query")
            partitions = partitions[partitions.index(position.partition) :]
        found, next_position = self._read(index, partitions, window, position, calls, limit)
        next_cursor = None
        if next_position is not None:
            next_cursor = cursors.encode(
                self._cursor_key(), listing, calls, CursorState(window, next_position)
            )
        return CallsPage(calls=found, next_cursor=next_cursor)

    def _read(
        self,
        index: CallIndex,
        partitions: list[str],
        window: Window,
        after: Position | None,
        calls: CallFilter,
        limit: int,
    ) -> tuple[list[Call], Position | None]:
        found: list[Call] = []
        reads = 0
        for number, partition in enumerate(partitions):
            start = after if number == 0 else None
            more = True
            while more:
                if reads == MAX_INDEX_READS_PER_PAGE:
                    return found, start or Position(partition)
                entries, more = self._index.entries(
                    index, partition, window, start, limit - len(found)
                )
                reads += 1
                if entries:
                    by_id = self._index.calls([entry.call_id for entry in entries])
                    found += [
                        by_id[e.call_id]
                        for e in entries
                        if e.call_id in by_id and calls.matches(by_id[e.call_id])
                    ]
                    last = entries[-1]
                    start = Position(partition, last.created_key, last.call_id)
                if len(found) == limit:
                    if more:
                        return found, start
                    older = partitions[number + 1 :]
                    return found, Position(older[0]) if older else None
        return found, None
