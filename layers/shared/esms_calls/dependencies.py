"""The long-lived collaborators, built on first use and kept for the execution environment."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from esms_calls import credentials
from esms_calls.settings import get_settings
from esms_calls.storage.calls import CallsRepository
from esms_calls.storage.calls_queue import CallsQueue
from esms_calls.storage.open_calls import OpenCallsRepository
from esms_calls.storage.reports import ReportsRepository

if TYPE_CHECKING:
    # Imported when first built: the callback path never loads httpx.
    import httpx

    from esms_calls.esms.client import EsmsClient


@cache
def calls_repository() -> CallsRepository:
    settings = get_settings()
    return CallsRepository(settings.calls_table_name, settings.dedupe_table_name)


@cache
def reports_repository() -> ReportsRepository:
    return ReportsRepository(get_settings().calls_table_name)


@cache
def open_calls_repository() -> OpenCallsRepository:
    return OpenCallsRepository(get_settings().calls_table_name)


@cache
def calls_queue() -> CallsQueue:
    return CallsQueue(get_settings().calls_queue_url)


# Tests and benchmarks put an in-process provider here (httpx's transport level); None = network.
_esms_transport: httpx.BaseTransport | None = None


def use_esms_transport(transport: httpx.BaseTransport | None) -> None:
    global _esms_transport
    _esms_transport = transport
    esms_client.cache_clear()


@cache
def esms_client() -> EsmsClient:
    from esms_calls.esms.client import EsmsClient

    settings = get_settings()
    return EsmsClient(
        settings.esms_base_url,
        credentials.esms_credentials,
        connect_timeout=settings.esms_connect_timeout_seconds,
        read_timeout=settings.esms_read_timeout_seconds,
        connect_retries=settings.esms_connect_retries,
        transport=_esms_transport,
    )


def reset() -> None:
    """Forget every cached collaborator and setting (tests and the local stack change the env)."""
    for factory in (
        calls_repository,
        reports_repository,
        open_calls_repository,
        calls_queue,
        esms_client,
        get_settings,
    ):
        factory.cache_clear()
    from esms_calls.storage import parameters
    from esms_calls.storage.calls_queue import sqs_client
    from esms_calls.storage.dynamodb import dynamodb_client
    from esms_calls.usecases import place_call

    dynamodb_client.cache_clear()
    sqs_client.cache_clear()
    place_call.reset_caches()
    parameters.reset_caches()
