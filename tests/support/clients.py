"""The AWS clients the functions use, for tests that watch or bend their requests."""

from __future__ import annotations

from typing import Any

from esms_calls import dependencies


def dynamodb_client() -> Any:
    """The DynamoDB client of the composition root (built on first use, inside moto)."""
    return dependencies.root().dynamodb
