"""The whole system on one machine: DynamoDB, the provider, the functions, the API, schedules."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack import apigw, config
from devstack import template as tpl
from devstack.console import Console, FunctionOutput
from devstack.faults import CALLBACK_WRITE_KNOBS, FaultState
from devstack.pool import FunctionPool, FunctionSpec, Invocation, Worker
from devstack.queues import Mapping, QueuePoller, describe, mapping_from
from devstack.resources import (
    DEFAULT_SIMULATOR_DELAYS,
    DynamoDB,
    MotoServer,
    Provider,
    Queues,
    create_queues,
    start_moto,
    start_simulator,
    use_aws,
)
from devstack.server import SIMULATOR_PREFIX, ApiServer
from esms_simulator.presets import PREFIX as PRESET_PREFIX
from esms_simulator.presets import Preset

LOCAL_DIR = Path(__file__).resolve().parents[1]
CALLBACK_PATH_PREFIX = "/callbacks/"


@dataclass(frozen=True)
class ScheduledInvocation:
    schedule: tpl.Schedule
    expression: str  # as deployed, for the banner


class LocalStack:
    """Start with :meth:`start`, end with :meth:`stop` (idempotent; safe after a failed start).

    ``serve=False`` starts no HTTP server and no schedules: ``invoke`` uses that to run one
    event against the same kind of resources.
    """

    def __init__(
        self,
        opts: config.StackOptions,
        console: Console,
        *,
        serve: bool = True,
        functions: list[str] | None = None,
    ) -> None:
        self.opts = opts
        self.console = console
        self.serve = serve
        self.log = logging.getLogger("devstack")
        self.template = tpl.load_template(opts.template_path)
        config.check_parameters(self.template, opts.parameter_overrides)
        self.routes = tpl.http_routes(self.template)
        self.router = apigw.Router(self.routes)
        self.function_ids = functions or tpl.function_ids(self.template)
        self.callback_functions = {
            route.function for route in self.routes if route.path.startswith(CALLBACK_PATH_PREFIX)
        }
        self.account_id = tpl.PSEUDO_PARAMETER_DEFAULTS["AWS::AccountId"]
        self.faults = FaultState()
        self.pools: dict[str, FunctionPool] = {}
        self.dynamodb: DynamoDB | None = None
        self.queues: Queues | None = None
        self.mappings: list[Mapping] = []
        self.provider: Provider | None = None
        self.server: ApiServer | None = None
        self.api_url = ""
        self.public_base_url = ""
        self._threads: list[threading.Thread] = []
        self._pollers: list[QueuePoller] = []
        self._stopping = threading.Event()
        self._stopped = False

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> LocalStack:
        opts = self.opts
        if self.serve:
            # Bound first: the callback URLs handed to the provider need the real port.
            self.server = ApiServer((opts.host, opts.port), self)
            port = int(self.server.server_address[1])
            shown_host = "127.0.0.1" if opts.host in ("0.0.0.0", "") else opts.host  # noqa: S104
            self.api_url = f"http://{shown_host}:{port}"
        else:
            self.api_url = f"http://127.0.0.1:{opts.port or config.DEFAULT_PORT}"
        self.public_base_url = (opts.public_base_url or self.api_url).rstrip("/")

        region = opts.region or tpl.PSEUDO_PARAMETER_DEFAULTS["AWS::Region"]
        stack_name = tpl.PSEUDO_PARAMETER_DEFAULTS["AWS::StackName"]
        if opts.dynamodb == "aws":
            self.dynamodb = use_aws(self.template, opts.environ, opts.region)
        else:
            self.dynamodb = start_moto(self.template, region, stack_name)
        if tpl.queue_definitions(self.template):
            # Queues always live in moto: with DYNAMODB=aws, a server of their own.
            shared = self.dynamodb.moto
            server = shared or MotoServer()
            try:
                self.queues = create_queues(
                    self.template, server, self.dynamodb.region, stack_name, owned=shared is None
                )
            except Exception:
                if shared is None:
                    server.stop()
                raise
        if opts.esms_base_url:
            if not (opts.esms_api_key and opts.esms_secret_key):
                raise config.ConfigError("ESMS_BASE_URL needs ESMS_API_KEY and ESMS_SECRET_KEY")
            self.provider = Provider(
                opts.esms_base_url.rstrip("/"), opts.esms_api_key, opts.esms_secret_key
            )
        else:
            self.provider = start_simulator(
                api_key=opts.esms_api_key,
                secret_key=opts.esms_secret_key,
                port=opts.simulator_port,
                delays=opts.simulator_delays or DEFAULT_SIMULATOR_DELAYS,
                clock_offset=opts.simulator_clock,
            )

        for logical_id in self.function_ids:
            self.pools[logical_id] = self._pool(logical_id)
        self.mappings = self._mappings()
        if opts.prewarm or not self.serve:
            for pool in self.pools.values():
                pool.prewarm(1)
            for pool in self.pools.values():
                pool.wait_ready()
                for worker in pool.workers:
                    self._report_init(worker)

        if self.server is not None:
            thread = threading.Thread(
                target=self.server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="devstack-http",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
            if opts.reconcile_every > 0:
                for scheduled in self.schedules():
                    thread = threading.Thread(
                        target=self._run_schedule,
                        args=(scheduled,),
                        name=f"schedule-{scheduled.schedule.name}",
                        daemon=True,
                    )
                    thread.start()
                    self._threads.append(thread)
            if self.queues is not None:
                for mapping in self.mappings:
                    for number in range(1, mapping.concurrency + 1 if mapping.enabled else 1):
                        poller = QueuePoller(
                            mapping,
                            number,
                            client=self.queues.client,
                            region=self.queues.region,
                            invoke=lambda function, event: self.invoke(
                                function, event, source="sqs"
                            ),
                            console=self.console,
                            stopping=self._stopping,
                        )
                        poller.start()
                        self._pollers.append(poller)
        return self

    def _mappings(self) -> list[Mapping]:
        if self.queues is None:
            return []
        overrides = self._overrides()
        mappings = []
        for event in tpl.function_queue_events(self.template):
            if event.function not in self.pools:
                continue
            props = tpl.resolve(event.properties, overrides, self.template)
            queue = self.queues.logical_id_of(str(props.get("Queue")))
            if queue is None:  # a queue of another stack: nothing to poll here
                self.log.warning("%s.%s: queue %s is not in this template",
                                 event.function, event.name, props.get("Queue"))  # fmt: skip
                continue
            mappings.append(
                mapping_from(
                    event.function,
                    event.name,
                    props,
                    queue=queue,
                    queue_url=self.queues.urls[queue],
                    queue_arn=self.queues.arns[queue],
                    environments=self.pools[event.function].concurrency,
                )
            )
        return mappings

    def _overrides(self) -> dict[str, Any]:
        """Values for the template's intrinsics: local resources, parameters given."""
        values: dict[str, Any] = {}
        if self.dynamodb is not None:
            region = self.dynamodb.region
            for logical_id, name in self.dynamodb.table_names.items():
                values[logical_id] = name
                values[f"{logical_id}.Arn"] = config.table_arn(region, name)
            values["AWS::Region"] = region
        if self.queues is not None:
            values.update(self.queues.overrides())
        values.update(self.opts.parameter_overrides)
        return values

    def _pool(self, logical_id: str) -> FunctionPool:
        if self.dynamodb is None or self.provider is None:
            raise RuntimeError("resources first")
        code_dir, module, function = tpl.function_handler(logical_id, self.template)
        layers = config.layer_dirs(self.template, logical_id)
        environment = config.function_env(
            self.template,
            logical_id,
            opts=self.opts,
            resource_values=self._overrides(),
            region=self.dynamodb.region,
            aws_environment={
                **self.dynamodb.environment,
                **(self.queues.environment if self.queues else {}),
            },
            esms_base_url=self.provider.base_url,
            esms_api_key=self.provider.api_key,
            esms_secret_key=self.provider.secret_key,
            public_base_url=self.public_base_url,
            python_path=[LOCAL_DIR],
        )
        spec = FunctionSpec(
            logical_id=logical_id,
            code_dir=code_dir,
            handler=f"{module}.{function}",
            layer_dirs=tuple(layers),
            timeout_seconds=tpl.function_timeout(logical_id, self.template),
            memory_mb=tpl.function_memory(logical_id, self.template),
            environment=environment,
        )

        def output(worker: Worker) -> FunctionOutput:
            return FunctionOutput(self.console, logical_id, worker.index, self.opts.log_format)

        concurrency = self.opts.concurrency if self.serve else 1
        return FunctionPool(
            spec, concurrency=concurrency, output=output, on_cold_start=self._cold_start
        )

    def _report_init(self, worker: Worker) -> None:
        tag = self.console.function_tag(worker.spec.logical_id, worker.index)
        init = f"{worker.init_ms:.0f} ms" if worker.init_ms is not None else "?"
        ready = self.console.paint(f"environment ready (init {init})", "dim")
        self.console.line(f"{self.console.stamp()} {tag} {ready}")

    def _cold_start(self, worker: Worker) -> None:
        if worker.index > 1 or not self.opts.prewarm:
            self._report_init(worker)

    def stop(self) -> None:
        """Stop everything, in order: schedules, provider, API, functions, DynamoDB."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self.provider is not None:
            self.provider.stop()
        if self.server is not None:
            if self._threads:  # serve_forever runs: shutdown() waits for it to end
                self.server.shutdown()
            self.server.server_close()
        for poller in self._pollers:  # each ends within its long poll, or its invocation
            poller.join(3.0)
        for pool in self.pools.values():
            pool.stop()
        if self.queues is not None:
            self.queues.stop()
        if self.dynamodb is not None:
            self.dynamodb.stop()
        for thread in self._threads:
            thread.join(2.0)

    # ----------------------------------------------------------------- invocations
    def invoke(
        self, function: str, event: Any, *, http: bool = False, source: str = "http"
    ) -> Invocation:
        faults: dict[str, Any] = {}
        if http and function in self.callback_functions:
            knob = self.faults.take_any(CALLBACK_WRITE_KNOBS)
            if knob is not None:
                faults = {"fail_dynamodb_writes": True, "knob": knob}
        return self.pools[function].invoke(event, faults=faults)

    def schedules(self) -> list[ScheduledInvocation]:
        found = []
        for schedule in tpl.function_schedules(self.template):
            if schedule.function not in self.pools:
                continue
            expression = schedule.expression
            if isinstance(expression, dict) and "Ref" in expression:
                name = expression["Ref"]
                expression = self.opts.parameter_overrides.get(
                    name, self.template.get("Parameters", {}).get(name, {}).get("Default", name)
                )
            found.append(ScheduledInvocation(schedule, str(expression)))
        return found

    def _run_schedule(self, scheduled: ScheduledInvocation) -> None:
        schedule = scheduled.schedule
        event = schedule.input if schedule.input is not None else {}
        last: Any = None
        while not self._stopping.wait(self.opts.reconcile_every):
            started = time.monotonic()
            try:
                invocation = self.invoke(schedule.function, event, source="schedule")
            except Exception as exc:  # the next run comes anyway, as with Scheduler
                if not self._stopping.is_set():
                    self.log.warning("schedule %s: %s", schedule.name, exc)
                continue
            # Nothing was due, or the same as last time (the balance): a line every 30 s would
            # only bury the others.
            repeated = invocation.ok and invocation.result == last
            last = invocation.result if invocation.ok else None
            if invocation.ok and (_idle(invocation.result) or repeated):
                continue
            elapsed = (time.monotonic() - started) * 1000
            console = self.console
            tag = console.function_tag(schedule.function, invocation.worker)
            if invocation.ok:
                outcome = console.paint("ok", "green")
                detail = json.dumps(invocation.result, separators=(",", ":"))
            else:
                outcome = console.paint("failed", "red")
                error = invocation.error or {}
                detail = f"{error.get('errorType')}: {error.get('errorMessage')}"
            console.line(
                f"{console.stamp()} schedule {schedule.name} → {tag} {outcome} "
                f"{console.paint(f'{elapsed:.0f} ms', 'dim')} {detail}"
            )

    # ----------------------------------------------------------------- inspection
    def health(self) -> dict[str, Any]:
        simulator = self.provider.simulator if self.provider else None
        return {
            "status": "ok",
            "devstack": True,
            "template": str(self.opts.template_path or tpl.DEFAULT_TEMPLATE_PATH),
            "api_url": self.api_url,
            "public_base_url": self.public_base_url,
            "esms": {
                "mode": "simulator" if simulator is not None else "external",
                "base_url": self.provider.base_url if self.provider else None,
                "simulator_url": simulator.url if simulator is not None else None,
                "admin_url": f"{self.api_url}{SIMULATOR_PREFIX}" if simulator is not None else None,
            },
            "dynamodb": {
                "mode": self.dynamodb.mode if self.dynamodb else None,
                "endpoint": self.dynamodb.endpoint if self.dynamodb else None,
                "region": self.dynamodb.region if self.dynamodb else None,
                "tables": dict(self.dynamodb.table_names) if self.dynamodb else {},
            },
            "functions": {
                name: {
                    "concurrency": pool.concurrency,
                    "environments": len(pool.workers),
                    "pids": [worker.pid for worker in pool.workers],
                    "timeout_seconds": pool.spec.timeout_seconds,
                    "invocations": sum(worker.invocations for worker in pool.workers),
                }
                for name, pool in self.pools.items()
            },
            "sqs": {
                "endpoint": self.queues.endpoint if self.queues else None,
                "queues": dict(self.queues.urls) if self.queues else {},
            },
            "reconcile_every_seconds": self.opts.reconcile_every,
            "faults": self.faults.snapshot(),
        }

    def banner(self) -> list[str]:
        """What a newcomer reads first: where everything is (no secret in it)."""
        paint = self.console.paint
        if self.dynamodb is None or self.provider is None:
            return []
        lines = [paint("Local stack of template.yaml", "bold")]
        lines.append(f"  DynamoDB   {self.dynamodb.describe()}")
        if self.queues is not None:
            where = "the same moto server" if self.queues.server is None else self.queues.endpoint
            names = ", ".join(self.queues.names.values())
            lines.append(f"  SQS        {where} (queues {names})")
        simulator = self.provider.simulator
        if simulator is not None:
            clock = simulator.clock.to_dict()
            ahead = f"{clock['offset_seconds']:g} s ahead" if clock["offset_seconds"] else "now"
            lines.append(
                f"  eSMS       simulator {self.provider.base_url}"
                f"  (send dates honoured; its clock: {ahead})"
            )
            admin = f"{self.api_url}{SIMULATOR_PREFIX}"
            lines.append(f"  simulator  {admin}/  (presets, rules, clock, calls, settings)")
            lines += _preset_lines(simulator.presets)
        else:
            lines.append(f"  eSMS       {self.provider.describe()}")
        key_origin = "CALLBACK_SIGNING_KEY" if self.opts.signing_key_given else "random, this run"
        lines.append(
            f"  callbacks  {self.public_base_url}/callbacks/esms/{{call_id}}/{{token}}"
            f"  (signing key: {key_origin})"
        )
        for name, pool in self.pools.items():
            lines.append(
                f"  function   {name}: up to {pool.concurrency} environment(s), "
                f"timeout {pool.spec.timeout_seconds} s"
            )
        every = self.opts.reconcile_every
        for scheduled in self.schedules():
            when = f"every {every:g} s" if every > 0 else "disabled (RECONCILE_EVERY=0)"
            line = (
                f"  schedule   {scheduled.schedule.name} → {scheduled.schedule.function} {when}"
                f"  (deployed: {scheduled.expression})"
            )
            if (scheduled.schedule.input or {}).get("action") == "reconcile":
                line += (
                    f"; calls queried once {self.opts.reconcile_after} s old"
                    " (deployed: ReconcileAfterSeconds)"
                )
            lines.append(line)
        for mapping in self.mappings:
            lines.append(f"  queue      {describe(mapping)}")
        lines.append(paint("Routes", "bold"))
        width = max((len(route.path) for route in self.routes), default=0)
        for route in self.routes:
            auth = "" if route.auth == "NONE" else f"  ({route.auth} when deployed; none here)"
            lines.append(
                f"  {route.method:<6} {self.api_url}{route.path:<{width}}  → {route.function}{auth}"
            )
        lines.append(f"  admin  {self.api_url}/_devstack/health   {self.api_url}/_devstack/faults")
        return lines


def _idle(result: Any) -> bool:
    """A scheduled run that found nothing to do: a summary of only zeros, falses and empties."""
    return isinstance(result, dict) and bool(result) and not any(result.values())


def _preset_lines(presets: Sequence[Preset]) -> list[str]:
    """The simulator's well-known numbers (the README tables them too)."""
    cells = [f"{preset.phone}  {preset.outcome}" for preset in presets if preset.rule.code is None]
    codes = [preset.rule.code for preset in presets if preset.rule.code is not None]
    if codes:
        cells.append(f"{PRESET_PREFIX}NNN  refused with code NNN: {' '.join(codes)}")
    return [("  presets    " if n == 0 else "             ") + cell for n, cell in enumerate(cells)]
