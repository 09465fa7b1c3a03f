"""A live workout as a patient does it: a countdown, then sets of reps or holds with a rest between them.

The live `Session` counts every rep and times every hold the camera sees; `Workout` turns that stream of frame
states into sets: a short countdown before anything counts (time to lie down or step back), then set 1, whose
count stops at its target ("10 / 10", never "17 / 10"); "set done"; a rest timer; the next set starts by
itself; after the last set, nothing more counts. It is fed one frame state at a time, with the frame's time,
so it runs beside the coach (formcheck/live.py) and is tested without a camera or a browser. No Streamlit here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .exercises.records import FrameState
from .exercises.spec import ExerciseSpec

COUNTDOWN_S = 5.0  # before the first set: time to get into position
REST_S = 60.0  # between sets, unless prescribed otherwise

COUNTDOWN, SET, REST, DONE = "countdown", "set", "rest", "done"


@dataclass(frozen=True)
class WorkoutPlan:
    """What the patient is asked to do: `sets` sets of `target` reps (or of one hold `target` seconds long)."""

    kind: str  # "reps" | "hold"
    sets: int
    target: float  # reps per set, or seconds of one unbroken hold per set
    rest_s: float = REST_S
    countdown_s: float = COUNTDOWN_S

    @classmethod
    def for_exercise(cls, spec: ExerciseSpec, settings: dict[str, Any], rest_s: float | None = None,
                     countdown_s: float | None = None) -> WorkoutPlan:
        """The plan from the exercise's settings in force (defaults + prescription): its sets (1 if it has
        none), its reps or hold time, and the prescribed rest (REST_S if none)."""
        if spec.kind == "reps":
            target = float(settings.get("reps") or 10)
        else:
            target = float(settings.get("hold_s") or settings.get("target_hold_s") or 30.0)
        return cls(spec.kind, max(1, int(settings.get("sets") or 1)), target,
                   REST_S if rest_s is None else max(0.0, float(rest_s)),
                   COUNTDOWN_S if countdown_s is None else max(0.0, float(countdown_s)))

    def describe(self) -> str:
        """"3 sets × 10 reps, 60 s rest" / "3 sets × a 30-s hold, 60 s rest"."""
        each = f"{self.target:.0f} reps" if self.kind == "reps" else f"a {self.target:.0f}-s hold"
        sets = f"{self.sets} sets × {each}" if self.sets > 1 else f"1 set of {each}"
        return sets + (f", {self.rest_s:.0f} s rest" if self.sets > 1 else "")


@dataclass(frozen=True)
class SetRecord:
    """One set as it went: reps counted in it (the session's reps `first_rep`…) or its longest hold."""

    index: int  # 1-based
    start_s: float  # frame times
    end_s: float
    reps: int = 0
    first_rep: int = 1  # the session's index (Rep.index) of the set's first rep
    held_s: float = 0.0  # the longest hold within the set, at most the target
    complete: bool = False  # reached its target (otherwise stopped while under way)


@dataclass(frozen=True)
class WorkoutStatus:
    """Where the workout stands after a frame: what the page and the overlay show."""

    plan: WorkoutPlan
    phase: str  # COUNTDOWN | SET | REST | DONE
    set_index: int  # the set under way (1 in the countdown); in the rest, the set just done; the last when done
    count: int = 0  # reps in this set, at most the target (in the rest and at the end: the finished set's)
    held_s: float = 0.0  # this set's current hold, at most the target (in the rest: the finished set's)
    holding: bool = False
    remaining_s: float = 0.0  # of the countdown or the rest
    records: tuple[SetRecord, ...] = ()  # every set begun, the one under way last
    started_s: float | None = None  # the first frame's time

    @property
    def counter(self) -> str:
        """"3 / 10" or "12 s / 30 s" (the set's own count, never past its target)."""
        if self.plan.kind == "reps":
            return f"{self.count} / {self.plan.target:.0f}"
        shown = self.holding or self.phase in (REST, DONE)
        return f"{self.held_s:.0f} s / {self.plan.target:.0f} s" if shown else f"-- / {self.plan.target:.0f} s"

    @property
    def set_text(self) -> str:
        """"2 of 3" (a set under way or ahead), "1 of 3 done" (resting after it)."""
        return f"{self.set_index} of {self.plan.sets}" + (" done" if self.phase in (REST, DONE) else "")

    @property
    def message(self) -> str | None:
        """What the patient is waiting for, outside a set (None during a set)."""
        if self.phase == COUNTDOWN:
            return f"Get into position: counting starts in {self.remaining_s:.0f} s"
        if self.phase == REST:
            return f"Rest: {self.remaining_s:.0f} s. Set {self.set_index + 1} of {self.plan.sets} starts by itself"
        if self.phase == DONE:
            return f"All {self.plan.sets} sets done. Press STOP to see them"
        return None

    @property
    def banner(self) -> str | None:
        """The short form drawn on the video."""
        if self.phase == COUNTDOWN:
            return f"Starting in {max(1, round(self.remaining_s + 0.49))}"
        if self.phase == REST:
            return f"Rest {self.remaining_s:.0f} s"
        if self.phase == DONE:
            return "All sets done"
        return None


def seconds(s: float) -> str:
    """A spoken duration: "1 second", "20 seconds"."""
    n = round(s)
    return f"{n} second" if n == 1 else f"{n} seconds"


def start_status(plan: WorkoutPlan) -> WorkoutStatus:
    """Before the first frame: the countdown (or set 1) ahead."""
    return WorkoutStatus(plan, COUNTDOWN if plan.countdown_s > 0 else SET, 1, remaining_s=plan.countdown_s)


@dataclass
class Workout:
    """The state machine: `update(t_s, state)` per frame; `said` holds what to announce aloud, once."""

    plan: WorkoutPlan
    _status: WorkoutStatus | None = None
    _phase_end_s: float = 0.0
    _base_reps: int = 0  # the session's rep count when the set began
    _set_start_s: float = 0.0
    _best_s: float = 0.0
    _done: list[SetRecord] = field(default_factory=list)
    said: str | None = None  # the latest announcement made by `update` (cleared at each update)

    @property
    def status(self) -> WorkoutStatus:
        return self._status or start_status(self.plan)

    def update(self, t_s: float, state: FrameState) -> WorkoutStatus:
        self.said = None
        if self._status is None:  # the first frame: the countdown starts now
            self._status = replace(start_status(self.plan), started_s=t_s)
            if self.plan.countdown_s > 0:
                self._phase_end_s = t_s + self.plan.countdown_s
                self.said = f"Get into position. Counting starts in {seconds(self.plan.countdown_s)}"
            else:
                self._begin_set(1, t_s, state)
        phase = self._status.phase
        if phase in (COUNTDOWN, REST) and t_s >= self._phase_end_s:
            self._begin_set(1 if phase == COUNTDOWN else self._status.set_index + 1, t_s, state)
        elif phase in (COUNTDOWN, REST):
            self._status = replace(self._status, remaining_s=self._phase_end_s - t_s)
        if self._status.phase == SET:
            self._count(t_s, state)
        return self._status

    def _begin_set(self, index: int, t_s: float, state: FrameState) -> None:
        self._base_reps, self._set_start_s, self._best_s = state.rep_count, t_s, 0.0
        self._status = replace(self._status, phase=SET, set_index=index, count=0, held_s=0.0, holding=False,
                               remaining_s=0.0)
        self.said = f"Set {index} of {self.plan.sets}: go" if self.plan.sets > 1 else "Go"

    def _count(self, t_s: float, state: FrameState) -> None:
        plan, index = self.plan, self._status.set_index
        if plan.kind == "reps":
            count = min(int(plan.target), max(0, state.rep_count - self._base_reps))
            held, holding, reached = 0.0, False, count >= plan.target
        else:  # a hold begun before the set (in the rest) counts from the set's start
            holding = state.holding
            held = min(plan.target, state.hold_s, t_s - self._set_start_s) if holding else 0.0
            count, reached = 0, held >= plan.target
        self._best_s = max(self._best_s, held)
        record = SetRecord(index, self._set_start_s, t_s, count, self._base_reps + 1, self._best_s, reached)
        if not reached:
            self._status = replace(self._status, count=count, held_s=held, holding=holding,
                                   records=(*self._done, record))
            return
        self._done.append(record)
        last = index >= plan.sets
        if last:
            self._status = replace(self._status, phase=DONE, count=count, held_s=held, holding=False,
                                   records=tuple(self._done))
            self.said = "Set done. All sets done, well done" if plan.sets > 1 else "Set done. Well done"
        elif plan.rest_s > 0:
            self._phase_end_s = t_s + plan.rest_s  # the finished set's count stays on show through the rest
            self._status = replace(self._status, phase=REST, count=count, held_s=held, holding=False,
                                   remaining_s=plan.rest_s, records=tuple(self._done))
            self.said = f"Set done. Rest for {seconds(plan.rest_s)}"
        else:
            self._begin_set(index + 1, t_s, state)
            self._status = replace(self._status, records=tuple(self._done))
            self.said = f"Set done. Set {index + 1} of {plan.sets}: go"

    def shown(self, state: FrameState) -> FrameState:
        """The frame's state as the overlay should show it: the set's count or hold, and outside a set no
        count, no hold and no fault cue (a cue that helps get into position stays)."""
        s = self.status
        if s.phase == SET:
            return replace(state, rep_count=s.count, hold_s=s.held_s, holding=s.holding)
        cue = state.cue if not state.scoring else None
        return replace(state, rep_count=s.count, hold_s=s.held_s, holding=s.phase in (REST, DONE) and s.held_s > 0,
                       cue=cue, faults=())


def set_rows(records: tuple[SetRecord, ...] | list[SetRecord], plan: WorkoutPlan, analysis=None) -> list[dict]:
    """The table of all sets shown at STOP: each set's count or hold against its target, whether it was
    finished, its faults (from the set's reps, or the fault episodes within it) and its times from the start."""
    if not records:
        return []
    t0 = records[0].start_s
    result = analysis.result if analysis is not None else None
    rows = []
    for r in records:
        row: dict[str, Any] = {"set": r.index}
        if plan.kind == "reps":
            row["reps"] = f"{r.reps} / {plan.target:.0f}"
        else:
            row["longest hold"] = f"{r.held_s:.0f} s / {plan.target:.0f} s"
        row["done"] = "yes" if r.complete else "stopped"
        faults: set[str] = set()
        if result is not None:
            if plan.kind == "reps":
                for rep in result.reps:
                    if r.first_rep <= rep.index < r.first_rep + r.reps:
                        faults.update(rep.faults)
            else:
                faults.update(f.code for f in result.faults if f.start_s < r.end_s and f.end_s > r.start_s)
        row["faults"] = ", ".join(sorted(faults)) or "none"
        row["from s"], row["to s"] = round(r.start_s - t0, 1), round(r.end_s - t0, 1)
        rows.append(row)
    return rows
