"""template.yaml as the single description of the stack, for tests and the local stack.

Tables, routes, handlers and environment variables are read from the SAM template, never
described a second time. CloudFormation's short tags (``!Ref``, ``!Sub``, ``!GetAtt``, ...) load
as their long forms (``{"Ref": ...}``, ``{"Fn::Sub": ...}``, ``{"Fn::GetAtt": [...]}``).

Resolution of intrinsic functions (``function_environment``) takes a mapping from names to
values, the way a deployment would supply them:

- ``"CallsTable"`` (a resource's logical id): the value of ``!Ref CallsTable``;
- ``"CallsTable.Arn"``: the value of ``!GetAtt CallsTable.Arn``;
- ``"LogLevel"`` (a parameter): overrides the parameter's default;
- ``"AWS::StackName"``, ``"AWS::Region"``, ...: pseudo parameters (defaults in
  ``PSEUDO_PARAMETER_DEFAULTS``).

A reference that neither the mapping nor a default resolves raises ``TemplateResolutionError``.
``!Ref AWS::NoValue`` removes the list item or mapping key it is the value of, as in a deployment.
The rule functions of a template's ``Rules`` (``Fn::Contains``, ``Fn::EachMemberIn``) resolve too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE_PATH = REPO_ROOT / "template.yaml"

PSEUDO_PARAMETER_DEFAULTS: dict[str, str] = {
    "AWS::StackName": "esms-calls-local",
    "AWS::Region": "ap-southeast-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}

FUNCTION_TYPE = "AWS::Serverless::Function"
TABLE_TYPE = "AWS::DynamoDB::Table"

Template = dict[str, Any]


class TemplateResolutionError(ValueError):
    """An intrinsic function that cannot be resolved with the values given."""


class Route(NamedTuple):
    """One HttpApi route: ``auth`` is the authorizer in force (``"AWS_IAM"``, ``"NONE"``, ...)."""

    method: str
    path: str
    function: str
    auth: str


# ---------------------------------------------------------------------------------------------
# Loading


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that also reads CloudFormation's short-form intrinsic function tags."""


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - yaml has no other node kinds
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}")
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def load_template(path: str | Path | None = None) -> Template:
    """Parse the SAM template (``template.yaml`` at the repository root by default)."""
    text = Path(path or DEFAULT_TEMPLATE_PATH).read_text(encoding="utf-8")
    template = yaml.load(text, Loader=_CloudFormationLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(template, dict) or "Resources" not in template:
        raise TemplateResolutionError(f"{path or DEFAULT_TEMPLATE_PATH} is not a template")
    return template


def _resources_of_type(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") == resource_type
    }


def _function(template: Template, logical_id: str) -> dict[str, Any]:
    functions = _resources_of_type(template, FUNCTION_TYPE)
    if logical_id not in functions:
        raise KeyError(f"{logical_id} is not a function of the template; have {sorted(functions)}")
    return functions[logical_id]


def function_ids(template: Template | None = None) -> list[str]:
    """Logical ids of the template's functions, in template order."""
    return list(_resources_of_type(template or load_template(), FUNCTION_TYPE))


# ---------------------------------------------------------------------------------------------
# Tables


def table_definitions(template: Template | None = None) -> dict[str, dict[str, Any]]:
    """Properties of every ``AWS::DynamoDB::Table``, by logical id."""
    tables = _resources_of_type(template or load_template(), TABLE_TYPE)
    return {logical_id: dict(resource["Properties"]) for logical_id, resource in tables.items()}


def _plain(value: Any, where: str) -> Any:
    """Refuse intrinsic functions where create_tables passes values through as they are."""
    if isinstance(value, dict):
        if any(key == "Ref" or key.startswith("Fn::") for key in value):
            raise TemplateResolutionError(f"{where}: intrinsic function not supported here")
        return {key: _plain(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, f"{where}[{index}]") for index, item in enumerate(value)]
    return value


def _create_table_request(name: str, props: Mapping[str, Any]) -> dict[str, Any]:
    used = (
        "KeySchema",
        "AttributeDefinitions",
        "BillingMode",
        "ProvisionedThroughput",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
        "SSESpecification",
        "StreamSpecification",
    )
    props = _plain({key: props[key] for key in used if key in props}, name)
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if "ProvisionedThroughput" in props:
        request["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            request[key] = props[key]
    sse = props.get("SSESpecification")
    if sse:
        # CloudFormation spells it SSEEnabled, the API Enabled.
        request["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled", False))} | {
            key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse
        }
    stream = props.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    return request


def create_tables(
    dynamodb_client: Any,
    names: Mapping[str, str],
    *,
    template: Template | None = None,
    exist_ok: bool = False,
) -> dict[str, str]:
    """Create the template's tables named in ``names`` (logical id -> physical table name).

    Each table gets the template's key schema, attribute definitions, indexes, billing mode and
    SSE, then its TTL and point-in-time recovery settings. A logical id that is not a table of
    the template raises ``KeyError``. With ``exist_ok``, a table that already exists is left as
    it is. Returns ``names`` as a dict.
    """
    tables = table_definitions(template)
    unknown = sorted(set(names) - set(tables))
    if unknown:
        raise KeyError(f"not tables of the template: {unknown}; tables are {sorted(tables)}")
    for logical_id, table_name in names.items():
        props = tables[logical_id]
        try:
            dynamodb_client.create_table(**_create_table_request(table_name, props))
        except dynamodb_client.exceptions.ResourceInUseException:
            if not exist_ok:
                raise
            continue
        dynamodb_client.get_waiter("table_exists").wait(
            TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb_client.update_time_to_live(
                TableName=table_name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        pitr = props.get("PointInTimeRecoverySpecification")
        if pitr and pitr.get("PointInTimeRecoveryEnabled"):
            dynamodb_client.update_continuous_backups(
                TableName=table_name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
    return dict(names)


# ---------------------------------------------------------------------------------------------
# Routes and handlers


def http_routes(
    template: Template | None = None, overrides: Mapping[str, Any] | None = None
) -> list[Route]:
    """``(method, path, function logical id, auth)`` of every HttpApi event, in template order.

    ``auth`` is the route's own ``Auth.Authorizer`` if it has one, else the ``security`` of its
    method in the API's ``DefinitionBody`` (resolved with ``overrides``, as for
    ``function_environment``: e.g. ``{"ApiAuth": "JWT"}``), else the API's
    ``DefaultAuthorizer``, else ``"NONE"``.
    """
    template = template or load_template()
    resolver = _Resolver(template, overrides or {})
    routes: list[Route] = []
    for logical_id, function in _resources_of_type(template, FUNCTION_TYPE).items():
        for event in (function.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties") or {}
            method = str(props.get("Method", "ANY")).upper()
            path = str(props.get("Path", "$default"))
            auth = (
                (props.get("Auth") or {}).get("Authorizer")
                or _definition_authorizer(resolver, props.get("ApiId"), method, path)
                or _default_authorizer(template, props.get("ApiId"))
            )
            routes.append(Route(method=method, path=path, function=logical_id, auth=auth))
    return routes


def _api_auth(template: Template, api_id: Any) -> dict[str, Any]:
    if isinstance(api_id, dict) and "Ref" in api_id:
        api = template["Resources"].get(api_id["Ref"], {})
        return api.get("Properties", {}).get("Auth") or {}
    # The implicit API SAM creates: Globals.HttpApi settings apply.
    return template.get("Globals", {}).get("HttpApi", {}).get("Auth") or {}


def _definition_authorizer(resolver: _Resolver, api_id: Any, method: str, path: str) -> str:
    """The authorizer a method's ``security`` names in the API's OpenAPI ``DefinitionBody``."""
    if not (isinstance(api_id, dict) and "Ref" in api_id):
        return ""
    api = resolver.resources.get(api_id["Ref"], {})
    paths = (api.get("Properties", {}).get("DefinitionBody") or {}).get("paths") or {}
    name = "x-amazon-apigateway-any-method" if method == "ANY" else method.lower()
    security = resolver.resolve(((paths.get(path) or {}).get(name) or {}).get("security"))
    return next(iter(security[0]), "") if security else ""


def _default_authorizer(template: Template, api_id: Any) -> str:
    return str(_api_auth(template, api_id).get("DefaultAuthorizer") or "NONE")


def function_handler(logical_id: str, template: Template | None = None) -> tuple[Path, str, str]:
    """``(code directory, module, function)`` of a function, e.g. ``(…/functions/calls, "app",
    "lambda_handler")``. The directory is absolute."""
    template = template or load_template()
    props = _function(template, logical_id).get("Properties", {})
    globals_ = template.get("Globals", {}).get("Function", {})
    handler = props.get("Handler") or globals_.get("Handler")
    code_uri = props.get("CodeUri") or globals_.get("CodeUri")
    if not isinstance(handler, str) or "." not in handler or not isinstance(code_uri, str):
        raise TemplateResolutionError(f"{logical_id}: needs a local CodeUri and module.function")
    module, _, function = handler.rpartition(".")
    return (REPO_ROOT / code_uri).resolve(), module, function


# ---------------------------------------------------------------------------------------------
# Environment


def function_environment(
    logical_id: str,
    overrides: Mapping[str, Any] | None = None,
    template: Template | None = None,
) -> dict[str, str]:
    """Environment variables the template gives a function (Globals merged with its own),
    every intrinsic function resolved (see the module docstring for ``overrides``)."""
    template = template or load_template()
    props = _function(template, logical_id).get("Properties", {})
    global_vars = (
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables")
    )
    own_vars = (props.get("Environment") or {}).get("Variables")
    variables = {**(global_vars or {}), **(own_vars or {})}
    resolver = _Resolver(template, overrides or {})
    resolved = {name: resolver.resolve(value) for name, value in variables.items()}
    return {
        name: resolver.to_string(value)
        for name, value in resolved.items()
        if value is not _NO_VALUE
    }


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# What ``!Ref AWS::NoValue`` resolves to until the list or mapping holding it drops it.
_NO_VALUE = object()


class _Resolver:
    def __init__(self, template: Template, overrides: Mapping[str, Any]) -> None:
        self.template = template
        self.overrides = overrides
        self.parameters: dict[str, Any] = template.get("Parameters", {})
        self.resources: dict[str, Any] = template["Resources"]
        self.conditions: dict[str, Any] = template.get("Conditions", {})

    @staticmethod
    def to_string(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list):
            return ",".join(_Resolver.to_string(item) for item in value)
        return str(value)

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.overrides:
            return self.overrides[name]
        if name in self.parameters:
            if "Default" not in self.parameters[name]:
                raise TemplateResolutionError(f"parameter {name} has no default: give a value")
            return self.parameters[name]["Default"]
        if name in PSEUDO_PARAMETER_DEFAULTS:
            return PSEUDO_PARAMETER_DEFAULTS[name]
        if name in self.resources:
            raise TemplateResolutionError(f"no value given for resource {name} (Ref)")
        raise TemplateResolutionError(f"Ref to unknown name {name}")

    def get_att(self, resource: str, attribute: str) -> Any:
        key = f"{resource}.{attribute}"
        if key in self.overrides:
            return self.overrides[key]
        raise TemplateResolutionError(f"no value given for {key} (Fn::GetAtt)")

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise TemplateResolutionError(f"unknown condition {name}")
        return bool(self.resolve(self.conditions[name]))

    def sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return self.to_string(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                resource, _, attribute = name.partition(".")
                return self.to_string(self.get_att(resource, attribute))
            return self.to_string(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not _NO_VALUE}
        ((key, arg),) = value.items()
        if key == "Ref":
            return self.ref(arg)
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::GetAtt":
            resource, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
            return self.get_att(resource, attribute)
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            return self.sub(text, variables)
        if key == "Fn::If":
            name, if_true, if_false = arg
            return self.resolve(if_true if self.condition(name) else if_false)
        if key == "Fn::Equals":
            left, right = (self.to_string(self.resolve(item)) for item in arg)
            return left == right
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::And":
            return all(self.resolve(item) for item in arg)
        if key == "Fn::Or":
            return any(self.resolve(item) for item in arg)
        if key == "Fn::Contains":
            items, item = self.resolve(arg)
            return item in items
        if key == "Fn::EachMemberIn":
            items, allowed = self.resolve(arg)
            return all(item in allowed for item in items)
        if key == "Fn::Join":
            delimiter, items = arg
            return delimiter.join(self.to_string(item) for item in self.resolve(items))
        if key == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::FindInMap":
            map_name, top, second = (self.to_string(self.resolve(item)) for item in arg)
            return self.template["Mappings"][map_name][top][second]
        if key.startswith("Fn::"):
            raise TemplateResolutionError(f"{key} is not supported")
        resolved = self.resolve(arg)
        return {} if resolved is _NO_VALUE else {key: resolved}


# ---------------------------------------------------------------------------------------------
# Function settings, schedules and table variables (added for the local stack)

LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3
LAMBDA_DEFAULT_MEMORY_MB = 128


def _function_setting(template: Template, logical_id: str, name: str) -> Any:
    props = _function(template, logical_id).get("Properties", {})
    if name in props:
        return props[name]
    return template.get("Globals", {}).get("Function", {}).get(name)


def function_timeout(logical_id: str, template: Template | None = None) -> int:
    """The function's ``Timeout`` in seconds (its own, else Globals, else Lambda's 3)."""
    value = _function_setting(template or load_template(), logical_id, "Timeout")
    return int(value) if value is not None else LAMBDA_DEFAULT_TIMEOUT_SECONDS


def function_memory(logical_id: str, template: Template | None = None) -> int:
    """The function's ``MemorySize`` in MB (its own, else Globals, else Lambda's 128)."""
    value = _function_setting(template or load_template(), logical_id, "MemorySize")
    return int(value) if value is not None else LAMBDA_DEFAULT_MEMORY_MB


class Schedule(NamedTuple):
    """A ``Schedule``/``ScheduleV2`` event of a function: what EventBridge would invoke it with."""

    function: str
    name: str
    expression: Any
    input: Any  # the parsed ``Input`` JSON; None when the event has none


def function_schedules(template: Template | None = None) -> list[Schedule]:
    """Every ``Schedule`` and ``ScheduleV2`` event of the template's functions, template order.

    ``expression`` is the raw ``ScheduleExpression`` (intrinsics unresolved); ``input`` is the
    event's ``Input`` parsed as JSON (a string in the template).
    """
    import json

    template = template or load_template()
    schedules: list[Schedule] = []
    for logical_id, function in _resources_of_type(template, FUNCTION_TYPE).items():
        for name, event in (function.get("Properties", {}).get("Events") or {}).items():
            if event.get("Type") not in ("Schedule", "ScheduleV2"):
                continue
            props = event.get("Properties") or {}
            raw_input = props.get("Input")
            payload = json.loads(raw_input) if isinstance(raw_input, str) else raw_input
            schedules.append(Schedule(logical_id, name, props.get("ScheduleExpression"), payload))
    return schedules


def table_variables(template: Template | None = None) -> dict[str, list[str]]:
    """For each table of the template, the environment variables (Globals or a function's)
    whose value is ``!Ref`` to it: ``{"CallsTable": ["CALLS_TABLE_NAME"], ...}``."""
    template = template or load_template()
    tables = table_definitions(template)
    found: dict[str, list[str]] = {logical_id: [] for logical_id in tables}
    sources = [template.get("Globals", {}).get("Function", {})]
    sources += [
        f.get("Properties", {}) for f in _resources_of_type(template, FUNCTION_TYPE).values()
    ]
    for source in sources:
        variables = (source.get("Environment") or {}).get("Variables") or {}
        for name, value in variables.items():
            if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in found:
                if name not in found[value["Ref"]]:
                    found[value["Ref"]].append(name)
    return found


# ---------------------------------------------------------------------------------------------
# Queues and their event source mappings (added for the local stack)

QUEUE_TYPE = "AWS::SQS::Queue"


def resolve(
    value: Any, overrides: Mapping[str, Any] | None = None, template: Template | None = None
) -> Any:
    """Any template value with its intrinsic functions resolved (``overrides`` as for
    ``function_environment``)."""
    template = template or load_template()
    return _Resolver(template, overrides or {}).resolve(value)


def queue_definitions(template: Template | None = None) -> dict[str, dict[str, Any]]:
    """Properties of every ``AWS::SQS::Queue``, by logical id (intrinsics unresolved)."""
    queues = _resources_of_type(template or load_template(), QUEUE_TYPE)
    return {
        logical_id: dict(resource.get("Properties") or {})
        for logical_id, resource in queues.items()
    }


class QueueEvent(NamedTuple):
    """An ``SQS`` event of a function: Lambda's event source mapping (intrinsics unresolved)."""

    function: str
    name: str
    properties: dict[str, Any]


def function_queue_events(template: Template | None = None) -> list[QueueEvent]:
    """Every ``SQS`` event of the template's functions, in template order."""
    events: list[QueueEvent] = []
    for logical_id, function in _resources_of_type(
        template or load_template(), FUNCTION_TYPE
    ).items():
        for name, event in (function.get("Properties", {}).get("Events") or {}).items():
            if event.get("Type") == "SQS":
                events.append(QueueEvent(logical_id, name, dict(event.get("Properties") or {})))
    return events
