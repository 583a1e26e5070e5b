"""The provider's spelling of each request field, accepted as an alias."""

from __future__ import annotations

from esms_calls.domain.calls import PROVIDER_NAMES as SPEC_PROVIDER_NAMES
from esms_calls.domain.calls import TTS_PROVIDER_NAMES

# Request field → the provider's own spelling. A request names its send time `send_at` (the spec
# keeps it as the provider's `send_date` text) and spells RequestId as MakeCallTemplate_V2 does.
PROVIDER_NAMES = {
    "request_id": "RequestId",
    "send_at": SPEC_PROVIDER_NAMES["send_date"],
    **{field: name for field, name in SPEC_PROVIDER_NAMES.items() if field != "send_date"},
}

# The other way round: error locations name the field as the client wrote it; report ours.
FIELD_OF_PROVIDER_NAME = {provider: ours for ours, provider in PROVIDER_NAMES.items()}
TTS_FIELD_OF_PROVIDER_NAME = {provider: ours for ours, provider in TTS_PROVIDER_NAMES.items()}
