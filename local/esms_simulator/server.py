"""HTTP front: the provider's paths and the ``/_simulator/...`` admin endpoints.

Built on the standard library's ThreadingHTTPServer. Request lines are never logged as
received: they carry the account's ApiKey and SecretKey.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .params import QueryParams, mask_text
from .records import GET_BALANCE, GET_SEND_STATUS, MAKE_CALL, MAKE_CALL_TEMPLATE
from .rules import Fault

if TYPE_CHECKING:
    from .simulator import EsmsSimulator, ProviderAnswer

log = logging.getLogger("esms_simulator")

PROVIDER_PREFIX = "/MainService.svc/json"
ADMIN_PREFIX = "/_simulator"
_PROVIDER_APIS = {
    api.lower(): api for api in (MAKE_CALL, MAKE_CALL_TEMPLATE, GET_SEND_STATUS, GET_BALANCE)
}
_MAX_BODY = 1 << 20
_GARBAGE = b"<html><head><title>Service Unavailable</title></head><body>Error</body></html>"


class SimulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops bursts of concurrent clients

    def __init__(self, address: tuple[str, int], simulator: EsmsSimulator) -> None:
        self.simulator = simulator
        super().__init__(address, _Handler)


class BadRequestError(ValueError):
    """An admin request the simulator cannot understand (answered 400)."""


@dataclass(frozen=True)
class AdminRequest:
    query: QueryParams
    arg: str | None  # the path segment after the resource, e.g. an SMSID
    body: Callable[[], Any]  # the parsed JSON body (BadRequestError when not JSON)


AdminResult = tuple[int, Any]
AdminHandler = Callable[["EsmsSimulator", AdminRequest], AdminResult]


class _Handler(BaseHTTPRequestHandler):
    server: SimulatorHTTPServer
    server_version = "esms-simulator"
    sys_version = ""
    protocol_version = "HTTP/1.0"
    timeout = 30

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", mask_text(format % args))

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("http %s -> %s", mask_text(self.requestline), code)

    # ------------------------------------------------------------------ routing
    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        lower = split.path.lower()
        simulator = self.server.simulator
        if lower.startswith(PROVIDER_PREFIX.lower() + "/"):
            api = _PROVIDER_APIS.get(lower[len(PROVIDER_PREFIX) + 1 :].rstrip("/"))
            if api is None:
                self._discard_body()
                self._send(404, b"Endpoint not found.", "text/plain; charset=utf-8")
            elif api == GET_BALANCE and method == "POST":
                # The REST host's GetBalance_json takes a POST of JSON (the voice API GETs).
                self._provider(simulator.handle_get_balance(self._read_body(), split.path))
            elif method != ("POST" if api == GET_BALANCE else "GET"):
                # The voice functions serve GET only, the balance POST; record the attempt.
                self._discard_body()
                seq = simulator.record_other(api, method, split.path, split.query)
                text = b"Method not allowed."
                allow = "POST" if api == GET_BALANCE else "GET"
                self._send(405, text, "text/plain; charset=utf-8", {"Allow": allow})
                simulator.answered(seq, 405)
            elif api in (MAKE_CALL, MAKE_CALL_TEMPLATE):
                self._provider(simulator.handle_make_call(split.query, method, split.path, api))
            else:
                self._provider(simulator.handle_get_send_status(split.query, method, split.path))
        elif lower == ADMIN_PREFIX or lower.startswith(ADMIN_PREFIX + "/"):
            self._admin(method, split.path, split.query)
        else:
            self._discard_body()
            self._send(404, b"Endpoint not found.", "text/plain; charset=utf-8")

    def _provider(self, answer: ProviderAnswer) -> None:
        simulator = self.server.simulator
        if answer.delay > 0:
            simulator.stopping.wait(answer.delay)
        status: int | None = 200
        try:
            if answer.fault is Fault.DISCONNECT:
                status = None
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
            elif answer.fault is Fault.HTTP_500:
                status = 500
                self._send(500, b"<html><body>Internal Server Error</body></html>", "text/html")
            elif answer.fault is Fault.GARBAGE:
                self._send(200, _GARBAGE, "text/html; charset=utf-8")
            else:
                self._json(200, answer.body)
        except OSError:  # the client went away (e.g. timed out during a response delay)
            status = None
        simulator.answered(answer.seq, status)

    def _admin(self, method: str, path: str, query: str) -> None:
        parts = [part for part in path.split("/") if part][1:]
        resource = parts[0] if parts else "health"
        arg = parts[1] if len(parts) == 2 else None
        handler = _ADMIN_ROUTES.get((method, resource, arg is not None))
        if handler is None or len(parts) > 2:
            self._discard_body()
            shape = (resource, arg is not None)
            if len(parts) <= 2 and any((r, a) == shape for _, r, a in _ADMIN_ROUTES):
                self._json(405, {"error": "method not allowed"})
            else:
                self._json(404, {"error": "not found"})
            return
        request = AdminRequest(QueryParams.parse(query), arg, self._json_body)
        try:
            status, payload = handler(self.server.simulator, request)
        except (ValueError, TypeError) as exc:  # BadRequestError, invalid rules and settings
            status, payload = 400, {"error": str(exc)}
        self._json(status, payload)

    # ------------------------------------------------------------------ bodies
    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > _MAX_BODY:
            raise BadRequestError("body too large")
        return self.rfile.read(length) if length else b""

    def _discard_body(self) -> None:
        try:
            self._read_body()
        except (BadRequestError, ValueError, OSError):
            self.close_connection = True

    def _json_body(self) -> Any:
        raw = self._read_body()
        if not raw:
            raise BadRequestError("a JSON body is required")
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadRequestError(f"body is not JSON: {exc}") from exc

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


# ---------------------------------------------------------------------- admin routes
def _health(sim: EsmsSimulator, _: AdminRequest) -> AdminResult:
    return 200, {"status": "ok", "base_url": sim.base_url}


def _get_rules(sim: EsmsSimulator, _: AdminRequest) -> AdminResult:
    return 200, sim.rules_dict()


def _put_rules(sim: EsmsSimulator, request: AdminRequest) -> AdminResult:
    body = request.body()
    if isinstance(body, list):
        sim.set_rules(body)
    elif isinstance(body, dict) and set(body) <= {"rules", "default", "presets"}:
        # "presets" (what GET answers) is read-only: presets stay whatever the rules are
        rules = body.get("rules", [])
        if not isinstance(rules, list):
            raise BadRequestError("rules must be a list")
        sim.set_rules(rules, body.get("default"))
    else:
        raise BadRequestError('expected a list of rules or {"rules": [...], "default": {...}}')
    return 200, sim.rules_dict()


def _add_rule(sim: EsmsSimulator, request: AdminRequest) -> AdminResult:
    rule = sim.add_rule(request.body())
    return 201, {"rule": rule.to_dict(), **sim.rules_dict()}


def _reset_rules(sim: EsmsSimulator, _: AdminRequest) -> AdminResult:
    sim.reset_rules()
    return 200, sim.rules_dict()


def _get_settings(sim: EsmsSimulator, _: AdminRequest) -> AdminResult:
    return 200, sim.settings


def _patch_settings(sim: EsmsSimulator, request: AdminRequest) -> AdminResult:
    body = request.body()
    if not isinstance(body, dict):
        raise BadRequestError("expected a JSON object of settings")
    return 200, sim.update_settings(**body)


def _get_clock(sim: EsmsSimulator, _: AdminRequest) -> AdminResult:
    return 200, sim.clock.to_dict()


def _advance_clock(sim: EsmsSimulator, request: AdminRequest) -> AdminResult:
    body = request.body()
    if not isinstance(body, dict) or not set(body) <= {"by", "to"}:
        raise BadRequestError('expected {"by": "1d"} (or seconds) or {"to": "<ISO-8601 time>"}')
    to = body.get("to")
    if to is not None and not isinstance(to, str):
        raise BadRequestError('"to" must be an ISO-8601 time')
    sim.advance_clock(body.get("by"), datetime.fromisoformat(to) if to else None)
    return 200, sim.clock.to_dict()


def _presets(sim: EsmsSimulator, _: AdminRequest) -> AdminResult:
    return 200, {"presets": [{"phone": p.phone, "outcome": p.outcome} for p in sim.presets]}


def _requests(sim: EsmsSimulator, request: AdminRequest) -> AdminResult:
    items = sim.requests(request.query.value("api"))
    return 200, {"requests": [item.to_dict() for item in items]}


def _calls(sim: EsmsSimulator, _: AdminRequest) -> AdminResult:
    return 200, {"calls": [record.to_dict() for record in sim.calls()]}


def _call(sim: EsmsSimulator, request: AdminRequest) -> AdminResult:
    record = sim.call(request.arg or "")
    if record is None:
        return 404, {"error": "unknown SMSID"}
    return 200, record.to_dict()


def _callbacks(sim: EsmsSimulator, request: AdminRequest) -> AdminResult:
    attempts = sim.callback_attempts(request.query.value("sms_id"))
    return 200, {"callbacks": [attempt.to_dict() for attempt in attempts]}


def _forget_request_ids(sim: EsmsSimulator, _: AdminRequest) -> AdminResult:
    sim.forget_request_ids()
    return 200, {"status": "ok"}


def _reset(sim: EsmsSimulator, _: AdminRequest) -> AdminResult:
    sim.reset()
    return 200, {"status": "ok"}


def _wait_idle(sim: EsmsSimulator, request: AdminRequest) -> AdminResult:
    timeout = float(request.query.value("timeout") or 5.0)
    return 200, {"idle": sim.wait_idle(min(max(timeout, 0.0), 60.0))}


#: (method, resource, has an argument) -> handler
_ADMIN_ROUTES: dict[tuple[str, str, bool], AdminHandler] = {
    ("GET", "health", False): _health,
    ("GET", "rules", False): _get_rules,
    ("PUT", "rules", False): _put_rules,
    ("POST", "rules", False): _add_rule,
    ("DELETE", "rules", False): _reset_rules,
    ("GET", "settings", False): _get_settings,
    ("GET", "clock", False): _get_clock,
    ("POST", "clock", False): _advance_clock,
    ("GET", "presets", False): _presets,
    ("PATCH", "settings", False): _patch_settings,
    ("GET", "requests", False): _requests,
    ("GET", "calls", False): _calls,
    ("GET", "calls", True): _call,
    ("GET", "callbacks", False): _callbacks,
    ("DELETE", "request-ids", False): _forget_request_ids,
    ("POST", "reset", False): _reset,
    ("POST", "wait-idle", False): _wait_idle,
}
