"""The eSMS voice API simulator, driven over HTTP on 127.0.0.1 as a client would drive it."""

from __future__ import annotations

import itertools
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from esms_simulator import (
    CALLBACK_PARAM_NAMES,
    CODE_MESSAGES,
    Composition,
    Delivery,
    EsmsSimulator,
    Fault,
    Rule,
    poll,
)

pytestmark = pytest.mark.integration

API_KEY = "test-key-" + uuid.uuid4().hex[:8]
SECRET_KEY = "test-secret-" + uuid.uuid4().hex[:8]
LOCAL_DIR = Path(__file__).resolve().parents[2] / "local"
_numbers = itertools.count(1)


def new_phone() -> str:
    """A unique valid national number for each use."""
    return f"09{(os.getpid() * 1000 + next(_numbers)) % 10**8:08d}"


class _ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # concurrent callbacks exceed the default backlog of 5


class Receiver:
    """A tiny callback receiver: answers the given statuses in turn (then 200), records paths."""

    def __init__(self, statuses: list[int] | None = None, first_delay: float = 0.0) -> None:
        self.paths: list[str] = []
        self._statuses = list(statuses or [])
        self._first_delay = first_delay
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with receiver._lock:
                    first = not receiver.paths
                    receiver.paths.append(self.path)
                    status = receiver._statuses.pop(0) if receiver._statuses else 200
                if first and receiver._first_delay:
                    time.sleep(receiver._first_delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _ReceiverServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def queries(self) -> list[list[tuple[str, str]]]:
        with self._lock:
            paths = list(self.paths)
        return [parse_qsl(urlsplit(p).query, keep_blank_values=True) for p in paths]

    def send_statuses(self) -> list[str]:
        return [dict(q).get("SendStatus", "") for q in self.queries()]

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        return poll(lambda: len(self.paths) >= count, timeout)


QUICK = (0.01, 0.01, 0.01)  # seconds before SendStatus 2, 7, 5
FAST = Rule(delays=QUICK)


@pytest.fixture
def sim() -> Iterator[EsmsSimulator]:
    with EsmsSimulator(
        api_key=API_KEY,
        secret_key=SECRET_KEY,
        default_rule=FAST,
        resend_backoff=0.01,
        queryable_after=0.0,
        callback_timeout=1.0,
    ) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=5.0) as http:
        yield http


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as started:
        yield started


def call_params(**overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "ApiKey": API_KEY,
        "SecretKey": SECRET_KEY,
        "TemplateId": "rec-" + uuid.uuid4().hex[:6],
        "Phone": new_phone(),
    }
    params.update(overrides)
    return {name: value for name, value in params.items() if value is not None}


def make_call(client: httpx.Client, sim: EsmsSimulator, **params: str | None) -> dict[str, Any]:
    response = client.get(f"{sim.base_url}/MakeCallRecord_V2", params=call_params(**params))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def send_status(client: httpx.Client, sim: EsmsSimulator, reference_id: str) -> dict[str, Any]:
    response = client.get(
        f"{sim.base_url}/GetSendStatus",
        params={"ApiKey": API_KEY, "SecretKey": SECRET_KEY, "ReferenceId": reference_id},
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    assert poll(check, timeout), "condition not met before the deadline"


# --------------------------------------------------------------------------- MakeCallRecord_V2
@pytest.mark.parametrize(
    "credentials",
    [
        {"SecretKey": "wrong"},
        {"ApiKey": "wrong"},
        {"ApiKey": None, "SecretKey": None},
    ],
    ids=["wrong-secret", "wrong-key", "missing"],
)
def test_bad_credentials_are_refused_with_101(
    sim: EsmsSimulator, client: httpx.Client, credentials: dict[str, str | None]
) -> None:
    # Given a simulator that knows one account
    # When a call is placed with wrong or missing credentials
    body = make_call(client, sim, **credentials)
    # Then it is refused as the provider does, and no call exists
    assert body == {"CodeResult": "101", "ErrorMessage": "Authorize Failed"}
    assert sim.calls() == []


def test_accepted_call_answers_smsid_and_records_the_request_as_spelled(
    sim: EsmsSimulator, client: httpx.Client
) -> None:
    # Given every parameter the provider documents, spelled as its page spells them
    params = call_params(
        SendDate="2030/12/12 14:00:00",
        NumberForward="0987654321",
        MaxRepeat="2",
        MaxRetry="1",
        Ivr="1",
        TimeWaitToIvr="10",
        WaitRetry="60",
        CallbackUrl="http://127.0.0.1:9/cb",
        RequestID="req-" + uuid.uuid4().hex,
    )
    # When the call is placed
    response = client.get(f"{sim.base_url}/MakeCallRecord_V2", params=params)
    # Then it is accepted with a string code and an SMSID
    body = response.json()
    assert body["CodeResult"] == "100"
    assert set(body) == {"CodeResult", "SMSID"}
    uuid.UUID(body["SMSID"])
    # And exactly one provider request was recorded, names as sent, credentials masked
    (recorded,) = sim.requests("MakeCallRecord_V2")
    assert recorded.method == "GET"
    assert list(recorded.param_names) == list(params)
    assert recorded.params["ApiKey"] == recorded.params["SecretKey"] == "***"
    assert recorded.params["Phone"] == params["Phone"]
    assert recorded.sms_id == body["SMSID"] and recorded.code == "100"
    assert API_KEY not in recorded.query and SECRET_KEY not in recorded.query
    # And the admin view never shows the credentials either
    admin = client.get(f"{sim.url}/_simulator/requests").text
    assert API_KEY not in admin and SECRET_KEY not in admin


def test_84_prefixed_phone_is_accepted(sim: EsmsSimulator, client: httpx.Client) -> None:
    # Given a number in its 84-prefixed form
    phone = "84" + new_phone()[1:]
    # When it is called, Then the provider accepts it
    assert make_call(client, sim, Phone=phone)["CodeResult"] == "100"


def test_reused_request_id_is_refused_with_124(sim: EsmsSimulator, client: httpx.Client) -> None:
    # Given a call accepted with a RequestID
    request_id = "dup-" + uuid.uuid4().hex
    assert make_call(client, sim, RequestID=request_id)["CodeResult"] == "100"
    # When the same id comes again, even spelled RequestId and for another number
    again = make_call(client, sim, RequestId=request_id)
    # Then it is refused as a duplicate and no second call exists
    assert again["CodeResult"] == "124" and again["ErrorMessage"]
    assert len(sim.calls()) == 1
    # And once the 24 h have passed (forgotten), the id is new again
    sim.forget_request_ids()
    assert make_call(client, sim, RequestID=request_id)["CodeResult"] == "100"


def test_request_id_window_is_configurable(client: httpx.Client) -> None:
    # Given a simulator whose RequestID window is 0.2 s
    with EsmsSimulator(
        api_key=API_KEY, secret_key=SECRET_KEY, default_rule=FAST, request_id_ttl=0.2
    ) as sim:
        request_id = "ttl-" + uuid.uuid4().hex
        assert make_call(client, sim, RequestID=request_id)["CodeResult"] == "100"
        assert make_call(client, sim, RequestID=request_id)["CodeResult"] == "124"
        # When the window has passed, Then the id is accepted again
        wait_until(lambda: make_call(client, sim, RequestID=request_id)["CodeResult"] == "100")
        assert len(sim.calls()) == 2


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("TemplateId", None, "104"),
        ("TemplateId", "", "104"),
        ("Phone", None, "108"),
        ("Phone", "12345", "108"),
        ("Phone", "+84912345678", "108"),
        ("Phone", "091234567", "108"),
        ("NumberForward", "12345", "108"),
        ("SendDate", "2030-12-12 14:00:00", "118"),
        ("SendDate", "2030/02/30 14:00:00", "118"),
        ("SendDate", "12/12/2030 14:00:00", "118"),
        ("Ivr", "12", "118"),
        ("Ivr", "#", "118"),
        ("MaxRetry", "two", "118"),
        ("WaitRetry", "-1", "118"),
        ("MaxRepeat", "1.5", "118"),
        ("TimeWaitToIvr", "x", "118"),
        ("RequestID", "x" * 51, "118"),
    ],
)
def test_invalid_fields_are_refused(
    sim: EsmsSimulator, client: httpx.Client, field: str, value: str | None, code: str
) -> None:
    # Given an otherwise valid request with one bad field
    # When it is sent
    body = make_call(client, sim, **{field: value})
    # Then the provider refuses it with the field's code and a message, and places no call
    assert body["CodeResult"] == code
    assert body["ErrorMessage"]
    assert "SMSID" not in body
    assert sim.calls() == []


@pytest.mark.parametrize("code", ["99", "102", "103", "104", "106", "120", "140", "199"])
def test_rule_forces_a_documented_code_for_one_phone(
    sim: EsmsSimulator, client: httpx.Client, code: str
) -> None:
    # Given a rule that refuses one number with a code
    phone = new_phone()
    sim.add_rule(Rule(phone=phone, code=code))
    # When that number is called, Then the code comes back with its message
    assert make_call(client, sim, Phone=phone) == {
        "CodeResult": code,
        "ErrorMessage": CODE_MESSAGES[code],
    }
    # And another number is still accepted
    assert make_call(client, sim)["CodeResult"] == "100"


def test_rule_forces_an_unknown_code_with_its_message(
    sim: EsmsSimulator, client: httpx.Client
) -> None:
    # Given a rule answering an undocumented code for numbers with a prefix
    prefix = "0977"
    sim.add_rule({"prefix": prefix, "code": "777", "message": "Hệ thống bận"})
    # When such a number is called (in either spelling)
    national = make_call(client, sim, Phone=prefix + "123456")
    international = make_call(client, sim, Phone="84977123457")
    # Then the code and message come back verbatim
    assert national == international == {"CodeResult": "777", "ErrorMessage": "Hệ thống bận"}


def test_rule_with_times_applies_only_that_often(sim: EsmsSimulator, client: httpx.Client) -> None:
    # Given a rule refusing a number once (a pattern match)
    phone = new_phone()
    sim.add_rule(Rule(pattern=re.escape(phone), code="103", times=1))
    # When the number is called twice
    first = make_call(client, sim, Phone=phone)
    second = make_call(client, sim, Phone=phone)
    # Then only the first is refused
    assert (first["CodeResult"], second["CodeResult"]) == ("103", "100")


def test_post_is_not_supported(sim: EsmsSimulator, client: httpx.Client) -> None:
    # Given the provider's GET-only API
    # When a client POSTs the call as JSON
    response = client.post(f"{sim.base_url}/MakeCallRecord_V2", json=call_params())
    # Then it is refused, and no call is placed (the attempt is recorded)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert sim.calls() == []
    assert [r.method for r in sim.requests("MakeCallRecord_V2")] == ["POST"]


def test_unknown_provider_function_is_not_found(sim: EsmsSimulator, client: httpx.Client) -> None:
    # When a client calls a function the simulator does not have, Then it is not found
    response = client.get(f"{sim.base_url}/MakeCallTemplate_V3", params=call_params())
    assert response.status_code == 404


# --------------------------------------------------------------------------- callbacks
def test_callbacks_2_7_5_reach_the_receiver_with_the_provider_names(
    sim: EsmsSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    # Given a number whose call is answered, key 1 pressed, 42 s, at a price
    phone = new_phone()
    sim.add_rule(Rule(phone=phone, duration=42, ivr="1", price="350.5", delays=QUICK))
    # When the call is placed with a CallbackUrl
    sms_id = make_call(client, sim, Phone=phone, CallbackUrl=f"{receiver.url}/cb/abc")["SMSID"]
    # Then three callbacks arrive by GET, SendStatus 2, then 7, then 5
    assert receiver.wait_for(3)
    sim.wait_idle()
    assert receiver.send_statuses() == ["2", "7", "5"]
    assert all(urlsplit(path).path == "/cb/abc" for path in receiver.paths)
    # And each carries exactly the provider's parameter names, in its order
    for query in receiver.queries():
        assert [name for name, _ in query] == list(CALLBACK_PARAM_NAMES)
    assert dict(receiver.queries()[0]) == {
        "ReferenceId": sms_id,
        "CallDuration": "0",
        "CallStatus": "",
        "Ivr": "",
        "Price": "0.0000",
        "SentResult": "0",
        "CID": "02871002454",
        "SendStatus": "2",
    }
    assert dict(receiver.queries()[2]) == {
        "ReferenceId": sms_id,
        "CallDuration": "42",
        "CallStatus": "ANSWERED",
        "Ivr": "1",
        "Price": "350.5000",
        "SentResult": "1",
        "CID": "02871002454",
        "SendStatus": "5",
    }
    # And the simulator recorded each attempt with the receiver's answer
    record = sim.call(sms_id)
    assert record is not None and record.final
    assert [(a.send_status, a.status_code, a.attempt) for a in record.attempts] == [
        (2, 200, 1),
        (7, 200, 1),
        (5, 200, 1),
    ]


def test_failed_call_reports_an_empty_status(
    sim: EsmsSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    # Given a number whose call fails at the carrier, with a custom caller id
    phone = new_phone()
    sim.add_rule(
        Rule(phone=phone, call_status="", cid="02873000000", skip_intermediate=True, delays=QUICK)
    )
    # When it is called
    make_call(client, sim, Phone=phone, CallbackUrl=f"{receiver.url}/cb")
    # Then only the final callback arrives, shaped like the provider's example
    assert receiver.wait_for(1)
    sim.wait_idle()
    (query,) = receiver.queries()
    values = dict(query)
    assert (values["CallDuration"], values["CallStatus"], values["Ivr"]) == ("0", "", "")
    assert (values["Price"], values["SentResult"], values["SendStatus"]) == ("0.0000", "0", "5")
    assert values["CID"] == "02873000000"


@pytest.mark.parametrize(
    ("suffix", "composition", "expected_prefix"),
    [
        ("/cb/t1", None, "/cb/t1?ReferenceId="),
        ("/cb/t2?token=abc", None, "/cb/t2?token=abc&ReferenceId="),
        ("/cb/t3?ReferenceId=&CallDuration=&CallStatus=&Ivr=&Price=&SentResult=&CID=&SendStatus=",
         None, "/cb/t3?ReferenceId=%s&CallDuration=13&CallStatus=ANSWERED&Ivr=&Price="),
        ("/cb/t4?ReferenceId=&CallDuration=&CallStatus=&Ivr=&Price=&SentResult=&CID=&SendStatus=",
         Composition.APPEND, "/cb/t4?ReferenceId=&CallDuration=&"),
    ],
    ids=["appended-with-question-mark", "appended-with-ampersand", "blanks-filled",
         "appended-after-blanks"],
)  # fmt: skip
def test_callback_url_compositions(
    sim: EsmsSimulator,
    client: httpx.Client,
    receiver: Receiver,
    suffix: str,
    composition: Composition | None,
    expected_prefix: str,
) -> None:
    # Given a CallbackUrl of one shape and a number whose callbacks skip the waiting stages
    phone = new_phone()
    sim.add_rule(Rule(phone=phone, skip_intermediate=True, composition=composition, delays=QUICK))
    # When the call is placed
    sms_id = make_call(client, sim, Phone=phone, CallbackUrl=receiver.url + suffix)["SMSID"]
    # Then the callback URL has the expected shape
    assert receiver.wait_for(1)
    (path,) = receiver.paths
    assert path.startswith(expected_prefix.replace("%s", sms_id))
    # And the last non-empty value of each name is the provider's
    values = {name: value for name, value in receiver.queries()[0] if value}
    assert values["ReferenceId"] == sms_id and values["SendStatus"] == "5"
    names = [name for name, _ in receiver.queries()[0]]
    repeats = 2 if composition is Composition.APPEND else 1
    assert all(names.count(name) == repeats for name in CALLBACK_PARAM_NAMES)


def test_callback_answered_500_twice_is_sent_three_times(
    sim: EsmsSimulator, client: httpx.Client
) -> None:
    # Given a receiver that answers 500 twice, then 200
    with Receiver(statuses=[500, 500]) as receiver:
        phone = new_phone()
        sim.add_rule(Rule(phone=phone, skip_intermediate=True, delays=QUICK))
        # When a call's final callback goes to it
        sms_id = make_call(client, sim, Phone=phone, CallbackUrl=f"{receiver.url}/cb")["SMSID"]
        assert sim.wait_idle()
    # Then exactly 3 identical attempts of that callback were made
    attempts = sim.callback_attempts(sms_id)
    assert [(a.attempt, a.status_code) for a in attempts] == [(1, 500), (2, 500), (3, 200)]
    assert len(receiver.paths) == 3 and len(set(receiver.paths)) == 1


def test_callback_always_answered_500_is_given_up_after_5_resends(
    sim: EsmsSimulator, client: httpx.Client
) -> None:
    # Given a receiver that always answers 500
    with Receiver(statuses=[500] * 20) as receiver:
        phone = new_phone()
        sim.add_rule(Rule(phone=phone, skip_intermediate=True, delays=QUICK))
        # When a call's final callback goes to it
        sms_id = make_call(client, sim, Phone=phone, CallbackUrl=f"{receiver.url}/cb")["SMSID"]
        assert sim.wait_idle()
    # Then it was sent once and re-sent 5 times, then abandoned
    assert len(receiver.paths) == 6
    assert [a.attempt for a in sim.callback_attempts(sms_id)] == [1, 2, 3, 4, 5, 6]


def test_callback_timeout_and_connection_error_are_resent(client: httpx.Client) -> None:
    # Given a receiver whose first answer is slower than the simulator waits
    with (
        EsmsSimulator(
            api_key=API_KEY,
            secret_key=SECRET_KEY,
            default_rule=Rule(delays=QUICK, skip_intermediate=True),
            resend_backoff=0.01,
            callback_timeout=0.2,
        ) as sim,
        Receiver(first_delay=0.5) as receiver,
    ):
        # When a call reports to it, and another to a port where nothing listens
        slow = make_call(client, sim, CallbackUrl=f"{receiver.url}/cb")["SMSID"]
        dead = make_call(client, sim, CallbackUrl="http://127.0.0.1:9/cb")["SMSID"]
        assert sim.wait_idle()
    # Then the timed-out callback was re-sent and delivered
    assert [(a.status_code, a.error is not None) for a in sim.callback_attempts(slow)] == [
        (None, True),
        (200, False),
    ]
    # And the unreachable one was tried 6 times
    dead_attempts = sim.callback_attempts(dead)
    assert len(dead_attempts) == 6
    assert all(a.status_code is None and a.error for a in dead_attempts)


def test_duplicated_callbacks_delivered_newest_first(
    sim: EsmsSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    # Given a number whose callbacks are each sent twice and held to arrive in reverse
    phone = new_phone()
    sim.add_rule(Rule(phone=phone, duplicates=2, delivery=Delivery.REVERSED, delays=QUICK))
    # When it is called
    make_call(client, sim, Phone=phone, CallbackUrl=f"{receiver.url}/cb")
    # Then the receiver sees 5, 5, 7, 7, 2, 2
    assert receiver.wait_for(6)
    assert sim.wait_idle()
    assert receiver.send_statuses() == ["5", "5", "7", "7", "2", "2"]


def test_concurrent_delivery_sends_everything_at_once(
    sim: EsmsSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    # Given a number whose 3 callbacks are each sent 3 times concurrently
    phone = new_phone()
    sim.add_rule(Rule(phone=phone, duplicates=3, delivery=Delivery.CONCURRENT, delays=QUICK))
    # When it is called
    sms_id = make_call(client, sim, Phone=phone, CallbackUrl=f"{receiver.url}/cb")["SMSID"]
    # Then all 9 arrive, 3 of each SendStatus
    assert receiver.wait_for(9)
    assert sim.wait_idle()
    assert sorted(receiver.send_statuses()) == ["2"] * 3 + ["5"] * 3 + ["7"] * 3
    assert {a.copy for a in sim.callback_attempts(sms_id)} == {1, 2, 3}


def test_dropped_callbacks_leave_get_send_status_to_settle_the_call(
    sim: EsmsSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    # Given a number whose callbacks are all lost
    phone = new_phone()
    sim.add_rule(Rule(phone=phone, drop_callbacks=True, duration=7, delays=QUICK))
    # When it is called
    sms_id = make_call(client, sim, Phone=phone, CallbackUrl=f"{receiver.url}/cb")["SMSID"]
    sim.wait_for_call(sms_id)
    assert sim.wait_idle()
    # Then nothing reached the receiver, but the status query tells the outcome
    assert receiver.paths == []
    status = send_status(client, sim, sms_id)
    assert (status["SendStatus"], status["CallStatus"], status["CallDuration"]) == (
        5,
        "ANSWERED",
        7,
    )


def test_future_send_date_holds_the_call_when_honoured(
    client: httpx.Client, receiver: Receiver
) -> None:
    # Given a simulator that honours SendDate
    with EsmsSimulator(
        api_key=API_KEY, secret_key=SECRET_KEY, default_rule=FAST, honor_send_date=True
    ) as sim:
        # When a call is scheduled for next year
        next_year = time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(time.time() + 366 * 86400))
        sms_id = make_call(client, sim, SendDate=next_year, CallbackUrl=f"{receiver.url}/cb")
        # Then only "waiting to send" is reported meanwhile
        assert receiver.wait_for(1)
        assert not sim.wait_idle(timeout=0.2)
        assert receiver.send_statuses() == ["2"]
        record = sim.call(sms_id["SMSID"])
        assert record is not None and record.send_status == 2


# --------------------------------------------------------------------------- GetSendStatus
def test_get_send_status_answers_105_then_the_final_state(
    sim: EsmsSimulator, client: httpx.Client
) -> None:
    # Given calls become queryable 0.3 s after acceptance, and a number nobody answers
    sim.update_settings(queryable_after=0.3)
    phone = new_phone()
    sim.add_rule(Rule(phone=phone, call_status="NO ANSWER", delays=QUICK))
    sms_id = make_call(client, sim, Phone=phone)["SMSID"]
    # When the status is asked at once
    early = send_status(client, sim, sms_id)
    # Then the id is not known yet
    assert early["CodeResult"] == "105" and early["CountRegenerate"] == 0
    assert early["ErrorMessage"]
    # And asked again later, the final state comes with numbers as numbers
    final: dict[str, Any] = {}

    def settled() -> bool:
        final.clear()
        final.update(send_status(client, sim, sms_id))
        return final.get("SendStatus") == 5

    wait_until(settled)
    assert final == {
        "CallDuration": 0,
        "CallStatus": "NOANSWERED",
        "CodeResponse": "100",
        "Ivr": "",
        "ReferenceId": sms_id.upper(),
        "SendStatus": 5,
        "SentResult": 1,
    }


def test_get_send_status_shows_the_waiting_state(sim: EsmsSimulator, client: httpx.Client) -> None:
    # Given a call whose report takes a while
    phone = new_phone()
    sim.add_rule(Rule(phone=phone, delays=(0.0, 0.0, 5.0)))
    sms_id = make_call(client, sim, Phone=phone)["SMSID"]
    sim.wait_for_call(sms_id, send_status=7)
    # When its status is asked before the report
    status = send_status(client, sim, sms_id)
    # Then it is sent, waiting for the report, with no result yet
    assert (status["CodeResponse"], status["SendStatus"], status["CallStatus"]) == ("100", 7, "")


def test_get_send_status_refuses_bad_credentials_and_unknown_ids(
    sim: EsmsSimulator, client: httpx.Client
) -> None:
    # Given an accepted call
    sms_id = make_call(client, sim)["SMSID"]
    # When its status is asked with a wrong secret, Then 101 comes in the status API's shape
    wrong = client.get(
        f"{sim.base_url}/GetSendStatus",
        params={"ApiKey": API_KEY, "SecretKey": "nope", "ReferenceId": sms_id},
    ).json()
    assert wrong == {"CodeResult": "101", "CountRegenerate": 0, "ErrorMessage": "Authorize Failed"}
    # And an id nobody issued is not found
    assert send_status(client, sim, str(uuid.uuid4()))["CodeResult"] == "105"


# --------------------------------------------------------------------------- transport faults
def test_disconnect_after_acceptance_then_retry_gets_124(
    sim: EsmsSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    # Given a number whose first answer is lost although the call goes through
    phone = new_phone()
    sim.add_rule(Rule(phone=phone, fault=Fault.DISCONNECT, times=1, delays=QUICK))
    params = call_params(Phone=phone, RequestID="rid-" + uuid.uuid4().hex)
    params["CallbackUrl"] = f"{receiver.url}/cb"
    # When the client calls and gets no answer
    with pytest.raises(httpx.RemoteProtocolError):
        client.get(f"{sim.base_url}/MakeCallRecord_V2", params=params)
    # Then the call exists and reports back
    (record,) = sim.calls()
    assert receiver.wait_for(3)
    # And the client's retry with the same RequestID is told it is a duplicate
    retry = client.get(f"{sim.base_url}/MakeCallRecord_V2", params=params).json()
    assert retry["CodeResult"] == "124"
    assert len(sim.calls()) == 1
    assert all(q[0] == ("ReferenceId", record.sms_id) for q in receiver.queries())


def test_slow_answer_times_out_and_a_concurrent_repeat_gets_199(
    sim: EsmsSimulator, client: httpx.Client
) -> None:
    # Given a number whose accepted call is answered only after 0.6 s
    phone = new_phone()
    sim.add_rule(Rule(phone=phone, response_delay=0.6))
    params = call_params(Phone=phone, RequestID="slow-" + uuid.uuid4().hex)
    # When the client gives up after 0.2 s and sends the request again at once
    with pytest.raises(httpx.ReadTimeout):
        client.get(f"{sim.base_url}/MakeCallRecord_V2", params=params, timeout=0.2)
    during = client.get(f"{sim.base_url}/MakeCallRecord_V2", params=params).json()
    # Then the repeat is told the request is being processed, and later that it exists
    assert during["CodeResult"] == "199"
    wait_until(lambda: sim.requests("MakeCallRecord_V2")[0].answered_at is not None)
    later = client.get(f"{sim.base_url}/MakeCallRecord_V2", params=params).json()
    assert later["CodeResult"] == "124"


@pytest.mark.parametrize(("fault", "status"), [(Fault.HTTP_500, 500), (Fault.GARBAGE, 200)])
def test_fault_answers(sim: EsmsSimulator, client: httpx.Client, fault: Fault, status: int) -> None:
    # Given a number whose answer is broken and whose call is not placed
    phone = new_phone()
    sim.add_rule(Rule(phone=phone, fault=fault, fault_accepts=False))
    # When it is called
    response = client.get(f"{sim.base_url}/MakeCallRecord_V2", params=call_params(Phone=phone))
    # Then the answer is not JSON, and no call exists
    assert response.status_code == status
    with pytest.raises(ValueError):
        response.json()
    assert sim.calls() == []


# --------------------------------------------------------------------------- admin endpoints
def test_admin_endpoints_drive_and_inspect_the_simulator(
    sim: EsmsSimulator, client: httpx.Client, receiver: Receiver
) -> None:
    admin = f"{sim.url}/_simulator"
    refused, unanswered = new_phone(), new_phone()
    # Given rules set over HTTP: one refusal, a default that nobody answers
    put = client.put(
        f"{admin}/rules",
        json={
            "rules": [{"phone": refused, "code": "103"}],
            "default": {"call_status": "NO ANSWER", "delays": [0.01, 0.01, 0.01]},
        },
    )
    assert put.status_code == 200
    # And one more rule added on top
    added = client.post(f"{admin}/rules", json={"phone": unanswered, "call_status": "FAILED"})
    assert added.status_code == 201
    # When calls are placed
    assert make_call(client, sim, Phone=refused)["CodeResult"] == "103"
    sms_id = make_call(client, sim, CallbackUrl=f"{receiver.url}/cb")["SMSID"]
    assert make_call(client, sim, Phone=unanswered)["CodeResult"] == "100"
    assert client.post(f"{admin}/wait-idle", params={"timeout": "5"}).json() == {"idle": True}
    # Then the rules show their use
    rules = client.get(f"{admin}/rules").json()
    assert [(r["phone"], r["used"]) for r in rules["rules"]] == [(unanswered, 1), (refused, 1)]
    assert rules["default"]["call_status"] == "NO ANSWER"
    # And the calls list both accepted calls, one with its callback attempts
    calls = client.get(f"{admin}/calls").json()["calls"]
    assert len(calls) == 2
    one = client.get(f"{admin}/calls/{sms_id}").json()
    assert one["final"] is True and one["outcome"]["call_status"] == "NO ANSWER"
    assert [c["send_status"] for c in one["callbacks"]] == [2, 7, 5]
    assert client.get(f"{admin}/calls/{uuid.uuid4()}").status_code == 404
    callbacks = client.get(f"{admin}/callbacks", params={"sms_id": sms_id}).json()["callbacks"]
    assert [c["status_code"] for c in callbacks] == [200, 200, 200]
    # And the requests are listed, filtered by API, credentials masked
    requests = client.get(f"{admin}/requests", params={"api": "MakeCallRecord_V2"}).json()
    assert [r["code"] for r in requests["requests"]] == ["103", "100", "100"]
    assert all(r["params"]["SecretKey"] == "***" for r in requests["requests"])
    # And settings can be read and changed; bad input is refused
    patched = client.patch(f"{admin}/settings", json={"queryable_after": 0.5})
    assert patched.json()["queryable_after"] == 0.5
    assert client.patch(f"{admin}/settings", json={"api_key": "x"}).status_code == 400
    assert client.put(f"{admin}/rules", json=[{"colour": "red"}]).status_code == 400
    assert client.put(f"{admin}/rules", content=b"not json").status_code == 400
    assert client.get(f"{admin}/nothing-here").status_code == 404
    assert client.delete(f"{admin}/calls").status_code == 405
    # When the simulator is reset
    assert client.post(f"{admin}/reset").status_code == 200
    # Then it is as started: no calls, no requests, start-up rules and settings
    assert client.get(f"{admin}/calls").json() == {"calls": []}
    assert client.get(f"{admin}/requests").json() == {"requests": []}
    assert client.get(f"{admin}/rules").json()["rules"] == []
    assert client.get(f"{admin}/settings").json()["queryable_after"] == 0.0


def test_admin_forgets_request_ids(sim: EsmsSimulator, client: httpx.Client) -> None:
    # Given a RequestID already used
    request_id = "forget-" + uuid.uuid4().hex
    make_call(client, sim, RequestID=request_id)
    # When the simulator is told to forget RequestIDs
    assert client.delete(f"{sim.url}/_simulator/request-ids").status_code == 200
    # Then the id is accepted again
    assert make_call(client, sim, RequestID=request_id)["CodeResult"] == "100"


# --------------------------------------------------------------------------- lifecycle
def test_stop_cancels_pending_callbacks_promptly(client: httpx.Client, receiver: Receiver) -> None:
    # Given a call whose callbacks are seconds away
    sim = EsmsSimulator(
        api_key=API_KEY, secret_key=SECRET_KEY, default_rule=Rule(delays=(5.0, 5.0, 5.0))
    ).start()
    try:
        make_call(client, sim, CallbackUrl=f"{receiver.url}/cb")
    finally:
        # When the simulator stops
        started = time.monotonic()
        sim.stop()
    # Then it stops at once and no callback is sent
    assert time.monotonic() - started < 1.0
    assert receiver.paths == []


def test_stop_with_drain_lets_callbacks_finish(client: httpx.Client, receiver: Receiver) -> None:
    # Given a call whose callbacks are pending
    sim = EsmsSimulator(api_key=API_KEY, secret_key=SECRET_KEY, default_rule=FAST).start()
    try:
        make_call(client, sim, CallbackUrl=f"{receiver.url}/cb")
    finally:
        # When the simulator stops with drain
        sim.stop(drain=True)
    # Then every callback was delivered first
    assert receiver.send_statuses() == ["2", "7", "5"]


def test_config_from_environment_and_rules(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    # Given a configuration in the environment with a rule refusing one number
    from esms_simulator import load_config

    phone = new_phone()
    monkeypatch.setenv("ESMS_SIM_API_KEY", API_KEY)
    monkeypatch.setenv("ESMS_SIM_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv(
        "ESMS_SIM_CONFIG_JSON", f'{{"rules": [{{"phone": "{phone}", "code": "99"}}]}}'
    )
    # When a simulator starts from it
    with EsmsSimulator(load_config()) as sim:
        # Then the rule applies and other numbers are accepted
        assert make_call(client, sim, Phone=phone)["CodeResult"] == "99"
        assert make_call(client, sim)["CodeResult"] == "100"


def test_cli_serves_standalone_and_never_logs_credentials(
    client: httpx.Client, tmp_path: Path
) -> None:
    # Given the simulator started as a program on an ephemeral port
    env = {**os.environ, "PYTHONPATH": str(LOCAL_DIR)}
    url_file = tmp_path / "simulator-url"
    command = [sys.executable, "-m", "esms_simulator", "--port", "0", "--url-file", str(url_file)]
    command += ["--api-key", API_KEY, "--secret-key", SECRET_KEY]
    process = subprocess.Popen(
        command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        base_url = ""
        deadline = time.monotonic() + 10
        while not base_url and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            output.append(line)
            found = re.search(r"listening on (\S+)", line)
            base_url = found.group(1) if found else ""
        assert base_url.endswith("/MainService.svc/json")
        wait_until(url_file.exists)
        assert url_file.read_text().strip() + "/MainService.svc/json" == base_url
        # When a client places a call through it
        response = client.get(f"{base_url}/MakeCallRecord_V2", params=call_params())
        # Then it is accepted
        assert response.json()["CodeResult"] == "100"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        reader.join(timeout=5)
    # And it stopped cleanly, its log readable and free of the credentials
    while not lines.empty():
        output.append(lines.get())
    log = "".join(output)
    assert process.returncode == 0
    assert "MakeCallRecord_V2" in log and "SMSID=" in log
    assert API_KEY not in log and SECRET_KEY not in log


def test_get_balance_answers_the_configured_balance_to_a_json_post(
    sim: EsmsSimulator, client: httpx.Client
) -> None:
    # Given a balance set through the admin API
    changed = client.patch(f"{sim.url}/_simulator/settings", json={"balance": 123456.5})
    assert changed.json()["balance"] == 123456.5
    url = f"{sim.base_url}/GetBalance_json/"

    # When a client posts its credentials, right and wrong, or tries a GET
    ok = client.post(url, json={"ApiKey": API_KEY, "SecretKey": SECRET_KEY})
    wrong = client.post(url, json={"ApiKey": API_KEY, "SecretKey": "nope"})
    get = client.get(url, params={"ApiKey": API_KEY, "SecretKey": SECRET_KEY})

    # Then the provider's answers: the balance, 101, and POST only
    assert ok.json() == {"Balance": 123456.5, "CodeResponse": "100", "UserID": 1}
    assert wrong.json()["CodeResponse"] == "101"
    assert (get.status_code, get.headers["Allow"]) == (405, "POST")
    # ... and the recorded requests hold no credential
    recorded = sim.requests("GetBalance_json")
    assert [r.code for r in recorded if r.method == "POST"] == ["100", "101"]
    assert SECRET_KEY not in repr(recorded)


def test_get_balance_fails_as_configured(sim: EsmsSimulator, client: httpx.Client) -> None:
    # Given the balance answer set to fail with a server error
    client.patch(f"{sim.url}/_simulator/settings", json={"balance_fault": "http_500"})

    # When a client asks
    answer = client.post(
        f"{sim.base_url}/GetBalance_json/", json={"ApiKey": API_KEY, "SecretKey": SECRET_KEY}
    )

    # Then it gets a 500, and an unknown fault name is refused
    assert answer.status_code == 500
    refused = client.patch(f"{sim.url}/_simulator/settings", json={"balance_fault": "fire"})
    assert refused.status_code == 400
