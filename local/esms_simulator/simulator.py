"""The simulated provider: state, decisions, lifecycle and the Python API tests use."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any, Self

from .callbacks import (
    CallbackAttempt,
    CallbackDispatcher,
    CallbackSender,
    CallPlan,
    SenderSettings,
    Stage,
)
from .clock import SimulatorClock, parse_duration
from .config import MUTABLE_SETTINGS, SimulatorConfig
from .params import (
    CallRequest,
    QueryParams,
    Refusal,
    credentials_ok,
    mask_phone,
    mask_query,
    parse_make_call,
    parse_make_call_template,
)
from .presets import PRESETS, Preset, preset_rules
from .records import (
    GET_BALANCE,
    GET_SEND_STATUS,
    MAKE_CALL,
    MAKE_CALL_TEMPLATE,
    CallRecord,
    ReceivedRequest,
)
from .rules import Fault, Rule, RuleBook, coerce_rule
from .server import PROVIDER_PREFIX, SimulatorHTTPServer

log = logging.getLogger("esms_simulator")

VIETNAM = timezone(timedelta(hours=7))
RuleLike = Rule | Mapping[str, Any]


@dataclass(frozen=True)
class ProviderAnswer:
    """What the HTTP front writes back for a provider path."""

    seq: int
    body: dict[str, Any]
    delay: float = 0.0
    fault: Fault | None = None


@dataclass
class _Claim:
    """A RequestID the simulator has accepted a call for."""

    sms_id: str
    at: float  # monotonic
    seq: int  # the request that claimed it
    answered: bool = False


class EsmsSimulator:
    """A local stand-in for eSMS.vn's voice API (MakeCallRecord_V2, GetSendStatus, callbacks).

    ``EsmsSimulator(config, **overrides)``: any :class:`SimulatorConfig` field may be passed as
    a keyword (``EsmsSimulator(api_key="K", secret_key="S", queryable_after=0.3)``). Use it as
    a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, config: SimulatorConfig | None = None, /, **overrides: Any) -> None:
        base = config or SimulatorConfig()
        self._initial = SimulatorConfig.from_mapping(overrides, base) if overrides else base
        self._config = self._initial
        self._lock = threading.RLock()
        default = self._initial.default_rule
        presets = preset_rules(default) if self._initial.presets else ()
        self._rulebook = RuleBook(self._initial.rules, default, presets)
        self.clock = SimulatorClock(self._initial.clock_offset)
        self._requests: list[ReceivedRequest] = []
        self._calls: dict[str, CallRecord] = {}
        self._attempts: list[CallbackAttempt] = []
        self._claims: dict[str, _Claim] = {}
        self._stopping = threading.Event()
        self._sender = CallbackSender(self._sender_settings, self._record_attempt)
        self._dispatcher = CallbackDispatcher(
            self._sender,
            self._reach_stage,
            random.Random(self._initial.seed),  # noqa: S311 - shuffles test traffic
            self.clock,
        )
        self._server: SimulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> Self:
        """Bind the HTTP server and serve in a background thread."""
        if self._server is not None or self._stopping.is_set():
            raise RuntimeError("an EsmsSimulator starts once")
        self._server = SimulatorHTTPServer((self._config.host, self._config.port), self)
        self._port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="esms-sim-http",
            daemon=True,
        )
        self._thread.start()
        log.info("eSMS simulator listening on %s", self.base_url)
        return self

    def stop(self, *, drain: bool = False, timeout: float = 5.0) -> None:
        """Stop serving. ``drain=True`` first lets pending callbacks finish (up to
        ``timeout``); otherwise pending stages and re-sends are cancelled at once."""
        if drain:
            self._dispatcher.wait_idle(timeout)
        self._stopping.set()
        self._dispatcher.close()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        self._dispatcher.wait_idle(timeout)
        self._sender.close()
        log.info("eSMS simulator stopped")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def stopping(self) -> threading.Event:
        return self._stopping

    # ----------------------------------------------------------------- addresses
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator is not started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (admin endpoints live under ``/_simulator/``)."""
        return f"http://{self._config.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The provider base URL a client uses: ``http://127.0.0.1:PORT/MainService.svc/json``."""
        return self.url + PROVIDER_PREFIX

    @property
    def api_key(self) -> str:
        return self._config.api_key

    @property
    def secret_key(self) -> str:
        return self._config.secret_key

    # ----------------------------------------------------------------- rules
    @property
    def rules(self) -> list[Rule]:
        with self._lock:
            return self._rulebook.rules

    @property
    def default_rule(self) -> Rule:
        with self._lock:
            return self._rulebook.default

    def rules_dict(self) -> dict[str, Any]:
        with self._lock:
            return self._rulebook.to_dict()

    def set_rules(self, rules: Iterable[RuleLike], default: RuleLike | None = None) -> None:
        """Replace the ordered rules (first match wins); replace the default when given."""
        parsed = [coerce_rule(rule) for rule in rules]
        new_default = coerce_rule(default) if default is not None else None
        with self._lock:
            self._rulebook.replace(parsed, new_default)

    def add_rule(self, rule: RuleLike) -> Rule:
        """Add a rule ahead of all others (the newest rule wins)."""
        parsed = coerce_rule(rule)
        with self._lock:
            self._rulebook.add_first(parsed)
        return parsed

    def set_default_rule(self, rule: RuleLike) -> None:
        parsed = coerce_rule(rule)
        with self._lock:
            self._rulebook.replace(self._rulebook.rules, parsed)

    def reset_rules(self) -> None:
        """Back to the rules and default rule the simulator started with."""
        with self._lock:
            self._rulebook.replace(self._initial.rules, self._initial.default_rule)

    # ----------------------------------------------------------------- settings
    @property
    def settings(self) -> dict[str, Any]:
        with self._lock:
            return self._config.settings()

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        """Change run-time settings (see ``config.MUTABLE_SETTINGS``); returns them all."""
        unknown = sorted(set(changes) - set(MUTABLE_SETTINGS))
        if unknown:
            raise ValueError(f"not a run-time setting: {', '.join(unknown)}")
        with self._lock:
            self._config = SimulatorConfig.from_mapping(changes, self._config)
            return self._config.settings()

    @property
    def presets(self) -> tuple[Preset, ...]:
        """The well-known numbers (empty when started with ``presets: false``)."""
        return PRESETS if self._initial.presets else ()

    # ----------------------------------------------------------------- clock
    def advance_clock(self, by: str | float | None = None, to: datetime | None = None) -> None:
        """Move the simulator's clock forward ``by`` (seconds, or ``"1d"``, ``"2h30m"``) or
        ``to`` a moment: scheduled calls whose SendDate it passes play out at once."""
        if (by is None) == (to is None):
            raise ValueError('give either "by" (e.g. "1d", 3600) or "to" (an ISO-8601 time)')
        if to is not None:
            self.clock.advance_to(to)
        else:
            self.clock.advance(parse_duration(by))  # type: ignore[arg-type]
        log.info("clock moved forward: now %s", self.clock.to_dict()["now"])

    # ----------------------------------------------------------------- inspection
    def requests(self, api: str | None = None) -> list[ReceivedRequest]:
        """Requests received on provider paths, oldest first (``api``: e.g.
        ``"MakeCallRecord_V2"`` or ``"GetSendStatus"``). Credentials are masked."""
        with self._lock:
            return [r for r in self._requests if api is None or r.api == api]

    def calls(self) -> list[CallRecord]:
        """Accepted calls, oldest first."""
        with self._lock:
            return list(self._calls.values())

    def call(self, sms_id: str) -> CallRecord | None:
        with self._lock:
            return self._calls.get(sms_id.lower())

    def callback_attempts(self, sms_id: str | None = None) -> list[CallbackAttempt]:
        """Every callback GET made (re-sends and duplicates included), oldest first."""
        with self._lock:
            return [a for a in self._attempts if sms_id is None or a.sms_id == sms_id.lower()]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no call has a stage or a callback pending; False on timeout."""
        return self._dispatcher.wait_idle(timeout)

    def wait_for_call(self, sms_id: str, send_status: int = 5, timeout: float = 5.0) -> CallRecord:
        """Poll until the call reached ``send_status``; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.call(sms_id)
            if record is not None and send_status in record.stages:
                return record
            if time.monotonic() >= deadline:
                raise TimeoutError(f"call {sms_id} did not reach SendStatus {send_status}")
            time.sleep(0.01)

    # ----------------------------------------------------------------- resets
    def forget_request_ids(self) -> None:
        """Forget every RequestID, as if 24 h had passed."""
        with self._lock:
            self._claims.clear()

    def reset(self) -> None:
        """Cancel pending callbacks; forget requests, calls, attempts, RequestIDs; restore the
        start-up rules and settings."""
        self._dispatcher.cancel_all()
        self._dispatcher.wait_idle(self._config.callback_timeout + 1)
        with self._lock:
            self._requests.clear()
            self._calls.clear()
            self._attempts.clear()
            self._claims.clear()
            self._config = self._initial
            self._rulebook.replace(self._initial.rules, self._initial.default_rule)
            self.clock.reset(self._initial.clock_offset)

    # ----------------------------------------------------------------- provider API
    def handle_make_call(
        self, query: str, method: str = "GET", path: str = "", api: str = MAKE_CALL
    ) -> ProviderAnswer:
        """Decide the answer of MakeCallRecord_V2 (or, with ``api``, MakeCallTemplate_V2);
        starts the call's callbacks when accepted."""
        params = QueryParams.parse(query)
        plan: CallPlan | None = None
        rule: Rule | None = None
        with self._lock:
            path = path or f"{PROVIDER_PREFIX}/{api}"
            seq = self._record(api, method, path, query, params)
            config = self._config
            outcome = self._decide(params, config, api)
            if isinstance(outcome, Refusal):
                body = self._refuse(seq, outcome, api)
            else:
                request, rule = outcome
                if rule.fault is not None and not rule.fault_accepts:
                    body = {}
                    log.info("%s fault=%s (call not placed)", api, rule.fault)
                else:
                    record, plan = self._accept(seq, api, request, rule, params, config)
                    body = {"CodeResult": "100", "SMSID": record.sms_id}
        if plan is not None:
            self._dispatcher.start(plan)
        if rule is None:
            return ProviderAnswer(seq, body)
        return ProviderAnswer(seq, body, rule.response_delay, rule.fault)

    def handle_get_send_status(
        self, query: str, method: str = "GET", path: str = ""
    ) -> ProviderAnswer:
        params = QueryParams.parse(query)
        with self._lock:
            path = path or f"{PROVIDER_PREFIX}/{GET_SEND_STATUS}"
            seq = self._record(GET_SEND_STATUS, method, path, query, params)
            if not credentials_ok(params, self._config.api_key, self._config.secret_key):
                return ProviderAnswer(seq, self._status_error(seq, "101", "Authorize Failed"))
            reference = params.value("ReferenceId") or ""
            record = self._calls.get(reference.lower())
            age = time.monotonic() - record.accepted_monotonic if record else 0.0
            if record is None or age < self._config.queryable_after:
                return ProviderAnswer(seq, self._status_error(seq, "105", "Not found"))
            body = record.status_answer()
            self._set_answer(seq, "100", None)
        log.info("GetSendStatus ReferenceId=%s -> 100 SendStatus=%s", reference, body["SendStatus"])
        return ProviderAnswer(seq, body)

    def handle_get_balance(self, body: bytes, path: str = "") -> ProviderAnswer:
        """GetBalance_json: a POST of JSON credentials, answered with the configured balance
        (101 for wrong credentials), after its configured delay or fault."""
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = None
        fields_ = payload if isinstance(payload, dict) else {}
        params = QueryParams([(str(k), str(v)) for k, v in fields_.items()])
        with self._lock:
            path = path or f"{PROVIDER_PREFIX}/{GET_BALANCE}/"
            seq = self._record(GET_BALANCE, "POST", path, "", params)
            config = self._config
            answer: dict[str, Any]
            if not credentials_ok(params, config.api_key, config.secret_key):
                self._set_answer(seq, "101", None)
                answer = {"CodeResponse": "101", "ErrorMessage": "Authorize Failed"}
            else:
                self._set_answer(seq, "100", None)
                answer = {"Balance": config.balance, "CodeResponse": "100", "UserID": 1}
        # DEBUG: the local stack asks every few seconds.
        log.debug("GetBalance_json -> %s", answer["CodeResponse"])
        return ProviderAnswer(seq, answer, config.balance_response_delay, config.balance_fault)

    def record_other(self, api: str, method: str, path: str, query: str) -> int:
        """Record a request the provider would not serve (e.g. POST); returns its seq."""
        with self._lock:
            return self._record(api, method, path, query, QueryParams.parse(query))

    def answered(self, seq: int, http_status: int | None) -> None:
        """The HTTP front wrote (or dropped, ``None``) the answer of request ``seq``."""
        with self._lock:
            if seq < len(self._requests) and self._requests[seq].seq == seq:
                self._requests[seq] = replace(
                    self._requests[seq], http_status=http_status, answered_at=time.time()
                )
            for claim in self._claims.values():
                if claim.seq == seq:
                    claim.answered = True

    # ----------------------------------------------------------------- internals
    def _decide(
        self, params: QueryParams, config: SimulatorConfig, api: str
    ) -> Refusal | tuple[CallRequest, Rule]:
        if not credentials_ok(params, config.api_key, config.secret_key):
            return Refusal.of("101")
        if api == MAKE_CALL_TEMPLATE:
            request = parse_make_call_template(params, config.scripts)
        else:
            request = parse_make_call(params)
        if isinstance(request, Refusal):
            return request
        if request.request_id is not None:
            claim = self._claims.get(request.request_id)
            if claim is not None and time.monotonic() - claim.at < config.request_id_ttl:
                return Refusal.of("124" if claim.answered else "199")
        rule = self._rulebook.select(request.national_phone, request.template_id)
        if rule.code is not None:
            return Refusal.of(rule.code, rule.message)
        return request, rule

    def _refuse(self, seq: int, refusal: Refusal, api: str) -> dict[str, Any]:
        self._set_answer(seq, refusal.code, None)
        log.info("%s -> %s %s", api, refusal.code, refusal.message)
        return {"CodeResult": refusal.code, "ErrorMessage": refusal.message}

    def _status_error(self, seq: int, code: str, message: str) -> dict[str, Any]:
        self._set_answer(seq, code, None)
        log.info("GetSendStatus -> %s %s", code, message)
        return {"CodeResult": code, "CountRegenerate": 0, "ErrorMessage": message}

    def _accept(
        self,
        seq: int,
        api: str,
        request: CallRequest,
        rule: Rule,
        params: QueryParams,
        config: SimulatorConfig,
    ) -> tuple[CallRecord, CallPlan]:
        sms_id = str(uuid.uuid4())
        now = time.monotonic()
        if request.request_id is not None:
            self._claims[request.request_id] = _Claim(sms_id, now, seq)
        record = CallRecord(
            sms_id=sms_id,
            request_id=request.request_id,
            phone=request.phone,
            template_id=request.template_id,
            callback_url=request.callback_url,
            params=params.masked(),
            accepted_at=time.time(),
            accepted_monotonic=now,
            rule=rule,
            outcome=rule.outcome(),
            api=api,
            variables=request.variables,
        )
        self._calls[sms_id] = record
        self._set_answer(seq, "100", sms_id)
        # Never the variables: they may be one-time codes.
        log.info(
            "%s phone=%s TemplateId=%s RequestID=%s -> 100 SMSID=%s callback=%s",
            api, mask_phone(request.national_phone), request.template_id, request.request_id,
            sms_id, "yes" if request.callback_url else "no",
        )  # fmt: skip
        return record, self._plan(record, request, rule, config)

    def _plan(
        self, record: CallRecord, request: CallRequest, rule: Rule, config: SimulatorConfig
    ) -> CallPlan:
        outcome = record.outcome
        waiting = [("CallDuration", "0"), ("CallStatus", ""), ("Ivr", ""), ("Price", "0.0000")]
        waiting += [("SentResult", "0"), ("CID", outcome.cid)]
        final = [
            ("CallDuration", str(outcome.duration)),
            ("CallStatus", outcome.call_status),
            ("Ivr", outcome.ivr),
            ("Price", outcome.price),
            ("SentResult", str(outcome.sent_result)),
            ("CID", outcome.cid),
        ]
        ref = ("ReferenceId", record.sms_id)
        send_any = not rule.drop_callbacks
        send_steps = send_any and not rule.skip_intermediate
        d2, d7, d5 = rule.delays
        stages = (
            Stage(2, d2, (ref, *waiting, ("SendStatus", "2")), send_steps),
            Stage(7, d7, (ref, *waiting, ("SendStatus", "7")), send_steps),
            Stage(5, d5, (ref, *final, ("SendStatus", "5")), send_any),
        )
        not_before = None
        if config.honor_send_date and request.send_date is not None:
            not_before = request.send_date.replace(tzinfo=VIETNAM).timestamp()
        return CallPlan(
            sms_id=record.sms_id,
            callback_url=request.callback_url,
            composition=rule.composition or config.callback_composition,
            stages=stages,
            duplicates=rule.duplicates,
            delivery=rule.delivery,
            not_before=not_before,
        )

    def _record(self, api: str, method: str, path: str, query: str, params: QueryParams) -> int:
        seq = len(self._requests)
        self._requests.append(
            ReceivedRequest(
                seq=seq,
                api=api,
                method=method,
                path=path,
                query=mask_query(query),
                params=params.masked(),
                param_names=tuple(params.names()),
                received_at=time.time(),
            )
        )
        return seq

    def _set_answer(self, seq: int, code: str, sms_id: str | None) -> None:
        self._requests[seq] = replace(self._requests[seq], code=code, sms_id=sms_id)

    def _sender_settings(self) -> SenderSettings:
        with self._lock:
            config = self._config
        return SenderSettings(config.callback_timeout, config.max_resends, config.resend_backoff)

    def _record_attempt(self, attempt: CallbackAttempt) -> None:
        with self._lock:
            record = self._calls.get(attempt.sms_id)
            if record is None:  # the call was reset away while its callback was in flight
                return
            self._attempts.append(attempt)
            self._calls[attempt.sms_id] = replace(record, attempts=(*record.attempts, attempt))

    def _reach_stage(self, sms_id: str, send_status: int) -> None:
        with self._lock:
            record = self._calls.get(sms_id)
            if record is not None:
                self._calls[sms_id] = replace(
                    record, send_status=send_status, stages=(*record.stages, send_status)
                )


def poll(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.01) -> bool:
    """Call ``predicate`` until it is true or ``timeout`` passes; returns its last answer."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return predicate()
        time.sleep(interval)
    return True
