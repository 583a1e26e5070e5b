"""``python -m devstack [serve] [options]`` and ``python -m devstack invoke FUNCTION EVENT``.

Run with ``local/`` on PYTHONPATH (``make run``, ``make invoke`` do).
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devstack import config, running
from devstack import template as tpl
from devstack.console import Console, configure_logging
from devstack.pool import FunctionError, Throttled
from devstack.resources import ResourceError

log = logging.getLogger("devstack")


# --------------------------------------------------------------------------------------- serve
def serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack",
        description="Serve template.yaml's HTTP API on this machine: the functions in worker "
        "processes, DynamoDB from moto's server, eSMS from the embedded simulator. "
        "See docs/local-stack.md.",
    )
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (env PORT, default 3000; 0 = any free)")
    parser.add_argument(
        "--concurrency",
        type=int,
        help=f"environments per function (env CONCURRENCY, default {config.DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--reconcile-every",
        type=float,
        metavar="SECONDS",
        help="seconds between scheduled invocations (env RECONCILE_EVERY, default 30; 0 = off)",
    )
    parser.add_argument("--simulator-port", type=int, help="the simulator's port (default: any)")
    parser.add_argument(
        "--simulator-delays",
        metavar="D2,D7,D5",
        help="seconds before the simulator's SendStatus 2, 7 and 5 callbacks (0.5,1,1.5)",
    )
    parser.add_argument("--url-file", type=Path, help="write the API's URL to this file once ready")
    parser.add_argument(
        "--no-prewarm",
        action="store_true",
        help="start no environment before the first request (every first request is cold)",
    )
    config.add_stack_arguments(parser)
    return parser


def serve(argv: Sequence[str]) -> int:
    args = serve_parser().parse_args(argv)
    console = Console(sys.stdout)
    configure_logging(console)
    try:
        opts = config.options_from(args, os.environ)
    except config.ConfigError as exc:
        log.error("%s", exc)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if stop.is_set():
            console.line("(already stopping)")
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    from devstack.stack import LocalStack

    stack: LocalStack | None = None
    try:
        stack = LocalStack(opts, console)
        console.line(console.paint("Starting the local stack…", "dim"))
        stack.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            log.error("port %s is in use: set PORT (or --port) to another one", opts.port)
        else:
            log.error("cannot start: %s", exc)
        return _abort(stack)
    except (
        config.ConfigError,
        ResourceError,
        tpl.TemplateResolutionError,
        FunctionError,
        KeyError,
    ) as exc:
        log.error("cannot start: %s", exc)
        return _abort(stack)

    for line in stack.banner():
        console.line(line)
    if opts.url_file is not None:  # whole, then renamed: a reader never sees half of it
        partial = opts.url_file.with_name(opts.url_file.name + ".partial")
        partial.write_text(stack.api_url + "\n", "utf-8")
        partial.replace(opts.url_file)
    entry = running.register(stack.api_url)
    console.line(
        console.paint(f"Ready: {stack.api_url}", "bold") + console.paint("   (Ctrl-C stops)", "dim")
    )
    try:
        stop.wait()
        console.line(console.paint("Stopping…", "dim"))
        stack.stop()
    finally:
        running.unregister(entry)
    console.line("Stopped.")
    return 0


def _abort(stack: Any) -> int:
    if stack is not None:
        stack.stop()
    return 2


# --------------------------------------------------------------------------------------- invoke
def invoke_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devstack invoke",
        description="Run one function once on an event file, like `sam local invoke -e`. "
        "With a local stack running (at --stack-url; else on PORT when set; else any stack "
        "of this checkout, on any port, or on 3000) the event runs there, in its "
        "environments and against its tables; otherwise against a moto server, tables and "
        "simulator started for this one invocation. The handler's return value is printed on "
        "stdout as JSON (on an error, Lambda's error object, and the exit code is 1); logs go "
        "to stderr.",
    )
    parser.add_argument("function", help="logical id, e.g. CallbackFunction")
    parser.add_argument("event", help="event file (JSON), or - for stdin")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--stack-url", help="the running stack's URL (default http://127.0.0.1:PORT)"
    )
    where.add_argument(
        "--standalone", action="store_true", help="never use a running stack: start one's own"
    )
    config.add_stack_arguments(parser)
    return parser


# The stack is on loopback: never through a proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _probe(url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    try:
        with _opener.open(f"{url}/_devstack/health", timeout=timeout) as answer:
            body = json.loads(answer.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return body if isinstance(body, dict) and body.get("devstack") is True else None


def _invoke_remote(url: str, function: str, event: Any) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - loopback URL
        f"{url}/_devstack/invoke/{function}",
        data=json.dumps(event).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with _opener.open(request, timeout=120) as answer:
            result: dict[str, Any] = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        result = json.loads(exc.read() or b"{}")
        if "ok" not in result:
            result = {"ok": False, "error": {"errorType": "DevstackError", "errorMessage": result}}
    return result


def invoke(argv: Sequence[str]) -> int:
    args = invoke_parser().parse_args(argv)
    console = Console(sys.stderr)
    configure_logging(console)
    try:
        template = tpl.load_template(args.template)
        functions = tpl.function_ids(template)
        if args.function not in functions:
            log.error("no function %r in the template; have %s", args.function, functions)
            return 2
        text = sys.stdin.read() if args.event == "-" else Path(args.event).read_text("utf-8")
        event = json.loads(text)
        opts = config.options_from(args, os.environ)
    except (OSError, ValueError) as exc:  # ConfigError is a ValueError
        log.error("%s", exc)
        return 2

    outcome: dict[str, Any] | None = None
    if not args.standalone:
        url = next((url for url in _candidates(args.stack_url) if _probe(url) is not None), None)
        if url is not None:
            log.info(
                "invoking %s on the running local stack at %s (its logs are there)",
                args.function,
                url,
            )
            outcome = _invoke_remote(url, args.function, event)
        elif args.stack_url:
            log.error("no local stack answers at %s", args.stack_url)
            return 2
    if outcome is None:
        outcome = _invoke_standalone(opts, console, args.function, event)
        if outcome is None:
            return 2
    if outcome.get("ok"):
        print(json.dumps(outcome.get("result")))
        return 0
    print(json.dumps(outcome.get("error")))
    return 1


def _candidates(stack_url: str | None) -> list[str]:
    """Where to look for a running stack: the URL given; else PORT's when set; else the stacks
    this checkout has running (on any port, the newest first), then the default port."""
    if stack_url:
        return [stack_url.rstrip("/")]
    if os.environ.get("PORT"):
        return [f"http://127.0.0.1:{os.environ['PORT']}"]
    return [*running.running_urls(), f"http://127.0.0.1:{config.DEFAULT_PORT}"]


def _invoke_standalone(
    opts: config.StackOptions, console: Console, function: str, event: Any
) -> dict[str, Any] | None:
    from devstack.server import invocation_json
    from devstack.stack import LocalStack

    log.info(
        "no local stack running: %s runs against its own DynamoDB (%s) and eSMS (%s)",
        function,
        "moto" if opts.dynamodb == "moto" else "aws",
        "ESMS_BASE_URL" if opts.esms_base_url else "simulator",
    )
    stack: LocalStack | None = None
    try:
        stack = LocalStack(opts, console, serve=False, functions=[function])
        stack.start()
        return invocation_json(stack.invoke(function, event, source="invoke"))
    except (
        config.ConfigError,
        ResourceError,
        tpl.TemplateResolutionError,
        FunctionError,
        Throttled,
        OSError,
    ) as exc:
        log.error("cannot invoke: %s", exc)
        return None
    finally:
        if stack is not None:
            stack.stop()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "invoke":
        return invoke(argv[1:])
    if argv and argv[0] == "serve":
        argv = argv[1:]
    return serve(argv)


if __name__ == "__main__":
    status = main()
    # Everything is stopped by now. The interpreter's own teardown of what a long run left in
    # memory (moto's items and stream records) can take minutes of garbage collection: skip it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
