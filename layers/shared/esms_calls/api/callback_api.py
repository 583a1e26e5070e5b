"""The provider's callback route: public, authenticated by the HMAC token in its path."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from esms_calls import dependencies
from esms_calls.api import problems
from esms_calls.observability import logger

app = APIGatewayHttpResolver()
# A missing token is a wrong URL like a bad one: 403, nothing stored. Anything but 200 (a storage
# failure's 503 included) makes the provider send the callback again.
problems.register(app, unknown_route=HTTPStatus.FORBIDDEN)


@app.get("/callbacks/esms/<call_id>/<token>")
def callback(call_id: str, token: str) -> Response[str]:
    logger.append_keys(call_id=call_id)
    receive_callback = dependencies.root().receive_callback
    stored = receive_callback(call_id, token, app.current_event.raw_query_string or "")
    return Response(
        status_code=HTTPStatus.OK.value,
        content_type="application/json",
        body=f'{{"stored": "{stored.value}"}}',
    )


def resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(_under_the_routes(event, dependencies.root().public_base_path()), context)


def _under_the_routes(event: dict[str, Any], base_path: str) -> dict[str, Any]:
    """The event with the base path of PUBLIC_BASE_URL taken off its path: behind a custom
    domain's API mapping, rawPath still starts with it. By hand, because Powertools'
    `strip_prefixes` is fixed when the resolver is built, before the settings are read; a path
    under another base path keeps it, matches no route, and is refused like a bad token."""
    path = str(event.get("rawPath") or "")
    if base_path and (path == base_path or path.startswith(f"{base_path}/")):
        return {**event, "rawPath": path[len(base_path) :] or "/"}
    return event
