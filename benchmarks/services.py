"""Local services for the cold-start rows: moto's server (DynamoDB, Secrets Manager, SSM) and the
eSMS simulator, both on loopback, each in a process of its own, stopped on exit."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3

from devstack.template import create_tables, function_environment

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "bench-api-key"
SECRET_KEY = "bench-secret-key"
SIGNING_KEY = "bench-signing-key-5b7e2d"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(cmd: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        stop_group(proc, signal.SIGTERM)


def stop_group(proc: subprocess.Popen, sig: int, timeout: float = 10.0) -> None:
    """Signal a process started with ``start_new_session`` and its children; kill them all
    when they are not gone within ``timeout``."""
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


@dataclass
class Stack:
    aws_endpoint: str
    esms_base_url: str
    tables: dict[str, str]
    env: dict[str, str]  # function environment, deployed shape (secrets in Secrets Manager)

    def function_env(self, logical_id: str) -> dict[str, str]:
        return {**self.env[logical_id], "AWS_ENDPOINT_URL": self.aws_endpoint}


@contextmanager
def local_stack() -> Iterator[Stack]:
    bin_dir = Path(sys.executable).parent
    with ExitStack() as stack:
        moto_port = free_port()
        stack.enter_context(
            process([str(bin_dir / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)])
        )
        url_file = Path(tempfile.mkdtemp()) / "simulator-url"
        config = {
            "api_key": API_KEY,
            "secret_key": SECRET_KEY,
            "default_rule": {"drop_callbacks": True},
        }
        stack.enter_context(
            process(
                [sys.executable, "-m", "esms_simulator", "--log-level", "WARNING"]
                + ["--url-file", str(url_file)],
                env={
                    "PYTHONPATH": str(ROOT / "local"),
                    "ESMS_SIM_CONFIG_JSON": json.dumps(config),
                },
            )
        )
        wait_for_port(moto_port)
        deadline = time.monotonic() + 30
        while not url_file.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the simulator did not start")
            time.sleep(0.05)
        sim_url = url_file.read_text().strip()
        endpoint = f"http://127.0.0.1:{moto_port}"
        session = boto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="ap-southeast-1",
        )
        suffix = uuid.uuid4().hex[:6]
        tables = {"CallsTable": f"calls-{suffix}", "DedupeTable": f"dedupe-{suffix}"}
        create_tables(session.client("dynamodb", endpoint_url=endpoint), tables)
        secrets = session.client("secretsmanager", endpoint_url=endpoint)
        esms_secret = secrets.create_secret(
            Name=f"esms-{suffix}",
            SecretString=json.dumps({"api_key": API_KEY, "secret_key": SECRET_KEY}),
        )["ARN"]
        signing_secret = secrets.create_secret(Name=f"signing-{suffix}", SecretString=SIGNING_KEY)[
            "ARN"
        ]
        ssm = session.client("ssm", endpoint_url=endpoint)
        stack_name = "esms-calls-bench"
        # Callbacks are dropped by the simulator's rule; the URL only has to be well formed.
        ssm.put_parameter(
            Name=f"/{stack_name}/public-base-url", Value="http://127.0.0.1:9", Type="String"
        )
        overrides = {
            **tables,
            "EsmsBaseUrl": f"{sim_url}/MainService.svc/json",
            "EsmsCredentialsSecretArn": esms_secret,
            "CallbackSigningSecret": signing_secret,
            "AWS::StackName": stack_name,
            # No list is fanned out here: the queue only has to be named.
            "CallsQueue": f"{endpoint}/123456789012/{stack_name}-calls",
        }
        env = {
            fn: function_environment(fn, overrides) for fn in ("CallsFunction", "CallbackFunction")
        }
        yield Stack(endpoint, overrides["EsmsBaseUrl"], tables, env)
