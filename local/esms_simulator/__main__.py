"""Standalone simulator: ``python -m esms_simulator --port 9090 --api-key K --secret-key S``.

Run with ``local/`` on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config import SimulatorConfig, load_config
from .simulator import EsmsSimulator
from .urls import Composition

log = logging.getLogger("esms_simulator")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m esms_simulator",
        description="Local stand-in for eSMS.vn's voice API (MakeCallRecord_V2, GetSendStatus, "
        "callbacks). Environment: ESMS_SIM_CONFIG (JSON file), ESMS_SIM_CONFIG_JSON, "
        "ESMS_SIM_HOST, ESMS_SIM_PORT, ESMS_SIM_API_KEY, ESMS_SIM_SECRET_KEY.",
    )
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port, 0 for an ephemeral one (default 0)")
    parser.add_argument("--api-key", help="the ApiKey the simulator accepts")
    parser.add_argument("--secret-key", help="the SecretKey the simulator accepts")
    parser.add_argument("--config", type=Path, help="JSON configuration file")
    parser.add_argument("--rules", help="JSON list of rules, or @FILE holding one")
    parser.add_argument(
        "--queryable-after", type=float, help="seconds before GetSendStatus knows a call"
    )
    parser.add_argument("--composition", choices=[c.value for c in Composition])
    parser.add_argument(
        "--url-file", type=Path, help="write http://HOST:PORT to this file once listening"
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    return parser


def build_config(args: argparse.Namespace) -> SimulatorConfig:
    config = load_config()
    if args.config is not None:
        config = SimulatorConfig.from_mapping(json.loads(args.config.read_text("utf-8")), config)
    overrides: dict[str, Any] = {}
    if args.rules:
        text = Path(args.rules[1:]).read_text("utf-8") if args.rules.startswith("@") else args.rules
        overrides["rules"] = json.loads(text)
    flags = {
        "host": args.host,
        "port": args.port,
        "api_key": args.api_key,
        "secret_key": args.secret_key,
        "queryable_after": args.queryable_after,
        "callback_composition": args.composition,
    }
    overrides.update({key: value for key, value in flags.items() if value is not None})
    return SimulatorConfig.from_mapping(overrides, config) if overrides else config


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its lines would show full URLs
    try:
        config = build_config(args)
    except (OSError, ValueError) as exc:
        log.error("invalid configuration: %s", exc)
        return 2
    defaults = SimulatorConfig()
    if (config.api_key, config.secret_key) == (defaults.api_key, defaults.secret_key):
        log.warning("using the built-in test credentials (set --api-key and --secret-key)")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    simulator = EsmsSimulator(config).start()
    if args.url_file is not None:  # written whole, then renamed: readers never see half of it
        partial = args.url_file.with_name(args.url_file.name + ".partial")
        partial.write_text(simulator.url + "\n", "utf-8")
        partial.replace(args.url_file)
    log.info(
        "admin endpoints under %s/_simulator/; %d rule(s); ApiKey=*** SecretKey=***",
        simulator.url,
        len(config.rules),
    )
    stop.wait()
    log.info("shutting down")
    simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
