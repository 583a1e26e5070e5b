"""What the client sends to and gets back from the provider, in typed form."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr

from esms_calls.esms.codes import RefusalKind


class Accepted(BaseModel):
    model_config = ConfigDict(frozen=True)

    sms_id: str


class Refused(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    kind: RefusalKind
    message: str


MakeCallAnswer = Accepted | Refused


class SendStatus(BaseModel):
    """GetSendStatus's answer when the provider knows the call."""

    model_config = ConfigDict(frozen=True)

    reference_id: str
    send_status: int | None = None
    call_status: str = ""
    duration_seconds: int | None = None
    ivr: str = ""
    sent_result: int | None = None


SendStatusAnswer = SendStatus | Refused


class EsmsCredentials(BaseModel):
    model_config = ConfigDict(frozen=True)

    api_key: SecretStr
    secret_key: SecretStr
