"""The CloudWatch metrics a handler emitted, read from its EMF lines on standard output."""

from __future__ import annotations

import json
from collections import defaultdict


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
