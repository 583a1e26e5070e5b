"""The calls queue (SQS): one message per call to place, ten to a request, batches side by side;
or, for a batch, chunks of orders that the queue's consumer fans out into one message per call.

Sending is retry-safe without any bookkeeping: every message carries its call's deterministic
request id, so a message sent twice (a retried invocation, a retried batch) is placed once and
answered from the idempotency store the second time. The message body is a `CallOrder`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from esms_calls.domain.orders import CHUNK_SIZE, CallOrder, OrderChunk
from esms_calls.errors import QueueUnavailable

# SendMessageBatch takes at most ten entries.
BATCH_SIZE = 10
# Requests in flight while fanning out a long list (tens of thousands of entries fit in the
# function's time only if the batches go out side by side).
_SENDERS = 8
# Rounds per batch: entries the queue failed on its side are sent again.
_ROUNDS = 3


def to_message(order: CallOrder) -> str:
    if order.spec.sensitive:
        # PlaceCalls never queues one; an SQS message would keep its variables in clear.
        raise ValueError("a sensitive call is never queued")
    return order.model_dump_json(exclude_none=True)


class CallsQueue:
    def __init__(self, sqs: Any, queue_url: str | None) -> None:
        self._sqs = sqs
        self._url = queue_url

    def send(self, orders: Sequence[CallOrder]) -> None:
        """Enqueue every order, or raise QueueUnavailable (some may have been sent: harmless)."""
        self._send_bodies([to_message(order) for order in orders])

    def send_chunks(self, orders: Sequence[CallOrder]) -> None:
        """Enqueue the orders a chunk of CHUNK_SIZE per message (raises like `send`)."""
        chunks = [orders[i : i + CHUNK_SIZE] for i in range(0, len(orders), CHUNK_SIZE)]
        self._send_bodies(
            [OrderChunk(orders=list(chunk)).model_dump_json(exclude_none=True) for chunk in chunks]
        )

    def _send_bodies(self, bodies: list[str]) -> None:
        if not bodies:
            return
        if not self._url:
            raise QueueUnavailable("CALLS_QUEUE_URL is not set: lists cannot be queued")
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
                response = self._sqs.send_message_batch(
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
