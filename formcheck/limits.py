"""How much one server takes on at once: live coaches (a process and ~300 MB each) and analyses of uploads.

Process-wide counters (the Streamlit server is one process): `LIVE.take()` / `ANALYSES.take()` hand out a `Slot`
or raise `Busy` ("The server is busy, try again in a minute."). Release a slot when the coach or the analysis
ends (`slot.release()`, or `with ANALYSES.take(): ...`); a slot nobody holds any more (its browser session
dropped) is released when it is garbage-collected, so a lost slot never keeps the server busy for good.

Settings: FORMCHECK_MAX_LIVE (default 4) and FORMCHECK_MAX_ANALYSES (default 2) — the load this 2-core server is
tested with (tests/test_several_patients.py: four live patients and two uploads at once).
"""

from __future__ import annotations

import os
import threading
import weakref

from .errors import FormcheckError

BUSY = "The server is busy, try again in a minute."


class Busy(FormcheckError):
    """Every slot of a limit is taken."""

    def __init__(self, what: str = ""):
        super().__init__(BUSY if not what else f"{BUSY} ({what}: all in use)")
        self.what = what


def _setting(name: str, default: int) -> int:
    try:
        return max(0, int(os.environ.get(name, default)))
    except ValueError:
        return default


class Slot:
    """One taken place of a `Limit`; `release()` gives it back (once, however often it is called)."""

    def __init__(self, limit: "Limit"):
        self._finalizer = weakref.finalize(self, limit._give_back)

    def release(self) -> None:
        self._finalizer()

    @property
    def held(self) -> bool:
        return self._finalizer.alive

    def __enter__(self) -> "Slot":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


class Limit:
    def __init__(self, what: str, setting: str, default: int):
        self.what, self.setting, self.default = what, setting, default
        self._lock = threading.Lock()
        self._used = 0

    @property
    def capacity(self) -> int:
        """Read each time: a changed setting applies to the next take (slots already out stay)."""
        return _setting(self.setting, self.default)

    @property
    def in_use(self) -> int:
        return self._used

    def take(self) -> Slot:
        with self._lock:
            if self._used >= self.capacity:
                raise Busy(self.what)
            self._used += 1
        return Slot(self)

    def _give_back(self) -> None:
        with self._lock:
            self._used = max(0, self._used - 1)


LIVE = Limit("live coaches", "FORMCHECK_MAX_LIVE", 4)
ANALYSES = Limit("analyses", "FORMCHECK_MAX_ANALYSES", 2)


def fair_share(cores: int) -> int:
    """The cores one analysis on this server may split its clip over: its share among the live coaches and
    analyses running (itself included), at least one, so an upload next to live patients does not take the
    cores from their coaching, and one alone on the server uses them all."""
    return max(1, cores // max(1, LIVE.in_use + ANALYSES.in_use))
