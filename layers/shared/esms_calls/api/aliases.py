"""The provider's spelling of each request field, accepted as an alias (no pydantic here:
the error mapping needs it without building the request model)."""

# snake_case name → the provider's own spelling, accepted as an alias.
PROVIDER_NAMES = {
    "phone": "Phone",
    "template_id": "TemplateId",
    "request_id": "RequestId",
    "send_at": "SendDate",
    "number_forward": "NumberForward",
    "ivr": "Ivr",
    "time_wait_to_ivr": "TimeWaitToIvr",
    "max_repeat": "MaxRepeat",
    "max_retry": "MaxRetry",
    "wait_retry": "WaitRetry",
}

# The other way round: error locations name the field as the client wrote it; report ours.
FIELD_OF_PROVIDER_NAME = {provider: ours for ours, provider in PROVIDER_NAMES.items()}
