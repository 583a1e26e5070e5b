"""Logger and metrics shared by every module (Powertools instances share their state by service)."""

from __future__ import annotations

import logging
import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

# Libraries that log request lines or bodies at DEBUG/INFO: httpx logs the provider's URL (its
# query holds the credentials), botocore logs DynamoDB items (phone numbers) and Secrets Manager
# answers; Powertools' own debug lines print route arguments. Nothing of theirs below WARNING
# reaches the logs, whatever the root level. (Our Logger is named after the service, not these.)
for _library in ("httpx", "httpcore", "botocore", "boto3", "urllib3", "aws_lambda_powertools"):
    logging.getLogger(_library).setLevel(logging.WARNING)

# Powertools warns on every invocation that records no metric; reading a call or a callback
# that changes nothing is such an invocation by design, not a fault.
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)

logger = Logger()
metrics = Metrics()


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def gauge(name: str, value: float) -> None:
    """A level (not a count) read at one moment, e.g. the account's balance."""
    metrics.add_metric(name=name, unit=MetricUnit.NoUnit, value=value)


def call_finished(outcome: str, seconds_since_placed: float) -> None:
    """A report (callback or status query) settled a call: its outcome, and the time from its
    placement. Calls that nothing settled (EXPIRED at the horizon) are left out of the time:
    theirs is the horizon's."""
    metrics.add_metric(
        name="TimeToFinalStatus", unit=MetricUnit.Seconds, value=seconds_since_placed
    )
    count_by("CallsFinished", "outcome", outcome)


def count_by(name: str, dimension: str, dimension_value: str) -> None:
    """A count split by one dimension, flushed on its own so it does not tag the other metrics."""
    with single_metric(
        name=name, unit=MetricUnit.Count, value=1, default_dimensions=metrics.default_dimensions
    ) as metric:
        metric.add_dimension(name=dimension, value=dimension_value)
