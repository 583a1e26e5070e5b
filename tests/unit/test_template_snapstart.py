"""The SnapStart parameter, asserted on the template as SAM transforms it (the SAM CLI's own
transform, offline: scripts/sam-translate): every trigger of both functions invokes the `live`
alias, with SnapStart on and off, and SnapStart applies to the published versions."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from devstack.template import load_template
from tests.support import sam_transform

pytestmark = pytest.mark.unit

FUNCTIONS = ("CallsFunction", "CallbackFunction")
ALIAS_OF = {fn: f"{fn}Aliaslive" for fn in FUNCTIONS}


def transformed(snap_start: str) -> dict[str, Any]:
    return sam_transform.generated(SnapStart=snap_start)


def invoked(value: Any) -> set[str]:
    """The function or alias logical ids a value refers to."""
    text = json.dumps(value)
    refs = set(re.findall(r'"Ref": "([A-Za-z0-9]+)"', text))
    refs |= set(re.findall(r'"Fn::GetAtt": \["([A-Za-z0-9]+)"', text))
    refs |= set(re.findall(r"\$\{([A-Za-z0-9]+)(?:\.Arn)?\}", text))
    return {r for r in refs if r.startswith(FUNCTIONS)}


@pytest.mark.parametrize("snap_start", ["None", "PublishedVersions"])
def test_every_trigger_invokes_the_live_alias(snap_start: str) -> None:
    # Given the template as SAM transforms it, with SnapStart on or off
    resources = transformed(snap_start)["Resources"]
    triggers: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        props, kind = resource.get("Properties", {}), resource["Type"]
        if kind in ("AWS::Lambda::Permission", "AWS::Lambda::EventSourceMapping"):
            triggers[logical_id] = invoked(props["FunctionName"])
        elif kind == "AWS::Events::Rule":
            triggers[logical_id] = invoked([t["Arn"] for t in props["Targets"]])
        elif kind == "AWS::Scheduler::Schedule":
            triggers[logical_id] = invoked(props["Target"]["Arn"])
        elif kind == "AWS::IAM::Role":
            statements = [
                s
                for policy in props.get("Policies", [])
                for s in policy["PolicyDocument"]["Statement"]
                if "lambda:InvokeFunction" in json.dumps(s["Action"])
            ]
            if statements:
                triggers[logical_id] = invoked([s["Resource"] for s in statements])
    routes = resources["HttpApi"]["Properties"]["Body"]["paths"]
    for path, operations in routes.items():
        for method, operation in operations.items():
            integration = operation["x-amazon-apigateway-integration"]["uri"]
            triggers[f"HttpApi {method} {path}"] = invoked(integration)

    # Then each one invokes an alias, never the function's unqualified ARN
    assert len([t for t in triggers if t.startswith("HttpApi")]) == 16
    for kind in ("CallsQueue", "CallRequests", "Reconcile", "CheckBalance", "ExampleCallsSchedule"):
        assert any(kind in t for t in triggers), kind
    for trigger, targets in triggers.items():
        assert targets, trigger
        assert targets <= set(ALIAS_OF.values()), f"{trigger} invokes {targets}"
    # And the asynchronous invocations' retry and failure settings apply to the alias
    for fn, alias in ALIAS_OF.items():
        assert resources[f"{fn}EventInvokeConfig"]["Properties"]["Qualifier"] == "live"
        assert resources[alias]["Properties"]["Name"] == "live"


@pytest.mark.parametrize("snap_start", ["None", "PublishedVersions"])
def test_snap_start_applies_to_published_versions_as_the_parameter_says(snap_start: str) -> None:
    resources = transformed(snap_start)["Resources"]
    for fn in FUNCTIONS:
        props = resources[fn]["Properties"]
        assert props["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}
        assert props["Runtime"] == "python3.13"  # SnapStart for Python: 3.12 and later
    versions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Version"]
    assert sorted(invoked(v["Properties"]["FunctionName"]).pop() for v in versions) == sorted(
        FUNCTIONS
    )


def test_snap_start_is_off_unless_asked() -> None:
    parameter = load_template()["Parameters"]["SnapStart"]
    assert parameter["Default"] == "None"
    assert parameter["AllowedValues"] == ["None", "PublishedVersions"]
