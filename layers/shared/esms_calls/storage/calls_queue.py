"""The calls queue (SQS): one message per call to place, sent ten to a request.

Sending is retry-safe without any bookkeeping: every message carries its call's deterministic
request id, so a message sent twice (a retried invocation, a retried batch) is placed once and
answered from the idempotency store the second time.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from esms_calls.domain.calls import CallSpec
from esms_calls.domain.orders import CallOrder, TriggerKind
from esms_calls.errors import QueueUnavailable

# SendMessageBatch takes at most ten entries.
BATCH_SIZE = 10
# Requests in flight while fanning out a long list (tens of thousands of entries fit in the
# function's time only if the batches go out side by side).
_SENDERS = 8
# Rounds per batch: entries the queue failed on its side are sent again.
_ROUNDS = 3
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5)


class QueuedCall(BaseModel):
    """The message body: a stored shape, versioned, mapped to and from `CallOrder`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    trigger: TriggerKind
    index: int = Field(ge=0)
    request_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,50}$")
    spec: CallSpec


def to_message(order: CallOrder) -> str:
    return QueuedCall(
        trigger=order.trigger, index=order.index, request_id=order.request_id, spec=order.spec
    ).model_dump_json(exclude_none=True)


def from_message(body: str) -> CallOrder:
    """The order a message carries; pydantic's ValidationError when it is not one of ours."""
    message = QueuedCall.model_validate_json(body)
    return CallOrder(
        trigger=message.trigger,
        index=message.index,
        request_id=message.request_id,
        spec=message.spec,
    )


@cache
def sqs_client() -> Any:
    return boto3.client("sqs", config=_CONFIG)


class CallsQueue:
    def __init__(self, queue_url: str | None) -> None:
        self._url = queue_url

    def send(self, orders: Sequence[CallOrder]) -> None:
        """Enqueue every order, or raise QueueUnavailable (some may have been sent: harmless)."""
        if not orders:
            return
        if not self._url:
            raise QueueUnavailable("CALLS_QUEUE_URL is not set: lists cannot be queued")
        bodies = [to_message(order) for order in orders]
        batches = [bodies[i : i + BATCH_SIZE] for i in range(0, len(bodies), BATCH_SIZE)]
        if len(batches) == 1:
            self._send_batch(batches[0])
            return
        with ThreadPoolExecutor(max_workers=min(_SENDERS, len(batches))) as pool:
            # list(): the first failure is raised here, after every batch was tried.
            list(pool.map(self._send_batch, batches))

    def _send_batch(self, bodies: list[str]) -> None:
        pending = {str(i): body for i, body in enumerate(bodies)}
        error: Exception | None = None
        for _ in range(_ROUNDS):
            try:
                response = sqs_client().send_message_batch(
                    QueueUrl=self._url,
                    Entries=[{"Id": key, "MessageBody": body} for key, body in pending.items()],
                )
            except (ClientError, BotoCoreError) as exc:
                error = exc
                continue
            failed = response.get("Failed") or []
            pending = {entry["Id"]: pending[entry["Id"]] for entry in failed}
            if not pending:
                return
            error = QueueUnavailable(f"{len(pending)} message(s) refused")
            if any(entry.get("SenderFault") for entry in failed):
                break  # our fault: sending the same again would fail the same way
        raise QueueUnavailable(f"could not enqueue {len(pending)} call(s)") from error
