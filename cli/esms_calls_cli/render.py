"""What the commands print for people (`--json` prints the API's own bodies instead)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from esms_calls_cli.errors import ProblemAnswer

FINAL_STATUSES = ("COMPLETED", "FAILED", "EXPIRED")
MAX_FIELD_ERRORS = 5


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def problem_line(problem: ProblemAnswer) -> str:
    """`error 422 invalid-request: the request has invalid fields (phone: must be …)`."""
    kind = f" {problem.short_type}" if problem.short_type else ""
    text = problem.detail or problem.title
    if problem.esms_code:
        text += f" (eSMS code {problem.esms_code})"
    fields = [f"{e.get('field', '?')}: {e.get('message', '')}" for e in problem.errors]
    if len(fields) > MAX_FIELD_ERRORS:
        fields = [*fields[:MAX_FIELD_ERRORS], f"and {len(fields) - MAX_FIELD_ERRORS} more"]
    if fields:
        text += f" ({'; '.join(fields)})"
    return f"error {problem.status}{kind}: {text}"


def outcome(call: Mapping[str, Any]) -> str:
    """`ANSWERED 13 s, key 1, 300.0000`, the provider's code for a refusal, or empty."""
    result = call.get("result") or {}
    if call.get("status") == "FAILED" and call.get("esms_code"):
        return f"eSMS code {call['esms_code']}: {call.get('esms_message') or 'refused'}"
    if call.get("status") not in FINAL_STATUSES or not result.get("call_status"):
        return ""
    parts = [f"{result['call_status']} {result.get('duration_seconds') or 0} s"]
    if result.get("ivr"):
        parts.append(f"key {result['ivr']}")
    if result.get("price") is not None:
        parts.append(str(result["price"]))
    return ", ".join(parts)


def placed_call(answer: Mapping[str, Any]) -> str:
    return f"call {answer['call_id']}  request {answer['request_id']}  {answer['status']}"


def call_record(call: Mapping[str, Any]) -> str:
    tts = call.get("tts")
    if call.get("kind") == "tts" and tts:
        count = tts.get("variable_count", 0)
        what = f"tts {tts.get('template_id')} ({count} variable{'s' if count != 1 else ''})"
    else:
        what = f"recording {call.get('template_id')}"
    rows = [
        ("call", call.get("call_id")),
        ("request", call.get("request_id")),
        ("status", " ".join(filter(None, [call.get("status"), outcome(call)]))),
        ("phone", call.get("phone")),
        ("plays", what),
        ("send at", call.get("deferred_until") or call.get("send_date")),
        ("created", call.get("created_at")),
        ("updated", call.get("updated_at")),
        ("callbacks", call.get("callbacks_received")),
    ]
    return "\n".join(f"{name:<10}{value}" for name, value in rows if value not in (None, ""))


def call_rows(calls: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    for call in calls:
        yield "  ".join(
            [
                str(call.get("call_id")),
                str(call.get("created_at")),
                str(call.get("phone")),
                f"{call.get('status', ''):<14}",
                outcome(call),
            ]
        ).rstrip()


def placed_batch(answer: Mapping[str, Any], lines: Sequence[int] | None = None) -> str:
    """The POST /batches answer; `lines[i]` is entry i's line in the CSV file, when there is one."""

    def where(index: int) -> str:
        return f"line {lines[index]}" if lines and 0 <= index < len(lines) else f"entry {index}"

    invalid = answer.get("invalid") or []
    skipped = answer.get("skipped") or []
    text = [
        f"batch {answer['batch_id']}: {answer.get('accepted', 0)} accepted, "
        f"{len(invalid)} invalid, {len(skipped)} skipped"
    ]
    for entry in invalid:
        errors = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in entry.get("errors", []))
        text.append(f"  invalid {where(entry.get('index', -1))}: {errors}")
    text += [f"  skipped {where(e.get('index', -1))}: {e.get('rule')}" for e in skipped]
    return "\n".join(text)


def batch_done(summary: Mapping[str, Any]) -> int:
    """Entries finished: calls in a final status, and entries a calling rule skipped."""
    by_status = summary.get("by_status") or {}
    skipped = summary.get("skipped") or {}
    return sum(int(by_status.get(s, 0)) for s in FINAL_STATUSES) + sum(map(int, skipped.values()))


def _counts(counts: Mapping[str, int]) -> str:
    return " ".join(f"{name} {n}" for name, n in counts.items() if n)


def batch_progress(summary: Mapping[str, Any], width: int = 20) -> str:
    """`batch b1 [########------------] 2/5  COMPLETED 2 WAITING 3`."""
    total = int(summary.get("total") or 0)
    done = batch_done(summary)
    filled = width if total == 0 else min(width, done * width // total)
    bar = "#" * filled + "-" * (width - filled)
    counts = _counts(summary.get("by_status") or {})
    return f"batch {summary['batch_id']} [{bar}] {done}/{total}  {counts}".rstrip()


def batch_summary(summary: Mapping[str, Any]) -> str:
    state = "finished" if summary.get("finished") else "not finished"
    rows = [
        f"batch {summary['batch_id']}: {state}, {summary.get('placed', 0)}/"
        f"{summary.get('total', 0)} placed",
        f"  status   {_counts(summary.get('by_status') or {}) or '-'}",
        f"  outcome  {_counts(summary.get('by_outcome') or {}) or '-'}",
        f"  keys     {_counts(summary.get('keys_pressed') or {}) or '-'}",
        f"  skipped  {_counts(summary.get('skipped') or {}) or '-'}",
        f"  cost     {summary.get('cost', '0')}",
    ]
    return "\n".join(rows)


def call_progress(call: Mapping[str, Any]) -> str:
    """`call 6f60… COMPLETED ANSWERED 13 s, key 1, 300.0000 (3 callbacks)`."""
    parts = [f"call {call.get('call_id')}", str(call.get("status")), outcome(call)]
    line = " ".join(p for p in parts if p)
    count = call.get("callbacks_received") or 0
    return f"{line} ({count} callback{'' if count == 1 else 's'})"
