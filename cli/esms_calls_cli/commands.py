"""One function per command: arguments in, API calls, what to print out; the exit code back."""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from esms_calls_cli import render
from esms_calls_cli.api import CallsApi
from esms_calls_cli.batch_file import read_batch_file
from esms_calls_cli.errors import EXIT_TIMED_OUT, ApiUnreachable, BadInput, ProblemAnswer
from esms_calls_cli.progress import ProgressLine


@dataclass
class Io:
    stdout: TextIO
    stderr: TextIO
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def new_id() -> str:
    """A request or batch id chosen here, not by the API, so that a retry after a lost answer
    (with the id printed in the error) places nothing twice. 36 characters: fits both."""
    return f"cli-{uuid.uuid4().hex}"


def _tts(args: argparse.Namespace, variables: list[str] | None) -> dict[str, Any]:
    tts: dict[str, Any] = {"template_id": args.tts_template}
    if variables is not None:
        tts["variables"] = variables
    if args.voice:
        tts["voice"] = args.voice
    if args.speed is not None:
        tts["speed"] = args.speed
    if getattr(args, "sensitive", False):
        tts["sensitive"] = True
    return tts


@contextmanager
def _retry_hint(option: str, value: str) -> Iterator[None]:
    """When the outcome is unknown (no answer, or the API could not finish), the same id makes the
    retry safe: say which it was. Refusals (4xx) are final for that id and get no hint."""
    try:
        yield
    except (ApiUnreachable, ProblemAnswer) as error:
        if isinstance(error, ApiUnreachable) or error.status >= 500:
            error.add_note(f"retry with {option} {value}: nothing is placed twice")
        raise


def place(api: CallsApi, args: argparse.Namespace, io: Io) -> int:
    body: dict[str, Any] = {"phone": args.phone, "request_id": args.request_id or new_id()}
    if args.tts_template:
        body["tts"] = _tts(args, args.var)
    elif args.var or args.voice or args.speed is not None or args.sensitive:
        raise BadInput("--var, --voice, --speed and --sensitive go with --tts-template")
    else:
        body["template_id"] = args.template_id
    if args.send_at:
        body["send_at"] = args.send_at
    with _retry_hint("--request-id", body["request_id"]):
        answer = api.place_call(body)
    io.stdout.write((render.as_json(answer) if args.json else render.placed_call(answer)) + "\n")
    return 0


def get(api: CallsApi, args: argparse.Namespace, io: Io) -> int:
    call = api.get_call(args.call_id)
    io.stdout.write((render.as_json(call) if args.json else render.call_record(call)) + "\n")
    return 0


LIST_FILTERS = {
    "request_id": "request_id",
    "batch_id": "batch_id",
    "phone": "phone",
    "status": "status",
    "from_": "from",
    "to": "to",
    "limit": "limit",
    "cursor": "cursor",
}


def list_calls(api: CallsApi, args: argparse.Namespace, io: Io) -> int:
    params = {
        query: str(value)
        for attribute, query in LIST_FILTERS.items()
        if (value := getattr(args, attribute)) is not None
    }
    pages = api.list_calls(params)
    first = next(pages)
    items = list(first["items"])
    if args.all:
        for page in pages:
            items += page["items"]
    next_cursor = None if args.all else first.get("next_cursor")
    if args.json:
        io.stdout.write(render.as_json({"items": items, "next_cursor": next_cursor}) + "\n")
        return 0
    for row in render.call_rows(items):
        io.stdout.write(row + "\n")
    if not items:
        io.stderr.write("no calls match\n")
    if next_cursor:
        io.stderr.write(f"more calls: add --all, or --cursor {next_cursor}\n")
    return 0


def batch(api: CallsApi, args: argparse.Namespace, io: Io) -> int:
    rows = read_batch_file(Path(args.file))
    if args.tts_template:
        defaults: dict[str, Any] = {"tts": _tts(args, None)}
        entries: list[Any] = [
            {"phone": row.phone, "tts": {"variables": row.variables}}
            if row.variables
            else row.phone
            for row in rows
        ]
    else:
        with_variables = [row.line for row in rows if row.variables]
        if with_variables:
            raise BadInput(
                f"{args.file}: variables on line(s) {', '.join(map(str, with_variables[:10]))}"
                " need --tts-template (a recording has none)"
            )
        defaults = {"template_id": args.template_id}
        entries = [row.phone for row in rows]
    body: dict[str, Any] = {
        "batch_id": args.batch_id or new_id(),
        "defaults": defaults,
        "calls": entries,
    }
    if args.name:
        body["name"] = args.name
    with _retry_hint("--batch-id", body["batch_id"]):
        answer = api.place_batch(body)
    if args.json:
        io.stdout.write(render.as_json(answer) + "\n")
    else:
        io.stdout.write(render.placed_batch(answer, [row.line for row in rows]) + "\n")
        io.stderr.write(f"follow it: esms-calls watch --batch {answer['batch_id']}\n")
    return 0


@dataclass(frozen=True)
class _Followed:
    """What watch follows: how to read it, when it is over, its progress line."""

    read: Callable[[], dict[str, Any]]
    finished: Callable[[dict[str, Any]], bool]
    line: Callable[[dict[str, Any]], str]


def _followed(api: CallsApi, args: argparse.Namespace) -> _Followed:
    if bool(args.call_id) == bool(args.batch):
        raise BadInput("watch takes a CALL_ID or --batch BATCH_ID (one of the two)")
    if args.batch:
        return _Followed(
            read=lambda: api.get_batch(args.batch),
            finished=lambda summary: bool(summary.get("finished")),
            line=render.batch_progress,
        )
    return _Followed(
        read=lambda: api.get_call(args.call_id),
        finished=lambda call: call.get("status") in render.FINAL_STATUSES,
        line=render.call_progress,
    )


def watch(api: CallsApi, args: argparse.Namespace, io: Io) -> int:
    followed = _followed(api, args)
    progress = None if args.json else ProgressLine(io.stdout)
    deadline = io.clock() + args.timeout
    while True:
        state = followed.read()
        done = followed.finished(state)
        timed_out = not done and io.clock() >= deadline
        if progress and (done or timed_out):
            progress.end(followed.line(state))
        elif progress:
            progress.show(followed.line(state))
        if done or timed_out:
            break
        io.sleep(args.interval)
    if args.json:
        io.stdout.write(render.as_json(state) + "\n")
    elif args.batch:
        io.stdout.write(render.batch_summary(state) + "\n")
    if timed_out:
        io.stderr.write(f"timed out after {args.timeout:g} s, not finished\n")
        return EXIT_TIMED_OUT
    return 0
