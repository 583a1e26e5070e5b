"""Place a call: claim the request id, record the call, ask the provider, record its answer.

Idempotency (Powertools, keyed by request id, 24 h, payload validated) makes a repeated request
answer from the stored outcome, refuses one with another payload, and answers 409 to one still in
flight. Any exception releases the key, so only definitive outcomes (acceptance, refusal) are
replayed. A released request id stays bound to its call (see CallsRepository.open_call): a retry
after a timeout reuses the same call and CallbackUrl, and the provider's own RequestID check turns
a second placement into a 124 answer, which then means "the first attempt got through".
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from hashlib import sha256
from typing import Any

from pydantic import BaseModel, ConfigDict

from esms_calls import credentials, dependencies
from esms_calls.domain.calls import Call, CallSpec, CallStatus
from esms_calls.domain.phone import mask_phone
from esms_calls.domain.send_date import from_provider_format
from esms_calls.errors import InvalidCallRequest
from esms_calls.esms.codes import RefusalKind, classify
from esms_calls.esms.errors import ProviderTimeout
from esms_calls.esms.models import Accepted, Refused
from esms_calls.observability import count, count_by, logger
from esms_calls.settings import get_settings
from esms_calls.signing import callback_url

# A send time this far in the past is taken as "now, with a little clock skew", not refused.
_SEND_AT_GRACE = timedelta(seconds=60)
# Time kept back from the Lambda deadline for recording the provider's answer.
_RECORDING_RESERVE_SECONDS = 3.0


class PlaceCallCommand(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    spec: CallSpec


class Refusal(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    kind: RefusalKind
    message: str


class PlaceCallOutcome(BaseModel):
    """A definitive outcome: stored by the idempotency layer and replayed for 24 h."""

    call_id: str
    request_id: str
    status: CallStatus
    sms_id: str | None = None
    refusal: Refusal | None = None
    replayed: bool = False


def new_request_id() -> str:
    return uuid.uuid4().hex


def place_call(
    command: PlaceCallCommand, *, remaining_seconds: float | None = None
) -> PlaceCallOutcome:
    outcome: PlaceCallOutcome = _idempotent_place_call()(
        command=command, remaining_seconds=remaining_seconds
    )
    return outcome


def register_lambda_context(lambda_context: Any) -> None:
    """Lets the idempotency layer expire an in-flight claim when this invocation times out."""
    _idempotency_config().register_lambda_context(lambda_context)


@cache
def _idempotency_config() -> Any:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="request_id",
        payload_validation_jmespath="spec",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=get_settings().idempotency_ttl_seconds,
        response_hook=_mark_replayed,
    )


@cache
def _idempotent_place_call() -> Any:
    from aws_lambda_powertools.utilities.idempotency import idempotent_function
    from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import (
        PydanticSerializer,
    )

    from esms_calls.storage.idempotency import OutcomeRecordingStore

    return idempotent_function(
        _place_call,
        data_keyword_argument="command",
        persistence_store=OutcomeRecordingStore(
            get_settings().dedupe_table_name, call_update_for=_call_update_for
        ),
        config=_idempotency_config(),
        output_serializer=PydanticSerializer(model=PlaceCallOutcome),
        key_prefix="place-call",
    )


def _mark_replayed(response: Any, idempotent_data: Any) -> Any:
    """Powertools calls this with the stored outcome when it answers from the store."""
    outcome: PlaceCallOutcome = response
    return outcome.model_copy(update={"replayed": True})


def _place_call(command: PlaceCallCommand, remaining_seconds: float | None) -> PlaceCallOutcome:
    settings = get_settings()
    now = datetime.now(UTC)
    spec = command.spec
    # Checked here, after the replay check, so that a replayed request whose send time has since
    # passed still gets its original answer.
    if spec.send_date and from_provider_format(spec.send_date) < now - _SEND_AT_GRACE:
        raise InvalidCallRequest("send_at", "is in the past")

    epoch = int(now.timestamp())
    opened = dependencies.calls_repository().open_call(
        Call(
            call_id=uuid.uuid4().hex,
            request_id=command.request_id,
            spec=spec,
            status=CallStatus.PENDING,
            created_at=now,
            updated_at=now,
        ),
        payload_hash=payload_hash(spec),
        binding_expires_at=epoch + settings.idempotency_ttl_seconds,
        check_after=epoch + settings.reconcile_after_seconds,
        expires_at=epoch + settings.call_retention_days * 86400,
    )
    call = opened.call
    log = {"call_id": call.call_id, "request_id": call.request_id, "phone": mask_phone(spec.phone)}
    if call.status is not CallStatus.PENDING:
        # An earlier attempt recorded the provider's answer but could not store its outcome.
        logger.info("request already settled by an earlier attempt", extra=log)
        return _outcome_of(call)

    budget = None if remaining_seconds is None else remaining_seconds - _RECORDING_RESERVE_SECONDS
    if budget is not None and budget < 1:
        raise ProviderTimeout("not enough time left to ask the provider")
    answer = dependencies.esms_client().make_call(
        provider_params(spec),
        request_id=call.request_id,
        callback_url=callback_url(
            credentials.public_base_url(), credentials.callback_signing_key(), call.call_id
        ),
        time_budget=budget,
    )
    # The answer is recorded on the call together with the stored outcome, when this returns
    # (OutcomeRecordingStore): one write instead of two.
    if isinstance(answer, Accepted):
        count("CallsAccepted")
        logger.info("call accepted by the provider", extra={**log, "sms_id": answer.sms_id})
        return PlaceCallOutcome(
            call_id=call.call_id,
            request_id=call.request_id,
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
            call_id=call.call_id, request_id=call.request_id, status=CallStatus.ACCEPTED
        )
    return _refused(call, answer, log)


def _refused(call: Call, answer: Refused, log: dict[str, str]) -> PlaceCallOutcome:
    count_by("CallsRefused", "esms_code", answer.code)
    logger.warning(
        "call refused by the provider",
        extra={**log, "esms_code": answer.code, "refusal": answer.kind.value},
    )
    return PlaceCallOutcome(
        call_id=call.call_id,
        request_id=call.request_id,
        status=CallStatus.FAILED,
        refusal=Refusal(code=answer.code, kind=answer.kind, message=answer.message),
    )


def _call_update_for(response_data: str) -> dict[str, Any] | None:
    """The call record's side of a stored outcome (see OutcomeRecordingStore)."""
    outcome = PlaceCallOutcome.model_validate_json(response_data)
    refusal = outcome.refusal
    return dependencies.calls_repository().outcome_update(
        outcome.call_id,
        outcome.status,
        datetime.now(UTC),
        sms_id=outcome.sms_id,
        esms_code=refusal.code if refusal else None,
        esms_message=refusal.message if refusal else None,
    )


def _outcome_of(call: Call) -> PlaceCallOutcome:
    refusal = None
    if call.status is CallStatus.FAILED and call.esms_code:
        kind, message = classify(call.esms_code, call.esms_message)
        refusal = Refusal(code=call.esms_code, kind=kind, message=call.esms_message or message)
    return PlaceCallOutcome(
        call_id=call.call_id,
        request_id=call.request_id,
        status=call.status,
        sms_id=call.sms_id,
        refusal=refusal,
    )


def payload_hash(spec: CallSpec) -> str:
    return sha256(spec.model_dump_json().encode()).hexdigest()


def provider_params(spec: CallSpec) -> dict[str, str]:
    """The provider's parameter names, spelled as its page spells them."""
    named = {
        "Phone": spec.phone,
        "TemplateId": spec.template_id,
        "SendDate": spec.send_date,
        "NumberForward": spec.number_forward,
        "Ivr": spec.ivr,
        "TimeWaitToIvr": spec.time_wait_to_ivr,
        "MaxRepeat": spec.max_repeat,
        "MaxRetry": spec.max_retry,
        "WaitRetry": spec.wait_retry,
    }
    return {name: str(value) for name, value in named.items() if value is not None}


def reset_caches() -> None:
    _idempotency_config.cache_clear()
    _idempotent_place_call.cache_clear()
