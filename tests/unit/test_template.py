"""What a reviewer checks in template.yaml, asserted: runtime, auth, data protection, least
privilege, the configuration contract, and the layer's pins."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devstack.template import (
    REPO_ROOT,
    function_environment,
    function_ids,
    http_routes,
    load_template,
    resolve,
    table_definitions,
)
from tests.support import sam_transform

pytestmark = pytest.mark.unit

CONTRACT_ENVIRONMENT = {
    "CALLS_TABLE_NAME",
    "DEDUPE_TABLE_NAME",
    "ESMS_BASE_URL",
    "ESMS_CREDENTIALS_SECRET",
    "CALLBACK_SIGNING_SECRET",
    "PUBLIC_BASE_URL_PARAMETER",
    "CALL_RETENTION_DAYS",
    "RECONCILE_AFTER_SECONDS",
    "RECONCILE_HORIZON_SECONDS",
    "ESMS_CONNECT_TIMEOUT_SECONDS",
    "ESMS_READ_TIMEOUT_SECONDS",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_LOG_LEVEL",
    "POWERTOOLS_LOGGER_LOG_EVENT",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
}

SECRET_ARN = "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:"
RESOLUTION = {
    "CallsTable": "calls-table",
    "DedupeTable": "dedupe-table",
    "CallbackSigningSecret": SECRET_ARN + "sign-AbCdEf",
    "EsmsCredentialsSecretArn": SECRET_ARN + "esms-credentials-AbCdEf",
    "AWS::StackName": "esms-calls-test",
    "CallsQueue": "https://sqs.ap-southeast-1.amazonaws.com/123456789012/esms-calls-test-calls",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def setting(template: dict[str, Any], function_id: str, name: str) -> Any:
    """A function property as deployed: its own value, else the Globals one."""
    props = template["Resources"][function_id]["Properties"]
    return props.get(name, template["Globals"]["Function"].get(name))


def policy_statements(template: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    """The inline statements of a function's execution role (explicit: SAM generates none)."""
    props = template["Resources"][function_id]["Properties"]
    assert "Policies" not in props, f"{function_id}: its role's policies, not SAM's"
    assert props["Role"] == {"Fn::GetAtt": [f"{function_id}Role", "Arn"]}
    return role_statements(template, f"{function_id}Role")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed(statements: list[dict[str, Any]], action: str) -> list[Any]:
    """Resources the statements allow an action on."""
    return [
        resource
        for statement in statements
        if statement["Effect"] == "Allow" and action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]


def test_the_template_has_the_two_functions(template: dict[str, Any]) -> None:
    assert function_ids(template) == ["CallsFunction", "CallbackFunction"]


@pytest.mark.parametrize("function_id", ["CallsFunction", "CallbackFunction"])
def test_every_function_runs_python313_on_arm64_with_the_shared_layer(
    template: dict[str, Any], function_id: str
) -> None:
    assert setting(template, function_id, "Runtime") == "python3.13"
    assert setting(template, function_id, "Architectures") == ["arm64"]
    assert setting(template, function_id, "Layers") == [{"Ref": "SharedLayer"}]
    assert setting(template, function_id, "Tracing") == "Active"
    assert setting(template, function_id, "Handler") == "app.lambda_handler"
    assert template["Resources"][function_id]["Metadata"]["BuildMethod"] == "makefile"


def test_the_layer_is_built_for_python313_arm64_from_layers_shared(
    template: dict[str, Any],
) -> None:
    layer = template["Resources"]["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/shared"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}


@pytest.mark.parametrize("function_id", ["CallsFunction", "CallbackFunction"])
def test_every_function_answers_before_api_gateway_gives_up(
    template: dict[str, Any], function_id: str
) -> None:
    assert setting(template, function_id, "Timeout") < 30


def test_calls_routes_need_iam_and_the_callback_route_authenticates_itself(
    template: dict[str, Any],
) -> None:
    routes = {(route.method, route.path): route for route in http_routes(template)}

    calls_routes = {
        ("POST", "/calls"),
        ("GET", "/calls/{call_id}"),
        ("GET", "/calls"),
        ("POST", "/batches"),
        ("GET", "/batches/{batch_id}"),
        ("GET", "/batches/{batch_id}/calls"),
        ("PUT", "/do-not-call/{phone}"),
        ("GET", "/do-not-call/{phone}"),
        ("DELETE", "/do-not-call/{phone}"),
        ("ANY", "/calls"),
        ("ANY", "/calls/{call_id}"),
        ("ANY", "/batches"),
        ("ANY", "/batches/{batch_id}"),
        ("ANY", "/batches/{batch_id}/calls"),
        ("ANY", "/do-not-call/{phone}"),
    }
    assert set(routes) == {*calls_routes, ("GET", "/callbacks/esms/{call_id}/{token}")}
    for route in calls_routes:
        assert routes[route][2:] == ("CallsFunction", "AWS_IAM")
    assert routes[("GET", "/callbacks/esms/{call_id}/{token}")][2:] == (
        "CallbackFunction",
        "NONE",
    )
    api_auth = template["Resources"]["HttpApi"]["Properties"]["Auth"]
    # A route the DefinitionBody forgets still needs a signature, whatever ApiAuth says.
    assert api_auth == {"EnableIamAuthorizer": True, "DefaultAuthorizer": "AWS_IAM"}

    # With ApiAuth JWT, the same routes take a bearer token; the callback still its own token
    jwt_routes = {
        (route.method, route.path): route.auth
        for route in http_routes(template, {"ApiAuth": "JWT"})
    }
    assert {jwt_routes[route] for route in calls_routes} == {"CallsJwt"}
    assert jwt_routes[("GET", "/callbacks/esms/{call_id}/{token}")] == "NONE"


def test_a_jwt_api_needs_its_issuer_and_audience(template: dict[str, Any]) -> None:
    rule = template["Rules"]["JwtNeedsIssuerAndAudience"]
    assert resolve(rule["RuleCondition"], {"ApiAuth": "JWT"}, template) is True
    assert resolve(rule["RuleCondition"], {}, template) is False
    issuer, audience = (a["Assert"] for a in rule["Assertions"])
    configured = {"ApiAuth": "JWT", "JwtIssuer": ISSUER, "JwtAudience": ["client-1"]}
    assert resolve([issuer, audience], configured, template) == [True, True]
    assert resolve([issuer, audience], {"ApiAuth": "JWT", "JwtAudience": NO_LIST}, template) == [
        False,
        False,
    ]


def test_api_access_logs_never_contain_the_callback_path_with_its_token(
    template: dict[str, Any],
) -> None:
    log_format = template["Resources"]["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
    assert "$context.routeKey" in log_format
    assert "$context.path" not in log_format
    assert "$context.requestOverride" not in log_format


def test_reconciliation_runs_on_the_configured_schedule(template: dict[str, Any]) -> None:
    events = template["Resources"]["CallbackFunction"]["Properties"]["Events"]
    schedules = {name for name, event in events.items() if event["Type"] == "ScheduleV2"}
    reconcile = events["Reconcile"]["Properties"]

    assert schedules == {"Reconcile", "CheckBalance"}
    assert reconcile["ScheduleExpression"] == {"Ref": "ReconcileSchedule"}
    assert reconcile["Input"] == '{"action": "reconcile"}'
    assert template["Parameters"]["ReconcileSchedule"]["Default"] == "rate(5 minutes)"


@pytest.mark.parametrize(
    ("table_id", "ttl_attribute", "hash_key"),
    [("CallsTable", "expires_at", "call_id"), ("DedupeTable", "expiration", "id")],
)
def test_tables_are_protected_and_expire_items(
    template: dict[str, Any], table_id: str, ttl_attribute: str, hash_key: str
) -> None:
    props = table_definitions(template)[table_id]

    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": ttl_attribute, "Enabled": True}
    assert props["KeySchema"] == [{"AttributeName": hash_key, "KeyType": "HASH"}]


def test_open_calls_index_serves_the_reconciliation_query(template: dict[str, Any]) -> None:
    indexes = table_definitions(template)["CallsTable"]["GlobalSecondaryIndexes"]
    (index,) = [index for index in indexes if index["IndexName"] == "OpenCallsIndex"]

    assert index["KeySchema"] == [
        {"AttributeName": "open_shard", "KeyType": "HASH"},
        {"AttributeName": "check_after", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["status", "sms_id", "request_id", "created_at"],
    }


def test_listing_indexes_sort_by_a_key_that_never_moves(template: dict[str, Any]) -> None:
    indexes = {
        index["IndexName"]: index
        for index in table_definitions(template)["CallsTable"]["GlobalSecondaryIndexes"]
    }
    for name, partition in (
        ("CallsByRequestIndex", "request_id"),
        ("CallsByPhoneIndex", "phone"),
        ("CallsByDayIndex", "created_day"),
        ("CallsByBatchIndex", "batch_id"),
    ):
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": "created_key", "KeyType": "RANGE"},
        ]
    # Callbacks update status, result, history: the listing indexes hold none of them, so a
    # callback costs them no write; the batch index holds what a summary and a CSV need.
    for name in ("CallsByRequestIndex", "CallsByPhoneIndex", "CallsByDayIndex"):
        assert indexes[name]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    batch = indexes["CallsByBatchIndex"]["Projection"]
    assert batch["ProjectionType"] == "INCLUDE"
    assert "history" not in batch["NonKeyAttributes"]
    assert "report_digests" not in batch["NonKeyAttributes"]


def test_call_history_survives_a_replacement(template: dict[str, Any]) -> None:
    assert template["Resources"]["CallsTable"]["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("table_id", ["CallsTable", "DedupeTable"])
def test_deletion_protection_is_a_parameter_on_by_default(
    template: dict[str, Any], table_id: str
) -> None:
    props = table_definitions(template)[table_id]
    assert props["DeletionProtectionEnabled"] == {"Fn::If": ["ProtectTables", True, False]}
    assert template["Parameters"]["TableDeletionProtection"]["Default"] == "true"
    assert template["Conditions"]["ProtectTables"] == {
        "Fn::Equals": [{"Ref": "TableDeletionProtection"}, "true"]
    }


def test_callback_signing_secret_is_generated_long_and_url_safe(template: dict[str, Any]) -> None:
    generate = template["Resources"]["CallbackSigningSecret"]["Properties"]["GenerateSecretString"]
    assert generate["PasswordLength"] >= 64
    assert generate["ExcludePunctuation"] is True


@pytest.mark.parametrize("function_id", ["CallsFunction", "CallbackFunction"])
def test_no_policy_grants_a_wildcard(template: dict[str, Any], function_id: str) -> None:
    # Inline policies; the managed ones (X-Ray, ENI management in a VPC: no resource-level
    # scoping to offer) are checked on what SAM generates, below.
    for statement in policy_statements(template, function_id):
        for action in as_list(statement["Action"]):
            assert "*" not in action, statement
        for resource in as_list(statement["Resource"]):
            assert resource != "*", statement
            text = resource if isinstance(resource, str) else repr(resource)
            assert "*" not in text, statement


def test_calls_function_reaches_exactly_what_it_uses(template: dict[str, Any]) -> None:
    statements = policy_statements(template, "CallsFunction")
    calls = {"Fn::GetAtt": ["CallsTable", "Arn"]}
    dedupe = {"Fn::GetAtt": ["DedupeTable", "Arn"]}
    secrets = [{"Ref": "EsmsCredentialsSecretArn"}, {"Ref": "CallbackSigningSecret"}]

    for action in ("GetItem", "PutItem", "UpdateItem"):
        assert sorted(map(repr, allowed(statements, f"dynamodb:{action}"))) == sorted(
            map(repr, [calls, dedupe])
        )
    # Idempotency records (Powertools releases a request id so) and do-not-call entries
    # (DELETE /do-not-call/{phone}) are deleted; call records never are.
    assert sorted(map(repr, allowed(statements, "dynamodb:DeleteItem"))) == sorted(
        map(repr, [calls, dedupe])
    )
    assert allowed(statements, "dynamodb:ConditionCheckItem") == []
    # Listings read the call records a page at a time, and query only the listing indexes.
    assert allowed(statements, "dynamodb:BatchGetItem") == [calls]
    assert allowed(statements, "dynamodb:Query") == [
        {"Fn::Sub": f"${{CallsTable.Arn}}/index/{name}"}
        for name in (
            "CallsByRequestIndex",
            "CallsByPhoneIndex",
            "CallsByDayIndex",
            "CallsByBatchIndex",
        )
    ]
    assert allowed(statements, "dynamodb:Scan") == []
    assert allowed(statements, "secretsmanager:GetSecretValue") == secrets
    (parameter,) = allowed(statements, "ssm:GetParameter")
    assert parameter["Fn::Sub"].endswith(":parameter/${AWS::StackName}/public-base-url")
    # Lambda's poller reads the calls queue with this role; only its own log group is written.
    for action in ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes"):
        assert allowed(statements, f"sqs:{action}") == [{"Fn::GetAtt": ["CallsQueue", "Arn"]}]
    for action in ("CreateLogStream", "PutLogEvents"):
        assert allowed(statements, f"logs:{action}") == [
            {"Fn::GetAtt": ["CallsFunctionLogGroup", "Arn"]}
        ]
    assert allowed(statements, "logs:CreateLogGroup") == []


def test_callback_function_queries_only_the_open_calls_index(template: dict[str, Any]) -> None:
    statements = policy_statements(template, "CallbackFunction")
    calls = {"Fn::GetAtt": ["CallsTable", "Arn"]}
    dedupe = {"Fn::GetAtt": ["DedupeTable", "Arn"]}

    assert allowed(statements, "dynamodb:Query") == [
        {"Fn::Sub": "${CallsTable.Arn}/index/OpenCallsIndex"}
    ]
    # Callbacks are one conditional write on the call (or a put of an orphan report, or of the
    # do-not-call entry of a key press on the call's opt_out_key); they never read first, and
    # this function has nothing to do with idempotency records.
    for action in ("PutItem", "UpdateItem"):
        assert allowed(statements, f"dynamodb:{action}") == [calls]
    for action in ("GetItem", "DeleteItem", "ConditionCheckItem", "Scan"):
        assert allowed(statements, f"dynamodb:{action}") == []
    assert dedupe not in [r for st in statements for r in as_list(st["Resource"])]
    assert allowed(statements, "ssm:GetParameter") == []
    assert allowed(statements, "secretsmanager:GetSecretValue") == [
        {"Ref": "EsmsCredentialsSecretArn"},
        {"Ref": "CallbackSigningSecret"},
    ]
    assert allowed(statements, "logs:PutLogEvents") == [
        {"Fn::GetAtt": ["CallbackFunctionLogGroup", "Arn"]}
    ]
    assert not [a for s in statements for a in as_list(s["Action"]) if a.startswith("sqs:")]


@pytest.mark.parametrize("function_id", ["CallsFunction", "CallbackFunction"])
def test_every_function_gets_the_contract_environment(
    template: dict[str, Any], function_id: str
) -> None:
    environment = function_environment(function_id, RESOLUTION, template)

    assert CONTRACT_ENVIRONMENT <= set(environment)
    assert environment["CALLS_TABLE_NAME"] == "calls-table"
    assert environment["DEDUPE_TABLE_NAME"] == "dedupe-table"
    assert environment["ESMS_CREDENTIALS_SECRET"] == RESOLUTION["EsmsCredentialsSecretArn"]
    assert environment["CALLBACK_SIGNING_SECRET"] == RESOLUTION["CallbackSigningSecret"]
    assert environment["PUBLIC_BASE_URL_PARAMETER"] == "/esms-calls-test/public-base-url"
    assert environment["ESMS_BASE_URL"] == "https://voiceapi.esms.vn/MainService.svc/json"
    assert environment["CALL_RETENTION_DAYS"] == "90"
    assert environment["RECONCILE_AFTER_SECONDS"] == "900"
    assert environment["RECONCILE_HORIZON_SECONDS"] == "172800"
    assert environment["ESMS_CONNECT_TIMEOUT_SECONDS"] == "3"
    assert environment["ESMS_READ_TIMEOUT_SECONDS"] == "20"
    assert environment["POWERTOOLS_SERVICE_NAME"] == "esms-calls"
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "EsmsCalls"
    assert environment["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert environment["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    assert environment["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"


def test_functions_find_the_public_base_url_parameter_by_its_name(
    template: dict[str, Any],
) -> None:
    parameter = template["Resources"]["PublicBaseUrlParameter"]["Properties"]
    variable = template["Globals"]["Function"]["Environment"]["Variables"][
        "PUBLIC_BASE_URL_PARAMETER"
    ]

    # Same name on both sides, built from the stack name (a Ref to the parameter would make the
    # functions depend on the API that depends on them).
    assert parameter["Name"] == variable == {"Fn::Sub": "/${AWS::StackName}/public-base-url"}
    assert parameter["Value"]["Fn::If"][0] == "HasPublicBaseUrl"


def readme_parameter_defaults() -> dict[str, str]:
    """The README's deployment parameters table: each parameter and the default it states."""
    text = (REPO_ROOT / "README.md").read_text("utf-8")
    table = text[text.index("| parameter | default | meaning |") :].split("\n\n", 1)[0]
    stated: dict[str, str] = {}
    for row in table.splitlines()[2:]:
        names_cell, default_cell = (cell.strip() for cell in row.strip("|").split("|")[:2])
        names = re.findall(r"`(\w+)`", names_cell)
        defaults = [d.strip("`") for d in default_cell.split(", ")]
        if len(defaults) == 1:  # one default for every parameter of the row
            defaults *= len(names)
        stated.update(zip(names, defaults, strict=True))
    return stated


# How the README words a default that is no literal value.
NO_LITERAL = {"(required)": None, "none": "", "the API's own URL": "", "0 (none)": "0"}


def test_parameters_have_the_documented_defaults(template: dict[str, Any]) -> None:
    # Given the defaults the README states for the deployment parameters
    stated = readme_parameter_defaults()
    assert len(stated) >= 20
    # Then each is the template's own default (a required one has none)
    parameters = template["Parameters"]
    for name, text in stated.items():
        expected = NO_LITERAL.get(text, text)
        actual = parameters[name].get("Default")
        assert (None if actual is None else str(actual)) == expected, name
    assert parameters["Environment"]["AllowedValues"] == ["dev", "prod"]


def allowed_by(template: dict[str, Any], parameter: str, value: str) -> bool:
    # CloudFormation matches AllowedPattern against the whole value.
    return re.fullmatch(template["Parameters"][parameter]["AllowedPattern"], value) is not None


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        (SECRET_ARN + "esms/credentials-AbCdEf", True),
        (
            "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:esms_calls+prod@x.y-a1B2c3",
            True,
        ),
        # Partial: without the suffix Secrets Manager appends, the IAM grant never matches.
        (SECRET_ARN + "esms/credentials", False),
        (SECRET_ARN + "esms/credentials-AbCdE", False),
        (SECRET_ARN + "esms/credentials-AbCdEf ", False),
        ("esms/credentials-AbCdEf", False),
        ("REPLACE_WITH_ESMS_CREDENTIALS_SECRET_ARN", False),
    ],
)
def test_credentials_secret_parameter_takes_only_a_full_arn(
    template: dict[str, Any], value: str, accepted: bool
) -> None:
    assert allowed_by(template, "EsmsCredentialsSecretArn", value) is accepted


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("https://api.example.com", True),
        ("https://api.example.com/voice/v1", True),
        ("https://api.example.com/", False),
        ("https://api.example.com/voice/", False),
        ("https://api.example.com/voice?x=1", False),
        ("https://api.example.com#top", False),
        ("http://api.example.com", False),
    ],
)
def test_public_base_url_is_a_base_the_callback_path_can_follow(
    template: dict[str, Any], value: str, accepted: bool
) -> None:
    assert allowed_by(template, "PublicBaseUrl", value) is accepted


def failed_rules(template: dict[str, Any], values: dict[str, Any]) -> list[str]:
    """AssertDescriptions of the template's Rules that these parameter values break."""
    return [
        assertion["AssertDescription"]
        for rule in template["Rules"].values()
        if resolve(rule.get("RuleCondition", True), values, template)
        for assertion in rule["Assertions"]
        if not resolve(assertion["Assert"], values, template)
    ]


NO_LIST = [""]  # what CloudFormation makes of an empty CommaDelimitedList


@pytest.mark.parametrize(
    ("subnets", "groups", "refused"),
    [
        (NO_LIST, NO_LIST, False),
        (["subnet-1", "subnet-2"], ["sg-1"], False),
        (["subnet-1"], NO_LIST, True),
        (NO_LIST, ["sg-1"], True),
        (["subnet-1", ""], ["sg-1"], True),
        (["subnet-1"], ["sg-1", ""], True),
    ],
)
def test_a_vpc_needs_both_subnets_and_security_groups(
    template: dict[str, Any], subnets: list[str], groups: list[str], refused: bool
) -> None:
    values = {"VpcSubnetIds": subnets, "VpcSecurityGroupIds": groups}
    assert bool(failed_rules(template, values)) is refused


def test_outputs_name_the_api_and_the_tables(template: dict[str, Any]) -> None:
    assert {"ApiUrl", "CallsTableName", "DedupeTableName", "CallbackSigningSecretArn"} <= set(
        template["Outputs"]
    )


# ---------------------------------------------------------------------------------------------
# The layer's pins


def layer_requirements() -> list[Requirement]:
    lines = (REPO_ROOT / "layers/shared/requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in (raw.split("#")[0].strip() for raw in lines) if line]


def project_dependencies() -> list[Requirement]:
    pyproject = tomllib.loads(Path(REPO_ROOT / "pyproject.toml").read_text())
    return [Requirement(spec) for spec in pyproject["project"]["dependencies"]]


def test_layer_pins_exactly_the_project_dependencies() -> None:
    pins = {canonicalize_name(r.name): r for r in layer_requirements()}
    ranges = {canonicalize_name(r.name): r for r in project_dependencies()}

    assert set(pins) == set(ranges)
    for name, pin in pins.items():
        (specifier,) = pin.specifier
        assert specifier.operator == "==", f"{name} is not pinned"
        assert ranges[name].specifier.contains(specifier.version), f"{pin} outside {ranges[name]}"
        assert pin.extras == ranges[name].extras, name


def test_layer_build_prunes_its_botocore_data_to_the_services_used() -> None:
    makefile = (REPO_ROOT / "layers/shared/Makefile").read_text()
    assert re.search(r"prune-botocore-data\"\s*\\\s*\n\s*\S*botocore/data\" aws-services", makefile)
    assert "--platform manylinux2014_aarch64" in makefile
    assert "--python-version 3.13" in makefile


def test_every_makefile_build_has_its_target_and_compiles_for_python313(
    template: dict[str, Any],
) -> None:
    shared = (REPO_ROOT / "scripts/lambda-build.mk").read_text()
    assert "-m compileall" in shared and "--invalidation-mode unchecked-hash" in shared
    for logical_id, resource in template["Resources"].items():
        if resource.get("Metadata", {}).get("BuildMethod") != "makefile":
            continue
        props = resource["Properties"]
        code_dir = REPO_ROOT / (props.get("CodeUri") or props["ContentUri"])
        makefile = (code_dir / "Makefile").read_text()
        assert re.search(rf"^build-{logical_id}:", makefile, re.MULTILINE), logical_id
        assert "scripts/lambda-build.mk" in makefile and "$(COMPILE_BYTECODE)" in makefile


# ---------------------------------------------------------------------------------------------
# Schedules, rule events, the calls queue and outcome events


def role_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    role = template["Resources"][role_id]["Properties"]
    return [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def trusted_service(template: dict[str, Any], role_id: str) -> str:
    (statement,) = template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"][
        "Statement"
    ]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }
    return str(statement["Principal"]["Service"])


def calls_events(template: dict[str, Any], event_type: str) -> dict[str, Any]:
    events = template["Resources"]["CallsFunction"]["Properties"]["Events"]
    (event,) = [e["Properties"] for e in events.values() if e["Type"] == event_type]
    return dict(event)


def test_calls_function_knows_the_queue_and_the_threshold_only_it_uses(
    template: dict[str, Any],
) -> None:
    calls = function_environment("CallsFunction", RESOLUTION, template)
    callback = function_environment("CallbackFunction", RESOLUTION, template)
    queue_name = template["Resources"]["CallsQueue"]["Properties"]["QueueName"]

    # The URL is the queue's, built from its name (resolvable without a deployment).
    assert queue_name == {"Fn::Sub": "${AWS::StackName}-calls"}
    assert calls["CALLS_QUEUE_URL"] == (
        "https://sqs.ap-southeast-1.amazonaws.com/123456789012/esms-calls-test-calls"
    )
    assert calls["FAN_OUT_THRESHOLD"] == "10"
    assert "CALLS_QUEUE_URL" not in callback and "FAN_OUT_THRESHOLD" not in callback


def test_the_queue_feeds_calls_function_in_bounded_batches(template: dict[str, Any]) -> None:
    mapping = calls_events(template, "SQS")
    queue = template["Resources"]["CallsQueue"]["Properties"]
    timeout = setting(template, "CallsFunction", "Timeout")

    assert mapping["Queue"] == {"Fn::GetAtt": ["CallsQueue", "Arn"]}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {
        "MaximumConcurrency": {"Ref": "CallsQueueMaximumConcurrency"}
    }
    concurrency = template["Parameters"]["CallsQueueMaximumConcurrency"]
    assert concurrency["MinValue"] == 2 and concurrency["Default"] <= 10
    assert 1 <= mapping["BatchSize"] <= 10
    # Lambda's advice for a queue it consumes; and failures end in the dead-letter queue
    assert queue["VisibilityTimeout"] >= 6 * timeout
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["CallsDeadLetterQueue", "Arn"]
    }
    assert 1 < queue["RedrivePolicy"]["maxReceiveCount"] <= 10


@pytest.mark.parametrize(
    "queue_id",
    [
        "CallsQueue",
        "CallsDeadLetterQueue",
        "TriggersDeadLetterQueue",
        "OutcomeEventsDeadLetterQueue",
    ],
)
def test_queues_are_encrypted(template: dict[str, Any], queue_id: str) -> None:
    assert template["Resources"][queue_id]["Properties"]["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize(
    "queue_id", ["CallsDeadLetterQueue", "TriggersDeadLetterQueue", "OutcomeEventsDeadLetterQueue"]
)
def test_every_dead_letter_queue_has_an_alarm(template: dict[str, Any], queue_id: str) -> None:
    alarms = [
        alarm["Properties"]
        for alarm in resources(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["Dimensions"]
        == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    ]
    (alarm,) = alarms
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["AlarmActions"]["Fn::If"][0] == "HasAlarmTopic"


def test_calls_function_may_send_to_the_calls_queue_and_its_failure_destination_only(
    template: dict[str, Any],
) -> None:
    statements = policy_statements(template, "CallsFunction")
    assert allowed(statements, "sqs:SendMessage") == [
        {"Fn::GetAtt": ["CallsQueue", "Arn"]},
        {"Fn::GetAtt": ["TriggersDeadLetterQueue", "Arn"]},
    ]


def test_failed_async_invocations_are_kept(template: dict[str, Any]) -> None:
    config = template["Resources"]["CallsFunction"]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["TriggersDeadLetterQueue", "Arn"]},
    }


def test_the_example_schedule_is_disabled_and_sends_its_run_identity(
    template: dict[str, Any],
) -> None:
    from esms_calls.triggers.call_lists import ScheduledInput

    schedule = template["Resources"]["ExampleCallsSchedule"]["Properties"]
    target = schedule["Target"]

    assert schedule["State"] == {"Ref": "ExampleScheduleState"}
    assert template["Parameters"]["ExampleScheduleState"]["Default"] == "DISABLED"
    assert target["Arn"] == {"Ref": "CallsFunction.Alias"}  # the live alias
    assert target["RoleArn"] == {"Fn::GetAtt": ["SchedulerRole", "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["TriggersDeadLetterQueue", "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    # What Scheduler sends, once it fills in the context attributes, is a valid input
    text = target["Input"]["Fn::Sub"]
    assert "<aws.scheduler.schedule-arn>" in text and "<aws.scheduler.scheduled-time>" in text
    filled = (
        text.replace(
            "<aws.scheduler.schedule-arn>", "arn:aws:scheduler:ap-southeast-1:1:schedule/default/x"
        )
        .replace("<aws.scheduler.scheduled-time>", "2026-11-28T02:00:00Z")
        .replace(
            "${ExampleScheduleCalls}", template["Parameters"]["ExampleScheduleCalls"]["Default"]
        )
    )
    assert ScheduledInput.model_validate_json(filled).calls == []


def test_the_scheduler_role_may_only_invoke_calls_function(template: dict[str, Any]) -> None:
    assert trusted_service(template, "SchedulerRole") == "scheduler.amazonaws.com"
    statements = role_statements(template, "SchedulerRole")
    assert allowed(statements, "lambda:InvokeFunction") == [{"Ref": "CallsFunction.Alias"}]
    assert allowed(statements, "sqs:SendMessage") == [
        {"Fn::GetAtt": ["TriggersDeadLetterQueue", "Arn"]}
    ]
    assert sorted(a for s in statements for a in as_list(s["Action"])) == [
        "lambda:InvokeFunction",
        "sqs:SendMessage",
    ]


def test_the_reconcile_schedule_has_its_own_role_that_may_only_invoke_callback_function(
    template: dict[str, Any],
) -> None:
    events = template["Resources"]["CallbackFunction"]["Properties"]["Events"]
    assert events["Reconcile"]["Properties"]["RoleArn"] == {
        "Fn::GetAtt": ["ReconcileSchedulerRole", "Arn"]
    }
    assert trusted_service(template, "ReconcileSchedulerRole") == "scheduler.amazonaws.com"
    statements = role_statements(template, "ReconcileSchedulerRole")
    assert [a for s in statements for a in as_list(s["Action"])] == ["lambda:InvokeFunction"]
    assert allowed(statements, "lambda:InvokeFunction") == [{"Ref": "CallbackFunction.Alias"}]


def test_the_balance_watch_runs_on_its_schedule_and_is_not_retried(
    template: dict[str, Any],
) -> None:
    # Given the callback function's scheduled events
    events = template["Resources"]["CallbackFunction"]["Properties"]["Events"]
    check = events["CheckBalance"]["Properties"]

    # Then the balance check runs on BalanceCheckSchedule, is told apart by its input, and a
    # failed run waits for the next one
    assert events["CheckBalance"]["Type"] == "ScheduleV2"
    assert check["ScheduleExpression"] == {"Ref": "BalanceCheckSchedule"}
    assert json.loads(check["Input"]) == {"action": "check_balance"}
    assert check["RetryPolicy"] == {"MaximumRetryAttempts": 0}
    # ... and the alarm compares the published balance with the deployment's threshold
    alarm = template["Resources"]["LowBalanceAlarm"]["Properties"]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
        {"Ref": "LowBalanceThreshold"},
        "LessThanThreshold",
    )
    callback = function_environment("CallbackFunction", RESOLUTION, template)
    assert callback["ESMS_BALANCE_URL"].endswith("/GetBalance_json/")
    assert callback["LOW_BALANCE_THRESHOLD"] == "100000"


def test_callback_function_knows_the_base_path_and_the_reconciliation_limit(
    template: dict[str, Any],
) -> None:
    values = {
        **RESOLUTION,
        "PublicBaseUrl": "https://api.example.com/voice",
        "ReconcileMaxCalls": 50,
    }
    callback = function_environment("CallbackFunction", values, template)
    assert callback["PUBLIC_BASE_URL"] == "https://api.example.com/voice"
    assert callback["RECONCILE_MAX_CALLS"] == "50"
    assert template["Parameters"]["ReconcileMaxCalls"]["Default"] == 200


def test_the_example_rule_is_disabled_and_keeps_what_it_could_not_deliver(
    template: dict[str, Any],
) -> None:
    rule = calls_events(template, "EventBridgeRule")
    assert rule["State"] == {"Ref": "CallRequestsRuleState"}
    assert template["Parameters"]["CallRequestsRuleState"]["Default"] == "DISABLED"
    assert rule["Pattern"]["detail-type"] == ["Calls Requested"]
    assert rule["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["TriggersDeadLetterQueue", "Arn"]}}
    # EventBridge may write there for this rule only
    policy = template["Resources"]["TriggersDeadLetterQueuePolicy"]["Properties"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"].endswith(
        ":rule/${AWS::StackName}-call-requests"
    )
    assert rule["RuleName"] == {"Fn::Sub": "${AWS::StackName}-call-requests"}


def test_outcome_events_flow_from_the_calls_stream_to_their_own_bus(
    template: dict[str, Any],
) -> None:
    calls_table = table_definitions(template)["CallsTable"]
    pipe = template["Resources"]["OutcomeEventsPipe"]["Properties"]
    source = pipe["SourceParameters"]["DynamoDBStreamParameters"]

    assert calls_table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert pipe["Source"] == {"Fn::GetAtt": ["CallsTable", "StreamArn"]}
    assert pipe["Target"] == {"Fn::GetAtt": ["OutcomeEventBus", "Arn"]}
    assert source["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": ["OutcomeEventsDeadLetterQueue", "Arn"]}
    }
    assert pipe["TargetParameters"]["EventBridgeEventBusParameters"] == {
        "Source": "esms-calls",
        "DetailType": "Call Finished",
    }
    # Only attributes every final record has, never the call's spec (its phone number)
    paths = set(re.findall(r"<\$\.([^>]+)>", pipe["TargetParameters"]["InputTemplate"]))
    assert paths == {
        f"dynamodb.NewImage.{name}.S"
        for name in ("call_id", "status", "request_id", "kind", "outcome", "updated_at")
    }


def test_the_pipe_role_reads_the_stream_and_writes_the_bus_only(template: dict[str, Any]) -> None:
    assert trusted_service(template, "OutcomeEventsPipeRole") == "pipes.amazonaws.com"
    statements = role_statements(template, "OutcomeEventsPipeRole")
    stream = {"Fn::GetAtt": ["CallsTable", "StreamArn"]}
    for action in ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"):
        assert allowed(statements, f"dynamodb:{action}") == [stream]
    assert allowed(statements, "events:PutEvents") == [{"Fn::GetAtt": ["OutcomeEventBus", "Arn"]}]
    assert allowed(statements, "sqs:SendMessage") == [
        {"Fn::GetAtt": ["OutcomeEventsDeadLetterQueue", "Arn"]}
    ]
    for statement in statements:
        for resource in as_list(statement["Resource"]):
            assert resource != "*", statement


# ---------------------------------------------------------------------------------------------
# Hardening: alarms, the optional VPC for a fixed caller IP, and justified checkov skips.


def alarm_on(template: dict[str, Any], namespace: str, metric: str) -> list[dict[str, Any]]:
    return [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"]["Namespace"] == namespace
        and r["Properties"]["MetricName"] == metric
    ]


@pytest.mark.parametrize("function_id", ["CallsFunction", "CallbackFunction"])
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_has_error_and_throttle_alarms(
    template: dict[str, Any], function_id: str, metric: str
) -> None:
    alarms = alarm_on(template, "AWS/Lambda", metric)
    functions = [a["Dimensions"][0]["Value"] for a in alarms]
    assert {"Ref": function_id} in functions


@pytest.mark.parametrize(
    "metric", ["CallbacksNotStored", "ReconcileBacklog", "EsmsBalance", "BalanceCheckFailed"]
)
def test_the_services_own_metrics_that_need_a_person_have_alarms(
    template: dict[str, Any], metric: str
) -> None:
    (alarm,) = alarm_on(template, "EsmsCalls", metric)
    # EMF metrics carry the service dimension Powertools adds.
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "esms-calls"}]
    assert alarm["AlarmActions"] == {
        "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
    }


def test_functions_can_run_in_private_subnets_for_a_fixed_caller_ip(
    template: dict[str, Any],
) -> None:
    vpc = template["Globals"]["Function"]["VpcConfig"]
    assert vpc == {
        "Fn::If": [
            "InVpc",
            {
                "SubnetIds": {"Ref": "VpcSubnetIds"},
                "SecurityGroupIds": {"Ref": "VpcSecurityGroupIds"},
            },
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert template["Parameters"]["VpcSubnetIds"]["Default"] == ""


def test_every_checkov_skip_is_justified(template: dict[str, Any]) -> None:
    skips = [
        (logical_id, skip)
        for logical_id, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for logical_id, skip in skips:
        assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), logical_id
        assert len(skip.get("comment", "")) > 30, (logical_id, skip["id"])


# ---------------------------------------------------------------------------------------------
# What SAM generates: the SAM CLI's own transform, run offline (scripts/sam-translate), gives
# the resources CloudFormation deploys. Assertions on it see what SAM adds on its own.

AWS_MANAGED_POLICY = "arn:aws:iam::aws:policy/"


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return sam_transform.generated()


def test_every_schedule_is_named_from_the_stack(generated: dict[str, Any]) -> None:
    schedules = resources(generated, "AWS::Scheduler::Schedule")

    assert set(schedules) == {
        "CallbackFunctionReconcile",
        "CallbackFunctionCheckBalance",
        "ExampleCallsSchedule",
    }
    for logical_id, schedule in schedules.items():
        name = schedule["Properties"].get("Name")
        assert isinstance(name, dict), f"{logical_id}: SAM would name it after the logical id"
        assert name["Fn::Sub"].startswith("${AWS::StackName}-"), logical_id


def test_every_route_is_throttled_and_the_public_one_tighter(generated: dict[str, Any]) -> None:
    (api,) = resources(generated, "AWS::ApiGatewayV2::Api").values()
    (stage,) = resources(generated, "AWS::ApiGatewayV2::Stage").values()
    routes = {
        f"{method.upper()} {path}"
        for path, methods in api["Properties"]["Body"]["paths"].items()
        for method in methods
    }
    default, per_route = (
        stage["Properties"]["DefaultRouteSettings"],
        stage["Properties"]["RouteSettings"],
    )
    callback = "GET /callbacks/esms/{call_id}/{token}"

    # A RouteSettings key naming no route would throttle nothing, silently.
    assert set(per_route) == {callback} and callback in routes
    limits = {
        route: {
            name: resolve(per_route.get(route, default)[name], template=generated)
            for name in ("ThrottlingRateLimit", "ThrottlingBurstLimit")
        }
        for route in routes
    }
    public = limits.pop(callback)
    assert limits and all(0 < value for route in limits.values() for value in route.values())
    for route in limits.values():
        assert 0 < public["ThrottlingRateLimit"] < route["ThrottlingRateLimit"]
        assert 0 < public["ThrottlingBurstLimit"] < route["ThrottlingBurstLimit"]


def test_reconciliation_runs_are_not_retried_by_lambda(generated: dict[str, Any]) -> None:
    configs = {
        config["Properties"]["FunctionName"]["Ref"]: config["Properties"]
        for config in resources(generated, "AWS::Lambda::EventInvokeConfig").values()
    }
    assert configs["CallbackFunction"]["MaximumRetryAttempts"] == 0
    assert configs["CallsFunction"]["MaximumRetryAttempts"] == 2


ISSUER = "https://cognito-idp.ap-southeast-1.amazonaws.com/ap-southeast-1_Example"
CALLBACK_ROUTE = ("GET", "/callbacks/esms/{call_id}/{token}")
READ, WRITE = "calls/read", "calls/write"
# What a caller needs on each route with ApiAuth JWT (ANY answers 405: either scope reaches it).
JWT_SCOPES = {
    ("POST", "/calls"): [WRITE],
    ("GET", "/calls"): [READ],
    ("GET", "/calls/{call_id}"): [READ],
    ("POST", "/batches"): [WRITE],
    ("GET", "/batches/{batch_id}"): [READ],
    ("GET", "/batches/{batch_id}/calls"): [READ],
    ("PUT", "/do-not-call/{phone}"): [WRITE],
    ("GET", "/do-not-call/{phone}"): [READ],
    ("DELETE", "/do-not-call/{phone}"): [WRITE],
    **{
        ("ANY", path): [READ, WRITE]
        for path in (
            "/calls",
            "/calls/{call_id}",
            "/batches",
            "/batches/{batch_id}",
            "/batches/{batch_id}/calls",
            "/do-not-call/{phone}",
        )
    },
}


def deployed_routes(generated: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The API's OpenAPI body as CloudFormation would import it with these parameter values:
    ``{"routes": {(method, path): security}, "schemes": securitySchemes}``."""
    (api,) = resources(generated, "AWS::ApiGatewayV2::Api").values()
    body = api["Properties"]["Body"]
    routes = {
        (
            "ANY" if method == "x-amazon-apigateway-any-method" else method.upper(),
            path,
        ): resolve(operation.get("security"), values, generated)
        for path, operations in body["paths"].items()
        for method, operation in operations.items()
    }
    schemes = resolve(body["components"]["securitySchemes"], values, generated)
    return {"routes": routes, "schemes": schemes}


def test_by_default_every_calls_route_needs_a_signature_and_the_callback_none(
    generated: dict[str, Any],
) -> None:
    # Given the default ApiAuth (IAM), when CloudFormation imports the API
    api = deployed_routes(generated, {})

    # Then every calls, batches and do-not-call route takes SigV4 only, the callback anyone
    assert set(api["routes"]) == {*JWT_SCOPES, CALLBACK_ROUTE}
    for route in JWT_SCOPES:
        assert api["routes"][route] == [{"AWS_IAM": []}], route
    assert api["routes"][CALLBACK_ROUTE] == [{"NONE": []}]
    # ... and no JWT authorizer exists (without an issuer it could not deploy)
    assert set(api["schemes"]) == {"AWS_IAM"}
    assert api["schemes"]["AWS_IAM"]["x-amazon-apigateway-authtype"] == "awsSigv4"


def test_with_jwt_every_calls_route_needs_a_token_with_its_scope(
    generated: dict[str, Any],
) -> None:
    # Given ApiAuth JWT with a Cognito issuer and an app client
    values = {"ApiAuth": "JWT", "JwtIssuer": ISSUER, "JwtAudience": ["client-1", "client-2"]}

    # When CloudFormation imports the API
    api = deployed_routes(generated, values)

    # Then writes need calls/write, reads calls/read, the callback still no authorizer
    assert set(api["routes"]) == {*JWT_SCOPES, CALLBACK_ROUTE}
    for route, scopes in JWT_SCOPES.items():
        assert api["routes"][route] == [{"CallsJwt": scopes}], route
    assert api["routes"][CALLBACK_ROUTE] == [{"NONE": []}]
    # ... checked by a JWT authorizer on the bearer token, for this issuer and these audiences
    authorizer = api["schemes"]["CallsJwt"]["x-amazon-apigateway-authorizer"]
    assert authorizer == {
        "type": "jwt",
        "identitySource": "$request.header.Authorization",
        "jwtConfiguration": {"issuer": ISSUER, "audience": ["client-1", "client-2"]},
    }


def reserved_concurrency(
    generated: dict[str, Any], function_id: str, values: dict[str, Any]
) -> int | None:
    function = resources(generated, "AWS::Lambda::Function")[function_id]["Properties"]
    return resolve({"Value": function["ReservedConcurrentExecutions"]}, values, generated).get(
        "Value"
    )


def test_callbacks_are_capped_and_placements_share_the_pool_by_default(
    generated: dict[str, Any],
) -> None:
    assert reserved_concurrency(generated, "CallbackFunction", {}) == 10
    assert reserved_concurrency(generated, "CallsFunction", {}) is None
    assert reserved_concurrency(generated, "CallsFunction", {"CallsReservedConcurrency": 30}) == 30
    # 0 is no reservation: Lambda's own 0 would stop the function altogether.
    values = {"CallbackReservedConcurrency": 0}
    assert reserved_concurrency(generated, "CallbackFunction", values) is None


@pytest.mark.parametrize("in_vpc", [False, True])
def test_no_role_carries_a_managed_policy_its_function_does_not_need(
    template: dict[str, Any], generated: dict[str, Any], in_vpc: bool
) -> None:
    values = {"VpcSubnetIds": ["subnet-1"] if in_vpc else NO_LIST}
    roles = resources(generated, "AWS::IAM::Role")
    function_roles = {
        function["Properties"]["Role"]["Fn::GetAtt"][0]
        for function in resources(generated, "AWS::Lambda::Function").values()
    }
    # X-Ray has no resource-level permissions; ENI management is needed in a VPC only.
    needed = ["AWSXRayDaemonWriteAccess"] + (
        ["service-role/AWSLambdaVPCAccessExecutionRole"] if in_vpc else []
    )

    assert set(roles) == set(resources(template, "AWS::IAM::Role")), "SAM generated a role"
    assert function_roles == {"CallsFunctionRole", "CallbackFunctionRole"}
    for role_id, role in roles.items():
        arns = resolve(role["Properties"].get("ManagedPolicyArns", []), values, generated)
        expected = needed if role_id in function_roles else []
        assert arns == [AWS_MANAGED_POLICY + name for name in expected], role_id


def test_every_scheduler_role_trusts_scheduler_for_this_account_only(
    generated: dict[str, Any],
) -> None:
    for schedule in resources(generated, "AWS::Scheduler::Schedule").values():
        role_id = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
        assert trusted_service(generated, role_id) == "scheduler.amazonaws.com", role_id


# The property naming each type of resource, unique in an account and region, and the longest
# name the service takes.
NAME_PROPERTY = {
    "AWS::CloudWatch::Alarm": ("AlarmName", 255),
    "AWS::CloudWatch::Dashboard": ("DashboardName", 255),
    "AWS::DynamoDB::Table": ("TableName", 255),
    "AWS::Events::EventBus": ("Name", 256),
    "AWS::Events::Rule": ("Name", 64),
    "AWS::IAM::Role": ("RoleName", 64),
    "AWS::Lambda::Function": ("FunctionName", 64),
    "AWS::Lambda::LayerVersion": ("LayerName", 140),
    "AWS::Logs::LogGroup": ("LogGroupName", 512),
    "AWS::Pipes::Pipe": ("Name", 64),
    "AWS::Scheduler::Schedule": ("Name", 64),
    "AWS::SecretsManager::Secret": ("Name", 512),
    "AWS::SQS::Queue": ("QueueName", 80),
    "AWS::SSM::Parameter": ("Name", 1011),
}
# Types with no name that must be unique in an account and region (an alias's name is unique
# within its function only).
UNNAMED_TYPES = {
    "AWS::Lambda::Alias",
    "AWS::Lambda::Version",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Lambda::EventSourceMapping",
    "AWS::Lambda::Permission",
    "AWS::SQS::QueuePolicy",
}
LONGEST_STACK_NAME = 50  # the README's limit


def physical_names(generated: dict[str, Any], stack_name: str) -> dict[str, tuple[str, str]]:
    """``logical id: (type, name)`` of every resource given an explicit name."""
    names = {}
    for logical_id, resource in generated["Resources"].items():
        prop, _ = NAME_PROPERTY.get(resource["Type"], ("", 0))
        if prop in resource.get("Properties", {}):
            values = {"AWS::StackName": stack_name}
            name = resolve(resource["Properties"][prop], values, generated)
            names[logical_id] = (resource["Type"], name)
    return names


def test_every_generated_resource_type_is_known_to_be_named_or_not(
    generated: dict[str, Any],
) -> None:
    types = {resource["Type"] for resource in generated["Resources"].values()}
    assert types <= set(NAME_PROPERTY) | UNNAMED_TYPES


def test_every_explicit_physical_name_derives_from_the_stack_name(
    generated: dict[str, Any],
) -> None:
    dev = physical_names(generated, "esms-calls-dev")
    prod = physical_names(generated, "esms-calls-prod")
    longest = physical_names(generated, "s" * LONGEST_STACK_NAME)

    named_types = {resource_type for resource_type, _ in dev.values()}
    assert named_types >= {
        "AWS::Scheduler::Schedule",
        "AWS::Lambda::LayerVersion",
        "AWS::Logs::LogGroup",
        "AWS::Events::EventBus",
        "AWS::Events::Rule",
        "AWS::SQS::Queue",
        "AWS::SSM::Parameter",
    }
    # Two stacks in one account and region never collide: each name holds its stack's name.
    assert not {name for _, name in dev.values()} & {name for _, name in prod.values()}
    for logical_id, (resource_type, name) in dev.items():
        assert "esms-calls-dev" in name and "esms-calls-prod" in prod[logical_id][1], logical_id
        # ... and fits the service's limit whatever stack name the README allows.
        assert len(longest[logical_id][1]) <= NAME_PROPERTY[resource_type][1], logical_id


def test_the_calling_rules_are_deployment_parameters_with_the_decrees_defaults(
    template: dict[str, Any],
) -> None:
    from esms_calls.settings import Settings

    # Given the template's defaults, as CallsFunction's settings read them
    calls = function_environment("CallsFunction", RESOLUTION, template)
    settings = Settings.from_environ({**calls, "ESMS_API_KEY": "k", "ESMS_SECRET_KEY": "s"})

    # Then advertising rings 08:00-17:00, once per number a day, and service calls skip the list
    assert settings.advertising_hours == "08:00-17:00"
    assert settings.advertising_blocked_dates == ""
    assert settings.advertising_calls_per_number == 1
    assert settings.do_not_call_service_calls is False
    parameters = template["Parameters"]
    for name in ("AdvertisingHours", "AdvertisingBlockedDates"):
        assert parameters[name]["AllowedPattern"], name
