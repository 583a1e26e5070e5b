"""The smallest handlers that do the same I/O as ours, written by hand with raw boto3 and httpx.

They are the yardstick of the warm-overhead rows (warm.py) and, behind the deployed
configuration's reads, of the cold-start rows (twins/*/app.py): what any handler doing these
DynamoDB requests and this provider request must spend. Each sends the requests our code sends
today on that path (the same operations, in the same order) and parses, checks and answers as
little as it can while still being a real handler (one JSON log line, an API Gateway answer).
httpx is imported only by the handler that calls the provider: the callback twin never loads it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    import httpx

# The twins' AWS clients are configured as ours (esms_calls/storage/aws.py).
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5
)


class CallbackHandler:
    """The routes that never call the provider: a callback, a GET."""

    def __init__(self, calls_table: str, signing_key: bytes) -> None:
        self.ddb = boto3.client("dynamodb", config=CLIENT_CONFIG)
        self.calls = calls_table
        self.signing_key = signing_key

    def _token(self, call_id: str) -> str:
        digest = hmac.new(self.signing_key, call_id.encode(), "sha256").digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def _answer(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        print(json.dumps({"level": "INFO", "message": "answered", "status": status}))
        return {
            "statusCode": status,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body),
        }

    # GET /callbacks/esms/{call_id}/{token}: check the token, one conditional update.
    def callback(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        params = event["pathParameters"]
        call_id, token = params["call_id"], params["token"]
        expected = self._token(call_id)
        if not hmac.compare_digest(expected, token):
            return self._answer(403, {"title": "forbidden"})
        q = dict(parse_qsl(event.get("rawQueryString") or "", keep_blank_values=True))
        digest = hashlib.sha256(json.dumps(q, sort_keys=True).encode()).hexdigest()
        self.ddb.update_item(
            TableName=self.calls,
            Key={"call_id": {"S": call_id}},
            UpdateExpression=(
                "SET #s = :s, call_status = :cs, updated_at = :now ADD report_digests :d"
            ),
            ConditionExpression="attribute_exists(call_id) AND NOT contains(report_digests, :dd)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":s": {"S": "COMPLETED"},
                ":cs": {"S": q.get("CallStatus", "")},
                ":now": {"S": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                ":d": {"SS": [digest]},
                ":dd": {"S": digest},
            },
        )
        return self._answer(200, {"stored": "APPLIED"})

    # GET /calls/{call_id}: one consistent read.
    def get_call(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        call_id = event["pathParameters"]["call_id"]
        item = self.ddb.get_item(
            TableName=self.calls, Key={"call_id": {"S": call_id}}, ConsistentRead=True
        ).get("Item")
        if not item:
            return self._answer(404, {"title": "not found"})
        return self._answer(
            200,
            {
                k: next(iter(v.values()))
                for k, v in item.items()
                if k in ("call_id", "request_id", "status", "sms_id", "phone", "template_id")
            },
        )


class MinimalHandlers(CallbackHandler):
    """Every route, placing calls included."""

    def __init__(
        self,
        calls_table: str,
        dedupe_table: str,
        esms_base_url: str,
        api_key: str,
        secret_key: str,
        signing_key: bytes,
        transport: httpx.BaseTransport | None,
        public_base_url: str = "https://calls.example.test",
    ) -> None:
        import httpx

        super().__init__(calls_table, signing_key)
        self.http = httpx.Client(base_url=esms_base_url, transport=transport, timeout=20)
        self.dedupe = dedupe_table
        self.keys = {"ApiKey": api_key, "SecretKey": secret_key}
        self.public_base_url = public_base_url.rstrip("/")

    # POST /calls, first time: claim; record call + binding; ask the provider; record + complete.
    def place_call(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        body = json.loads(event["body"])
        request_id = event["headers"].get("idempotency-key") or uuid.uuid4().hex
        phone = "0" + body["phone"].replace(" ", "").removeprefix("+84").removeprefix(
            "84"
        ).removeprefix("0")
        spec = {"phone": phone, "template_id": body["template_id"]}
        digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
        now = int(time.time())
        key = {"id": {"S": f"place-call#{request_id}"}}
        try:
            self.ddb.put_item(
                TableName=self.dedupe,
                Item={
                    **key,
                    "status": {"S": "INPROGRESS"},
                    "expiration": {"N": str(now + 86400)},
                    "validation": {"S": digest},
                },
                ConditionExpression="attribute_not_exists(id) OR expiration < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            return self._replay(exc)
        call_id = uuid.uuid4().hex
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        self.ddb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.dedupe,
                        "Item": {
                            "id": {"S": f"binding#{request_id}"},
                            "call_id": {"S": call_id},
                            "payload_hash": {"S": digest},
                            "expiration": {"N": str(now + 86400)},
                        },
                        "ConditionExpression": "attribute_not_exists(id)",
                    }
                },
                {
                    "Put": {
                        "TableName": self.calls,
                        "Item": {
                            "call_id": {"S": call_id},
                            "request_id": {"S": request_id},
                            "status": {"S": "PENDING"},
                            "phone": {"S": phone},
                            "template_id": {"S": spec["template_id"]},
                            "created_at": {"S": iso},
                            "updated_at": {"S": iso},
                        },
                        "ConditionExpression": "attribute_not_exists(call_id)",
                    }
                },
            ]
        )
        token = self._token(call_id)
        answer = self.http.get(
            "/MakeCallRecord_V2",
            params={
                **self.keys,
                "Phone": phone,
                "TemplateId": spec["template_id"],
                "RequestID": request_id,
                "CallbackUrl": f"{self.public_base_url}/callbacks/esms/{call_id}/{token}",
            },
        ).json()
        sms_id = answer["SMSID"]
        result = {
            "call_id": call_id,
            "request_id": request_id,
            "sms_id": sms_id,
            "status": "ACCEPTED",
        }
        # The provider's answer and the claim's completion, in one transaction (as ours).
        self.ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self.calls,
                        "Key": {"call_id": {"S": call_id}},
                        "UpdateExpression": "SET #s = :a, sms_id = :sms, updated_at = :now",
                        "ConditionExpression": "#s = :p",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {
                            ":a": {"S": "ACCEPTED"},
                            ":p": {"S": "PENDING"},
                            ":sms": {"S": sms_id},
                            ":now": {"S": iso},
                        },
                    }
                },
                {
                    "Update": {
                        "TableName": self.dedupe,
                        "Key": key,
                        "UpdateExpression": "SET #s = :c, #d = :d",
                        "ExpressionAttributeNames": {"#s": "status", "#d": "data"},
                        "ExpressionAttributeValues": {
                            ":c": {"S": "COMPLETED"},
                            ":d": {"S": json.dumps(result)},
                        },
                    }
                },
            ]
        )
        return self._answer(202, result)

    def _replay(self, exc: ClientError) -> dict[str, Any]:
        item = exc.response.get("Item") or {}
        if item.get("status", {}).get("S") != "COMPLETED":
            return self._answer(409, {"title": "in flight"})
        return self._answer(202, json.loads(item["data"]["S"]))
