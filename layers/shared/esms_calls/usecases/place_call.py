"""Place a call: claim the request id, record the call, ask the provider, record its answer.

The guard (Powertools' Idempotency, keyed by request id, 24 h, payload validated) makes a
repeated request answer from the stored outcome, refuses one with another payload, and one still
in flight. Any exception releases the key, so only definitive outcomes (acceptance, refusal) are
replayed. A released request id stays bound to its call (CallStore.open_call): a retry after a
timeout reuses the same call and CallbackUrl, and the provider's own RequestID check turns a
second placement into a 124 answer, which then means "the first attempt got through".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from esms_calls.domain.calls import Call, CallSpec, CallStatus, OpenedCall
from esms_calls.domain.phone import mask_phone
from esms_calls.domain.placement import PlaceCallCommand, PlaceCallOutcome, Refusal
from esms_calls.domain.provider import Accepted, MakeCallAnswer, RefusalKind
from esms_calls.domain.send_date import from_provider_format
from esms_calls.errors import InvalidCallRequest, ProviderTimeout
from esms_calls.observability import count, count_by, logger
from esms_calls.usecases.calling_rules import Admission, CallingRules
from esms_calls.usecases.ports import CallPlacer, CallStore, Clock, PlacementGuard, utc_now

# A send time this far in the past is taken as "now, with a little clock skew", not refused.
_SEND_AT_GRACE = timedelta(seconds=60)
# Time kept back from the Lambda deadline for recording the provider's answer.
_RECORDING_RESERVE_SECONDS = 3.0


@dataclass(frozen=True)
class PlacementTimes:
    """How long what a placement writes lives, and when the reconciliation first looks."""

    request_id_ttl_seconds: int  # a request id is bound to its call this long
    check_after_seconds: int  # a call with no result by then is queried
    retention_seconds: int  # the call record expires after this


def new_request_id() -> str:
    return uuid.uuid4().hex


class PlaceCall:
    def __init__(
        self,
        *,
        calls: CallStore,
        provider: CallPlacer,
        callback_url: Callable[[str], str],
        fingerprint: Callable[[CallSpec], str],
        guard: PlacementGuard,
        rules: CallingRules,
        times: PlacementTimes,
        clock: Clock = utc_now,
    ) -> None:
        self._calls = calls
        self._rules = rules
        self._provider = provider
        self._callback_url = callback_url
        self._fingerprint = fingerprint
        self._guard = guard
        self._times = times
        self._clock = clock
        self._guarded = guard.guard(self._place)

    def __call__(
        self, command: PlaceCallCommand, *, remaining_seconds: float | None = None
    ) -> PlaceCallOutcome:
        fingerprinted = command.model_copy(update={"fingerprint": self._fingerprint(command.spec)})
        return self._guarded(fingerprinted, remaining_seconds)

    def register_lambda_context(self, lambda_context: Any) -> None:
        """Lets the guard expire an in-flight claim when this invocation times out."""
        self._guard.register_lambda_context(lambda_context)

    def _place(
        self, command: PlaceCallCommand, remaining_seconds: float | None
    ) -> PlaceCallOutcome:
        now = self._clock()
        # Checked here, after the replay check, so that a replayed request whose send time has
        # since passed still gets its original answer, and a replay takes no cap slot.
        _refuse_a_past_send_date(command.spec, now)
        admission = self._rules.admit(command.request_id, command.spec, now)
        try:
            opened = self._open_admitted(command, admission, now)
        except Exception:
            # Nothing reached the provider this time; an earlier attempt's slot is kept.
            self._rules.release(admission, unless_held_before=True)
            raise
        call = opened.call
        log = {
            "call_id": call.call_id,
            "request_id": call.request_id,
            "kind": call.spec.kind.value,
            "phone": mask_phone(call.spec.phone),
        }
        if call.status is not CallStatus.PENDING:
            # An earlier attempt recorded the provider's answer but could not store its outcome.
            logger.info("request already settled by an earlier attempt", extra=log)
            outcome = PlaceCallOutcome.of(call)
        else:
            # The admitted spec, not the stored one: a sensitive script's variables are not
            # stored, and a retry of an earlier attempt brings them again (its fingerprint
            # matched).
            answer = self._ask_provider(call, admission.spec, remaining_seconds)
            # The guard records the answer on the call together with the stored outcome, when
            # this returns: one write instead of two.
            outcome = _outcome(call, answer, opened, log)
        if outcome.status is CallStatus.FAILED:
            self._rules.release(admission)  # a refused call never rang
        return outcome

    def _open_admitted(
        self, command: PlaceCallCommand, admission: Admission, now: datetime
    ) -> OpenedCall:
        call_id = uuid.uuid4().hex
        # Before anything is recorded: a query the provider cannot take is the caller's 422.
        self._provider.check_query(
            admission.spec, request_id=command.request_id, callback_url=self._callback_url(call_id)
        )
        return self._open(call_id, command, admission, now)

    def _open(
        self, call_id: str, command: PlaceCallCommand, admission: Admission, now: datetime
    ) -> OpenedCall:
        if command.fingerprint is None:
            raise ValueError("a command is placed with its fingerprint")  # set by __call__
        epoch = int(now.timestamp())
        return self._calls.open_call(
            Call(
                call_id=call_id,
                request_id=command.request_id,
                spec=admission.spec.withheld(),
                status=CallStatus.PENDING,
                created_at=now,
                updated_at=now,
                batch_id=command.batch_id,
                deferred_until=admission.deferred_until,
            ),
            payload_hash=command.fingerprint,
            binding_expires_at=epoch + self._times.request_id_ttl_seconds,
            check_after=epoch + self._times.check_after_seconds,
            expires_at=epoch + self._times.retention_seconds,
        )

    def _ask_provider(
        self, call: Call, spec: CallSpec, remaining_seconds: float | None
    ) -> MakeCallAnswer:
        budget = None
        if remaining_seconds is not None:
            budget = remaining_seconds - _RECORDING_RESERVE_SECONDS
            if budget < 1:
                raise ProviderTimeout("not enough time left to ask the provider")
        return self._provider.make_call(
            spec,
            request_id=call.request_id,
            callback_url=self._callback_url(call.call_id),
            time_budget=budget,
        )


def _refuse_a_past_send_date(spec: CallSpec, now: datetime) -> None:
    if spec.send_date and from_provider_format(spec.send_date) < now - _SEND_AT_GRACE:
        raise InvalidCallRequest("send_at", "is in the past")


def _outcome(
    call: Call, answer: MakeCallAnswer, opened: OpenedCall, log: dict[str, str]
) -> PlaceCallOutcome:
    if isinstance(answer, Accepted):
        count("CallsAccepted")
        logger.info("call accepted by the provider", extra={**log, "sms_id": answer.sms_id})
        return PlaceCallOutcome(
            call_id=call.call_id,
            request_id=call.request_id,
            deferred_until=call.deferred_until,
            status=CallStatus.ACCEPTED,
            sms_id=answer.sms_id,
        )
    if answer.kind is RefusalKind.DUPLICATE and not opened.first_attempt:
        # The provider already has this RequestID: our earlier attempt, whose answer we never
        # got, placed the call. Its SMSID comes with the first callback.
        count("CallsAccepted")
        logger.info(
            "earlier attempt had reached the provider", extra={**log, "esms_code": answer.code}
        )
        return PlaceCallOutcome(
            call_id=call.call_id,
            request_id=call.request_id,
            status=CallStatus.ACCEPTED,
            deferred_until=call.deferred_until,
        )
    count_by("CallsRefused", "esms_code", answer.code)
    logger.warning(
        "call refused by the provider",
        extra={**log, "esms_code": answer.code, "refusal": answer.kind.value},
    )
    return PlaceCallOutcome(
        call_id=call.call_id,
        request_id=call.request_id,
        deferred_until=call.deferred_until,
        status=CallStatus.FAILED,
        refusal=Refusal(code=answer.code, kind=answer.kind, message=answer.message),
    )
