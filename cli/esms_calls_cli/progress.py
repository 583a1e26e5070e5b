"""One status line that follows something to its end: rewritten in place (`\r`) on a terminal,
one plain line per change otherwise (a log file, a pipe, CI)."""

from __future__ import annotations

from typing import TextIO


class ProgressLine:
    def __init__(self, stream: TextIO, *, live: bool | None = None) -> None:
        self._stream = stream
        self._live = stream.isatty() if live is None else live
        self._last = ""

    def show(self, text: str) -> None:
        if text == self._last:
            return
        if self._live:
            # Spaces over what is left of a longer previous line; no terminal codes needed.
            padding = " " * max(0, len(self._last) - len(text))
            self._stream.write(f"\r{text}{padding}")
        else:
            self._stream.write(f"{text}\n")
        self._stream.flush()
        self._last = text

    def end(self, text: str) -> None:
        """The last state: the live line is kept and the cursor moves to the next line."""
        self.show(text)
        if self._live:
            self._stream.write("\n")
            self._stream.flush()
