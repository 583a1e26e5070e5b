"""Watch the eSMS account's balance: every call is refused (code 103) once it runs out, so the
balance is published as a metric (EsmsBalance, alarmed under LowBalanceThreshold) and logged
(INFO when it changed since this environment's last check, WARNING under the threshold).

A check that cannot read the balance (bad credentials, provider down or slow) publishes no
EsmsBalance (a made-up level would lie to the alarm) but counts BalanceCheckFailed and logs the
reason; it never raises, so the scheduled invocation is not retried: the next run checks again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from esms_calls.domain.provider import Refused
from esms_calls.errors import ProviderError
from esms_calls.observability import count, gauge, logger
from esms_calls.usecases.ports import BalanceSource

# Longest wait for the provider's answer (the function has 29 s).
_BALANCE_QUERY_BUDGET_SECONDS = 10

BALANCE_METRIC = "EsmsBalance"
CHECK_FAILED_METRIC = "BalanceCheckFailed"


@dataclass(frozen=True)
class BalanceCheck:
    balance: float | None  # None: the provider did not tell
    low: bool = False
    error: str | None = None  # the provider's code, or the kind of failure


class CheckBalance:
    def __init__(self, *, provider: Callable[[], BalanceSource], low_threshold: float) -> None:
        self._provider = provider
        self._low_threshold = low_threshold
        self._last_balance: float | None = None  # this execution environment's last reading

    def __call__(self) -> BalanceCheck:
        try:
            answer = self._provider().get_balance(time_budget=_BALANCE_QUERY_BUDGET_SECONDS)
        except ProviderError as exc:
            return self._failed(type(exc).__name__, str(exc))
        if isinstance(answer, Refused):
            return self._failed(answer.code, answer.message)
        gauge(BALANCE_METRIC, answer.amount)
        low = answer.amount < self._low_threshold
        # A balance unchanged since the last check is kept out of INFO (the metric has it): the
        # local stack checks every few seconds.
        changed, self._last_balance = answer.amount != self._last_balance, answer.amount
        log = logger.warning if low else logger.info if changed else logger.debug
        log(
            "esms balance low" if low else "esms balance",
            extra={"balance": answer.amount, "low_balance_threshold": self._low_threshold},
        )
        return BalanceCheck(balance=answer.amount, low=low)

    def _failed(self, error: str, reason: str) -> BalanceCheck:
        count(CHECK_FAILED_METRIC)
        logger.error("esms balance check failed", extra={"error": error, "reason": reason})
        return BalanceCheck(balance=None, error=error)
