"""Reports (callbacks, status answers) into the call record: one conditional write per report.

The happy path is a single UpdateItem whose condition holds everything that makes it safe:
the call exists, this report was not stored before, the status moves forward, the ReferenceId
matches. When the condition fails, DynamoDB hands back the record as it was (no extra read),
and that tells duplicate from late or mismatched reports.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from esms_calls.domain.calls import CallOutcome, CallResult, CallStatus
from esms_calls.domain.reports import (
    Finished,
    OptOutKey,
    Recorded,
    Report,
    ReportSource,
    Stored,
)
from esms_calls.domain.times import iso, parse_iso
from esms_calls.storage import items
from esms_calls.storage.dynamodb import Table

# The history keeps every distinct report up to this many; later ones are only counted.
MAX_HISTORY = 25
ORPHAN_PREFIX = "orphan#"
ORPHAN_RETENTION_SECONDS = 90 * 86400


class ReportsRepository:
    def __init__(self, calls: Table) -> None:
        self._table = calls

    def record(self, call_id: str, report: Report, now: datetime) -> Recorded:
        # A key pressed: the write hands back the record too (its number and opt_out_key); a
        # final status: its created_at (the time to the final status).
        final = report.status is not None and report.status.is_final
        write = _Write(self._table, call_id, returning=report.key_pressed is not None or final)
        stored = self._record(write, call_id, report, now)
        item = write.item
        finished = None
        if final and stored is Stored.APPLIED and report.result and item.get("created_at"):
            finished = Finished(report.result.call_status, parse_iso(item["created_at"]))
        if stored is Stored.ORPHAN or report.key_pressed is None or not item.get("opt_out_key"):
            return Recorded(stored, finished=finished)
        opt_out = OptOutKey(phone=item["phone"], key=item["opt_out_key"])
        return Recorded(stored, opt_out, finished=finished)

    def _record(self, write: _Write, call_id: str, report: Report, now: datetime) -> Stored:
        digest = report.digest
        if report.status is not None and report.result is not None:
            entry = _history_entry(report, now, None)
            old = self._apply(write, report, report.status, report.result, digest, entry, now)
            if old is None:
                return Stored.APPLIED
        else:
            flag = _flag_for(report, {})
            old = self._keep(write, report, _history_entry(report, now, flag), now, history=True)
            if old is None:
                return Stored.KEPT
        # The condition failed; `old` is the record as it was (empty: there is no such call).
        if not old:
            self._put_orphan(call_id, report, digest, now)
            return Stored.ORPHAN
        if digest in old.get("report_digests", set()):
            return Stored.DUPLICATE
        entry = _history_entry(report, now, _flag_for(report, old))
        room = len(old.get("history", [])) < MAX_HISTORY
        if self._keep(write, report, entry, now, history=room) is None:
            return Stored.KEPT
        return Stored.DUPLICATE  # a concurrent twin was stored between our two writes

    def expire(self, call_id: str, now: datetime) -> bool:
        """End an open call that nothing settled by the horizon: EXPIRED, outcome UNKNOWN."""
        old = self._conditional_update(
            call_id,
            "SET #status = :expired, status_rank = :rank, #result = :result, updated_at = :now, "
            "outcome = :outcome REMOVE open_shard, check_after",
            "attribute_exists(call_id) AND status_rank < :rank",
            {
                ":expired": CallStatus.EXPIRED.value,
                ":rank": CallStatus.EXPIRED.rank,
                ":result": items.result_item(CallResult(call_status=CallOutcome.UNKNOWN)),
                ":now": iso(now),
                ":outcome": CallOutcome.UNKNOWN.value,
            },
        )
        return old is None

    def _apply(
        self,
        write: _Write,
        report: Report,
        status: CallStatus,
        result: CallResult,
        digest: str,
        entry: dict[str, Any],
        now: datetime,
    ) -> dict[str, Any] | None:
        """Move the call forward. None when applied; else the record as it was (empty: none)."""
        sets = [
            "#status = :status",
            "status_rank = :rank",
            "#result = :result",
            "updated_at = :now",
            "history = list_append(if_not_exists(history, :empty), :entry)",
        ]
        conditions = [
            "attribute_exists(call_id)",
            "status_rank < :rank",
            "NOT contains(report_digests, :d)",
            "(attribute_not_exists(history) OR size(history) < :max)",
        ]
        values: dict[str, Any] = {
            ":status": status.value,
            ":rank": status.rank,
            ":result": items.result_item(result),
            ":now": iso(now),
            ":empty": [],
            ":entry": [entry],
            ":one": _counted(report),
            ":digest": {digest},
            ":d": digest,
            ":max": MAX_HISTORY,
        }
        if report.reference_id:
            # While the SMSID is unknown (after a 124) the first report supplies it; a report
            # for another SMSID must not touch this call.
            sets.append("sms_id = if_not_exists(sms_id, :ref)")
            conditions.append("(attribute_not_exists(sms_id) OR sms_id = :ref)")
            values[":ref"] = report.reference_id
        if status.is_final:
            sets.append("outcome = :outcome")
            values[":outcome"] = result.call_status.value
        update = f"SET {', '.join(sets)} ADD callbacks_received :one, report_digests :digest"
        if status.is_final:
            update += " REMOVE open_shard, check_after"
        return write(update, " AND ".join(conditions), values)

    def _keep(
        self, write: _Write, report: Report, entry: dict[str, Any], now: datetime, *, history: bool
    ) -> dict[str, Any] | None:
        """Count a report that moves nothing, in the history while there is room.
        None when stored; else the record as it was (empty: no such call)."""
        digest = report.digest
        update = "SET updated_at = :now ADD callbacks_received :one, report_digests :digest"
        condition = "attribute_exists(call_id) AND NOT contains(report_digests, :d)"
        values: dict[str, Any] = {
            ":now": iso(now),
            ":one": _counted(report),
            ":digest": {digest},
            ":d": digest,
        }
        if history:
            update = (
                "SET updated_at = :now, "
                "history = list_append(if_not_exists(history, :empty), :entry) "
                "ADD callbacks_received :one, report_digests :digest"
            )
            condition += " AND (attribute_not_exists(history) OR size(history) < :max)"
            values.update({":empty": [], ":entry": [entry], ":max": MAX_HISTORY})
        return write(update, condition, values)

    def _put_orphan(self, call_id: str, report: Report, digest: str, now: datetime) -> None:
        """A report for a call we do not have: kept raw, flagged, on an item of its own.
        The same orphan report again finds its item there and adds nothing."""
        self._table.put_if_absent(
            {
                "call_id": f"{ORPHAN_PREFIX}{call_id}#{digest}",
                "orphan_of": call_id,
                "flag": "UNKNOWN_CALL",
                "report": _history_entry(report, now, flag="UNKNOWN_CALL"),
                "created_at": iso(now),
                "expires_at": int(now.timestamp()) + ORPHAN_RETENTION_SECONDS,
            },
            key_attribute="call_id",
        )

    def _conditional_update(
        self, call_id: str, update: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        return self._table.conditional_update({"call_id": call_id}, update, condition, values)


class _Write:
    """One conditional update of a call record; with `returning`, it keeps the record DynamoDB
    hands back (after the update, or as it was), at no extra request."""

    def __init__(self, table: Table, call_id: str, *, returning: bool) -> None:
        self._table = table
        self._key = {"call_id": call_id}
        self._returning = returning
        self.item: dict[str, Any] = {}

    def __call__(
        self, update: str, condition: str, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        if not self._returning:
            return self._table.conditional_update(self._key, update, condition, values)
        applied, self.item = self._table.update_returning(self._key, update, condition, values)
        return None if applied else self.item


def _counted(report: Report) -> int:
    """`callbacks_received` counts the provider's callbacks, not our own status queries."""
    return 1 if report.source is ReportSource.CALLBACK else 0


def _flag_for(report: Report, old: dict[str, Any]) -> str | None:
    if report.is_odd:
        return "ODD_VALUES"
    known_sms_id = old.get("sms_id")
    if report.reference_id and known_sms_id and report.reference_id != known_sms_id:
        return "REFERENCE_MISMATCH"
    if report.status is None:
        return "NO_STATUS"
    old_rank = int(old.get("status_rank", 0))
    if report.status.is_final and old_rank >= CallStatus.COMPLETED.rank:
        return "LATER_FINAL"  # the first final result stands
    return "OUT_OF_ORDER"


def _history_entry(report: Report, now: datetime, flag: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "at": iso(now),
        "source": report.source.value,
        "raw": report.raw,
    }
    if flag:
        entry["flag"] = flag
    return entry
