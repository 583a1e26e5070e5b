"""Receive the provider's callback: authenticate its URL, parse it leniently, store it durably.

The answer is 200 only once the write is durable: the provider re-sends on anything else, and a
receiver that answered 200 first would lose the result for good.
"""

from __future__ import annotations

from collections.abc import Callable

from esms_calls.domain.reports import Stored, parse_report, query_values
from esms_calls.domain.signing import token_is_valid
from esms_calls.errors import CallbackForbidden, StorageUnavailable
from esms_calls.observability import call_finished, count, logger
from esms_calls.usecases.do_not_call import DoNotCallList
from esms_calls.usecases.ports import Clock, ReportStore, utc_now

_METRIC = {
    Stored.APPLIED: "CallbacksStored",
    Stored.DUPLICATE: "CallbacksDuplicate",
    Stored.KEPT: "CallbacksKept",
    Stored.ORPHAN: "CallbacksOrphaned",
}


class ReceiveCallback:
    def __init__(
        self,
        *,
        reports: ReportStore,
        opt_outs: DoNotCallList,
        signing_key: Callable[[], bytes],
        clock: Clock = utc_now,
    ) -> None:
        self._reports = reports
        self._opt_outs = opt_outs
        self._signing_key = signing_key
        self._clock = clock

    def __call__(self, call_id: str, token: str, raw_query: str) -> Stored:
        count("CallbacksReceived")
        # A provider appending its query with "&" to a URL without one puts it in the last segment.
        token, _, spilled = token.partition("&")
        if not token_is_valid(self._signing_key(), call_id, token):
            count("CallbackTokensRejected")
            logger.warning("callback with a bad token refused")
            raise CallbackForbidden(call_id)
        query = f"{spilled}&{raw_query}" if spilled else raw_query
        report = parse_report(query_values(query))
        now = self._clock()
        try:
            recorded = self._reports.record(call_id, report, now)
            self._opt_outs.on_report(call_id, report, recorded, now)
        except StorageUnavailable:
            count("CallbacksNotStored")
            logger.warning("callback not stored: storage unavailable")
            raise
        stored = recorded.stored
        count(_METRIC[stored])
        if recorded.finished is not None:
            call_finished(recorded.finished.outcome, recorded.finished.seconds_since_placed(now))
        if report.is_odd:
            count("CallbacksOddValues")
        logger.info(
            "callback stored",
            extra={
                "call_id": call_id,
                "stored": stored.value,
                "send_status": report.raw.get("SendStatus"),
                "odd_fields": list(report.odd_fields),
            },
        )
        return stored
