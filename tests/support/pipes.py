"""template.yaml's OutcomeEventsPipe applied to DynamoDB stream records, since Pipes cannot run
locally: its filter through moto's EventBridge pattern matcher (`moto.events.models.EventPattern`,
the matcher moto's own rules use; Pipes filters use EventBridge's pattern syntax), its input
template through moto's EventBridge input transformer (Pipes' inline `<$.path>` variables are
handed to it as an InputPathsMap), and the event put on the bus built from the target's
parameters, as PutEvents would be called."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
from moto.events.models import EventPattern
from moto.events.utils import EventTemplateParser

from devstack.template import load_template

_INLINE_PATH = re.compile(r"<(\$\.[A-Za-z0-9_.\-\[\]*]+)>")


def outcome_pipe() -> dict[str, Any]:
    return dict(load_template()["Resources"]["OutcomeEventsPipe"]["Properties"])


def filter_patterns(pipe: dict[str, Any]) -> list[EventPattern]:
    filters = pipe["SourceParameters"]["FilterCriteria"]["Filters"]
    return [EventPattern.load(entry["Pattern"]) for entry in filters]


def render(input_template: str, record: dict[str, Any]) -> Any:
    """Pipes' input transformation of one record (strings inserted as they are: the template
    quotes them, as EventBridge asks)."""
    paths: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        key = f"v{len(paths)}"
        paths[key] = match.group(1)
        return f"<{key}>"

    template = _INLINE_PATH.sub(name, input_template)
    return EventTemplateParser.parse(template, paths, {**record, "ingestion-time": 0})


def pipe_entries(pipe: dict[str, Any], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The PutEvents entries the pipe makes of these stream records."""
    patterns = filter_patterns(pipe)
    target = pipe["TargetParameters"]
    bus = target["EventBridgeEventBusParameters"]
    return [
        {
            "Source": bus["Source"],
            "DetailType": bus["DetailType"],
            "Detail": json.dumps(render(target["InputTemplate"], record)),
        }
        for record in records
        if any(pattern.matches_event(record) for pattern in patterns)
    ]


def stream_records(table_name: str) -> list[dict[str, Any]]:
    """Every record of the table's stream, oldest first, as Pipes reads them (JSON-shaped)."""
    # The classic endpoint: botocore now derives an account-based one that moto does not route.
    region = boto3.session.Session().region_name
    streams = boto3.client(
        "dynamodbstreams", endpoint_url=f"https://streams.dynamodb.{region}.amazonaws.com"
    )
    (stream,) = streams.list_streams(TableName=table_name)["Streams"]
    description = streams.describe_stream(StreamArn=stream["StreamArn"])["StreamDescription"]
    records: list[dict[str, Any]] = []
    for shard in description["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream["StreamArn"],
            ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += page["Records"]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    for record in records:
        record["eventSourceARN"] = stream["StreamArn"]
    return json.loads(json.dumps(records, default=str))
