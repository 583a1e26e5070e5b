"""The shapes of the ids the service issues and accepts."""

from __future__ import annotations

import re

# Request ids: the caller's idempotency key, or one we derive; the provider takes at most 50.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,50}$"
# Call ids are uuid4 hex: an id of another shape cannot exist.
CALL_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
