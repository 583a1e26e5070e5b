"""Start-up configuration: defaults, a JSON file, inline JSON, environment variables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .rules import Fault, Rule, coerce_rule
from .urls import Composition

#: Settings that may change while the simulator runs (``update_settings``, PATCH settings).
MUTABLE_SETTINGS: tuple[str, ...] = (
    "callback_composition",
    "callback_timeout",
    "max_resends",
    "resend_backoff",
    "queryable_after",
    "request_id_ttl",
    "honor_send_date",
    "scripts",
    "balance",
    "balance_fault",
    "balance_response_delay",
)

#: The scripts (text to speech) the simulated account has: id → how many variables it takes.
DEFAULT_SCRIPTS: Mapping[str, int] = {"OTP1": 1, "REMIND1": 2}

ENV_CONFIG_FILE = "ESMS_SIM_CONFIG"
ENV_CONFIG_JSON = "ESMS_SIM_CONFIG_JSON"
_ENV_SCALARS = {
    "ESMS_SIM_HOST": "host",
    "ESMS_SIM_PORT": "port",
    "ESMS_SIM_API_KEY": "api_key",
    "ESMS_SIM_SECRET_KEY": "secret_key",
}


def _number(name: str, value: Any, *, integer: bool = False) -> Any:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
        kind = "a non-negative integer" if integer else "a non-negative number"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return value if integer else float(value)


def _scripts(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ValueError("scripts must map script ids to their number of variables")
    for script, count in value.items():
        if not isinstance(script, str) or not script:
            raise ValueError(f"a script id must be a non-empty string, got {script!r}")
        _number(f"scripts[{script!r}]", count, integer=True)
    return dict(value)


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything the simulator is started with. Times are in seconds."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: an ephemeral port, read it back from EsmsSimulator.port
    api_key: str = "sim-api-key"
    secret_key: str = "sim-secret-key"  # noqa: S105 - a documented test credential
    rules: tuple[Rule, ...] = ()
    default_rule: Rule = field(default_factory=Rule)
    callback_composition: Composition = Composition.AUTO
    callback_timeout: float = 3.0  # per callback GET
    max_resends: int = 5  # re-sends after the first attempt
    resend_backoff: float = 0.1  # pause before each re-send
    queryable_after: float = 0.1  # GetSendStatus answers 105 for younger calls
    request_id_ttl: float = 86400.0  # RequestID reuse window (124)
    honor_send_date: bool = True  # a future SendDate holds stages 7 and 5 until then
    seed: int | None = None  # for shuffled delivery
    presets: bool = True  # the well-known numbers of presets.py, after the rules
    clock_offset: float = 0.0  # start the simulator's clock this many seconds ahead
    # MakeCallTemplate_V2's scripts: id → number of variables; any other TemplateId is 104
    scripts: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_SCRIPTS))
    # GetBalance_json: what the account has left (VND), and how its answer fails (the rules'
    # faults: http_500, garbage, disconnect; a delay past the client's timeout is a timeout).
    balance: float = 5_000_000.0
    balance_fault: Fault | None = None
    balance_response_delay: float = 0.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "scripts", _scripts(self.scripts))
        set_(self, "rules", tuple(coerce_rule(rule) for rule in self.rules))
        set_(self, "default_rule", coerce_rule(self.default_rule))
        set_(self, "callback_composition", Composition(self.callback_composition))
        set_(self, "port", _number("port", int(self.port), integer=True))
        set_(self, "max_resends", _number("max_resends", self.max_resends, integer=True))
        if self.balance_fault is not None:
            set_(self, "balance_fault", Fault(self.balance_fault))
        for name in (
            "balance",
            "balance_response_delay",
            "callback_timeout",
            "resend_backoff",
            "queryable_after",
            "request_id_ttl",
            "clock_offset",
        ):
            set_(self, name, _number(name, getattr(self, name)))
        for name in ("honor_send_date", "presets"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        if not self.api_key or not self.secret_key:
            raise ValueError("api_key and secret_key must not be empty")

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], base: SimulatorConfig | None = None
    ) -> SimulatorConfig:
        """Overlay JSON-like ``data`` onto ``base`` (defaults); unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config key(s): {', '.join(unknown)}")
        values = dict(data)
        if "rules" in values:
            rules = values["rules"]
            if not isinstance(rules, list | tuple):
                raise ValueError("rules must be a list")
            values["rules"] = tuple(coerce_rule(rule) for rule in rules)
        if "default_rule" in values:
            values["default_rule"] = coerce_rule(values["default_rule"])
        return replace(base or SimulatorConfig(), **values)

    def settings(self) -> dict[str, Any]:
        """The settings that may change at run time, JSON-ready."""
        out = {name: getattr(self, name) for name in MUTABLE_SETTINGS}
        out["callback_composition"] = str(self.callback_composition)
        out["scripts"] = dict(self.scripts)
        out["balance_fault"] = None if self.balance_fault is None else str(self.balance_fault)
        return out


def load_config(
    environ: Mapping[str, str] | None = None, base: SimulatorConfig | None = None
) -> SimulatorConfig:
    """Defaults < ``$ESMS_SIM_CONFIG`` file < ``$ESMS_SIM_CONFIG_JSON`` < single variables."""
    env = os.environ if environ is None else environ
    config = base or SimulatorConfig()
    path = env.get(ENV_CONFIG_FILE)
    if path:
        config = SimulatorConfig.from_mapping(_json_object(Path(path).read_text("utf-8")), config)
    inline = env.get(ENV_CONFIG_JSON)
    if inline:
        config = SimulatorConfig.from_mapping(_json_object(inline), config)
    scalars: dict[str, Any] = {key: env[var] for var, key in _ENV_SCALARS.items() if env.get(var)}
    if "port" in scalars:
        scalars["port"] = int(scalars["port"])
    result: SimulatorConfig = replace(config, **scalars)
    return result


def _json_object(text: str) -> dict[str, Any]:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("the simulator configuration must be a JSON object")
    return data
