"""The local stack's options (command line over environment) and the functions' environment.

Environment variables read (the command line overrides each):

| variable | meaning |
|---|---|
| ``PORT`` | the local API's port (3000; 0 = any free port) |
| ``DYNAMODB`` | ``moto`` (default: moto's server, tables from template.yaml) or ``aws`` |
| ``CALLS_TABLE_NAME``, ``DEDUPE_TABLE_NAME`` | with ``DYNAMODB=aws``: existing tables |
| ``ESMS_BASE_URL`` | another provider endpoint instead of the embedded simulator |
| ``ESMS_API_KEY``, ``ESMS_SECRET_KEY`` | its credentials (required with ``ESMS_BASE_URL``) |
| ``CALLBACK_SIGNING_KEY`` | the callback URLs' HMAC key (random for each run otherwise) |
| ``PUBLIC_BASE_URL`` | base of the callback URLs (the local API's own address otherwise) |
| ``RECONCILE_EVERY`` | seconds between scheduled invocations (30; 0 disables them) |
| ``RECONCILE_AFTER`` | age in seconds after which reconciliation asks about a call (20 here) |
|   | and, locally, the wait before asking again about one still ringing (deployed: 300 s) |
| ``SIMULATOR_CLOCK`` | start the simulator's clock this far ahead (``+1d``, ``2h30m``, seconds) |
| ``CONCURRENCY`` | environments per function (3) |
| ``LOG_FORMAT`` | ``compact`` (default), ``json`` or ``pretty`` |
| ``PARAMETER_OVERRIDES`` | template parameters, ``Name=Value`` separated by spaces |
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import template as tpl
from devstack.console import LOG_FORMATS, LogFormat
from esms_simulator.clock import parse_duration

DEFAULT_PORT = 3000
DEFAULT_CONCURRENCY = 3
DEFAULT_RECONCILE_EVERY = 30.0
# Deployed, a call is queried after 900 s (the template allows no less than 60); locally a lost
# callback should be settled while the newcomer still watches.
DEFAULT_RECONCILE_AFTER = 20
RECONCILE_AFTER_VARIABLE = "RECONCILE_AFTER_SECONDS"
RECONCILE_RETRY_VARIABLE = "RECONCILE_RETRY_SECONDS"
BALANCE_URL_VARIABLE = "ESMS_BALANCE_URL"
LAYER_TYPE = "AWS::Serverless::LayerVersion"

# Names a deployment resolves from Secrets Manager / SSM; locally their values come straight
# from the environment instead (Settings accepts exactly one source of each).
DEPLOYED_ONLY = ("ESMS_CREDENTIALS_SECRET", "CALLBACK_SIGNING_SECRET", "PUBLIC_BASE_URL_PARAMETER")
# Variables of the caller's environment a function process keeps (the rest is the template's).
_PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")


class ConfigError(ValueError):
    """An option or variable the stack cannot work with (the message says which)."""


@dataclass
class StackOptions:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    concurrency: int = DEFAULT_CONCURRENCY
    reconcile_every: float = DEFAULT_RECONCILE_EVERY
    reconcile_after: int = DEFAULT_RECONCILE_AFTER
    simulator_clock: float = 0.0  # seconds the simulator's clock starts ahead
    dynamodb: str = "moto"
    log_format: LogFormat = "compact"
    url_file: Path | None = None
    simulator_port: int | None = None
    simulator_delays: tuple[float, float, float] | None = None
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    template_path: Path | None = None
    prewarm: bool = True
    # From the environment only (credentials never come from the command line).
    esms_base_url: str | None = None
    esms_api_key: str | None = field(default=None, repr=False)
    esms_secret_key: str | None = field(default=None, repr=False)
    signing_key: str | None = field(default=None, repr=False)
    public_base_url: str | None = None
    region: str | None = None
    environ: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def signing_key_given(self) -> bool:
        return bool(self.environ.get("CALLBACK_SIGNING_KEY"))


def _number(name: str, text: str, *, integer: bool = False, minimum: float = 0) -> Any:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {text!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {text!r}")
    return value


def _pairs(items: Sequence[str], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        for piece in item.split():
            name, sep, value = piece.partition("=")
            if not sep or not name:
                raise ConfigError(f"{what}: expected Name=Value, got {piece!r}")
            pairs[name] = value
    return pairs


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``serve`` and ``invoke``."""
    parser.add_argument(
        "--dynamodb", choices=("moto", "aws"), help="where the tables live (env DYNAMODB)"
    )
    parser.add_argument(
        "--parameter-overrides",
        action="append",
        default=[],
        metavar="Name=Value",
        help="template parameters, like sam's (env PARAMETER_OVERRIDES)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra environment variable for the functions (wins over the template)",
    )
    parser.add_argument(
        "--reconcile-after",
        type=int,
        metavar="SECONDS",
        help="age after which reconciliation queries a call (env RECONCILE_AFTER, default "
        f"{DEFAULT_RECONCILE_AFTER}; deployed: the ReconcileAfterSeconds parameter)",
    )
    parser.add_argument(
        "--simulator-clock",
        metavar="OFFSET",
        help="start the simulator's clock this far ahead, e.g. +1d, 2h30m, 90 "
        "(env SIMULATOR_CLOCK); scheduled calls use it",
    )
    parser.add_argument("--template", type=Path, help="the SAM template (template.yaml)")
    parser.add_argument(
        "--log-format", choices=LOG_FORMATS, help="handler log lines (env LOG_FORMAT)"
    )


def options_from(args: argparse.Namespace, environ: Mapping[str, str]) -> StackOptions:
    env = dict(environ)
    opts = StackOptions(environ=env)
    opts.host = getattr(args, "host", None) or opts.host
    port = getattr(args, "port", None)
    opts.port = (
        port
        if port is not None
        else _number("PORT", env.get("PORT") or str(DEFAULT_PORT), integer=True)
    )
    if not 0 <= opts.port <= 65535:
        raise ConfigError(f"PORT must be 0-65535, got {opts.port}")
    concurrency = getattr(args, "concurrency", None)
    if concurrency is None:
        concurrency = _number(
            "CONCURRENCY",
            env.get("CONCURRENCY") or str(DEFAULT_CONCURRENCY),
            integer=True,
            minimum=1,
        )
    if concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    opts.concurrency = concurrency
    every = getattr(args, "reconcile_every", None)
    opts.reconcile_every = (
        every
        if every is not None
        else _number("RECONCILE_EVERY", env.get("RECONCILE_EVERY") or str(DEFAULT_RECONCILE_EVERY))
    )
    if opts.reconcile_every < 0:
        raise ConfigError("--reconcile-every must not be negative")
    after = getattr(args, "reconcile_after", None)
    opts.reconcile_after = (
        after
        if after is not None
        else _number(
            "RECONCILE_AFTER",
            env.get("RECONCILE_AFTER") or str(DEFAULT_RECONCILE_AFTER),
            integer=True,
        )
    )
    if opts.reconcile_after < 0:
        raise ConfigError("--reconcile-after must not be negative")
    clock = getattr(args, "simulator_clock", None) or env.get("SIMULATOR_CLOCK") or "0"
    try:
        opts.simulator_clock = parse_duration(clock)
    except ValueError as exc:
        raise ConfigError(f"--simulator-clock / SIMULATOR_CLOCK: {exc}") from None
    opts.dynamodb = (args.dynamodb or env.get("DYNAMODB") or "moto").lower()
    if opts.dynamodb not in ("moto", "aws"):
        raise ConfigError(f"DYNAMODB must be moto or aws, got {opts.dynamodb!r}")
    log_format = args.log_format or env.get("LOG_FORMAT") or "compact"
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
    opts.log_format = log_format
    opts.url_file = getattr(args, "url_file", None)
    opts.simulator_port = getattr(args, "simulator_port", None)
    delays = getattr(args, "simulator_delays", None)
    if delays:
        values = [_number("--simulator-delays", piece) for piece in delays.split(",")]
        if len(values) == 1:
            values *= 3
        if len(values) != 3:
            raise ConfigError("--simulator-delays: one number, or three separated by commas")
        opts.simulator_delays = (values[0], values[1], values[2])
    opts.prewarm = not getattr(args, "no_prewarm", False)
    overrides = [env["PARAMETER_OVERRIDES"]] if env.get("PARAMETER_OVERRIDES") else []
    opts.parameter_overrides = _pairs([*overrides, *args.parameter_overrides], "parameter")
    opts.extra_env = _pairs(args.env, "--env")
    opts.template_path = args.template
    opts.esms_base_url = env.get("ESMS_BASE_URL") or None
    opts.esms_api_key = env.get("ESMS_API_KEY") or None
    opts.esms_secret_key = env.get("ESMS_SECRET_KEY") or None
    if opts.esms_base_url:
        if not re.match(r"^https?://\S+$", opts.esms_base_url):
            raise ConfigError("ESMS_BASE_URL must be an http(s) URL")
        if not (opts.esms_api_key and opts.esms_secret_key):
            raise ConfigError("ESMS_BASE_URL is set: set ESMS_API_KEY and ESMS_SECRET_KEY too")
    opts.signing_key = env.get("CALLBACK_SIGNING_KEY") or secrets.token_urlsafe(32)
    opts.public_base_url = env.get("PUBLIC_BASE_URL") or None
    if opts.public_base_url and not re.match(r"^https?://\S+$", opts.public_base_url):
        raise ConfigError("PUBLIC_BASE_URL must be an http(s) URL")
    opts.region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    return opts


def check_parameters(template: tpl.Template, values: Mapping[str, str]) -> None:
    """Refuse unknown parameters and values outside a parameter's declared constraints."""
    declared: dict[str, Any] = template.get("Parameters", {})
    for name, value in values.items():
        if name not in declared:
            raise ConfigError(f"unknown template parameter {name!r}; have {sorted(declared)}")
        spec = declared[name]
        allowed = spec.get("AllowedValues")
        if allowed and value not in [str(item) for item in allowed]:
            raise ConfigError(f"parameter {name}: {value!r} is not one of {allowed}")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            raise ConfigError(f"parameter {name}: {value!r} does not match {pattern}")
        if spec.get("Type") == "Number":
            number = _number(f"parameter {name}", value, minimum=float("-inf"))
            if "MinValue" in spec and number < float(spec["MinValue"]):
                raise ConfigError(f"parameter {name}: at least {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                raise ConfigError(f"parameter {name}: at most {spec['MaxValue']}")


def layer_dirs(template: tpl.Template, logical_id: str) -> list[Path]:
    """The content directories of the function's layers that the template builds itself."""
    resources = template["Resources"]
    props = resources[logical_id].get("Properties", {})
    layers = props.get("Layers") or template.get("Globals", {}).get("Function", {}).get("Layers")
    dirs: list[Path] = []
    for layer in layers or []:
        ref = layer.get("Ref") if isinstance(layer, dict) else None
        resource = resources.get(ref) if ref else None
        if resource and resource.get("Type") == LAYER_TYPE:
            content = resource.get("Properties", {}).get("ContentUri")
            if isinstance(content, str):
                dirs.append((tpl.REPO_ROOT / content).resolve())
    return dirs


def function_env(
    template: tpl.Template,
    logical_id: str,
    *,
    opts: StackOptions,
    resource_values: Mapping[str, Any],
    region: str,
    aws_environment: Mapping[str, str],
    esms_base_url: str,
    esms_api_key: str,
    esms_secret_key: str,
    public_base_url: str,
    python_path: Sequence[Path],
) -> dict[str, str]:
    """The process environment of one function: what Lambda sets, what the template gives it,
    then the local overrides. Holds credentials: never print it."""
    overrides: dict[str, Any] = dict(resource_values)
    overrides["AWS::Region"] = region
    overrides.update(opts.parameter_overrides)
    # The deployed-only variables are left out before resolving: what they refer to (a secret's
    # ARN, the signing secret resource) exists only in a deployment.
    from_template = tpl.function_environment(logical_id, overrides, without_deployed_only(template))

    source = opts.environ
    env = {name: source[name] for name in _PASSTHROUGH if source.get(name)}
    code_dir, module, function = tpl.function_handler(logical_id, template)
    stack_name = tpl.PSEUDO_PARAMETER_DEFAULTS["AWS::StackName"]
    env.update(
        {
            # What the Lambda runtime sets (sam local sets AWS_SAM_LOCAL as well).
            "AWS_LAMBDA_FUNCTION_NAME": logical_id,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(tpl.function_memory(logical_id, template)),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{stack_name}/{logical_id}",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_SAM_LOCAL": "true",
            "LAMBDA_TASK_ROOT": str(code_dir),
            "_HANDLER": f"{module}.{function}",
            "TZ": "UTC",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(str(path) for path in python_path),
            "DEVSTACK_ACCOUNT_ID": tpl.PSEUDO_PARAMETER_DEFAULTS["AWS::AccountId"],
        }
    )
    env.update(aws_environment)
    env.update(from_template)
    if RECONCILE_AFTER_VARIABLE in from_template and "ReconcileAfterSeconds" not in (
        opts.parameter_overrides
    ):
        env[RECONCILE_AFTER_VARIABLE] = str(opts.reconcile_after)
        # A call caught still ringing is asked again on a later local run, not 5 minutes later.
        env[RECONCILE_RETRY_VARIABLE] = str(max(1, opts.reconcile_after))
    for name in DEPLOYED_ONLY:
        env.pop(name, None)
    env.update(
        {
            "ESMS_BASE_URL": esms_base_url,
            "ESMS_API_KEY": esms_api_key,
            "ESMS_SECRET_KEY": esms_secret_key,
            "CALLBACK_SIGNING_KEY": opts.signing_key or "",
            "PUBLIC_BASE_URL": public_base_url,
            # No X-Ray daemon here.
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    if BALANCE_URL_VARIABLE in from_template and not opts.esms_base_url:
        # The embedded simulator answers GetBalance_json too, on its one host.
        env[BALANCE_URL_VARIABLE] = f"{esms_base_url.rstrip('/')}/GetBalance_json/"
    if opts.log_format == "pretty":
        env["POWERTOOLS_DEV"] = "true"
    env.update(opts.extra_env)
    return env


def without_deployed_only(template: tpl.Template) -> tpl.Template:
    """A copy of the template whose functions lack the DEPLOYED_ONLY variables."""
    copy = deepcopy(template)
    sources = [copy.get("Globals", {}).get("Function", {})]
    sources += [
        resource.get("Properties", {})
        for resource in copy["Resources"].values()
        if resource.get("Type") == tpl.FUNCTION_TYPE
    ]
    for source in sources:
        variables = (source.get("Environment") or {}).get("Variables") or {}
        for name in DEPLOYED_ONLY:
            variables.pop(name, None)
    return copy


def table_arn(region: str, name: str) -> str:
    account = tpl.PSEUDO_PARAMETER_DEFAULTS["AWS::AccountId"]
    return f"arn:aws:dynamodb:{region}:{account}:table/{name}"
