"""Settle calls whose callbacks never came: ask GetSendStatus, store the answer exactly as a
callback would be stored, and end calls that nothing settled by the horizon as EXPIRED."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from esms_calls import dependencies
from esms_calls.domain.reports import ReportSource, parse_report
from esms_calls.esms.codes import RefusalKind
from esms_calls.esms.errors import ProviderError
from esms_calls.esms.models import Refused, SendStatus
from esms_calls.observability import count, logger
from esms_calls.settings import get_settings
from esms_calls.storage.open_calls import OpenCall
from esms_calls.storage.reports import Stored

# Stop this long before the deadline, so the run ends cleanly between two calls.
_STOP_MARGIN_SECONDS = 5.0


@dataclass
class ReconcileSummary:
    examined: int = 0
    settled: int = 0
    expired: int = 0
    deferred: int = 0
    stopped_early: bool = False
    errors: list[str] = field(default_factory=list)


def reconcile(*, time_budget_seconds: float, max_calls: int | None = None) -> ReconcileSummary:
    settings = get_settings()
    deadline = time.monotonic() + time_budget_seconds - _STOP_MARGIN_SECONDS
    now = datetime.now(UTC)
    summary = ReconcileSummary()
    limit = max_calls or settings.reconcile_max_calls
    for call in dependencies.open_calls_repository().due(int(now.timestamp()), limit):
        if time.monotonic() >= deadline:
            summary.stopped_early = True
            break
        summary.examined += 1
        _settle(call, now, summary)
    count("CallsReconciled", summary.settled)
    count("CallsExpired", summary.expired)
    # 1 when this run could not look at every call due (more may wait): the backlog alarm's input.
    count("ReconcileBacklog", int(summary.stopped_early or summary.examined >= limit))
    # An idle run (nothing due) is the usual case every few minutes: kept out of INFO.
    log = logger.info if summary.examined or summary.stopped_early else logger.debug
    log("reconciliation run", extra={"summary": summary.__dict__})
    return summary


def _settle(call: OpenCall, now: datetime, summary: ReconcileSummary) -> None:
    settings = get_settings()
    retry_at = int(now.timestamp()) + settings.reconcile_retry_seconds
    if (now - call.created_at).total_seconds() >= settings.reconcile_horizon_seconds:
        if dependencies.reports_repository().expire(call.call_id, now):
            summary.expired += 1
            logger.warning("call expired unsettled", extra={"call_id": call.call_id})
        return
    if not call.sms_id:
        # Nothing to ask by: the provider's status query needs the SMSID.
        dependencies.open_calls_repository().defer(call.call_id, retry_at)
        summary.deferred += 1
        return
    try:
        answer = dependencies.esms_client().get_send_status(call.sms_id, time_budget=10)
    except ProviderError as exc:
        summary.errors.append(type(exc).__name__)
        dependencies.open_calls_repository().defer(call.call_id, retry_at)
        summary.deferred += 1
        return
    if isinstance(answer, Refused):
        if answer.kind is not RefusalKind.NOT_FOUND_YET:
            summary.errors.append(answer.code)
            logger.warning(
                "status query refused", extra={"call_id": call.call_id, "esms_code": answer.code}
            )
        dependencies.open_calls_repository().defer(call.call_id, retry_at)
        summary.deferred += 1
        return
    report = parse_report(_as_callback_values(answer, call.sms_id), ReportSource.STATUS_QUERY)
    stored = dependencies.reports_repository().record(call.call_id, report, now)
    if stored is Stored.APPLIED and report.status is not None and report.status.is_final:
        summary.settled += 1
        return
    dependencies.open_calls_repository().defer(call.call_id, retry_at)
    summary.deferred += 1


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
