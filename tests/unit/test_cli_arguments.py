"""`esms-calls` arguments: what each command sends, which authorisation it picks, and the usage
errors it stops before sending anything."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.support.cli import problem, run_cli

pytestmark = pytest.mark.unit

NO_CALLS = {"items": [], "next_cursor": None}
ACCEPTED = {"call_id": "c1", "request_id": "r1", "sms_id": "s1", "status": "ACCEPTED"}


def accepted(request: httpx.Request) -> httpx.Response:
    return httpx.Response(202, json=ACCEPTED)


def test_place_sends_a_recording_call_with_its_options() -> None:
    # When a recording call is placed with a request id and a send time
    result = run_cli(
        "place", "--phone", "+84 912 345 678", "--template-id", "123",
        "--request-id", "order-1042", "--send-at", "2030-01-02T09:00:00", answer=accepted,
    )  # fmt: skip
    # Then POST /calls gets exactly those fields, and the answer is one line
    assert result.code == 0, result.stderr
    [request] = result.requests
    assert (request.method, request.url.path) == ("POST", "/calls")
    assert result.body() == {
        "phone": "+84 912 345 678",
        "template_id": "123",
        "request_id": "order-1042",
        "send_at": "2030-01-02T09:00:00",
    }
    assert result.stdout == "call c1  request r1  ACCEPTED\n"


def test_place_speaks_a_script_with_its_variables_in_order() -> None:
    result = run_cli(
        "place", "--phone", "0912345678", "--tts-template", "REMIND1",
        "--var", "Lan", "--var", "14:00", "--voice", "female", "--speed", "-1", answer=accepted,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.body()["tts"] == {
        "template_id": "REMIND1",
        "variables": ["Lan", "14:00"],
        "voice": "female",
        "speed": -1,
    }
    assert "template_id" not in result.body()


def test_place_without_a_request_id_sends_one_of_its_own() -> None:
    # Given two placements without --request-id
    first = run_cli("place", "--phone", "0912345678", "--template-id", "1", answer=accepted)
    second = run_cli("place", "--phone", "0912345678", "--template-id", "1", answer=accepted)
    # Then each carries a fresh id chosen by the client (so a retry can name it)
    ids = {first.body()["request_id"], second.body()["request_id"]}
    assert len(ids) == 2 and all(0 < len(i) <= 50 for i in ids)


def test_a_lost_answer_names_the_request_id_that_makes_a_retry_safe() -> None:
    def no_answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    result = run_cli("place", "--phone", "0912345678", "--template-id", "1", answer=no_answer)
    request_id = result.body()["request_id"]
    assert result.code == 2
    assert result.stderr.splitlines() == [
        "error: no answer from http://127.0.0.1:3000 in time",
        f"retry with --request-id {request_id}: nothing is placed twice",
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["place", "--phone", "0912345678"],  # neither a recording nor a script
        ["place", "--phone", "0912345678", "--template-id", "1", "--tts-template", "OTP1"],
        ["place", "--template-id", "1"],  # no phone
        ["place", "--phone", "0912345678", "--tts-template", "OTP1", "--speed", "9"],
        ["list", "--limit", "many"],
        ["watch", "c1", "--timeout", "-1"],
        ["--api-url", "localhost:3000", "get", "c1"],  # no scheme
    ],
)
def test_usage_errors_send_nothing(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # When the arguments do not make a request
    with pytest.raises(SystemExit) as stopped:
        run_cli(*argv)
    # Then argparse's usage error (exit 2) is all that happens
    assert stopped.value.code == 2
    assert "usage: esms-calls" in capsys.readouterr().err


def test_script_variables_without_a_script_are_refused_before_sending() -> None:
    result = run_cli("place", "--phone", "0912345678", "--template-id", "1", "--var", "x")
    assert result.code == 1 and result.requests == []
    assert (
        result.stderr == "error: --var, --voice, --speed and --sensitive go with --tts-template\n"
    )


def test_watch_needs_a_call_or_a_batch_but_not_both() -> None:
    assert run_cli("watch").stderr.startswith("error: watch takes a CALL_ID or --batch")
    assert run_cli("watch", "c1", "--batch", "b1").code == 1


def test_list_sends_every_filter_as_the_api_names_it() -> None:
    # When every filter of GET /calls is given
    result = run_cli(
        "list", "--request-id", "r1", "--batch-id", "b1", "--phone", "+84 912 345 678",
        "--status", "FAILED,EXPIRED", "--from", "2026-12-01T00:00:00", "--to", "2026-12-02",
        "--limit", "20", answer=lambda r: httpx.Response(200, json=NO_CALLS),
    )  # fmt: skip
    # Then the query holds each under its API name, values intact
    [request] = result.requests
    assert request.url.path == "/calls"
    assert dict(parse_qsl(urlsplit(str(request.url)).query)) == {
        "request_id": "r1",
        "batch_id": "b1",
        "phone": "+84 912 345 678",
        "status": "FAILED,EXPIRED",
        "from": "2026-12-01T00:00:00",
        "to": "2026-12-02",
        "limit": "20",
    }
    assert result.stderr == "no calls match\n"


def test_list_all_follows_the_cursors_to_the_last_page() -> None:
    # Given a listing of three pages
    pages = {
        None: {"items": [{"call_id": "a"}], "next_cursor": "p2"},
        "p2": {"items": [{"call_id": "b"}], "next_cursor": "p3"},
        "p3": {"items": [{"call_id": "c"}], "next_cursor": None},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params.get("cursor")])

    # When all of it is asked for, as JSON
    result = run_cli("--json", "list", "--status", "COMPLETED", "--all", answer=answer)
    # Then every page was read with the same filter, and the calls come out as one list
    assert [r.url.params.get("cursor") for r in result.requests] == [None, "p2", "p3"]
    assert {r.url.params["status"] for r in result.requests} == {"COMPLETED"}
    assert '"call_id": "c"' in result.stdout and '"next_cursor": null' in result.stdout


def test_one_page_says_how_to_get_the_next() -> None:
    answer = httpx.Response(200, json={"items": [{"call_id": "a"}], "next_cursor": "p2"})
    result = run_cli("list", answer=lambda r: answer)
    assert len(result.requests) == 1
    assert result.stderr == "more calls: add --all, or --cursor p2\n"


@pytest.mark.parametrize("where", ["before", "after"])
def test_common_options_work_before_or_after_the_command(where: str) -> None:
    options = ["--api-url", "http://127.0.0.1:9/base/", "--json"]
    argv = [*options, "get", "c1"] if where == "before" else ["get", "c1", *options]
    result = run_cli(*argv, answer=lambda r: httpx.Response(200, json={"call_id": "c1"}))
    assert str(result.requests[0].url) == "http://127.0.0.1:9/base/calls/c1"
    assert result.stdout.startswith("{")


def test_the_api_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESMS_CALLS_API_URL", "http://localhost:4000")
    result = run_cli("get", "c1", answer=lambda r: problem(404, "not-found", "no such call"))
    assert result.requests[0].url.host == "localhost" and result.requests[0].url.port == 4000


def test_loopback_urls_send_no_authorization() -> None:
    result = run_cli("get", "c1", answer=lambda r: httpx.Response(200, json={}))
    assert "Authorization" not in result.requests[0].headers


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_token_is_sent_as_a_bearer(how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a token, on the command line or in ESMS_CALLS_TOKEN
    argv = ["--api-url", "https://calls.example.com", "get", "c1"]
    if how == "option":
        argv += ["--token", "eyJ.token"]
    else:
        monkeypatch.setenv("ESMS_CALLS_TOKEN", "eyJ.token")
    # When a call is read from a deployed API
    result = run_cli(*argv, answer=lambda r: httpx.Response(200, json={}))
    # Then the token is the bearer: no AWS credentials are looked for
    assert result.requests[0].headers["Authorization"] == "Bearer eyJ.token"


def test_a_token_mode_without_a_token_is_refused() -> None:
    result = run_cli("--auth", "token", "get", "c1")
    assert (result.code, result.requests) == (1, [])
    assert result.stderr == "error: --auth token needs --token or ESMS_CALLS_TOKEN\n"


def test_other_urls_are_signed_with_the_credential_chain() -> None:
    # Given the test run's AWS credentials in the environment, and a deployed API's URL
    url = "https://a1b2c3.execute-api.ap-southeast-1.amazonaws.com"
    # When a call is read with no --auth
    result = run_cli("--api-url", url, "get", "c1", answer=lambda r: httpx.Response(200, json={}))
    # Then it is SigV4-signed for execute-api in the URL's region
    authorization = result.requests[0].headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/ap-southeast-1/execute-api/aws4_request" in authorization
    assert result.requests[0].headers["X-Amz-Security-Token"] == "testing"


def test_no_credentials_for_iam_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = run_cli("--auth", "iam", "get", "c1")
    assert (result.code, result.requests) == (1, [])
    assert result.stderr.startswith("error: --auth iam: no AWS credentials found")
