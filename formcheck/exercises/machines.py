"""The small state machines checkers share: fault episodes with minimum durations, a cycle counter with
hysteresis, a bounce detector."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .records import Episode


class Episodes:
    """Turns per-frame on/off flags into episodes, dropping the ones shorter than their minimum."""

    def __init__(self):
        self._open: dict[str, tuple[float, float, int | None]] = {}  # code -> (start, last seen, rep)
        self.closed: list[Episode] = []

    def update(self, t_s: float, active: dict[str, bool], min_s: dict[str, float], rep: int | None = None) -> None:
        for code, on in active.items():
            if on:
                start, _, r = self._open.get(code, (t_s, t_s, rep))
                self._open[code] = (start, t_s, r)
            elif code in self._open:
                self._close(code, t_s, min_s.get(code, 0.0))

    def _close(self, code: str, t_end: float, min_s: float) -> None:
        start, _, rep = self._open.pop(code)
        if t_end - start >= min_s:
            self.closed.append(Episode(code, start, t_end, rep))

    def active(self, t_s: float, min_s: dict[str, float]) -> list[str]:
        """Codes on long enough to be reported now (what a live cue may say)."""
        return [c for c, (start, _, _) in self._open.items() if t_s - start >= min_s.get(c, 0.0)]

    def finish(self, t_end: float, min_s: dict[str, float]) -> list[Episode]:
        for code in list(self._open):
            self._close(code, t_end, min_s.get(code, 0.0))
        return sorted(self.closed, key=lambda e: (e.start_s, e.code))


@dataclass
class Cycle:
    start_s: float
    peak_s: float
    peak: float
    base: float  # the low the cycle rose from
    end_s: float | None = None  # set once the signal is back near its low
    end: float = math.nan
    leave_top_s: float | None = None  # last moment near the top, before lowering
    landed_s: float | None = None  # when the lowering ended (the signal stopped falling)


class CycleCounter:
    """Counts up-and-back cycles of a signal (e.g. hip flexion), with hysteresis relative to the movement.

    A cycle starts when the signal has risen `rise` above its latest low, and completes when it has
    fallen back by `fall_fraction` of that rise (and at least `rise`) — so a patient whose feet stop
    short of the floor still completes reps, while jitter of a few degrees never does. Cycles that
    peak under `min_peak` or last under `min_cycle_s` are discarded, not counted.

    `fall_fraction` 0.5: every rep clip here counts as labelled from 0.5 to 0.55; at 0.6 an ordinary re-encode
    of dk2 (its low between reps sits ~1° from the line) merged its 3 reps into 1; at 0.45 a lunge clip's
    partial rise merged two reps.
    """

    def __init__(self, rise: float, fall_fraction: float = 0.5, min_peak: float = -math.inf,
                 min_cycle_s: float = 0.6, tolerance: float = 2.0, settle_s: float = 0.25):
        self.rise, self.fall_fraction, self.min_peak, self.settle_s = rise, fall_fraction, min_peak, settle_s
        self.min_cycle_s, self.tol = min_cycle_s, tolerance
        self.reset()

    def reset(self) -> None:
        """Forget the current movement (after a refused span: what came before no longer counts)."""
        self.low, self.low_s = math.inf, None
        self.current: Cycle | None = None  # a cycle rising or at its top
        self.lowering: Cycle | None = None  # the last completed cycle, until it reaches its low

    def update(self, t_s: float, v: float) -> tuple[str | None, Cycle | None]:
        """Feed one sample; returns ("started" | "completed" | "discarded" | "landed" | None, cycle)."""
        if not math.isfinite(v):
            return None, None
        if self.current is None:
            event = None
            if self.lowering is not None:
                c = self.lowering
                if v < c.end - self.tol:
                    c.end, c.end_s = v, t_s  # still coming down
                elif c.landed_s is None and t_s - c.end_s >= self.settle_s:
                    c.landed_s = c.end_s  # the movement has stopped: back down since end_s
                    event = "landed"
            if v <= self.low:
                self.low, self.low_s = v, t_s
            elif v <= self.low + self.tol:
                self.low_s = t_s
            elif v - self.low >= self.rise:
                self.lowering = None
                self.current = Cycle(start_s=self.low_s, peak_s=t_s, peak=v, base=self.low)
                return "started", self.current
            return event, self.lowering
        c = self.current
        if v > c.peak:
            c.peak, c.peak_s = v, t_s
        if v >= c.peak - 0.1 * (c.peak - c.base):
            c.leave_top_s = t_s
        if c.peak - v >= max(self.rise, self.fall_fraction * (c.peak - c.base)):
            self.current = None
            self.low, self.low_s = v, t_s
            c.end, c.end_s = v, t_s
            if c.peak >= self.min_peak and t_s - c.start_s >= self.min_cycle_s:
                self.lowering = c
                return "completed", c
            return "discarded", c
        return None, c


class BounceDetector:
    """Bouncing = the stretched joint angle oscillating: several direction changes of more than a few
    degrees within a couple of seconds (catalogue; H "Avoid bouncing"). Slow drift is not bouncing."""

    def __init__(self, amplitude_deg: float = 3.0, window_s: float = 2.0, reversals: int = 3):
        self.amplitude, self.window, self.needed = amplitude_deg, window_s, reversals
        self.reset()

    def reset(self) -> None:
        self._extreme: float | None = None
        self._direction = 0
        self._turns: list[float] = []

    def update(self, t_s: float, v: float) -> bool:
        if not math.isfinite(v):
            return False
        if self._extreme is None:
            self._extreme = v
        elif self._direction == 0:
            if abs(v - self._extreme) >= self.amplitude:  # the first clear movement sets the direction
                self._direction, self._extreme = (1 if v > self._extreme else -1), v
        elif (v - self._extreme) * self._direction > 0:
            self._extreme = v  # still going the same way: follow the extreme
        elif abs(v - self._extreme) >= self.amplitude:
            self._turns.append(t_s)  # reversed by more than the amplitude
            self._direction, self._extreme = -self._direction, v
        self._turns = [t for t in self._turns if t_s - t <= self.window]
        return len(self._turns) >= self.needed
