"""ReceiveCallback, Reconcile and GetCall with in-memory ports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from esms_calls.domain.calls import Call, CallSpec, CallStatus
from esms_calls.domain.provider import RefusalKind, Refused, SendStatus
from esms_calls.domain.reports import OptOutKey, ReportSource, Stored
from esms_calls.domain.signing import callback_token
from esms_calls.errors import (
    CallbackForbidden,
    CallNotFound,
    ProviderUnavailable,
    StorageUnavailable,
)
from esms_calls.usecases.do_not_call import DoNotCallList
from esms_calls.usecases.get_call import GetCall
from esms_calls.usecases.receive_callback import ReceiveCallback
from esms_calls.usecases.reconcile import Reconcile, ReconcilePolicy
from tests.support.fakes import (
    FakeCallingRulesStore,
    FakeCalls,
    FakeOpenCalls,
    FakeProvider,
    FakeReports,
    fixed_clock,
    number_key,
    open_call,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
KEY = b"signing-key"
CALL_ID = "3f6c0f0a8d6e4b0c9a4f1e2d3c4b5a69"
QUERY = "ReferenceId=sms-1&CallDuration=13&CallStatus=ANSWERED&Price=300.0000&SendStatus=5"


def receiver(
    reports: FakeReports, do_not_call: FakeCallingRulesStore | None = None
) -> ReceiveCallback:
    return ReceiveCallback(
        reports=reports,
        opt_outs=DoNotCallList(
            store=do_not_call or FakeCallingRulesStore(),
            number_key=number_key,
            clock=fixed_clock(NOW),
        ),
        signing_key=lambda: KEY,
        clock=fixed_clock(NOW),
    )


def test_a_callback_with_its_token_is_parsed_and_stored() -> None:
    reports = FakeReports()
    stored = receiver(reports)(CALL_ID, callback_token(KEY, CALL_ID), QUERY)
    assert stored is Stored.APPLIED
    ((call_id, report),) = reports.recorded
    assert call_id == CALL_ID and report.source is ReportSource.CALLBACK
    assert report.status is CallStatus.COMPLETED and report.result is not None
    assert (report.result.duration_seconds, str(report.result.price)) == (13, "300.0000")


def test_a_query_spilled_into_the_token_segment_is_read_too() -> None:
    reports = FakeReports()
    receiver(reports)(CALL_ID, f"{callback_token(KEY, CALL_ID)}&{QUERY}", "")
    assert reports.recorded[0][1].reference_id == "sms-1"


def test_a_bad_token_stores_nothing() -> None:
    reports = FakeReports()
    with pytest.raises(CallbackForbidden):
        receiver(reports)(CALL_ID, callback_token(b"another key", CALL_ID), QUERY)
    assert reports.recorded == []


def test_a_storage_failure_reaches_the_caller_so_the_provider_sends_again() -> None:
    with pytest.raises(StorageUnavailable):
        receiver(FakeReports(answers=[StorageUnavailable("down")]))(
            CALL_ID, callback_token(KEY, CALL_ID), QUERY
        )


# The call's number and opt_out_key, as the report's write hands them back.
OPT_OUT_9 = OptOutKey(phone="0912345678", key="9")
PRESSED_9 = f"{QUERY}&Ivr=9"


def test_the_opt_out_key_pressed_lists_the_number_once_however_often_the_callback_comes() -> None:
    # Given a call whose opt-out key is 9
    listed = FakeCallingRulesStore()
    receive = receiver(FakeReports(opt_out=OPT_OUT_9), listed)

    # When its callback reports key 9, three times
    for _ in range(3):
        receive(CALL_ID, callback_token(KEY, CALL_ID), PRESSED_9)

    # Then the number is on the list once, by key press, with the call's id, and never in clear
    ((stored_key, entry),) = listed.listed_numbers.items()
    assert stored_key == number_key("0912345678") and "0912345678" not in stored_key
    assert (entry.source.value, entry.call_id) == ("key-press", CALL_ID)


def test_another_key_pressed_lists_nothing() -> None:
    listed = FakeCallingRulesStore()
    receiver(FakeReports(opt_out=OPT_OUT_9), listed)(
        CALL_ID, callback_token(KEY, CALL_ID), f"{QUERY}&Ivr=1"
    )
    assert listed.listed_numbers == {}


class _FailingList(FakeCallingRulesStore):
    def add(self, number_key: str, entry: object) -> bool:
        raise StorageUnavailable("down")


def test_an_opt_out_that_cannot_be_written_fails_the_callback_and_its_repeat_lists_it() -> None:
    # Given a call whose opt-out key is 9, and a list that cannot be written at first
    token = callback_token(KEY, CALL_ID)

    # When its callback reports key 9: the callback fails (the provider sends it again)
    with pytest.raises(StorageUnavailable):
        receiver(FakeReports(opt_out=OPT_OUT_9), _FailingList())(CALL_ID, token, PRESSED_9)

    # Then the repeated callback, already stored as a report, still lists the number
    listed = FakeCallingRulesStore()
    repeated = FakeReports(answers=[Stored.DUPLICATE], opt_out=OPT_OUT_9)
    receiver(repeated, listed)(CALL_ID, token, PRESSED_9)
    assert list(listed.listed_numbers) == [number_key("0912345678")]


POLICY = ReconcilePolicy(horizon_seconds=172_800, retry_seconds=300, max_calls=50)
ANSWERED = SendStatus(reference_id="SMS-1", send_status=5, call_status="ANSWERED")


def reconcile(
    open_calls: FakeOpenCalls,
    reports: FakeReports,
    provider: FakeProvider,
    listed: FakeCallingRulesStore | None = None,
) -> Reconcile:
    listed = listed if listed is not None else FakeCallingRulesStore()
    return Reconcile(
        open_calls=open_calls,
        reports=reports,
        provider=lambda: provider,
        opt_outs=DoNotCallList(store=listed, number_key=number_key, clock=fixed_clock(NOW)),
        policy=POLICY,
        clock=fixed_clock(NOW),
    )


def test_a_key_press_the_status_answer_reports_lists_the_number_too() -> None:
    # Given an open call with opt-out key 9 whose callbacks were all lost
    open_calls = FakeOpenCalls(open=[open_call(CALL_ID, NOW - timedelta(hours=1), "sms-1")])
    provider = FakeProvider(status_answers={"sms-1": ANSWERED.model_copy(update={"ivr": "9"})})
    listed = FakeCallingRulesStore()
    # When the reconciliation asks the provider, which reports key 9 pressed
    reconcile(open_calls, FakeReports(opt_out=OPT_OUT_9), provider, listed)(time_budget_seconds=20)
    # Then the number is on the list, by key press
    (entry,) = listed.listed_numbers.values()
    assert (entry.source.value, entry.call_id) == ("key-press", CALL_ID)


def test_a_call_the_provider_reports_finished_is_settled_like_a_callback() -> None:
    open_calls = FakeOpenCalls([open_call("a", NOW - timedelta(hours=1), sms_id="sms-1")])
    reports = FakeReports()
    provider = FakeProvider(status_answers={"sms-1": ANSWERED})
    summary = reconcile(open_calls, reports, provider)(time_budget_seconds=60)
    assert (summary.examined, summary.settled, summary.deferred) == (1, 1, 0)
    ((call_id, report),) = reports.recorded
    # The status query's capitals are taken as the same call's id
    assert call_id == "a" and report.reference_id == "sms-1"
    assert report.source is ReportSource.STATUS_QUERY and report.status is CallStatus.COMPLETED


def test_calls_not_settled_now_are_looked_at_again_later() -> None:
    created = NOW - timedelta(hours=1)
    open_calls = FakeOpenCalls(
        [
            open_call("no-sms-id", created, sms_id=None),
            open_call("unknown-yet", created, sms_id="s2"),
            open_call("provider-down", created, sms_id="s3"),
        ]
    )
    provider = FakeProvider(
        status_answers={
            "s2": Refused(code="105", kind=RefusalKind.NOT_FOUND_YET, message="not found"),
            "s3": ProviderUnavailable("down"),
        }
    )
    summary = reconcile(open_calls, FakeReports(), provider)(time_budget_seconds=60)
    retry_at = int(NOW.timestamp()) + POLICY.retry_seconds
    assert open_calls.deferred == {
        "no-sms-id": retry_at,
        "unknown-yet": retry_at,
        "provider-down": retry_at,
    }
    assert summary.deferred == 3 and summary.errors == ["ProviderUnavailable"]
    # And the call without an SMSID was never asked about
    assert provider.asked == ["s2", "s3"]


def test_a_call_past_the_horizon_expires_without_asking_the_provider() -> None:
    open_calls = FakeOpenCalls([open_call("old", NOW - timedelta(days=3))])
    reports, provider = FakeReports(), FakeProvider()
    summary = reconcile(open_calls, reports, provider)(time_budget_seconds=60)
    assert reports.expired == ["old"] and summary.expired == 1 and provider.asked == []


def test_a_run_is_bounded_by_its_count_and_its_time() -> None:
    open_calls = FakeOpenCalls([open_call(str(i), NOW, sms_id=None) for i in range(3)])
    summary = reconcile(open_calls, FakeReports(), FakeProvider())(time_budget_seconds=4)
    assert open_calls.limits == [POLICY.max_calls]
    assert summary.stopped_early and summary.examined == 0


def test_a_call_is_found_by_its_id_and_only_ids_we_issue_are_looked_up() -> None:
    call = Call(
        call_id=CALL_ID,
        request_id="r",
        spec=CallSpec(phone="0912345678", template_id="1"),
        status=CallStatus.ACCEPTED,
        created_at=NOW,
        updated_at=NOW,
    )
    calls = FakeCalls(calls={CALL_ID: call})
    get_call = GetCall(calls=calls)
    assert get_call(CALL_ID) == call
    with pytest.raises(CallNotFound):
        get_call("0" * 32)
    with pytest.raises(CallNotFound):
        get_call("../etc/passwd")
