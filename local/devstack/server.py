"""The local API: HTTP in front of the functions, as API Gateway's HTTP API, plus ``/_devstack``.

Access lines show the method, the route key (never the raw path: callback paths carry their
HMAC token, and queries can carry anything), the status, the function and the time taken.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from devstack import apigw
from devstack.pool import FunctionError, Invocation, Throttled

if TYPE_CHECKING:
    from devstack.stack import LocalStack

ADMIN_PREFIX = "/_devstack"
SIMULATOR_PREFIX = "/_simulator"


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], stack: LocalStack) -> None:
        self.stack = stack
        super().__init__(address, _Handler)


class _BadRequest(ValueError):
    pass


class _TooLarge(ValueError):
    """Over API Gateway's payload limit: answered 413, as the gateway does."""


# An over-limit body is read and dropped up to this size, so that the client, still sending,
# gets the 413 rather than a reset connection; past it the connection is just closed.
_DISCARD_LIMIT_BYTES = 4 * apigw.MAX_PAYLOAD_BYTES


class _Handler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"
    server_version = "devstack"
    sys_version = ""
    timeout = 60

    # RFC 9110's reason phrases (the problem titles use the same), whatever Python's version.
    responses = {
        **BaseHTTPRequestHandler.responses,
        **{status: (phrase, phrase) for status, phrase in apigw.REASON_PHRASES.items()},
    }

    def __getattr__(self, name: str) -> Any:
        # Every method reaches the router, as at API Gateway: one without a route (TRACE, ...)
        # gets the gateway's 404, not http.server's 501.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Request lines are not logged as received (paths carry tokens): see _access."""

    # ----------------------------------------------------------------- requests
    def _handle(self) -> None:
        started = time.monotonic()
        request_id = apigw.new_request_id()
        split = urlsplit(self.path)
        raw_path = split.path or "/"
        try:
            body = self._read_body()
        except _TooLarge:
            response = apigw.gateway_answer(apigw.TOO_LARGE, request_id)
            self._send(response)
            self.close_connection = True
            self._access(self.command, "(too large)", response.status, None, None, started)
            return
        except _BadRequest as exc:
            self._send(apigw.gateway_answer((400, {"message": str(exc)}), request_id))
            self.close_connection = True
            return
        if raw_path == ADMIN_PREFIX or raw_path.startswith(ADMIN_PREFIX + "/"):
            self._admin(raw_path, body)
            return
        if raw_path == SIMULATOR_PREFIX or raw_path.startswith(SIMULATOR_PREFIX + "/"):
            self._simulator(body)
            return
        stack = self.server.stack
        if len(body) > apigw.MAX_PAYLOAD_BYTES:
            response = apigw.gateway_answer(apigw.TOO_LARGE, request_id)
            self._send(response)
            self._access(self.command, "(too large)", response.status, None, None, started)
            return
        matched = stack.router.match(self.command, raw_path)
        if matched is None:
            response = apigw.gateway_answer(apigw.NOT_FOUND, request_id)
            self._send(response)
            self._access(
                self.command, f"{_known_prefix(stack, raw_path)}… (no route)",
                response.status, None, None, started,
            )  # fmt: skip
            return
        route, params = matched
        request = apigw.HttpRequest(
            method=self.command,
            raw_path=raw_path,
            raw_query=split.query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            server_port=self.server.server_address[1],
        )
        event = apigw.build_event(
            request,
            route,
            params,
            request_id=request_id,
            account_id=stack.account_id,
        )
        function = route.route.function
        response, invocation = self._integrate(function, event, request_id)
        self._send(response)
        self._access(self.command, route.route.path, response.status, function, invocation, started)

    def _integrate(
        self, function: str, event: dict[str, Any], request_id: str
    ) -> tuple[apigw.HttpResponse, Invocation | None]:
        """Invoke the function as the gateway's Lambda proxy integration would."""
        stack = self.server.stack
        future: Future[Invocation] = Future()

        def run() -> None:
            try:
                future.set_result(stack.invoke(function, event, http=True))
            except BaseException as exc:
                future.set_exception(exc)

        threading.Thread(target=run, name=f"invoke-{function}", daemon=True).start()
        try:
            invocation = future.result(timeout=apigw.INTEGRATION_TIMEOUT_SECONDS)
        except FutureTimeout:
            return apigw.gateway_answer(apigw.SERVICE_UNAVAILABLE, request_id), None
        except Throttled:
            return apigw.gateway_answer(apigw.SERVICE_UNAVAILABLE, request_id), None
        except FunctionError as exc:
            stack.log.error("%s: %s", function, exc)
            return apigw.gateway_answer(apigw.INTERNAL_ERROR, request_id), None
        if not invocation.ok:
            error = invocation.error or {}
            stack.log.error(
                "%s failed: %s: %s",
                function,
                error.get("errorType"),
                error.get("errorMessage"),
            )
            return apigw.gateway_answer(apigw.INTERNAL_ERROR, request_id), invocation
        try:
            response = apigw.to_http_response(invocation.result)
        except apigw.MalformedResponse as exc:
            stack.log.error("%s returned a malformed response: %s", function, exc)
            return apigw.gateway_answer(apigw.INTERNAL_ERROR, request_id), invocation
        response.headers.append(("apigw-requestid", request_id))
        return response, invocation

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024).split(b";")[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise _BadRequest("bad chunked body") from None
                if size == 0:
                    while self.rfile.readline(1024).strip():
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > apigw.MAX_PAYLOAD_BYTES + 1:
                    raise _TooLarge()
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            raise _BadRequest("bad Content-Length") from None
        if length < 0:
            raise _BadRequest("bad Content-Length")
        if length > apigw.MAX_PAYLOAD_BYTES + 1:
            left = length if length <= _DISCARD_LIMIT_BYTES else 0
            while left > 0:
                chunk = self.rfile.read(min(left, 1024 * 1024))
                if not chunk:
                    break
                left -= len(chunk)
            raise _TooLarge()
        return self.rfile.read(length)

    def _send(self, response: apigw.HttpResponse) -> None:
        try:
            self.send_response(response.status)
            names = set()
            for name, value in response.headers:
                if name.lower() in ("content-length", "connection", "transfer-encoding"):
                    continue
                names.add(name.lower())
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except OSError:  # the client went away
            self.close_connection = True

    def _access(
        self,
        method: str,
        route: str,
        status: int,
        function: str | None,
        invocation: Invocation | None,
        started: float,
    ) -> None:
        stack = self.server.stack
        console = stack.console
        elapsed = (time.monotonic() - started) * 1000
        parts = [console.stamp(), f"{method:<6} {route}", "→", console.status(status)]
        parts.append(console.paint(f"{elapsed:.0f} ms", "dim"))
        if function is not None:
            tag = console.function_tag(function, invocation.worker if invocation else None)
            cold = " cold start" if invocation and invocation.cold else ""
            parts.append(console.paint("(", "dim") + tag + console.paint(f"{cold})", "dim"))
        console.line(" ".join(parts))

    # ----------------------------------------------------------------- admin
    def _from_loopback(self) -> bool:
        try:
            loopback = ipaddress.ip_address(self.client_address[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            self._json(403, {"error": "the admin endpoints answer loopback clients only"})
        return loopback

    def _simulator(self, body: bytes) -> None:
        """The simulator's admin endpoints at a stable address: relayed to its own port."""
        if not self._from_loopback():
            return
        provider = self.server.stack.provider
        simulator = provider.simulator if provider is not None else None
        if simulator is None:
            self._json(404, {"error": "no embedded simulator: ESMS_BASE_URL points elsewhere"})
            return
        connection = http.client.HTTPConnection("127.0.0.1", simulator.port, timeout=70)
        try:
            headers = {"Content-Type": self.headers.get("Content-Type") or "application/json"}
            connection.request(self.command, self.path, body=body or None, headers=headers)
            answer = connection.getresponse()
            content_type = answer.getheader("Content-Type") or "application/json"
            response = apigw.HttpResponse(
                answer.status, [("Content-Type", content_type)], answer.read()
            )
        except OSError as exc:
            self._json(502, {"error": f"the simulator did not answer: {exc}"})
            return
        finally:
            connection.close()
        self._send(response)

    def _admin(self, raw_path: str, body: bytes) -> None:
        stack = self.server.stack
        if not self._from_loopback():
            return
        parts = [part for part in raw_path[len(ADMIN_PREFIX) :].split("/") if part]
        resource = parts[0] if parts else "health"
        try:
            payload: Any = json.loads(body) if body.strip() else None
        except ValueError:
            self._json(400, {"error": "the body is not JSON"})
            return
        method = self.command
        if resource == "health" and method == "GET" and len(parts) <= 1:
            self._json(200, stack.health())
        elif resource == "faults" and len(parts) == 1:
            if method == "GET":
                self._json(200, stack.faults.snapshot())
            elif method in ("POST", "PUT"):
                if not isinstance(payload, dict):
                    self._json(
                        400,
                        {
                            "error": 'send {"fail_next_callback_writes": N} or '
                            '{"fail_callback_writes_ratio": R, "seed": S}'
                        },
                    )
                    return
                try:
                    state = stack.faults.set(payload)
                except ValueError as exc:
                    self._json(400, {"error": str(exc)})
                    return
                armed = {**state["remaining"], **state["ratios"], "seed": state["seed"]}
                stack.log.warning("fault knob set: %s", json.dumps(armed))
                self._json(200, state)
            elif method == "DELETE":
                self._json(200, stack.faults.clear())
            else:
                self._json(405, {"error": "GET, POST or DELETE"})
        elif resource == "invoke" and len(parts) == 2 and method == "POST":
            self._invoke(parts[1], payload)
        else:
            self._json(404, {"error": "not found"})

    def _invoke(self, function: str, event: Any) -> None:
        stack = self.server.stack
        if function not in stack.pools:
            self._json(404, {"error": f"no function {function}; have {sorted(stack.pools)}"})
            return
        started = time.monotonic()
        try:
            invocation = stack.invoke(function, {} if event is None else event, source="invoke")
        except (FunctionError, Throttled) as exc:
            self._json(
                502,
                {"ok": False, "error": {"errorType": type(exc).__name__, "errorMessage": str(exc)}},
            )
            return
        console = stack.console
        outcome = console.paint("ok", "green") if invocation.ok else console.paint("error", "red")
        elapsed = console.paint(f"{(time.monotonic() - started) * 1000:.0f} ms", "dim")
        tag = console.function_tag(function, invocation.worker)
        console.line(
            f"{console.stamp()} invoke {tag} {outcome} {elapsed} (python -m devstack invoke)"
        )
        self._json(200, invocation_json(invocation))

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self._send(apigw.HttpResponse(status, [("Content-Type", "application/json")], body))


def invocation_json(invocation: Invocation) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": invocation.ok, "duration_ms": invocation.duration_ms}
    if invocation.ok:
        out["result"] = invocation.result
    else:
        out["error"] = invocation.error
    return out


def _known_prefix(stack: Any, raw_path: str) -> str:
    """The path's first segment when a route starts with it (`/calls`), else `/`: an unrouted
    path is the client's text, and may hold a phone number or a token."""
    first = "/" + raw_path.strip("/").split("/")[0]
    known = {"/" + route.path.strip("/").split("/")[0] for route in stack.routes}
    return first if first in known else "/"
