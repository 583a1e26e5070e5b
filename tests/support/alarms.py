"""A CloudWatch alarm of template.yaml evaluated on emitted metrics, as CloudWatch would."""

from __future__ import annotations

import operator
from typing import Any

from devstack.template import resolve
from tests.support.metrics import Datapoint

_COMPARISONS = {
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}
_STATISTICS = {"Minimum": min, "Maximum": max, "Sum": sum}


def alarm_fires(
    template: dict[str, Any],
    alarm_id: str,
    points: list[Datapoint],
    parameters: dict[str, Any] | None = None,
) -> bool | None:
    """Whether one evaluation period holding ``points`` breaches the alarm; None when no point
    is the alarm's metric (namespace, name and dimensions all match), i.e. missing data."""
    alarm = resolve(template["Resources"][alarm_id]["Properties"], parameters or {}, template)
    dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    values = [
        value
        for point in points
        if (point.namespace, point.name, point.dimensions)
        == (alarm["Namespace"], alarm["MetricName"], dimensions)
        for value in point.values
    ]
    if not values:
        return None
    assert alarm["EvaluationPeriods"] >= 1 and alarm["Statistic"] in _STATISTICS
    statistic = _STATISTICS[alarm["Statistic"]](values)
    return bool(_COMPARISONS[alarm["ComparisonOperator"]](statistic, float(alarm["Threshold"])))
