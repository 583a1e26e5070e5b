"""The stack's backing services: DynamoDB (moto's server, or real AWS) and the eSMS simulator."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import template as tpl

log = logging.getLogger("devstack")

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto's fake credentials
    "AWS_SESSION_TOKEN": "testing",
}


_LOCAL_DIR = Path(__file__).resolve().parent.parent  # holds the devstack package
_MOTO_START_SECONDS = 60.0  # imports on a cold, busy machine take seconds
_STOP_SECONDS = 10.0


class ResourceError(RuntimeError):
    """A backing service could not be started or reached (the message says what to do)."""


@dataclass
class DynamoDB:
    """Where the functions' tables live. ``environment``: what the functions need to reach them
    (beyond the table names, which the template's variables carry)."""

    mode: str  # "moto" or "aws"
    region: str
    table_names: dict[str, str]  # logical id -> physical name
    endpoint: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    _server: Any = field(default=None, repr=False)

    def describe(self) -> str:
        tables = ", ".join(self.table_names.values())
        if self.mode == "moto":
            return f"moto server {self.endpoint} (tables {tables})"
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"AWS {self.region}{where} (existing tables {tables})"

    @property
    def moto(self) -> MotoServer | None:
        return self._server if isinstance(self._server, MotoServer) else None

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()


class MotoServer:
    """moto's server (every service it emulates) on a free loopback port, in a process of its
    own (devstack/moto_process.py says why)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(_LOCAL_DIR), *filter(None, [environment.get("PYTHONPATH")])]
        )
        # Its errors go to a file: a pipe nobody reads would stop the server once full.
        self._errors = tempfile.TemporaryFile(mode="w+")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "devstack.moto_process", "--host", host],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            env=environment,
            text=True,
        )
        address = self._address(_MOTO_START_SECONDS)
        self.endpoint = f"http://{address}"
        self._stopped = False

    def _address(self, timeout: float) -> str:
        """The ``host:port`` the server prints once it listens (ResourceError if it never does)."""
        lines: list[str] = []
        reader = threading.Thread(
            target=lambda: lines.append(self._process.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(timeout)
        if lines and lines[0].strip():
            return lines[0].strip()
        self._process.kill()
        self._process.wait(timeout=5)
        self._errors.seek(0)
        tail = " | ".join(self._errors.read().strip().splitlines()[-3:])
        raise ResourceError(f"moto's server did not start within {timeout:.0f} s: {tail}")

    def client(self, service: str, region: str) -> Any:
        import boto3

        factory: Any = boto3.client  # typed per literal service name; ours is a variable
        return factory(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self._process.communicate(input="", timeout=_STOP_SECONDS)  # closes its stdin
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._errors.close()


def start_moto(
    template: tpl.Template, region: str, stack_name: str, host: str = "127.0.0.1"
) -> DynamoDB:
    """moto's server on a free loopback port, with every table of the template created."""
    server = MotoServer(host)
    endpoint = server.endpoint
    names = {
        logical_id: f"{stack_name}-{logical_id}" for logical_id in tpl.table_definitions(template)
    }
    client = server.client("dynamodb", region)
    try:
        tpl.create_tables(client, names, template=template)
    except Exception:
        server.stop()
        raise
    environment = {
        **FAKE_CREDENTIALS,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        # Anything else a function might reach goes to moto too, never to a real account.
        "AWS_ENDPOINT_URL": endpoint,
    }
    return DynamoDB("moto", region, names, endpoint, environment, server)


def use_aws(template: tpl.Template, environ: dict[str, str], region: str | None) -> DynamoDB:
    """Existing tables in a real account (or any endpoint in AWS_ENDPOINT_URL_DYNAMODB, e.g.
    DynamoDB Local). Their names come from the variables the template gives the functions
    (CALLS_TABLE_NAME, ...). The caller's credentials are passed through."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    variables = tpl.table_variables(template)
    names: dict[str, str] = {}
    missing: list[str] = []
    for logical_id, env_names in variables.items():
        given = [environ[name] for name in env_names if environ.get(name)]
        if not given:
            missing.append(" or ".join(env_names) or f"(no variable refers to {logical_id})")
        else:
            names[logical_id] = given[0]
    if missing:
        raise ResourceError(
            "DYNAMODB=aws needs the names of existing tables: set " + ", ".join(missing)
        )
    passthrough = (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_CA_BUNDLE",
    )
    environment = {name: environ[name] for name in passthrough if environ.get(name)}
    session = boto3.Session(
        profile_name=environ.get("AWS_PROFILE") or None, region_name=region or None
    )
    resolved_region = session.region_name
    if not resolved_region:
        raise ResourceError("DYNAMODB=aws needs a region: set AWS_REGION (or a profile's region)")
    endpoint = environ.get("AWS_ENDPOINT_URL_DYNAMODB") or None
    client = session.client("dynamodb", endpoint_url=endpoint)
    for name in names.values():
        try:
            client.describe_table(TableName=name)
        except (ClientError, BotoCoreError) as exc:
            raise ResourceError(
                f"DYNAMODB=aws: table {name!r} cannot be described in {resolved_region} "
                f"({type(exc).__name__}: {exc})"
            ) from None
    return DynamoDB("aws", resolved_region, names, endpoint, environment)


@dataclass
class Provider:
    """The eSMS endpoint the functions talk to, and the credentials they send."""

    base_url: str
    api_key: str
    secret_key: str = field(repr=False)
    simulator: Any = None  # an EsmsSimulator when embedded

    def describe(self) -> str:
        if self.simulator is None:
            return f"{self.base_url} (ESMS_BASE_URL; credentials from ESMS_API_KEY/ESMS_SECRET_KEY)"
        return f"simulator {self.base_url}"

    def stop(self) -> None:
        simulator, self.simulator = self.simulator, None
        if simulator is not None:
            simulator.stop()


# Short enough that a call completes in a few seconds, long enough to watch it move.
DEFAULT_SIMULATOR_DELAYS = (0.5, 1.0, 1.5)


def start_simulator(
    *,
    api_key: str | None,
    secret_key: str | None,
    port: int | None,
    delays: tuple[float, float, float] = DEFAULT_SIMULATOR_DELAYS,
    clock_offset: float = 0.0,
    host: str = "127.0.0.1",
) -> Provider:
    """The embedded simulator. Its own configuration (ESMS_SIM_CONFIG, ESMS_SIM_CONFIG_JSON,
    ESMS_SIM_* variables) applies over the stack's defaults; credentials given to the stack
    (ESMS_API_KEY/ESMS_SECRET_KEY) win, and the functions get whatever it accepts."""
    from esms_simulator import EsmsSimulator, Rule, SimulatorConfig, load_config

    base = SimulatorConfig(host=host, default_rule=Rule(delays=delays), clock_offset=clock_offset)
    config = load_config(base=base)
    overrides: dict[str, Any] = {}
    if api_key and secret_key:
        overrides.update(api_key=api_key, secret_key=secret_key)
    if port is not None:
        overrides["port"] = port
    if overrides:
        config = SimulatorConfig.from_mapping(overrides, config)
    simulator = EsmsSimulator(config).start()
    return Provider(simulator.base_url, config.api_key, config.secret_key, simulator)


# CloudFormation's AWS::SQS::Queue properties that are queue attributes of the same name.
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
)


@dataclass
class Queues:
    """The template's queues, in moto's server: what ``!Ref`` / ``!GetAtt`` of them give, and
    what the functions need to reach them."""

    region: str
    endpoint: str
    urls: dict[str, str] = field(default_factory=dict)  # logical id -> URL
    arns: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    server: MotoServer | None = field(default=None, repr=False)  # owned: started for the queues
    client: Any = field(default=None, repr=False)

    def overrides(self) -> dict[str, str]:
        values: dict[str, str] = dict(self.urls)
        for logical_id in self.urls:
            values[f"{logical_id}.Arn"] = self.arns[logical_id]
            values[f"{logical_id}.QueueName"] = self.names[logical_id]
            values[f"{logical_id}.QueueUrl"] = self.urls[logical_id]
        return values

    def logical_id_of(self, arn: str) -> str | None:
        return next((lid for lid, value in self.arns.items() if value == arn), None)

    def stop(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.stop()


def create_queues(
    template: tpl.Template, server: MotoServer, region: str, stack_name: str, *, owned: bool
) -> Queues:
    """Every ``AWS::SQS::Queue`` of the template, in moto, with the template's attributes (the
    redrive policies set once every queue, dead-letter ones included, exists)."""
    definitions = tpl.queue_definitions(template)
    client = server.client("sqs", region)
    queues = Queues(region, server.endpoint, server=server if owned else None, client=client)
    if owned:  # the functions reach DynamoDB elsewhere; only SQS goes to this server
        queues.environment = {"AWS_ENDPOINT_URL_SQS": server.endpoint}
    base = {"AWS::Region": region, "AWS::StackName": stack_name}
    for logical_id, props in definitions.items():
        resolved = tpl.resolve(
            {k: v for k, v in props.items() if k != "RedrivePolicy"}, base, template
        )
        name = str(resolved.get("QueueName") or f"{stack_name}-{logical_id}")
        if resolved.get("FifoQueue") and not name.endswith(".fifo"):
            name += ".fifo"
        attributes = {
            key: _attribute(resolved[key]) for key in _QUEUE_ATTRIBUTES if key in resolved
        }
        url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        queues.urls[logical_id] = url
        queues.arns[logical_id] = arn["Attributes"]["QueueArn"]
        queues.names[logical_id] = name
    overrides = {**base, **queues.overrides()}
    for logical_id, props in definitions.items():
        if "RedrivePolicy" in props:
            policy = tpl.resolve(props["RedrivePolicy"], overrides, template)
            client.set_queue_attributes(
                QueueUrl=queues.urls[logical_id],
                Attributes={"RedrivePolicy": json.dumps(policy)},
            )
    return queues


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
