"""`make bench`: cold start, warm overhead, DynamoDB requests, artifact size, local throughput, a
fresh clone's first `make run` and a restart (first_run.py), and the read side (batch summaries,
listings, index writes, accepting a 10,000-entry batch).

Prints one table. Run from the repository root with the project's .venv (`make bench` does);
`make build` must have produced .aws-sam/build. BENCH_COLD_RUNS (default 15), BENCH_WARM_ROUNDS
(default 300) and BENCH_LOAD_REQUESTS (default 300) trade time for steadier numbers;
BENCH_ONLY=cold prints the cold-start rows alone (each function against its hand-written twin).
Where valgrind is installed, the cold rows end with instruction counts of one process each
(repeatable on a busy machine; ~4 minutes): BENCH_INSTRUCTIONS=0 skips them.
BENCH_BASELINE_BUILD=<another checkout>/.aws-sam/build adds that build's cold starts to the same
interleaved run (rows marked "baseline"): before/after a change, against one floor.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
import warnings
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT / "local"), str(HERE)]
warnings.filterwarnings("ignore", message="No application metrics to publish")

# moto first, before any boto3 session exists: its stub joins botocore's handlers at import, and
# a session made earlier would send warm.py's requests to the network instead of to moto.
import moto  # noqa: E402, F401, I001
import batches  # noqa: E402
import boto3  # noqa: E402
import coldstart  # noqa: E402
import first_run  # noqa: E402
import load  # noqa: E402
import warm  # noqa: E402
from services import SIGNING_KEY, local_stack  # noqa: E402

WORK = ROOT / ".benchmarks" / "work"
COLD_TARGET, TWIN_TARGET, WARM_TARGET = 1.5, 1.2, 3.0
# Instruction counts of the cold processes (valgrind, when installed): BENCH_INSTRUCTIONS=0 skips.
COUNT_INSTRUCTIONS = os.environ.get("BENCH_INSTRUCTIONS", "1") != "0" and bool(
    shutil.which("valgrind")
)


def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    py313 = subprocess.run(
        [coldstart.python313(), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return [
        f"command: {' '.join(['make bench'] if os.environ.get('MAKELEVEL') else sys.argv)}",
        f"machine: {cpu}, {os.cpu_count()} cores, {platform.machine()}, "
        f"{platform.system()} {platform.release()}",
        f"python: cold start {py313} (clean venv); "
        f"warm and load {platform.python_version()} (.venv); "
        f"boto3 {boto3.__version__}",
        f"date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
    ]


# --- 1, 2: cold start ---------------------------------------------------------------------------


def seed_calls(stack, count: int) -> list[dict]:
    """Call records to send callbacks to: one fresh call per cold callback process, so each one
    takes the happy path (first final report, one UpdateItem)."""
    from esms_calls.domain.calls import Call, CallSpec, CallStatus
    from esms_calls.domain.signing import callback_token
    from esms_calls.storage import items
    from esms_calls.storage.dynamodb import to_attributes
    from tests.support import callbacks

    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.aws_endpoint,
        region_name="ap-southeast-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    now = dt.datetime.now(dt.UTC)
    out = []
    for _ in range(count):
        call_id, sms_id = uuid.uuid4().hex, str(uuid.uuid4())
        call = Call(
            call_id=call_id,
            request_id=uuid.uuid4().hex,
            spec=CallSpec(phone="0912345678", template_id="123"),
            status=CallStatus.ACCEPTED,
            sms_id=sms_id,
            created_at=now,
            updated_at=now,
        )
        epoch = int(now.timestamp())
        client.put_item(
            TableName=stack.tables["CallsTable"],
            Item=to_attributes(
                items.call_item(call, check_after=epoch + 900, expires_at=epoch + 86400)
            ),
        )
        token = callback_token(SIGNING_KEY.encode(), call_id)
        url = f"http://127.0.0.1:9/callbacks/esms/{call_id}/{token}"
        out.append(callbacks.callback_event(f"{url}?{callbacks.report_query(sms_id)}"))
    return out


def cold_rows(runs: int) -> tuple[list[tuple], float]:
    import json

    from tests.support import events

    env = coldstart.ColdEnv(WORK, coldstart.python313())
    env.prepare(boto3.__version__)
    variants = {"compiled": env.artifacts(compiled=True), "no .pyc": env.artifacts(compiled=False)}
    baseline = os.environ.get("BENCH_BASELINE_BUILD")
    if baseline:
        variants["compiled, baseline"] = env.artifacts(
            compiled=True, build=Path(baseline), name="baseline"
        )
    twins = env.twins()
    layer = variants["compiled"]["SharedLayer"]  # the twins' httpx: the same compiled copy
    with local_stack() as stack:
        floor = coldstart.Scenario(
            "floor", env.command(coldstart.FLOOR), env.environ(None, None, {})
        )
        post = events.post_calls({"phone": "+84 912 345 678", "template_id": "123", "max_retry": 1})
        # One fresh call per CallbackFunction process: a callback of each variant, of the twin,
        # of the twin + its libraries and of each one-library twin, warm-ups too.
        callback_scenarios = len(variants) + 2 + len(coldstart.ONE_LIBRARY)
        instruction_runs = len(coldstart.COUNTED) if COUNT_INSTRUCTIONS else 0
        seeded = iter(seed_calls(stack, callback_scenarios * (runs + 2) + instruction_runs))

        def scenario(
            name: str,
            fn: str,
            code_dir: Path,
            layer_dir: Path,
            *,
            twin: bool = False,
            library: str | None = None,
        ) -> coldstart.Scenario:
            code, extra = coldstart.probe(post)
            environ = coldstart.lambda_environ(fn, stack.function_env(fn))
            if library:
                extra["BENCH_LIBRARY"] = library
            made = coldstart.Scenario(
                name,
                env.command(code),
                env.environ(code_dir, layer_dir, {**environ, **extra}, runtime_first=twin),
            )
            if fn == "CallbackFunction":
                made.per_run = lambda: {"BENCH_EVENT": json.dumps(next(seeded))}
            return made

        functions = ("CallsFunction", "CallbackFunction")
        scenarios = [
            scenario(f"{fn} {variant}", fn, arts[fn], arts["SharedLayer"])
            for variant, arts in variants.items()
            for fn in functions
        ]
        ours_of = {fn: next(s for s in scenarios if s.name == f"{fn} compiled") for fn in functions}
        twin_of = {fn: scenario(f"{fn} twin", fn, twins[fn], layer, twin=True) for fn in functions}
        libraries_of = {
            fn: scenario(f"{fn} twin + libraries", fn, twins[f"{fn}+libraries"], layer, twin=True)
            for fn in functions
        }
        one_library_of = {
            (fn, library): scenario(
                f"{fn} twin + {library}",
                fn,
                twins[f"{fn}+one library"],
                layer,
                twin=True,
                library=library,
            )
            for fn in functions
            for library in coldstart.ONE_LIBRARY
        }
        measured = [*twin_of.values(), *libraries_of.values(), *one_library_of.values()]
        coldstart.measure([floor, *scenarios, *measured], runs)
        counts: dict[str, dict[str, int]] = {}
        if COUNT_INSTRUCTIONS:
            for fn in functions:
                pydantic_alone = one_library_of[(fn, "pydantic")]
                counted = (ours_of[fn], twin_of[fn], libraries_of[fn], pydantic_alone)
                counts[fn] = {
                    label: coldstart.instructions(s)
                    for label, s in zip(coldstart.COUNTED, counted, strict=True)
                }
    twin_dir = {fn: f"benchmarks/twins/{name}" for fn, name in coldstart.TWINS.items()}
    rows = []
    for s in scenarios:
        ratio = s.median_ms / floor.median_ms
        ok = "ok" if ratio <= COLD_TARGET else "MISSED"
        rows.append(
            (
                f"cold: {s.name}",
                f"{s.median_ms:.0f} ms",
                f"{ratio:.2f}x floor",
                f"<= {COLD_TARGET}x: {ok}",
            )
        )
    for fn, twin in twin_of.items():
        rows.append(
            (
                f"cold: {fn} twin, hand-written ({twin_dir[fn]}/app.py)",
                f"{twin.median_ms:.0f} ms",
                f"{twin.median_ms / floor.median_ms:.2f}x floor",
                "boto3, httpx, plain json; the same requests",
            )
        )
    for fn, libraries in libraries_of.items():
        rows.append(
            (
                f"cold: {fn} twin + its libraries ({twin_dir[fn]}_libraries)",
                f"{libraries.median_ms:.0f} ms",
                f"{libraries.median_ms / twin_of[fn].median_ms:.2f}x twin",
                "the Powertools utilities and pydantic it uses; none of our code",
            )
        )
    for (fn, library), alone in one_library_of.items():
        rows.append(
            (
                f"cold: {fn} twin + {library} alone (benchmarks/twins/one_library)",
                f"{alone.median_ms:.0f} ms",
                f"{alone.median_ms / twin_of[fn].median_ms:.2f}x twin",
                "one library the function keeps, nothing else added",
            )
        )
    for fn, twin in twin_of.items():
        ratio = ours_of[fn].median_ms / twin.median_ms
        ok = "ok" if ratio <= TWIN_TARGET else "MISSED"
        rows.append(
            (
                f"cold: {fn} / its twin",
                f"{ratio:.2f}x twin",
                f"twin: {twin_dir[fn]}/app.py",
                f"<= {TWIN_TARGET}x: {ok}",
            )
        )
    for fn, count_of in counts.items():
        twin_count = count_of["twin"]
        for label, count in count_of.items():
            if label == "twin":
                continue
            rows.append(
                (
                    f"instructions: {fn} {label} / its twin",
                    f"{count / twin_count:.2f}x twin",
                    f"{count / 1e6:.0f}M / {twin_count / 1e6:.0f}M instructions",
                    "callgrind, one cold process each: repeatable",
                )
            )
    return rows, floor.median_ms


# --- 5: artifact sizes --------------------------------------------------------------------------


def zipped(directory: Path) -> tuple[int, int, int]:
    target = WORK / f"{directory.name}.zip"
    raw = files = 0
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(directory))
                raw += path.stat().st_size
                files += 1
    return target.stat().st_size, raw, files


def size_rows() -> list[tuple]:
    build = coldstart.BUILD
    rows = []
    for part in ("SharedLayer", "CallsFunction", "CallbackFunction"):
        z, raw, files = zipped(build / part)
        if part == "SharedLayer":
            services = sorted(
                p.name for p in (build / part / "python/botocore/data").iterdir() if p.is_dir()
            )
            note = f"boto3 pinned; botocore data of {', '.join(services)} only"
        else:
            names = sorted(
                str(p.relative_to(build / part)) for p in (build / part).rglob("*") if p.is_file()
            )
            note = "files: " + ", ".join(names)
        rows.append(
            (
                f"size: {part}",
                f"{z / 1024:.0f} KiB zipped",
                f"{raw / 1024:.0f} KiB unzipped, {files} files",
                note,
            )
        )
    return rows


def progress(rows: list[tuple]) -> None:
    for row in rows:
        print("  " + " | ".join(map(str, row)), file=sys.stderr, flush=True)


def rest_rows(warm_rounds: int, load_requests: int) -> list[tuple]:
    rows: list[tuple] = []
    results = warm.run(warm_rounds)
    for r in results:
        ok = "ok" if r.ratio <= WARM_TARGET else "MISSED"
        rows.append(
            (
                f"warm: {r.path}",
                f"{r.ours_us / 1000:.2f} ms",
                f"{r.ratio:.2f}x minimal ({r.minimal_us / 1000:.2f} ms)",
                f"<= {WARM_TARGET}x: {ok}",
            )
        )
    for r in results:
        rows.append(
            (
                f"dynamodb: {r.path}",
                f"{r.writes} writes, {r.reads} reads",
                f"~{r.wcu:g} WCU, ~{r.rcu:g} RCU",
                " + ".join(r.operations),
            )
        )
    progress(rows)
    rows += size_rows()
    rows += load.rows(load_requests)
    rows += batches.rows()
    rows += first_run.rows()
    return rows


def main() -> int:
    cold_runs = int(os.environ.get("BENCH_COLD_RUNS", "15"))
    warm_rounds = int(os.environ.get("BENCH_WARM_ROUNDS", "300"))
    load_requests = int(os.environ.get("BENCH_LOAD_REQUESTS", "300"))
    WORK.mkdir(parents=True, exist_ok=True)
    if not (coldstart.BUILD / "SharedLayer" / "python").is_dir():
        print("error: no .aws-sam/build; run `make build` first", file=sys.stderr)
        return 2
    started = time.monotonic()
    header = machine()
    rows: list[tuple] = []
    cold, floor_ms = cold_rows(cold_runs)
    rows.append(
        (
            "cold: floor (fresh python3.13, import boto3 precompiled)",
            f"{floor_ms:.0f} ms",
            "1.00x floor",
            f"median of {cold_runs} runs each",
        )
    )
    rows += cold
    progress(rows)
    if os.environ.get("BENCH_ONLY") != "cold":
        rows += rest_rows(warm_rounds, load_requests)
    width = [max(len(str(row[i])) for row in rows) for i in range(4)]
    print("\n".join(f"# {line}" for line in header))
    print(f"# took {time.monotonic() - started:.0f} s")
    titles = ("what", "median / value", "relative", "target / detail")
    print("| " + " | ".join(t.ljust(w) for t, w in zip(titles, width, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in width) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, width, strict=True)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
