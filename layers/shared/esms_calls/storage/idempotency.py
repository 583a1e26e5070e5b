"""Placing a call at most once per request id: Powertools' Idempotency on the DedupeTable.

Powertools answers a repeated request from the stored outcome, refuses one with another payload,
refuses one still in flight, and releases the key on any exception, so only definitive outcomes
are replayed. Its exceptions become the service's own here, at the boundary.

One addition: the write that stores an outcome for replay also records it on the call, in one
transaction (saves a DynamoDB write on every placed call, and the replayable outcome and the
call record can never disagree). Powertools builds its own update; while it stores an outcome,
its client is one that sends that update in a transaction with the call's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from botocore.exceptions import ClientError

from esms_calls.domain.placement import PlaceCallCommand, PlaceCallOutcome
from esms_calls.errors import RequestIdBoundToOtherPayload, RequestInProgress, StorageUnavailable
from esms_calls.storage.calls import CallsRepository
from esms_calls.storage.dynamodb import Table, error_code

Placement = Callable[[PlaceCallCommand, float | None], PlaceCallOutcome]


class IdempotentPlacement:
    """Wraps the use case's placing step (`guard`) so that each request id places once."""

    def __init__(self, dedupe: Table, calls: CallsRepository, ttl_seconds: int) -> None:
        self._config = IdempotencyConfig(
            event_key_jmespath="request_id",
            # The use case's keyed hash of the spec: Powertools stores a plain hash of what this
            # selects, and a plain hash of a spec holding a one-time code gives the code away.
            payload_validation_jmespath="fingerprint",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=ttl_seconds,
            response_hook=_mark_replayed,
        )
        self._store = _OutcomeRecordingStore(dedupe, calls)

    def register_lambda_context(self, lambda_context: Any) -> None:
        """Lets an in-flight claim expire when this invocation times out."""
        self._config.register_lambda_context(lambda_context)

    def guard(self, place: Placement) -> Placement:
        def placing(command: PlaceCallCommand, remaining_seconds: float | None) -> Any:
            return place(command, remaining_seconds)

        idempotent = idempotent_function(
            placing,
            data_keyword_argument="command",
            persistence_store=self._store,
            config=self._config,
            output_serializer=PydanticSerializer(model=PlaceCallOutcome),
            key_prefix="place-call",
        )

        def guarded(command: PlaceCallCommand, remaining_seconds: float | None) -> PlaceCallOutcome:
            try:
                outcome: PlaceCallOutcome = idempotent(
                    command=command, remaining_seconds=remaining_seconds
                )
            except IdempotencyValidationError:
                raise RequestIdBoundToOtherPayload(command.request_id) from None
            except IdempotencyAlreadyInProgressError:
                raise RequestInProgress(command.request_id) from None
            except IdempotencyPersistenceLayerError as exc:
                raise StorageUnavailable("the idempotency store failed") from exc
            return outcome

        return guarded


def _mark_replayed(response: Any, idempotent_data: Any) -> Any:
    """Powertools calls this with the stored outcome when it answers from the store."""
    outcome: PlaceCallOutcome = response
    return outcome.model_copy(update={"replayed": True})


class _OutcomeRecordingStore(DynamoDBPersistenceLayer):
    def __init__(self, dedupe: Table, calls: CallsRepository) -> None:
        # Per thread: tests and the local stack may share one store between threads.
        self._joining = threading.local()
        super().__init__(table_name=dedupe.name, boto3_client=dedupe.client)
        self._calls = calls

    @property
    def client(self) -> Any:
        return getattr(self._joining, "client", None) or self._own_client

    @client.setter
    def client(self, value: Any) -> None:
        self._own_client = value

    def _update_record(self, data_record: DataRecord) -> None:
        outcome = PlaceCallOutcome.model_validate_json(data_record.response_data or "")
        self._joining.client = _JoinedWith(
            self._own_client, self._calls.outcome_update(outcome, datetime.now(UTC))
        )
        try:
            super()._update_record(data_record)
        except ClientError as exc:
            if not _call_moved_on(exc):
                raise
            # A callback got there first and moved the call on: store the outcome alone.
            del self._joining.client
            super()._update_record(data_record)
        finally:
            self._joining.__dict__.pop("client", None)


class _JoinedWith:
    """A DynamoDB client whose `update_item` is sent together with another update."""

    def __init__(self, client: Any, other_update: dict[str, Any]) -> None:
        self._client = client
        self._other = other_update

    def update_item(self, **update: Any) -> Any:
        return self._client.transact_write_items(
            TransactItems=[{"Update": update}, {"Update": self._other}]
        )


def _call_moved_on(exc: ClientError) -> bool:
    codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
    return error_code(exc) == "TransactionCanceledException" and codes[1:] == [
        "ConditionalCheckFailed"
    ]
