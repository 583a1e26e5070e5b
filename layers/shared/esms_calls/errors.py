"""Errors of the service's own making, typed where they arise; mapped to HTTP in api/problems.py."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the errors this service raises on purpose."""


class CallNotFound(ServiceError):
    pass


class InvalidCallRequest(ServiceError):
    """A request that passed shape validation but cannot be honoured (e.g. `send_at` has passed)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RequestIdBoundToOtherPayload(ServiceError):
    """The request id was used within 24 h for a different call."""


class CallbackForbidden(ServiceError):
    """A callback URL whose token is not the one we issued for its call."""


class StorageUnavailable(ServiceError):
    """DynamoDB refused or failed; nothing was half-written, the request can be retried."""

    retry_after_seconds = 2


class QueueUnavailable(ServiceError):
    """The calls queue is not configured, or refused messages even after retries; the
    invocation fails so that its trigger retries it (deterministic request ids keep that safe)."""
