"""The operations dashboard of template.yaml: every metric it shows is one the code emits (with
the dimensions the code gives it) or one AWS publishes for a resource of this template."""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from devstack.template import REPO_ROOT, load_template, resolve

pytestmark = pytest.mark.unit

NAMESPACE = "EsmsCalls"
SEARCH = re.compile(r"SEARCH\('\{(?P<schema>[^}]*)\} MetricName=\"(?P<name>\w+)\"'")
# The helpers that emit a metric, and which argument names it (observability.py's own calls
# pass a variable: the metric is named where they are called).
EMITTERS = {"count": 0, "count_by": 0, "gauge": 0, "add_metric": None, "single_metric": None}


def _module_strings(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level names bound to a string or to a dict of strings (e.g. _METRIC tables)."""
    values: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found = [
                item.value
                for item in ([node.value] + getattr(node.value, "values", []))
                if isinstance(item, ast.Constant) and isinstance(item.value, str)
            ]
            for target in targets:
                if isinstance(target, ast.Name) and found:
                    values[target.id] = found
    return values


def emitted_metrics() -> dict[str, set[str]]:
    """Every metric the handlers and the layer emit: name -> its dimensions besides service."""
    metrics: dict[str, set[str]] = defaultdict(set)
    paths = [*(REPO_ROOT / "layers/shared/esms_calls").rglob("*.py")]
    paths += [*(REPO_ROOT / "functions").glob("*/app.py")]
    for path in paths:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        strings = _module_strings(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if any(k.arg == "capture_cold_start_metric" for k in node.keywords):
                metrics["ColdStart"].add("function_name")  # Powertools' own, per function
            if name not in EMITTERS:
                continue
            position = EMITTERS[name]
            keyword = next((k.value for k in node.keywords if k.arg == "name"), None)
            arg = node.args[position] if position is not None and node.args else keyword
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names = [arg.value]
            elif isinstance(arg, ast.Name):
                names = strings.get(arg.id, [])
            elif isinstance(arg, ast.Subscript) and isinstance(arg.value, ast.Name):
                names = strings.get(arg.value.id, [])
            else:
                continue
            split = [node.args[1].value] if name == "count_by" else []
            for metric in names:
                metrics[metric].update(str(d) for d in split)
    return dict(metrics)


FUNCTIONS = {"CallsFunction": "stack-calls-fn", "CallbackFunction": "stack-callback-fn"}
QUEUES = {"CallsQueue", "CallsDeadLetterQueue", "TriggersDeadLetterQueue"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def widgets(template: dict[str, Any]) -> list[dict[str, Any]]:
    values: dict[str, Any] = dict(FUNCTIONS)
    for queue_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::SQS::Queue":
            values[f"{queue_id}.QueueName"] = f"{queue_id}-name"
    dashboard = template["Resources"]["OperationsDashboard"]["Properties"]
    body = json.loads(resolve(dashboard["DashboardBody"], values, template))
    return list(body["widgets"])


def rows(widgets: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """``(namespace, metric, dimensions, options)`` of every metric row (not expressions)."""
    found = []
    for widget in widgets:
        for row in widget["properties"]["metrics"]:
            if isinstance(row[0], dict):
                continue
            options = row[-1] if isinstance(row[-1], dict) else {}
            names = [item for item in row if not isinstance(item, dict)]
            assert "." not in names, "spell every row out: the test reads each on its own"
            namespace, metric, *pairs = names
            found.append(
                (namespace, metric, dict(zip(pairs[::2], pairs[1::2], strict=True)), options)
            )
    return found


def searches(widgets: list[dict[str, Any]]) -> list[tuple[str, str, set[str]]]:
    """``(namespace, metric, dimension names)`` of every SEARCH expression."""
    found = []
    for widget in widgets:
        for row in widget["properties"]["metrics"]:
            if isinstance(row[0], dict) and "expression" in row[0]:
                match = SEARCH.search(row[0]["expression"])
                assert match, row[0]["expression"]
                namespace, *dimensions = match["schema"].split(",")
                found.append((namespace, match["name"], set(dimensions)))
    return found


def test_every_service_metric_on_the_dashboard_is_emitted_with_its_dimensions(
    template: dict[str, Any], widgets: list[dict[str, Any]]
) -> None:
    # Given the metrics the code emits, and the service name the template gives it
    emitted = emitted_metrics()
    environment = template["Globals"]["Function"]["Environment"]["Variables"]
    service = environment["POWERTOOLS_SERVICE_NAME"]
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == NAMESPACE

    # Then every row of the service's namespace names one of them, filed as the code files it
    service_rows = [row for row in rows(widgets) if row[0] == NAMESPACE]
    assert service_rows
    for _, metric, dimensions, _ in service_rows:
        assert metric in emitted, f"{metric}: no code emits it"
        assert dimensions.pop("service") == service, metric
        assert set(dimensions) == emitted[metric], metric
        if "function_name" in dimensions:
            assert dimensions["function_name"] in FUNCTIONS.values(), metric
    # ... and every SEARCH finds a split metric by the dimension the code splits it by
    for namespace, metric, dimensions in searches(widgets):
        assert namespace == NAMESPACE and metric in emitted, metric
        assert dimensions == {"service", *emitted[metric]} and emitted[metric], metric


def test_every_aws_metric_on_the_dashboard_is_of_a_resource_of_the_template(
    widgets: list[dict[str, Any]],
) -> None:
    aws_rows = [row for row in rows(widgets) if row[0].startswith("AWS/")]
    assert {namespace for namespace, *_ in aws_rows} == {"AWS/Lambda", "AWS/SQS"}
    for namespace, metric, dimensions, _ in aws_rows:
        if namespace == "AWS/Lambda":
            assert set(dimensions) == {"FunctionName"}, metric
            assert dimensions["FunctionName"] in FUNCTIONS.values(), metric
        else:
            assert set(dimensions) == {"QueueName"}, metric
            assert dimensions["QueueName"].removesuffix("-name") in QUEUES, metric


def test_the_dashboard_shows_what_an_operator_watches(
    template: dict[str, Any], widgets: list[dict[str, Any]]
) -> None:
    shown = {(namespace, metric) for namespace, metric, _, _ in rows(widgets)}
    shown |= {(namespace, metric) for namespace, metric, _ in searches(widgets)}

    assert shown >= {
        (NAMESPACE, "CallsRequested"),
        (NAMESPACE, "CallsAccepted"),
        (NAMESPACE, "CallsRefused"),  # by provider code
        (NAMESPACE, "CallsFinished"),  # by outcome
        (NAMESPACE, "TimeToFinalStatus"),
        (NAMESPACE, "CallbacksStored"),
        (NAMESPACE, "CallbackTokensRejected"),
        (NAMESPACE, "ReconcileBacklog"),
        (NAMESPACE, "EsmsBalance"),
        (NAMESPACE, "ColdStart"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Duration"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
    }
    # ... the balance against the alarm's threshold, whatever the deployment sets
    (balance,) = [w for w in widgets if "balance" in w["properties"]["title"].lower()]
    (line,) = balance["properties"]["annotations"]["horizontal"]
    assert line["value"] == template["Parameters"]["LowBalanceThreshold"]["Default"]
    # ... and every function's errors, duration and cold starts
    by_function = {
        (metric, d.get("FunctionName") or d.get("function_name"))
        for _, metric, d, _ in rows(widgets)
    }
    for function in FUNCTIONS.values():
        assert {
            ("Errors", function),
            ("Duration", function),
            ("ColdStart", function),
        } <= by_function
