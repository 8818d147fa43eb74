"""Stop requests: the SIGTERM/SIGINT handler only records the signal; the loop acts on it."""

from __future__ import annotations

import signal
import threading


class StopFlag:
    """Set by a signal handler; read at each step boundary."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int | None = None

    def install(self, signums: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> StopFlag:
        for s in signums:
            signal.signal(s, self._handle)
        return self

    def _handle(self, signum: int, _frame: object) -> None:
        self.signum = signum
        self._event.set()

    def request(self, signum: int = signal.SIGTERM) -> None:
        self._handle(signum, None)

    def is_set(self) -> bool:
        return self._event.is_set()

    @property
    def exit_code(self) -> int:
        """The shell convention for death by this signal: 128 + signum (143 for SIGTERM)."""
        return 128 + (self.signum or signal.SIGTERM)
