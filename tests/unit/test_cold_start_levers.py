"""Two cold-start levers (docs/performance.md), each in a fresh interpreter: what one cold start
loads is the point. Cyclic garbage collection is paused for init and the first event, then
resumes; a CallsFunction event loads only the route modules of its route key."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from devstack.template import REPO_ROOT, http_routes

pytestmark = pytest.mark.unit


def run_fresh(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={"PYTHONPATH": str(REPO_ROOT / "layers" / "shared"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_collection_is_paused_until_the_first_event_ends_even_when_it_raises() -> None:
    # Given a handler wrapped as app.py wraps it, whose first event raises
    out = run_fresh(
        """
        import gc, json
        from esms_calls import gc_paused
        seen = {"at_import": gc.isenabled()}
        @gc_paused.resumed_after_first_event
        def handler(event, context):
            seen.setdefault("during_first", gc.isenabled())
            if event == "boom":
                raise RuntimeError(event)
            return "ok"
        try:
            handler("boom", None)
        except RuntimeError:
            pass
        seen["after_first"] = gc.isenabled()
        seen["frozen"] = gc.get_freeze_count()
        seen["second"] = handler("again", None)
        seen["after_second"] = gc.isenabled()
        print(json.dumps(seen))
        """
    )
    seen = json.loads(out)
    # Then collection was off from the import through the first event, and on after it, with
    # what init built frozen out of the collector's sight
    assert seen["at_import"] is False and seen["during_first"] is False
    assert seen["after_first"] is True and seen["after_second"] is True
    assert seen["frozen"] > 1000
    assert seen["second"] == "ok"


def test_each_route_key_loads_only_its_route_modules_and_serves_its_route() -> None:
    # Given every route key of CallsFunction in the template (the ANY ones are answered earlier)
    keys = sorted(
        f"{r.method} {r.path}"
        for r in http_routes()
        if r.function == "CallsFunction" and r.method != "ANY"
    )
    # When a fresh interpreter registers the routes of one key (a fork per key, from one import)
    out = run_fresh(
        f"""
        import json, os, sys
        from esms_calls.api import calls_api
        from esms_calls.api.resolver import app
        for key in {keys!r} + ["POST /calls"]:
            read, write = os.pipe()
            if os.fork() == 0:
                calls_api.register_routes(key)
                paths = app.get_openapi_schema().paths or {{}}
                method, path = key.split(" ", 1)
                served = method.lower() in (paths.get(path) or {{}}).model_dump(exclude_none=True)
                loaded = sorted(m.rsplit(".", 1)[1] for m in sys.modules
                                if m.rsplit(".", 1)[-1] in calls_api.ROUTE_MODULES)
                os.write(write, json.dumps([key, served, loaded]).encode())
                os._exit(0)
            os.close(write)
            os.wait()
            print(os.read(read, 65536).decode())
        """
    )
    results = {key: (served, loaded) for key, served, loaded in map(json.loads, out.splitlines())}
    # Then each key's route is served, and a cold POST /calls loads no other route module
    assert set(results) == set(keys)
    for key, (served, _) in results.items():
        assert served, key
    assert results["POST /calls"][1] == []
    assert results["GET /calls/{call_id}"][1] == []
    assert results["GET /do-not-call/{phone}"][1] == ["do_not_call_api"]
