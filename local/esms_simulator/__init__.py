"""A local stand-in for eSMS.vn's voice API, for the local stack and tests.

>>> from esms_simulator import EsmsSimulator, Rule
>>> with EsmsSimulator(api_key="K", secret_key="S") as sim:  # doctest: +SKIP
...     sim.add_rule(Rule(phone="0912000001", call_status="NO ANSWER"))
...     client_base_url = sim.base_url  # http://127.0.0.1:PORT/MainService.svc/json
"""

from .callbacks import CallbackAttempt
from .config import MUTABLE_SETTINGS, SimulatorConfig, load_config
from .params import CODE_MESSAGES, INVALID_PARAMETER
from .presets import PRESETS, Preset
from .records import CallRecord, ReceivedRequest
from .rules import (
    ANSWERED,
    DEFAULT_CID,
    FAILED,
    NO_ANSWER,
    Delivery,
    Fault,
    Outcome,
    Rule,
)
from .simulator import EsmsSimulator, ProviderAnswer, poll
from .urls import CALLBACK_PARAM_NAMES, Composition, compose_callback_url

__all__ = [
    "ANSWERED",
    "CALLBACK_PARAM_NAMES",
    "CODE_MESSAGES",
    "DEFAULT_CID",
    "FAILED",
    "INVALID_PARAMETER",
    "MUTABLE_SETTINGS",
    "NO_ANSWER",
    "PRESETS",
    "CallRecord",
    "CallbackAttempt",
    "Composition",
    "Delivery",
    "EsmsSimulator",
    "Fault",
    "Outcome",
    "Preset",
    "ProviderAnswer",
    "ReceivedRequest",
    "Rule",
    "SimulatorConfig",
    "compose_callback_url",
    "load_config",
    "poll",
]
