"""`esms-calls`: the arguments, the choice of authorisation, and one line per failure."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO
from urllib.parse import urlsplit

import httpx

from esms_calls_cli import commands, render
from esms_calls_cli.api import CallsApi
from esms_calls_cli.auth import BearerAuth, iam_auth
from esms_calls_cli.errors import EXIT_REFUSED, BadInput, CliError, ProblemAnswer

DEFAULT_API_URL = "http://127.0.0.1:3000"
STATUSES = ("PENDING", "ACCEPTED", "WAITING", "REPORT_PENDING", "COMPLETED", "FAILED", "EXPIRED")
VOICES = ("male", "female", "hatieumai", "ngoclam")

Command = Callable[[CallsApi, argparse.Namespace, commands.Io], int]


def _api_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL, e.g. {DEFAULT_API_URL}")
    return text


def _positive(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _common_options(with_defaults: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after its name. The subcommands' copy has no
    defaults: argparse would otherwise overwrite a value given before the command name."""

    def default(value: object) -> object:
        return value if with_defaults else argparse.SUPPRESS

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--api-url",
        default=default(os.environ.get("ESMS_CALLS_API_URL", DEFAULT_API_URL)),
        type=_api_url,
        help="the API (env ESMS_CALLS_API_URL; default http://127.0.0.1:3000, make run's stack)",
    )
    common.add_argument(
        "--auth",
        choices=("none", "iam", "token"),
        default=default(None),
        help="none (default on loopback), iam (SigV4 from the AWS credential chain; default "
        "elsewhere), token (a bearer token; default when one is given)",
    )
    common.add_argument(
        "--token",
        default=default(os.environ.get("ESMS_CALLS_TOKEN")),
        help="bearer token for the JWT authorizer (env ESMS_CALLS_TOKEN)",
    )
    common.add_argument(
        "--region",
        default=default(None),
        help="AWS region for SigV4 (default: from the URL, or the chain's)",
    )
    common.add_argument("--profile", default=default(None), help="AWS profile for SigV4")
    common.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print the API's JSON, for scripts",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(with_defaults=False)
    parser = argparse.ArgumentParser(
        prog="esms-calls",
        description="Place, find and follow voice calls and batches through the eSMS calls API.",
        parents=[_common_options(with_defaults=True)],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Command, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help, description=help)
        p.set_defaults(run=run)
        return p

    def script_options(p: argparse.ArgumentParser) -> None:
        what = p.add_mutually_exclusive_group(required=True)
        what.add_argument("--template-id", help="the recording to play")
        what.add_argument("--tts-template", metavar="SCRIPT", help="the script to speak (tts)")
        p.add_argument("--voice", choices=VOICES, help="tts voice")
        p.add_argument("--speed", type=int, choices=range(-3, 4), metavar="-3..3", help="tts speed")

    place = command("place", commands.place, "place one call")
    place.add_argument("--phone", required=True, help="a Vietnamese number, any spelling")
    script_options(place)
    place.add_argument(
        "--var",
        action="append",
        metavar="VALUE",
        help="a script variable, in order (repeat the option)",
    )
    place.add_argument(
        "--sensitive",
        action="store_true",
        help="the variables are a secret (a one-time code): never stored",
    )
    place.add_argument("--request-id", help="idempotency key (default: a new one, printed)")
    place.add_argument("--send-at", help="ISO-8601 time to ring (naive = Vietnam time)")

    get = command("get", commands.get, "show one call")
    get.add_argument("call_id", metavar="CALL_ID")

    listing = command("list", commands.list_calls, "find calls (newest first)")
    listing.add_argument("--request-id")
    listing.add_argument("--batch-id")
    listing.add_argument("--phone", help="any spelling finds the same calls")
    listing.add_argument("--status", help=f"one or several, comma-separated: {','.join(STATUSES)}")
    listing.add_argument("--from", dest="from_", metavar="TIME", help="ISO-8601 lower bound")
    listing.add_argument("--to", metavar="TIME", help="ISO-8601 upper bound")
    listing.add_argument("--limit", type=int, help="calls per page, 1-100")
    listing.add_argument("--cursor", help="the next page of an earlier listing")
    listing.add_argument("--all", action="store_true", help="follow the cursors to the last page")

    batch = command("batch", commands.batch, "place the calls of a CSV file as one batch")
    batch.add_argument(
        "file",
        metavar="FILE.csv",
        help="a `phone` column; script variables in "
        "var1..varN columns or one `variables` column joined by ||",
    )
    script_options(batch)
    batch.add_argument("--batch-id", help="idempotency key (default: a new one, printed)")
    batch.add_argument("--name", help="the batch's name")

    watch = command("watch", commands.watch, "follow a call or a batch to its end")
    watch.add_argument("call_id", metavar="CALL_ID", nargs="?")
    watch.add_argument("--batch", metavar="BATCH_ID")
    watch.add_argument("--interval", type=_positive, default=1.0, help="seconds between reads")
    watch.add_argument(
        "--timeout",
        type=_positive,
        default=600.0,
        help="give up (exit 3) after this many seconds (default %(default)g)",
    )
    return parser


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def choose_auth(args: argparse.Namespace) -> httpx.Auth | None:
    mode = args.auth or ("token" if args.token else "none" if is_loopback(args.api_url) else "iam")
    if mode == "token":
        if not args.token:
            raise BadInput("--auth token needs --token or ESMS_CALLS_TOKEN")
        return BearerAuth(args.token)
    if mode == "iam":
        return iam_auth(args.api_url, args.region, args.profile)
    return None


def run(
    argv: Sequence[str],
    stdout: TextIO,
    stderr: TextIO,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """The whole command; the transport and clock are the tests' (an httpx MockTransport)."""
    args = build_parser().parse_args(argv)
    io = commands.Io(stdout, stderr, clock=clock)
    try:
        with CallsApi(args.api_url, auth=choose_auth(args), transport=transport) as api:
            code: int = args.run(api, args, io)
            return code
    except CliError as error:
        line = render.problem_line(error) if isinstance(error, ProblemAnswer) else f"error: {error}"
        stderr.write("\n".join([line, *getattr(error, "__notes__", [])]) + "\n")
        return error.exit_code
    except KeyboardInterrupt:
        stderr.write("interrupted\n")
        return 130


def main() -> int:
    try:
        return run(sys.argv[1:], sys.stdout, sys.stderr)
    except BrokenPipeError:  # `esms-calls list --all | head`
        return EXIT_REFUSED
