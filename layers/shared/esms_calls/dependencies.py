"""The composition root: the only place that reads the settings and the secrets and builds the
AWS clients, the repositories, the provider client and the idempotency wiring, and hands them
to the use cases.

Everything is built on first use and kept for the execution environment, so a route builds only
what it uses (a callback never builds the provider client, nor loads httpx). `root()` is the one
instance; `reset()` forgets it, and with it every client, value and setting it had built.
"""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from esms_calls.settings import Settings

if TYPE_CHECKING:
    import httpx

    from esms_calls.domain.calls import CallSpec
    from esms_calls.esms.client import EsmsClient
    from esms_calls.esms.models import EsmsCredentials
    from esms_calls.storage.batches import BatchRepository
    from esms_calls.storage.calling_rules import CallingRulesRepository
    from esms_calls.storage.calls import CallsRepository
    from esms_calls.storage.calls_queue import CallsQueue
    from esms_calls.storage.dynamodb import Table
    from esms_calls.storage.listing import CallIndexReader
    from esms_calls.storage.open_calls import OpenCallsRepository
    from esms_calls.storage.parameters import ParameterReader, SecretsReader
    from esms_calls.storage.reports import ReportsRepository
    from esms_calls.usecases.calling_rules import CallingRules
    from esms_calls.usecases.check_balance import CheckBalance
    from esms_calls.usecases.do_not_call import DoNotCallList
    from esms_calls.usecases.get_batch import GetBatch
    from esms_calls.usecases.get_call import GetCall
    from esms_calls.usecases.list_calls import ListCalls
    from esms_calls.usecases.place_batch import ExpandChunk, PlaceBatch
    from esms_calls.usecases.place_call import PlaceCall
    from esms_calls.usecases.place_calls import PlaceCalls
    from esms_calls.usecases.place_queued_call import PlaceQueuedCall
    from esms_calls.usecases.receive_callback import ReceiveCallback
    from esms_calls.usecases.reconcile import Reconcile

# Secrets rotate rarely; five minutes bounds how long a rotated key keeps being used.
_SECRET_MAX_AGE_SECONDS = 300
_PARAMETER_MAX_AGE_SECONDS = 3600

# Imports below happen inside the builders: what a route does not use, it does not load.


class Dependencies:
    def __init__(self, settings: Settings, *, esms_transport: httpx.BaseTransport | None = None):
        self.settings = settings
        self._esms_transport = esms_transport

    # -- AWS clients -------------------------------------------------------------------------

    @cached_property
    def dynamodb(self) -> Any:
        from esms_calls.storage import aws

        return aws.client("dynamodb")

    @cached_property
    def sqs(self) -> Any:
        from esms_calls.storage import aws

        return aws.client("sqs")

    @cached_property
    def _secrets(self) -> SecretsReader:
        from esms_calls.storage import aws
        from esms_calls.storage.parameters import SecretsReader

        return SecretsReader(aws.client("secretsmanager"))

    @cached_property
    def _parameters(self) -> ParameterReader:
        from esms_calls.storage import aws
        from esms_calls.storage.parameters import ParameterReader

        return ParameterReader(aws.client("ssm"))

    # -- Secrets and deployment values: from the environment locally, else Secrets Manager/SSM -

    def esms_credentials(self) -> EsmsCredentials:
        from esms_calls.esms.models import EsmsCredentials

        settings = self.settings
        if settings.esms_api_key and settings.esms_secret_key:
            return EsmsCredentials(
                api_key=settings.esms_api_key, secret_key=settings.esms_secret_key
            )
        name = _configured(settings.esms_credentials_secret)
        return EsmsCredentials.model_validate(
            self._secrets.json(name, max_age=_SECRET_MAX_AGE_SECONDS)
        )

    def callback_signing_key(self) -> bytes:
        settings = self.settings
        if settings.callback_signing_key:
            return settings.callback_signing_key.get_secret_value().encode()
        name = _configured(settings.callback_signing_secret)
        return self._secrets.text(name, max_age=_SECRET_MAX_AGE_SECONDS).encode()

    def cursor_signing_key(self) -> bytes:
        """The key listing cursors are signed with: derived from the callback signing key (one
        secret to keep and rotate), under a label of its own, so a callback token can never pass
        for a cursor signature or the other way round."""
        from esms_calls.domain.signing import derived_key

        return derived_key(self.callback_signing_key(), "listing cursors")

    def number_key(self, phone: str) -> str:
        """The keyed hash that stands for a number on the do-not-call list and in the cap."""
        from esms_calls.domain.signing import number_key

        return number_key(self.callback_signing_key(), phone)

    def public_base_url(self) -> str:
        settings = self.settings
        if settings.public_base_url:
            return settings.public_base_url.rstrip("/")
        name = _configured(settings.public_base_url_parameter)
        return self._parameters.text(name, max_age=_PARAMETER_MAX_AGE_SECONDS).rstrip("/")

    def public_base_path(self) -> str:
        """The path of PUBLIC_BASE_URL (a custom domain's API mapping), "" when there is none."""
        return urlsplit(self.settings.public_base_url or "").path.rstrip("/")

    def callback_url(self, call_id: str) -> str:
        from esms_calls.domain.signing import callback_url

        return callback_url(self.public_base_url(), self.callback_signing_key(), call_id)

    def payload_fingerprint(self, spec: CallSpec) -> str:
        """Keyed with the callback signing key (a key of its own derived from it): no other
        secret to deploy, and one the functions already read."""
        from esms_calls.domain.signing import payload_fingerprint

        return payload_fingerprint(self.callback_signing_key(), spec)

    # -- Adapters ----------------------------------------------------------------------------

    def _table(self, name: str) -> Table:
        from esms_calls.storage.dynamodb import Table

        return Table(self.dynamodb, name)

    @cached_property
    def calls_repository(self) -> CallsRepository:
        from esms_calls.storage.calls import CallsRepository

        return CallsRepository(
            self._table(self.settings.calls_table_name),
            self._table(self.settings.dedupe_table_name),
        )

    @cached_property
    def reports_repository(self) -> ReportsRepository:
        from esms_calls.storage.reports import ReportsRepository

        return ReportsRepository(self._table(self.settings.calls_table_name))

    @cached_property
    def open_calls_repository(self) -> OpenCallsRepository:
        from esms_calls.storage.open_calls import OpenCallsRepository

        return OpenCallsRepository(self._table(self.settings.calls_table_name))

    @cached_property
    def call_index(self) -> CallIndexReader:
        from esms_calls.storage.listing import CallIndexReader

        return CallIndexReader(self._table(self.settings.calls_table_name))

    @cached_property
    def batch_repository(self) -> BatchRepository:
        from esms_calls.storage.batches import BatchRepository

        return BatchRepository(self._table(self.settings.calls_table_name))

    @cached_property
    def calling_rules_repository(self) -> CallingRulesRepository:
        from esms_calls.storage.calling_rules import CallingRulesRepository

        return CallingRulesRepository(self._table(self.settings.calls_table_name))

    @cached_property
    def calls_queue(self) -> CallsQueue:
        from esms_calls.storage.calls_queue import CallsQueue

        return CallsQueue(self.sqs, self.settings.calls_queue_url)

    @cached_property
    def esms_client(self) -> EsmsClient:
        from esms_calls.esms.client import EsmsClient

        settings = self.settings
        return EsmsClient(
            settings.esms_base_url,
            self.esms_credentials,
            connect_timeout=settings.esms_connect_timeout_seconds,
            read_timeout=settings.esms_read_timeout_seconds,
            connect_retries=settings.esms_connect_retries,
            transport=self._esms_transport,
            balance_url=settings.esms_balance_url,
        )

    # -- Use cases ---------------------------------------------------------------------------

    @cached_property
    def calling_rules(self) -> CallingRules:
        from esms_calls.domain.calling_rules import AdvertisingHours
        from esms_calls.usecases.calling_rules import CallingPolicy, CallingRules

        settings = self.settings
        return CallingRules(
            store=self.calling_rules_repository,
            number_key=self.number_key,
            policy=CallingPolicy(
                hours=AdvertisingHours.parse(
                    settings.advertising_hours, settings.advertising_blocked_dates
                ),
                calls_per_number=settings.advertising_calls_per_number,
                list_applies_to_service_calls=settings.do_not_call_service_calls,
            ),
        )

    @cached_property
    def check_balance(self) -> CheckBalance:
        from esms_calls.usecases.check_balance import CheckBalance

        return CheckBalance(
            provider=lambda: self.esms_client,
            low_threshold=self.settings.low_balance_threshold,
        )

    @cached_property
    def do_not_call_list(self) -> DoNotCallList:
        from esms_calls.usecases.do_not_call import DoNotCallList

        return DoNotCallList(store=self.calling_rules_repository, number_key=self.number_key)

    @cached_property
    def place_call(self) -> PlaceCall:
        from esms_calls.storage.idempotency import IdempotentPlacement
        from esms_calls.usecases.place_call import PlaceCall, PlacementTimes

        settings = self.settings
        return PlaceCall(
            calls=self.calls_repository,
            provider=self.esms_client,
            callback_url=self.callback_url,
            fingerprint=self.payload_fingerprint,
            guard=IdempotentPlacement(
                self._table(settings.dedupe_table_name),
                self.calls_repository,
                ttl_seconds=settings.idempotency_ttl_seconds,
            ),
            rules=self.calling_rules,
            times=PlacementTimes(
                request_id_ttl_seconds=settings.idempotency_ttl_seconds,
                check_after_seconds=settings.reconcile_after_seconds,
                retention_seconds=settings.call_retention_days * 86400,
            ),
        )

    @cached_property
    def place_calls(self) -> PlaceCalls:
        from esms_calls.usecases.place_calls import PlaceCalls

        return PlaceCalls(
            place_call=self.place_call,
            queue=self.calls_queue,
            batches=self.batch_repository,
            fan_out_threshold=self.settings.fan_out_threshold,
            retention_seconds=self.settings.call_retention_days * 86400,
        )

    @cached_property
    def place_batch(self) -> PlaceBatch:
        from esms_calls.usecases.place_batch import PlaceBatch

        return PlaceBatch(
            batches=self.batch_repository,
            queue=self.calls_queue,
            rules=self.calling_rules,
            retention_seconds=self.settings.call_retention_days * 86400,
        )

    @cached_property
    def expand_chunk(self) -> ExpandChunk:
        from esms_calls.usecases.place_batch import ExpandChunk

        return ExpandChunk(queue=self.calls_queue)

    @cached_property
    def get_batch(self) -> GetBatch:
        from esms_calls.usecases.get_batch import GetBatch

        return GetBatch(batches=self.batch_repository)

    @cached_property
    def list_calls(self) -> ListCalls:
        from esms_calls.usecases.list_calls import ListCalls

        return ListCalls(index=self.call_index, cursor_key=self.cursor_signing_key)

    @cached_property
    def place_queued_call(self) -> PlaceQueuedCall:
        from esms_calls.usecases.place_queued_call import PlaceQueuedCall

        return PlaceQueuedCall(place_call=self.place_call, batches=self.batch_repository)

    @cached_property
    def get_call(self) -> GetCall:
        from esms_calls.usecases.get_call import GetCall

        return GetCall(calls=self.calls_repository)

    @cached_property
    def receive_callback(self) -> ReceiveCallback:
        from esms_calls.usecases.receive_callback import ReceiveCallback

        return ReceiveCallback(
            reports=self.reports_repository,
            signing_key=self.callback_signing_key,
            opt_outs=self.do_not_call_list,
        )

    @cached_property
    def reconcile(self) -> Reconcile:
        from esms_calls.usecases.reconcile import Reconcile, ReconcilePolicy

        settings = self.settings
        return Reconcile(
            open_calls=self.open_calls_repository,
            reports=self.reports_repository,
            provider=lambda: self.esms_client,
            opt_outs=self.do_not_call_list,
            policy=ReconcilePolicy(
                horizon_seconds=settings.reconcile_horizon_seconds,
                retry_seconds=settings.reconcile_retry_seconds,
                max_calls=settings.reconcile_max_calls,
            ),
        )

    def close(self) -> None:
        if "esms_client" in self.__dict__:
            self.esms_client.close()


def _configured(name: str | None) -> str:
    # Settings guarantees one source of each value; this only narrows the type.
    if not name:
        raise RuntimeError("settings validation should have refused this configuration")
    return name


_lock = threading.Lock()
_root: Dependencies | None = None
# Tests and benchmarks put an in-process provider here (httpx's transport level); None = network.
_esms_transport: httpx.BaseTransport | None = None


def root() -> Dependencies:
    """The execution environment's collaborators, built from the environment on first use."""
    global _root
    with _lock:
        if _root is None:
            _root = Dependencies(Settings.from_environ(), esms_transport=_esms_transport)
        return _root


def reset() -> None:
    """Forget every collaborator and setting (tests and the local stack change the environment)."""
    global _root
    with _lock:
        if _root is not None:
            _root.close()
        _root = None


def renew_after_restore() -> None:
    """An execution environment restored from a SnapStart snapshot: forget every collaborator
    (clients, cached secrets and settings, the provider's connection pool) and resolve AWS
    credentials anew for the clients built from now on (esms_calls/snapshots.py)."""
    from esms_calls.storage import aws

    reset()
    aws.renew_session()


def use_esms_transport(transport: httpx.BaseTransport | None) -> None:
    global _esms_transport
    _esms_transport = transport
    reset()
