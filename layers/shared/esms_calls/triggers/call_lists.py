"""Scheduler target inputs and rule events: their envelope validated, each entry validated as a
`POST /calls` body, then handed to the `place_calls` use case.

An envelope that is not one of these shapes fails the invocation (`InvalidTrigger`): nothing is
placed, and the trigger's retries and failure destination make it visible. An invalid entry is
reported and the others are placed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from esms_calls import dependencies
from esms_calls.domain.orders import TriggerKind
from esms_calls.domain.phone import mask_phone
from esms_calls.errors import ServiceError
from esms_calls.observability import count, logger
from esms_calls.requests.calls import PlaceCallRequest, with_defaults
from esms_calls.requests.errors import field_of
from esms_calls.triggers import EventKind
from esms_calls.usecases.attempt import EntryError
from esms_calls.usecases.place_calls import InvalidEntry, ListEntry, PlaceCallsCommand

_Model = TypeVar("_Model", bound=BaseModel)


class InvalidTrigger(ServiceError):
    """The envelope is not a call list this function understands (which fields, no values)."""

    def __init__(self, errors: list[EntryError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.fields = [error.field for error in errors]


def _no_request_id(defaults: dict[str, Any]) -> None:
    if "request_id" in defaults or "RequestId" in defaults:
        raise PydanticCustomError(
            "request_id_in_defaults",
            "request ids are per call: give them in the entries, not the defaults",
            {"field": "defaults"},
        )


class CallList(BaseModel):
    """`{"calls": [...], "defaults": {...}}`: entries are validated one by one, later."""

    model_config = ConfigDict(extra="forbid")

    calls: list[Any]
    defaults: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _defaults_without_request_id(self) -> CallList:
        _no_request_id(self.defaults)
        return self


class ScheduledInput(BaseModel):
    """What an EventBridge Scheduler schedule sends: its ARN and scheduled time (the context
    attributes `<aws.scheduler.schedule-arn>`, `<aws.scheduler.scheduled-time>`) and the calls."""

    model_config = ConfigDict(extra="forbid")

    schedule: str = Field(min_length=1, max_length=2048, pattern=r"^[^<>\s]+$")
    scheduled_time: AwareDatetime
    call: dict[str, Any] | None = None
    calls: list[Any] | None = None
    defaults: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_call_or_a_list(self) -> ScheduledInput:
        if (self.call is None) == (self.calls is None):
            raise PydanticCustomError(
                "call_or_calls",
                "give either `call` (one call) or `calls` (a list)",
                {"field": "calls"},
            )
        _no_request_id(self.defaults)
        return self


class RuleEvent(EventBridgeModel):
    """An EventBridge event (Powertools' parser model), its detail one call or a list."""

    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    detail: dict[str, Any]


def handle_call_list(event: dict[str, Any], kind: EventKind, context: Any) -> dict[str, Any]:
    command = command_of(event, kind)
    root = dependencies.root()
    root.place_call.register_lambda_context(context)
    report = root.place_calls(
        command, remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000
    )
    return report.model_dump(mode="json")


def command_of(event: dict[str, Any], kind: EventKind) -> PlaceCallsCommand:
    if kind is EventKind.SCHEDULE:
        scheduled = _envelope(ScheduledInput, event, TriggerKind.SCHEDULE)
        # Normalised, so that the same instant spelled another way is the same run.
        run = f"{scheduled.schedule}\n{scheduled.scheduled_time.timestamp():.3f}"
        if scheduled.call is not None:
            return _command(TriggerKind.SCHEDULE, run, [scheduled.call], {}, own_ids=False)
        return _command(
            TriggerKind.SCHEDULE, run, scheduled.calls or [], scheduled.defaults, own_ids=False
        )
    rule_event = _envelope(RuleEvent, event, TriggerKind.RULE)
    run = f"{rule_event.source}\n{rule_event.id}"
    if "calls" not in rule_event.detail:
        return _command(TriggerKind.RULE, run, [rule_event.detail], {}, own_ids=True)
    call_list = _envelope(CallList, rule_event.detail, TriggerKind.RULE, where="detail")
    return _command(TriggerKind.RULE, run, call_list.calls, call_list.defaults, own_ids=True)


def _envelope(
    model: type[_Model], data: Mapping[str, Any], trigger: TriggerKind, where: str = ""
) -> _Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            EntryError(field=field_of(error, where, default="event"), message=error["msg"])
            for error in exc.errors()
        ]
        count("CallListsInvalid")
        logger.error(
            "call list refused",
            extra={"trigger": trigger.value, "errors": [e.model_dump() for e in errors]},
        )
        raise InvalidTrigger(errors) from None


def _command(
    trigger: TriggerKind,
    run: str,
    raw_entries: list[Any],
    defaults: dict[str, Any],
    *,
    own_ids: bool,
) -> PlaceCallsCommand:
    entries: list[ListEntry] = []
    invalid: list[InvalidEntry] = []
    for index, raw in enumerate(raw_entries):
        if isinstance(raw, str):
            raw = {"phone": raw}
        if not isinstance(raw, dict):
            error = EntryError(field="call", message="must be an object, or a phone number")
            invalid.append(InvalidEntry(index=index, errors=[error]))
            continue
        phone = raw.get("phone", raw.get("Phone"))
        masked = mask_phone(phone) if isinstance(phone, str) else None
        try:
            request = PlaceCallRequest.model_validate(with_defaults(defaults, raw))
        except ValidationError as exc:
            errors = [
                EntryError(field=field_of(e, default="event"), message=e["msg"])
                for e in exc.errors()
            ]
            invalid.append(InvalidEntry(index=index, errors=errors, phone=masked))
            continue
        if request.request_id and not own_ids:
            error = EntryError(
                field="request_id",
                message="a scheduled call's request id comes from the schedule's run: leave it out",
            )
            invalid.append(InvalidEntry(index=index, errors=[error], phone=masked))
            continue
        entries.append(
            ListEntry(index=index, spec=request.to_spec(), request_id=request.request_id)
        )
    return PlaceCallsCommand(
        trigger=trigger, run=run, received=len(raw_entries), entries=entries, invalid=invalid
    )
