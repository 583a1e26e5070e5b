"""Terminal output of the local stack: one writer, readable lines, nothing secret.

Every line goes through :class:`Console` (one lock, so lines of different threads and worker
processes never interleave). Worker output (what the handlers print, as Lambda would send it to
CloudWatch) is shown in one of three formats:

- ``compact`` (default): Powertools' JSON log records and EMF metric records rendered as one short
  line each (``INFO  call accepted by the provider  call_id=… sms_id=…``); the Lambda runtime's
  START/END/REPORT lines are left out (the access line has the duration); anything else as is;
- ``json``: every line exactly as the handler printed it, runtime lines included;
- ``pretty``: like ``json``, with ``POWERTOOLS_DEV=true`` given to the functions (indented JSON).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from typing import Any, Literal, TextIO

LogFormat = Literal["compact", "json", "pretty"]
LOG_FORMATS: tuple[LogFormat, ...] = ("compact", "json", "pretty")

# Powertools keys that repeat on every line, or that the prefix already shows.
_NOISE = {
    "level",
    "message",
    "timestamp",
    "service",
    "location",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
    "sampling_rate",
    "correlation_id",
    "exception",
    "exception_name",
    "stack_trace",
}
_RUNTIME_PREFIXES = ("START RequestId:", "END RequestId:", "REPORT RequestId:")

_RESET = "\033[0m"
_COLORS = {
    "dim": "\033[2m",
    "bold": "\033[1m",
    "red": "\033[31m",
    "green": "\033[32m",
    "yellow": "\033[33m",
    "blue": "\033[34m",
    "magenta": "\033[35m",
    "cyan": "\033[36m",
}
_FUNCTION_COLORS = ("cyan", "magenta", "blue", "green", "yellow")
_LEVEL_COLORS = {"WARNING": "yellow", "ERROR": "red", "CRITICAL": "red", "DEBUG": "dim"}


class Console:
    """Thread-safe line writer with optional colours (off when not a terminal or NO_COLOR)."""

    def __init__(self, stream: TextIO | None = None, *, color: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        if color is None:
            isatty = getattr(self.stream, "isatty", lambda: False)
            color = bool(isatty()) and not os.environ.get("NO_COLOR")
        self.color = color
        self._lock = threading.Lock()
        self._function_colors: dict[str, str] = {}

    def paint(self, text: str, color: str) -> str:
        if not self.color or color not in _COLORS:
            return text
        return f"{_COLORS[color]}{text}{_RESET}"

    def line(self, text: str = "") -> None:
        with self._lock:
            try:
                self.stream.write(text + "\n")
                self.stream.flush()
            except (OSError, ValueError):  # the terminal went away: nothing left to tell
                pass

    def stamp(self) -> str:
        now = time.time()
        return self.paint(
            time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}", "dim"
        )

    def function_tag(self, function: str, index: int | None = None) -> str:
        color = self._function_colors.setdefault(
            function, _FUNCTION_COLORS[len(self._function_colors) % len(_FUNCTION_COLORS)]
        )
        tag = function if index is None else f"{function}#{index}"
        return self.paint(tag, color)

    def status(self, status: int) -> str:
        color = "green" if status < 400 else "yellow" if status < 500 else "red"
        return self.paint(str(status), color)

    def level(self, level: str) -> str:
        return self.paint(f"{level:<7}", _LEVEL_COLORS.get(level, "bold"))


class FunctionOutput:
    """Renders the lines one worker process prints, in the chosen format."""

    def __init__(self, console: Console, function: str, index: int, log_format: LogFormat) -> None:
        self.console = console
        self.function = function
        self.index = index
        self.log_format = log_format
        self._last_metrics: str | None = None

    def __call__(self, raw: str) -> None:
        text = raw.rstrip("\r\n")
        tag = self.console.function_tag(self.function, self.index)
        if self.log_format != "compact":
            self.console.line(f"{self.console.stamp()} {tag} {text}")
            return
        if not text.strip() or text.startswith(_RUNTIME_PREFIXES):
            return
        rendered = render_compact(text, self.console)
        if rendered is None:
            return
        if '"_aws"' in text:
            # The same metrics again (the balance every scheduled run): shown once.
            if rendered == self._last_metrics:
                return
            self._last_metrics = rendered
        for number, piece in enumerate(rendered.split("\n")):
            prefix = f"{self.console.stamp()} {tag} " if number == 0 else "    "
            self.console.line(prefix + piece)


def render_compact(text: str, console: Console) -> str | None:
    """One Powertools log record or EMF metrics record as a short line; other text unchanged;
    None for a metrics record of only zeros (an idle scheduled run's counters)."""
    if not text.startswith("{"):
        return text
    try:
        record = json.loads(text)
    except ValueError:
        return text
    if not isinstance(record, dict):
        return text
    if "_aws" in record:
        return _render_metrics(record, console)
    if "level" not in record or "message" not in record:
        return text
    level = str(record["level"])
    parts = [console.level(level), str(record["message"])]
    if record.get("cold_start") is True:
        parts.append(console.paint("(cold start)", "dim"))
    extras = [f"{key}={_short(value)}" for key, value in record.items() if key not in _NOISE]
    if extras:
        parts.append(console.paint("  ".join(extras), "dim"))
    line = "  ".join(parts)
    if level in ("WARNING", "ERROR", "CRITICAL") and record.get("location"):
        line += console.paint(f"  [{record['location']}]", "dim")
    trace = record.get("exception")
    if isinstance(trace, str) and trace:
        line += "\n" + trace.rstrip()
    return line


def _render_metrics(record: dict[str, Any], console: Console) -> str | None:
    names: list[str] = []
    dimensions: set[str] = set()
    for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
        names += [metric.get("Name", "") for metric in directive.get("Metrics", [])]
        for group in directive.get("Dimensions", []):
            dimensions.update(group)
    totals = {}
    for name in names:
        value = record.get(name)
        totals[name] = sum(value) if isinstance(value, list) else value
    if names and not any(totals.values()):
        return None
    values = [f"{name}={_number(value)}" for name, value in totals.items()]
    tags = [f"{d}={record[d]}" for d in sorted(dimensions) if d != "service" and d in record]
    return console.paint("metrics  " + "  ".join(values + tags), "dim")


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 200 else text[:197] + "..."


class ConsoleLogHandler(logging.Handler):
    """Routes the stack's own ``logging`` records (simulator, moto, devstack) to the console."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            name = record.name.split(".")[0]
            level = "" if record.levelno == logging.INFO else record.levelname + " "
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            text = f"{self.console.stamp()} {self.console.paint(name, 'dim')} {level}{message}"
            self.console.line(text)
        except Exception:  # logging must never raise
            self.handleError(record)


def configure_logging(console: Console, level: int = logging.INFO) -> None:
    """The stack's loggers through the console; libraries that log URLs or items kept quiet."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(ConsoleLogHandler(console))
    root.setLevel(level)
    # httpx logs full URLs (the provider's carry credentials, callbacks carry tokens); werkzeug
    # (moto's server) logs every request line; botocore can log items (phone numbers).
    for name in ("httpx", "httpcore", "werkzeug", "botocore", "boto3", "urllib3", "moto"):
        logging.getLogger(name).setLevel(logging.WARNING)
