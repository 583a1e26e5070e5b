"""Settle calls whose callbacks never came: ask GetSendStatus, store the answer exactly as a
callback would be stored, and end calls that nothing settled by the horizon as EXPIRED."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from esms_calls.domain.calls import OpenCall
from esms_calls.domain.provider import RefusalKind, Refused, SendStatus
from esms_calls.domain.reports import ReportSource, Stored, parse_report
from esms_calls.errors import ProviderError
from esms_calls.observability import call_finished, count, logger
from esms_calls.usecases.do_not_call import DoNotCallList
from esms_calls.usecases.ports import Clock, OpenCallStore, ReportStore, StatusSource, utc_now

# Stop this long before the deadline, so the run ends cleanly between two calls.
_STOP_MARGIN_SECONDS = 5.0
# Longest wait for one status answer.
_STATUS_QUERY_BUDGET_SECONDS = 10


@dataclass(frozen=True)
class ReconcilePolicy:
    horizon_seconds: int  # an open call this old ends EXPIRED
    retry_seconds: int  # a call not settled now is looked at again this much later
    max_calls: int  # calls looked at per run


@dataclass
class ReconcileSummary:
    examined: int = 0
    settled: int = 0
    expired: int = 0
    deferred: int = 0
    stopped_early: bool = False
    errors: list[str] = field(default_factory=list)


class Reconcile:
    def __init__(
        self,
        *,
        open_calls: OpenCallStore,
        reports: ReportStore,
        provider: Callable[[], StatusSource],
        opt_outs: DoNotCallList,
        policy: ReconcilePolicy,
        clock: Clock = utc_now,
    ) -> None:
        self._open_calls = open_calls
        self._reports = reports
        self._opt_outs = opt_outs
        # Built on first need: a run with nothing to ask never builds the provider client.
        self._provider = provider
        self._policy = policy
        self._clock = clock

    def __call__(self, *, time_budget_seconds: float) -> ReconcileSummary:
        deadline = time.monotonic() + time_budget_seconds - _STOP_MARGIN_SECONDS
        now = self._clock()
        summary = ReconcileSummary()
        limit = self._policy.max_calls
        for call in self._open_calls.due(int(now.timestamp()), limit):
            if time.monotonic() >= deadline:
                summary.stopped_early = True
                break
            summary.examined += 1
            self._settle(call, now, summary)
        count("CallsReconciled", summary.settled)
        count("CallsExpired", summary.expired)
        # 1 when this run could not look at every call due (more may wait): the backlog alarm.
        count("ReconcileBacklog", int(summary.stopped_early or summary.examined >= limit))
        # An idle run (nothing due) is the usual case every few minutes: kept out of INFO.
        log = logger.info if summary.examined or summary.stopped_early else logger.debug
        log("reconciliation run", extra={"summary": summary.__dict__})
        return summary

    def _settle(self, call: OpenCall, now: datetime, summary: ReconcileSummary) -> None:
        if (now - call.created_at).total_seconds() >= self._policy.horizon_seconds:
            if self._reports.expire(call.call_id, now):
                summary.expired += 1
                logger.warning("call expired unsettled", extra={"call_id": call.call_id})
            return
        if call.sms_id and self._settled_by_status_query(call, call.sms_id, now, summary):
            summary.settled += 1
            return
        # No SMSID to ask by (the status query needs it), or not settled yet: look again later.
        self._open_calls.defer(call.call_id, int(now.timestamp()) + self._policy.retry_seconds)
        summary.deferred += 1

    def _settled_by_status_query(
        self, call: OpenCall, sms_id: str, now: datetime, summary: ReconcileSummary
    ) -> bool:
        try:
            answer = self._provider().get_send_status(
                sms_id, time_budget=_STATUS_QUERY_BUDGET_SECONDS
            )
        except ProviderError as exc:
            summary.errors.append(type(exc).__name__)
            return False
        if isinstance(answer, Refused):
            if answer.kind is not RefusalKind.NOT_FOUND_YET:
                summary.errors.append(answer.code)
                logger.warning(
                    "status query refused",
                    extra={"call_id": call.call_id, "esms_code": answer.code},
                )
            return False
        report = parse_report(_as_callback_values(answer, sms_id), ReportSource.STATUS_QUERY)
        recorded = self._reports.record(call.call_id, report, now)
        # A call whose callbacks were all lost: its key press comes with the status answer.
        self._opt_outs.on_report(call.call_id, report, recorded, now)
        if recorded.finished is not None:
            call_finished(recorded.finished.outcome, recorded.finished.seconds_since_placed(now))
        return (
            recorded.stored is Stored.APPLIED
            and report.status is not None
            and report.status.is_final
        )


def _as_callback_values(answer: SendStatus, sms_id: str) -> dict[str, str]:
    # The status query spells the id in capitals where the creation answer did not.
    same_call = answer.reference_id.lower() == sms_id.lower()
    values = {
        "ReferenceId": sms_id if same_call else answer.reference_id,
        "CallStatus": answer.call_status,
        "Ivr": answer.ivr,
    }
    for name, number in (
        ("SendStatus", answer.send_status),
        ("CallDuration", answer.duration_seconds),
        ("SentResult", answer.sent_result),
    ):
        if number is not None:
            values[name] = str(number)
    return values
