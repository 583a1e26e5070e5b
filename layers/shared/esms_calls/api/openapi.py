"""The OpenAPI document of the calls API, generated from the routes and models.

Committed as docs/openapi.json; a test fails when the two drift (`make openapi` rewrites it).
"""

from __future__ import annotations

import json
from typing import Any

from esms_calls.api import calls_api
from esms_calls.api.resolver import app

calls_api.register_routes()  # every route, for the document

TITLE = "eSMS voice calls"
VERSION = "1.0.0"
DESCRIPTION = (
    "Place automated voice calls through eSMS.vn and follow what became of each. Deployed, every "
    "route requires AWS IAM (SigV4) authorization, or with the ApiAuth JWT deployment a bearer "
    "token with scope calls/write (POST, PUT, DELETE) or calls/read (GET). Errors are RFC 9457 "
    "problem details."
)
# Powertools documents a generic 422 on every validated route; GET never sends one.
_UNUSED_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def openapi_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION)
    )
    for operations in document["paths"].values():
        for operation in operations.values():
            response = operation["responses"].get("422", {})
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref", "").endswith("/HTTPValidationError"):
                del operation["responses"]["422"]
            # Powertools gives 204 the route's return type as a body; 204 has none.
            operation["responses"].get("204", {}).pop("content", None)
    _link_accepted_call_to_its_record(document)
    schemas = document.get("components", {}).get("schemas", {})
    for name in _UNUSED_SCHEMAS:
        schemas.pop(name, None)
    return document


def _link_accepted_call_to_its_record(document: dict[str, Any]) -> None:
    """`POST /calls` → `GET /calls/{call_id}`: for generated clients and stateful testing
    (Powertools declares no links)."""
    read = document["paths"]["/calls/{call_id}"]["get"]
    document["paths"]["/calls"]["post"]["responses"]["202"]["links"] = {
        "GetCall": {
            "operationId": read["operationId"],
            "parameters": {"call_id": "$response.body#/call_id"},
            "description": "the call just accepted, and what becomes of it",
        }
    }


def openapi_json() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(openapi_json(), end="")
