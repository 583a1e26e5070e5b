"""What can go wrong talking to the API, typed; app.py turns each into one line and an exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXIT_REFUSED = 1  # the API answered a problem, or the input file is wrong
EXIT_UNREACHABLE = 2  # no answer from the API (argparse's usage errors are 2 as well)
EXIT_TIMED_OUT = 3  # watch: not finished within --timeout


class CliError(Exception):
    exit_code = EXIT_REFUSED


@dataclass
class ProblemAnswer(CliError):
    """An RFC 9457 problem (or any non-2xx answer) from the API."""

    status: int
    type: str
    title: str
    detail: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)
    esms_code: str | None = None

    @classmethod
    def from_answer(cls, status: int, body: Any, reason: str) -> ProblemAnswer:
        if not isinstance(body, dict):
            return cls(status, "", reason)
        raw_errors = body.get("errors")
        errors = (
            [e for e in raw_errors if isinstance(e, dict)] if isinstance(raw_errors, list) else []
        )
        code = body.get("esms_code")
        return cls(
            status=status,
            type=str(body.get("type") or ""),
            title=str(body.get("title") or reason),
            # API Gateway's own refusals (403 from IAM auth, 429 throttling) say `message`
            detail=str(body.get("detail") or body.get("message") or ""),
            errors=errors,
            esms_code=None if code is None else str(code),
        )

    @property
    def short_type(self) -> str:
        """`urn:esms-calls:problem:invalid-request` → `invalid-request`."""
        return self.type.rsplit(":", 1)[-1].rsplit("/", 1)[-1]


class ApiUnreachable(CliError):
    exit_code = EXIT_UNREACHABLE


class BadInput(CliError):
    """Input the client refuses before sending anything (a CSV file's bad rows, a bad option)."""
