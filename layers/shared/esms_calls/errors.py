"""Errors of the service's own making, typed where they arise; mapped to HTTP in api/problems.py.

Adapters translate what their libraries raise (botocore, Powertools' idempotency, httpx) into
these at their boundary, so the use cases and the HTTP mapping know nothing of the libraries.
"""

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


class InvalidQueryParameters(ServiceError):
    """Query parameters that cannot be served, each with the reason."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


class InvalidListingCursor(ServiceError):
    """A cursor we did not issue for this listing and these filters (forged, altered, another
    listing's or another query's)."""


class BatchNotFound(ServiceError):
    pass


class BatchIdBoundToOtherEntries(ServiceError):
    """The batch id was used for a batch with other entries."""


class CallRefusedByRule(ServiceError):
    """A calling rule forbids this call (advertising hours, frequency cap, do-not-call list).

    `rule` is a domain.calling_rules.CallingRule's value; the detail never holds the number."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


class NotOnDoNotCallList(ServiceError):
    pass


class RequestIdBoundToOtherPayload(ServiceError):
    """The request id was used within 24 h for a different call."""


class RequestInProgress(ServiceError):
    """A request with the same id is still being placed; its outcome is not known yet."""

    retry_after_seconds = 1


class CallbackForbidden(ServiceError):
    """A callback URL whose token is not the one we issued for its call."""


class StorageUnavailable(ServiceError):
    """DynamoDB refused or failed; nothing was half-written, the request can be retried."""

    retry_after_seconds = 2


class QueueUnavailable(ServiceError):
    """The calls queue is not configured, or refused messages even after retries; the
    invocation fails so that its trigger retries it (deterministic request ids keep that safe)."""


class ProviderError(ServiceError):
    """The provider could not give a usable answer; the outcome of the request is unknown.
    None of these carries a URL, a query or a credential."""

    retry_after_seconds = 5


class ProviderUnavailable(ProviderError):
    """Unreachable, connection reset, 5xx, or an answer that is not the provider's JSON."""


class ProviderTimeout(ProviderError):
    """No answer in time: the call may or may not have been placed."""
