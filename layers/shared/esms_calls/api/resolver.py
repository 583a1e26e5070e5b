"""The Powertools resolver every route of CallsFunction registers on, with the problem mapping."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from esms_calls.api import problems
from esms_calls.api.problems import Problem

app = APIGatewayHttpResolver(enable_validation=True)
problems.register(app)


def documented(*statuses: HTTPStatus) -> dict[int, Any]:
    """OpenAPI entries for these problem answers."""
    return {
        s.value: {
            "description": problems.title_of(s),
            "content": {problems.PROBLEM_JSON: {"model": Problem}},
        }
        for s in statuses
    }
