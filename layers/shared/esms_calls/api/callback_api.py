"""The provider's callback route: public, authenticated by the HMAC token in its path."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from esms_calls import dependencies
from esms_calls.api import problems
from esms_calls.observability import logger


@cache
def _resolver(base_path: str) -> APIGatewayHttpResolver:
    # Behind a custom domain's API mapping, the request's path still starts with the mapping's
    # base path (the path of PUBLIC_BASE_URL): stripped before routing. One resolver per base
    # path: settings are read on first use, not at import.
    app = APIGatewayHttpResolver(strip_prefixes=[base_path] if base_path else None)
    # A missing token is a wrong URL like a bad one: 403, nothing stored. Anything but 200 (a
    # storage failure's 503 included) makes the provider send the callback again.
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

    return app


def resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
    base_path = urlsplit(dependencies.root().settings.public_base_url or "").path.rstrip("/")
    return _resolver(base_path).resolve(event, context)
