"""Failures talking to the provider. None of them carries a URL, a query or a credential."""

from __future__ import annotations


class ProviderError(Exception):
    """The provider could not give a usable answer; the outcome of the request is unknown."""

    retry_after_seconds = 5


class ProviderUnavailable(ProviderError):
    """Unreachable, connection reset, 5xx, or an answer that is not the provider's JSON."""


class ProviderTimeout(ProviderError):
    """No answer in time: the call may or may not have been placed."""
