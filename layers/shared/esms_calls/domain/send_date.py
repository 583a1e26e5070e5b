"""`send_at` / `SendDate`: ISO-8601 or the provider's `yyyy/MM/dd HH:mm:ss` (naive: Vietnam)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7), "ICT")
PROVIDER_FORMAT = "%Y/%m/%d %H:%M:%S"


def parse_send_at(text: str) -> datetime:
    """An aware datetime for ISO-8601 (any offset, or naive = Vietnam) or the provider format."""
    text = text.strip()
    try:
        moment = datetime.strptime(text, PROVIDER_FORMAT)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                "must be an ISO-8601 time (e.g. 2026-12-01T09:00:00+07:00) "
                "or yyyy/MM/dd HH:mm:ss in Vietnam time"
            ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)


def to_provider_format(moment: datetime) -> str:
    return moment.astimezone(VIETNAM).strftime(PROVIDER_FORMAT)


def from_provider_format(text: str) -> datetime:
    return datetime.strptime(text, PROVIDER_FORMAT).replace(tzinfo=VIETNAM)
