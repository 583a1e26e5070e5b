"""The CloudWatch metrics a handler emitted, read from its EMF lines on standard output."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import NamedTuple


def emitted(output: str) -> dict[str, list[float]]:
    values: dict[str, list[float]] = defaultdict(list)
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values[metric["Name"]] += value if isinstance(value, list) else [value]
    return values


class Datapoint(NamedTuple):
    """One metric of one EMF document, as CloudWatch would file it."""

    namespace: str
    name: str
    unit: str
    dimensions: dict[str, str]
    values: list[float]


def datapoints(output: str) -> list[Datapoint]:
    found = []
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            names = directive["Dimensions"][0] if directive["Dimensions"] else []
            dimensions = {name: str(document[name]) for name in names}
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values = [float(v) for v in (value if isinstance(value, list) else [value])]
                found.append(
                    Datapoint(
                        directive["Namespace"],
                        metric["Name"],
                        metric.get("Unit", "None"),
                        dimensions,
                        values,
                    )
                )
    return found
