"""devstack.template: template.yaml read once, tables/routes/environment derived from it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devstack.template import (
    REPO_ROOT,
    TemplateResolutionError,
    create_tables,
    function_environment,
    function_handler,
    http_routes,
    load_template,
    resolve,
    table_definitions,
)

pytestmark = pytest.mark.unit

SHORT_TAGS = """
Parameters:
  Stage: {Type: String, Default: dev}
  Secret: {Type: String}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Handler: pkg.app.handle
    Environment:
      Variables:
        STAGE: !Ref Stage
        TABLE: !Ref Table
        TABLE_ARN: !GetAtt Table.Arn
        STREAM: !GetAtt [Table, StreamArn]
        URL: !Sub "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${!literal}"
        SUBVARS: !Sub ["${Name}-${Table.Arn}", {Name: !Ref Stage}]
        LEVEL: !If [IsProd, WARNING, DEBUG]
        JOINED: !Join [",", [a, !Ref Stage]]
        FLAG: false
        NUMBER: 3
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
  Api:
    Type: AWS::Serverless::HttpApi
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/fn
      Environment:
        Variables:
          STAGE: own
          SECRET: !Ref Secret
"""


@pytest.fixture
def short_tags_template(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "template.yaml"
    path.write_text(SHORT_TAGS)
    return load_template(path)


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("dynamodb", region_name="ap-southeast-1")


def unique_names() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {"CallsTable": f"calls-{suffix}", "DedupeTable": f"dedupe-{suffix}"}


def test_short_tags_load_as_their_long_forms(short_tags_template: dict[str, Any]) -> None:
    variables = short_tags_template["Globals"]["Function"]["Environment"]["Variables"]

    assert variables["STAGE"] == {"Ref": "Stage"}
    assert variables["TABLE_ARN"] == {"Fn::GetAtt": ["Table", "Arn"]}
    assert variables["STREAM"] == {"Fn::GetAtt": ["Table", "StreamArn"]}
    assert variables["LEVEL"] == {"Fn::If": ["IsProd", "WARNING", "DEBUG"]}
    assert short_tags_template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}


def test_without_a_path_the_repository_template_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the working directory elsewhere, holding a template of its own
    (tmp_path / "template.yaml").write_text(SHORT_TAGS)
    monkeypatch.chdir(tmp_path)
    # When the template is loaded without a path
    template = load_template()
    # Then it is the repository's SAM application: its two functions and two tables
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert {"CallsFunction", "CallbackFunction", "CallsTable", "DedupeTable"} <= set(
        template["Resources"]
    )
    assert "Fn" not in template["Resources"]


def test_environment_resolves_refs_subs_and_conditions(
    short_tags_template: dict[str, Any],
) -> None:
    resolution = {
        "Table": "local-table",
        "Table.Arn": "arn:aws:dynamodb:local:table/local-table",
        "Table.StreamArn": "arn:stream",
        "Api": "abc123",
        "Secret": "s3cr3t",
    }

    environment = function_environment("Fn", resolution, short_tags_template)

    assert environment == {
        "STAGE": "own",  # the function's own value wins over Globals
        "TABLE": "local-table",
        "TABLE_ARN": "arn:aws:dynamodb:local:table/local-table",
        "STREAM": "arn:stream",
        "URL": "https://abc123.execute-api.ap-southeast-1.amazonaws.com/${literal}",
        "SUBVARS": "dev-arn:aws:dynamodb:local:table/local-table",
        "LEVEL": "DEBUG",
        "JOINED": "a,dev",
        "FLAG": "false",
        "NUMBER": "3",
        "SECRET": "s3cr3t",
    }


def test_parameter_values_in_the_resolution_override_defaults(
    short_tags_template: dict[str, Any],
) -> None:
    resolution = {
        "Stage": "prod",
        "Table": "t",
        "Table.Arn": "arn",
        "Table.StreamArn": "s",
        "Api": "a",
        "Secret": "x",
        "AWS::Region": "us-west-2",
    }

    environment = function_environment("Fn", resolution, short_tags_template)

    assert environment["LEVEL"] == "WARNING"
    assert environment["JOINED"] == "a,prod"
    assert environment["URL"].startswith("https://a.execute-api.us-west-2.")


@pytest.mark.parametrize("missing", ["Table", "Table.Arn", "Secret"])
def test_an_unresolved_reference_is_an_error_not_a_guess(
    short_tags_template: dict[str, Any], missing: str
) -> None:
    resolution = {
        "Table": "t",
        "Table.Arn": "arn",
        "Table.StreamArn": "s",
        "Api": "a",
        "Secret": "x",
    }
    del resolution[missing]

    with pytest.raises(TemplateResolutionError):
        function_environment("Fn", resolution, short_tags_template)


def test_no_value_drops_what_it_stands_for_and_rule_functions_resolve() -> None:
    template: dict[str, Any] = {"Resources": {}, "Conditions": {"On": False}}
    no_value = {"Ref": "AWS::NoValue"}
    optional = {"Fn::If": ["On", "x", no_value]}

    assert resolve(["a", optional], template=template) == ["a"]
    assert resolve({"A": "a", "B": optional}, template=template) == {"A": "a"}
    assert resolve({"Fn::Contains": [["a", ""], ""]}, template=template) is True
    assert resolve({"Fn::EachMemberIn": [["a", "b"], ["a"]]}, template=template) is False
    assert resolve({"Fn::EachMemberIn": [[""], [""]]}, template=template) is True


def test_handler_splits_module_and_function(short_tags_template: dict[str, Any]) -> None:
    code_dir, module, function = function_handler("Fn", short_tags_template)
    assert code_dir == REPO_ROOT / "functions/fn"
    assert (module, function) == ("pkg.app", "handle")


def test_repository_handlers_point_at_the_function_directories() -> None:
    assert function_handler("CallsFunction") == (
        REPO_ROOT / "functions/calls",
        "app",
        "lambda_handler",
    )
    assert function_handler("CallbackFunction") == (
        REPO_ROOT / "functions/callback",
        "app",
        "lambda_handler",
    )


def test_unknown_function_is_refused() -> None:
    with pytest.raises(KeyError):
        function_handler("NoSuchFunction")


def test_routes_come_from_the_http_api_events() -> None:
    routes = http_routes()

    assert [tuple(route) for route in routes] == [
        ("POST", "/calls", "CallsFunction", "AWS_IAM"),
        ("GET", "/calls/{call_id}", "CallsFunction", "AWS_IAM"),
        ("GET", "/calls", "CallsFunction", "AWS_IAM"),
        ("POST", "/batches", "CallsFunction", "AWS_IAM"),
        ("GET", "/batches/{batch_id}", "CallsFunction", "AWS_IAM"),
        ("GET", "/batches/{batch_id}/calls", "CallsFunction", "AWS_IAM"),
        ("PUT", "/do-not-call/{phone}", "CallsFunction", "AWS_IAM"),
        ("GET", "/do-not-call/{phone}", "CallsFunction", "AWS_IAM"),
        ("DELETE", "/do-not-call/{phone}", "CallsFunction", "AWS_IAM"),
        ("ANY", "/calls", "CallsFunction", "AWS_IAM"),
        ("ANY", "/calls/{call_id}", "CallsFunction", "AWS_IAM"),
        ("ANY", "/batches", "CallsFunction", "AWS_IAM"),
        ("ANY", "/batches/{batch_id}", "CallsFunction", "AWS_IAM"),
        ("ANY", "/batches/{batch_id}/calls", "CallsFunction", "AWS_IAM"),
        ("ANY", "/do-not-call/{phone}", "CallsFunction", "AWS_IAM"),
        ("GET", "/callbacks/esms/{call_id}/{token}", "CallbackFunction", "NONE"),
    ]
    assert routes[0].method == "POST" and routes[0].auth == "AWS_IAM"


def test_create_tables_builds_the_template_tables(dynamodb: Any) -> None:
    names = unique_names()

    created = create_tables(dynamodb, names)

    assert created == names
    calls = dynamodb.describe_table(TableName=names["CallsTable"])["Table"]
    assert calls["KeySchema"] == [{"AttributeName": "call_id", "KeyType": "HASH"}]
    assert calls["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    by_name = {index["IndexName"]: index for index in calls["GlobalSecondaryIndexes"]}
    assert sorted(by_name) == [
        "CallsByBatchIndex",
        "CallsByDayIndex",
        "CallsByPhoneIndex",
        "CallsByRequestIndex",
        "OpenCallsIndex",
    ]
    assert by_name["CallsByDayIndex"]["KeySchema"] == [
        {"AttributeName": "created_day", "KeyType": "HASH"},
        {"AttributeName": "created_key", "KeyType": "RANGE"},
    ]
    assert by_name["CallsByDayIndex"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    index = by_name["OpenCallsIndex"]
    assert index["KeySchema"] == [
        {"AttributeName": "open_shard", "KeyType": "HASH"},
        {"AttributeName": "check_after", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["status", "sms_id", "request_id", "created_at"],
    }
    assert {a["AttributeName"]: a["AttributeType"] for a in calls["AttributeDefinitions"]} == {
        "call_id": "S",
        "open_shard": "S",
        "check_after": "N",
        "created_key": "S",
        "request_id": "S",
        "phone": "S",
        "created_day": "S",
        "batch_id": "S",
    }
    dedupe = dynamodb.describe_table(TableName=names["DedupeTable"])["Table"]
    assert dedupe["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]


@pytest.mark.parametrize(
    ("table_id", "attribute"), [("CallsTable", "expires_at"), ("DedupeTable", "expiration")]
)
def test_create_tables_enables_ttl_and_point_in_time_recovery(
    dynamodb: Any, table_id: str, attribute: str
) -> None:
    names = unique_names()

    create_tables(dynamodb, names)

    ttl = dynamodb.describe_time_to_live(TableName=names[table_id])["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": attribute}
    backups = dynamodb.describe_continuous_backups(TableName=names[table_id])
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


def test_create_tables_makes_only_the_tables_asked_for(dynamodb: Any) -> None:
    names = {"DedupeTable": f"dedupe-{uuid.uuid4().hex[:8]}"}

    create_tables(dynamodb, names)

    assert dynamodb.list_tables()["TableNames"] == [names["DedupeTable"]]


def test_create_tables_refuses_an_unknown_table(dynamodb: Any) -> None:
    with pytest.raises(KeyError):
        create_tables(dynamodb, {"NoSuchTable": "x"})
    assert dynamodb.list_tables()["TableNames"] == []


def test_create_tables_twice_needs_exist_ok(dynamodb: Any) -> None:
    names = unique_names()
    create_tables(dynamodb, names)

    with pytest.raises(dynamodb.exceptions.ResourceInUseException):
        create_tables(dynamodb, names)
    assert create_tables(dynamodb, names, exist_ok=True) == names


def test_table_definitions_are_the_template_properties(
    short_tags_template: dict[str, Any],
) -> None:
    # Given a template with one table among other resources
    # When its tables are read
    tables = table_definitions(short_tags_template)
    # Then there is that table alone, with the properties SHORT_TAGS gives it
    assert tables == {
        "Table": {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        }
    }


def test_the_repository_template_defines_the_two_tables() -> None:
    # When the repository's tables are read; Then they are the calls table (by call_id) and
    # the dedupe table (by id, as Powertools' Idempotency keys its records)
    tables = table_definitions()
    assert {name: t["KeySchema"] for name, t in tables.items()} == {
        "CallsTable": [{"AttributeName": "call_id", "KeyType": "HASH"}],
        "DedupeTable": [{"AttributeName": "id", "KeyType": "HASH"}],
    }
