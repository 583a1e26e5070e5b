"""Well-known numbers with one outcome each, like a payment provider's test card numbers.

They sit after the rules (a rule for the same number wins) and before the default rule, so
``PUT /_simulator/rules`` leaves them in place; ``presets: false`` in the configuration turns
them off. Each takes the default rule's delays and callback composition, so in the local stack
a preset call moves at the stack's pace. The list is printed by ``GET /_simulator/presets``
and tabled in the README.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .rules import FAILED, NO_ANSWER, Rule

PREFIX = "0999000"
# The provider's answer to the slow number comes after this long (its client waits up to 20 s).
SLOW_ANSWER_SECONDS = 5.0
# Refusal codes a number can be given: the last three digits are the code.
REFUSAL_CODES = ("99", "101", "102", "103", "104", "106", "108", "120", "124", "140", "199")


@dataclass(frozen=True)
class Preset:
    phone: str
    outcome: str  # what the caller sees, in a few words
    rule: Rule


def _preset(suffix: str, outcome: str, **rule: object) -> Preset:
    phone = PREFIX + suffix
    return Preset(phone, outcome, Rule(phone=phone, **rule))  # type: ignore[arg-type]


PRESETS: tuple[Preset, ...] = (
    _preset("001", "answered, key 1 pressed, 13 s", ivr="1"),
    _preset("002", "no answer", call_status=NO_ANSWER),
    _preset("003", "carrier failure (SentResult 0)", call_status=FAILED),
    _preset(
        "004",
        f"answered, after the provider took {SLOW_ANSWER_SECONDS:g} s to accept the call",
        response_delay=SLOW_ANSWER_SECONDS,
    ),
    _preset(
        "005", "answered, every callback lost: only reconciliation settles it", drop_callbacks=True
    ),  # fmt: skip
    # The opt-out key of the examples (a call's opt_out_key "9" lists the number).
    _preset("009", "answered, key 9 pressed (an opt-out key)", ivr="9"),
    *(_preset(code.zfill(3), f"refused with code {code}", code=code) for code in REFUSAL_CODES),
)


def preset_rules(default: Rule) -> tuple[Rule, ...]:
    """The presets' rules, at the default rule's pace."""
    return tuple(
        replace(p.rule, delays=default.delays, composition=default.composition) for p in PRESETS
    )
