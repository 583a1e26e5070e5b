"""The do-not-call list: `PUT`, `GET`, `DELETE /do-not-call/{phone}`, and the opt-out of a callee
who pressed a call's `opt_out_key`. Numbers are kept only as keyed hashes (`number_key`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from esms_calls.domain.calling_rules import DoNotCallEntry, DoNotCallSource
from esms_calls.domain.phone import mask_phone
from esms_calls.domain.reports import Recorded, Report
from esms_calls.errors import NotOnDoNotCallList
from esms_calls.observability import count, logger
from esms_calls.usecases.ports import CallingRulesStore, Clock, utc_now


class DoNotCallList:
    def __init__(
        self,
        *,
        store: CallingRulesStore,
        number_key: Callable[[str], str],
        clock: Clock = utc_now,
    ) -> None:
        self._store = store
        self._number_key = number_key
        self._clock = clock

    def put(self, phone: str, reason: str | None) -> tuple[DoNotCallEntry, bool]:
        """List the number (True) or, when it is listed, set the reason of its entry (False);
        its source and created_at stay what they were."""
        key = self._number_key(phone)
        entry = DoNotCallEntry(reason=reason, source=DoNotCallSource.API, created_at=self._clock())
        if self._store.add(key, entry):
            logger.info("number put on the do-not-call list", extra={"phone": mask_phone(phone)})
            return entry, True
        updated = self._store.set_reason(key, reason)
        if updated is None:  # removed between the two writes: list it now
            return self.put(phone, reason)
        return updated, False

    def get(self, phone: str) -> DoNotCallEntry:
        entry = self._store.listed(self._number_key(phone))
        if entry is None:
            raise NotOnDoNotCallList()
        return entry

    def delete(self, phone: str) -> None:
        if not self._store.remove(self._number_key(phone)):
            raise NotOnDoNotCallList()
        logger.info("number taken off the do-not-call list", extra={"phone": mask_phone(phone)})

    def on_report(self, call_id: str, report: Report, recorded: Recorded, now: datetime) -> None:
        """A report (callback or status query) of the call's opt_out_key pressed lists its
        number. Also for a report already stored: the attempt before may have failed here."""
        opt_out = recorded.opt_out
        if opt_out is not None and opt_out.key == report.key_pressed:
            self.opt_out(opt_out.phone, call_id, now)

    def opt_out(self, phone: str, call_id: str, now: datetime) -> bool:
        """The callee of `call_id` pressed its opt-out key: list the number, once however often
        the callback repeats (a conditional put). True when this added it."""
        entry = DoNotCallEntry(
            reason="pressed the opt-out key",
            source=DoNotCallSource.KEY_PRESS,
            created_at=now,
            call_id=call_id,
        )
        added = self._store.add(self._number_key(phone), entry)
        if added:
            count("NumbersOptedOut")
            logger.info(
                "callee opted out by key press",
                extra={"call_id": call_id, "phone": mask_phone(phone)},
            )
        return added
