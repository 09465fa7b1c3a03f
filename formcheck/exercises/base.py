"""The pieces every exercise checker shares: its spec, the records it emits, and the state machines
(episodes with minimum durations, refusal before scoring, a cycle counter with hysteresis).

Checkers see numbers (`Kinematics`), never pixels.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from ..kinematics import Kinematics

# --- the spec: what the catalogue says about an exercise --------------------------------------


@dataclass(frozen=True)
class FaultSpec:
    code: str
    cue: str  # what the patient hears (catalogue text)
    min_duration_s: float = 0.25  # shorter flickers are landmark noise, not a fault


@dataclass(frozen=True)
class ExerciseSpec:
    name: str
    title: str
    kind: str  # "reps" | "hold"
    views: tuple[str, ...]  # camera views the checker can judge
    camera: str  # how to set up the camera
    measures: str
    faults: tuple[FaultSpec, ...]
    defaults: dict[str, Any]  # sets, reps, targets, thresholds (a prescription may override)
    source: str  # where in the catalogue / seeds each rule comes from
    needs_mask: bool = False  # the checker reads the back's silhouette (segmentation masks cost time)
    position_cue: str | None = None  # what to say while the person is not yet in the position (holds)

    def fault(self, code: str) -> FaultSpec:
        return next(f for f in self.faults if f.code == code)

    def target_text(self, params: dict[str, Any]) -> str:
        """" / 10" or " / 30 s": what the counter or timer is working towards, from the settings in force."""
        if self.kind == "reps":
            return f" / {params['reps']}" if params.get("reps") else ""
        target = params.get("hold_s") or params.get("target_hold_s")
        return f" / {target:.0f} s" if target else ""

    def params(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        unknown = set(overrides or {}) - set(self.defaults)
        if unknown:
            raise ValueError(f"unknown setting(s) for {self.name}: {', '.join(sorted(unknown))}")
        return {**self.defaults, **(overrides or {})}


# --- what a checker emits ---------------------------------------------------------------------


@dataclass
class Rep:
    index: int
    start_s: float
    peak_s: float
    end_s: float
    side: str | None
    metrics: dict[str, float] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)


@dataclass
class Hold:
    start_s: float
    end_s: float
    side: str | None
    correct_s: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Episode:
    """A fault or refusal that lasted from start_s to end_s."""

    code: str
    start_s: float
    end_s: float
    rep: int | None = None


@dataclass(frozen=True, slots=True)
class FrameState:
    """What the live overlay and cue need after each frame."""

    t_s: float
    scoring: bool
    refusal: str | None = None  # why this frame is not scored
    rep_count: int = 0
    hold_s: float = 0.0  # current hold's length so far (0 when not holding)
    holding: bool = False
    cue: str | None = None  # the one thing to fix now
    faults: tuple[str, ...] = ()
    angles: dict[str, float] = field(default_factory=dict)


# --- shared state machines --------------------------------------------------------------------


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


REFUSAL_CUES = {
    "no_person": "Step into the picture",
    "two_people": "Only one person in the picture, please",
    "not_full_body": "Step back so your whole body, feet included, is in view",
    "low_visibility": "Move so the camera sees you clearly (light, nothing in the way)",
    "wrong_view": "Turn side-on to the camera",
}


def refusal_reason(k: Kinematics, views: tuple[str, ...], others_ratio: float = 0.6) -> str | None:
    """Why this frame cannot be judged, or None. The catalogue's rule: refuse rather than guess."""
    if not k.present:
        return "no_person"
    if k.people > 1 and k.others_height >= others_ratio:
        return "two_people"
    if not k.body_in_frame:
        return "not_full_body"
    if not k.body_visible:
        return "low_visibility"
    if k.view not in views:
        return "wrong_view"
    return None


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


def finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def with_cue(state: FrameState, spec: ExerciseSpec, faults: list[str]) -> FrameState:
    """The first active fault's cue, in the order the spec lists them (most important first)."""
    order = [f.code for f in spec.faults]
    ranked = sorted((f for f in faults if f in order), key=order.index)
    cue = spec.fault(ranked[0]).cue if ranked else state.cue
    return replace(state, faults=tuple(ranked), cue=cue)


# --- the checker skeleton ---------------------------------------------------------------------

REFUSAL_MIN_S = 0.3  # shorter refusals are flicker: the frame is skipped but no span is reported
REFUSAL_RESET_S = 0.5  # a refusal this long ends a hold and abandons a rep in progress
# No frame for this long (live: a busy server or a thin network) and what happened in between was not seen:
# a foot put down, the top of a rep. Like a refusal, it ends a hold and abandons a rep at the last frame seen.
UNWATCHED_GAP_S = 1.0


@dataclass
class CheckResult:
    reps: list[Rep]
    holds: list[Hold]
    faults: list[Episode]
    refused: list[Episode]
    side: str | None


class Checker:
    """Frame-by-frame judge of one exercise. Subclasses implement `score` (and may extend `refuse`)."""

    spec: ExerciseSpec

    def __init__(self, params: dict[str, Any] | None = None):
        self.p = self.spec.params(params)
        self.faults = Episodes()
        self.refusals = Episodes()
        self.reps: list[Rep] = []
        self.holds: list[Hold] = []
        self._refused_since: float | None = None
        self._t = 0.0
        self._seen = False  # a frame came before (self._t is its time)

    @property
    def fault_min_s(self) -> dict[str, float]:
        return {f.code: f.min_duration_s for f in self.spec.faults}

    def refuse(self, k: Kinematics) -> str | None:
        return refusal_reason(k, self.spec.views)

    def posture_faults(self, k: Kinematics) -> list[str]:
        """The faults one still photo shows (no movement, no baseline). Only exercises judged on a
        posture say anything; counting and timing need video."""
        return []

    def update(self, k: Kinematics) -> FrameState:
        if self._seen and k.t_s - self._t > UNWATCHED_GAP_S:
            self.interrupt(self._t)
        self._t, self._seen = k.t_s, True
        reason = self.refuse(k)
        self.refusals.update(k.t_s, {r: r == reason for r in REFUSAL_CUES}, {r: REFUSAL_MIN_S for r in REFUSAL_CUES})
        if reason is None:
            self._refused_since = None
            return self.score(k)
        self._refused_since = self._refused_since if self._refused_since is not None else k.t_s
        if k.t_s - self._refused_since >= REFUSAL_RESET_S:
            self.interrupt(self._refused_since)
        self.faults.update(k.t_s, {c: False for c in self.fault_min_s}, self.fault_min_s)
        return FrameState(k.t_s, scoring=False, refusal=reason, rep_count=len(self.reps), cue=REFUSAL_CUES[reason])

    def score(self, k: Kinematics) -> FrameState:
        raise NotImplementedError

    def interrupt(self, t_s: float) -> None:
        """The view was lost at t_s: end what was in progress (holds end, half reps are dropped)."""

    def working_side(self) -> str | None:
        sides = {r.side for r in self.reps if r.side} | {h.side for h in self.holds if h.side}
        if not sides:
            return None
        return sides.pop() if len(sides) == 1 else "both"

    def finish(self) -> CheckResult:
        self.interrupt(self._t)
        faults = self.faults.finish(self._t, self.fault_min_s)
        refused = self.refusals.finish(self._t, {r: REFUSAL_MIN_S for r in REFUSAL_CUES})
        return CheckResult(self.reps, self.holds, faults, refused, self.working_side())


class RepChecker(Checker):
    """A checker that counts up-and-back cycles of one angle (hip flexion, knee flexion, …).

    Subclasses say what the counted signal is, which faults a frame shows, and what a finished rep
    records; counting, fault episodes, rep attribution and the lowering phase live here.
    """

    def __init__(self, params=None):
        super().__init__(params)
        self.counter = CycleCounter(self.p["rise_deg"], min_peak=self.p.get("min_peak_deg", self.p["rise_deg"]),
                                    min_cycle_s=self.p["min_rep_s"])
        self._rep_faults: set[str] = set()
        self._lowering_rep: Rep | None = None
        self._whole_rep_codes: set[str] = set()

    # --- what subclasses say --------------------------------------------------------------------
    def signal(self, k: Kinematics) -> float:
        raise NotImplementedError

    def frame_faults(self, k: Kinematics, cycle: Cycle | None) -> dict[str, bool]:
        """Faults this frame shows; `cycle` is the rep in progress (None between reps)."""
        return {}

    def rep_started(self, k: Kinematics, cycle: Cycle) -> None:
        pass

    def rep_done(self, rep: Rep, cycle: Cycle) -> None:
        """Fill in the side, metrics and per-rep faults of a rep that just completed."""

    def rep_landed(self, rep: Rep, cycle: Cycle) -> None:
        """The lowering of `rep` has ended (e.g. time it)."""

    def angles(self, k: Kinematics) -> dict[str, float]:
        return {}

    # --- the machinery --------------------------------------------------------------------------
    def interrupt(self, t_s):
        self.counter.reset()
        self._lowering_rep = None

    def rep_fault(self, rep: Rep, code: str, start_s: float, end_s: float) -> None:
        self.faults.closed.append(Episode(code, start_s, end_s, rep.index))
        rep.faults = sorted(set(rep.faults) | {code})
        self._whole_rep_codes.add(code)

    def score(self, k: Kinematics) -> FrameState:
        event, cycle = self.counter.update(k.t_s, self.signal(k))
        if event == "started":
            self._lowering_rep, self._rep_faults = None, set()
            self.rep_started(k, cycle)
        self.faults.update(k.t_s, self.frame_faults(k, self.counter.current), self.fault_min_s,
                           rep=len(self.reps) + 1)
        now = self.faults.active(k.t_s, self.fault_min_s)
        self._rep_faults.update(now)
        if event == "completed":
            rep = Rep(index=len(self.reps) + 1, start_s=cycle.start_s, peak_s=cycle.peak_s, end_s=cycle.end_s,
                      side=None, faults=sorted(self._rep_faults))
            self.rep_done(rep, cycle)
            self.reps.append(rep)
            self._lowering_rep = rep
        if self._lowering_rep is not None and cycle is not None and cycle.end_s is not None:
            self._lowering_rep.end_s = cycle.end_s
        if event == "landed" and self._lowering_rep is not None:
            self.rep_landed(self._lowering_rep, cycle)
        state = FrameState(k.t_s, scoring=True, rep_count=len(self.reps), angles=self.angles(k))
        return with_cue(state, self.spec, now + self._recent_rep_faults(k.t_s))

    def _recent_rep_faults(self, t_s: float) -> list[str]:
        """Faults judged on a whole rep (range, speed) stay on screen for two seconds after it."""
        last = self.reps[-1] if self.reps else None
        if last is None or t_s - last.end_s > 2.0:
            return []
        return [f for f in last.faults if f in self._whole_rep_codes]


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


def rounded_in_photo(k: Kinematics, params: dict[str, Any]) -> bool:
    """With no upright baseline (a still photo), an absolute rule needs two kinds of evidence: the
    silhouette bowing (≥ 0.075 of the trunk) and the head and upper back curling over (ear–shoulder–hip
    under 168°). Calibrated on the dev photos: it never flags a flat back there, and misses the
    mildest roundings rather than guess."""
    return (math.isfinite(k.back_bow) and k.back_bow >= params["photo_bow_min"]
            and math.isfinite(k.neck_deg) and k.neck_deg < params["photo_neck_max_deg"])


def rounded_back(bow: float, upright_bow: float, params: dict[str, Any]) -> bool:
    """The silhouette rule shared by the hinge and the stretches: the back's bow beyond its upright
    bow (which counts at most `upright_bow_cap`; unseen, the cap itself, i.e. an absolute criterion)."""
    return math.isfinite(bow) and bow - min(upright_bow, params["upright_bow_cap"]) >= params["back_bow_max"]


class HoldChecker(Checker):
    """A stretch held in position. The timer runs only while the position is right; the hold survives
    `grace_s` out of position (then ends where the position was last right). `correct_s` counts the
    time in position with no fault. Subclasses say what "in position" is and which faults a frame shows."""

    def __init__(self, params=None):
        super().__init__(params)
        self._hold: Hold | None = None
        self._last_in: float | None = None
        self._prev_t: float | None = None
        self.bounce = BounceDetector()
        self._upright_bow = math.inf
        self._side_votes: Counter[str] = Counter()
        self._back: dict[str, float] = {}

    def in_position(self, k: Kinematics) -> bool:
        raise NotImplementedError

    def frame_faults(self, k: Kinematics) -> dict[str, bool]:
        return {}

    def stretched_side(self, k: Kinematics) -> str | None:
        """The leg being stretched in this frame (None when it's not a one-leg stretch)."""
        return None

    def current_side(self, k: Kinematics) -> str:
        """The stretched leg this frame: the hold's leg so far when this frame can't tell (never None)."""
        side = self.stretched_side(k)
        if side is None and self._side_votes:
            side = self._side_votes.most_common(1)[0][0]
        return side or "left"

    def _track_back(self, k: Kinematics) -> None:
        """Both measures of hinge vs rounding, kept per hold: the silhouette's bow and the landmarks'
        ear–shoulder–hip angle and trunk lean."""
        for key, value, pick in (("max_back_bow", k.back_bow, max), ("min_ear_shoulder_hip_deg", k.neck_deg, min),
                                 ("max_trunk_incline_deg", k.trunk_incline_deg, max)):
            if math.isfinite(value):
                self._back[key] = value if not math.isfinite(self._back[key]) else pick(self._back[key], value)

    def posture_faults(self, k: Kinematics) -> list[str]:
        if not self.in_position(k):
            return []
        faults = self.frame_faults(k)
        faults.pop("bouncing", None)  # needs movement
        if "back_rounded" in faults:
            faults["back_rounded"] = rounded_in_photo(k, self.p)
        return [code for code, on in faults.items() if on]

    def left_stretch(self, k: Kinematics) -> bool:
        """Clearly out of the stretch (not a wobble): ends the hold at once."""
        return False

    def angles(self, k: Kinematics) -> dict[str, float]:
        return {}

    def interrupt(self, t_s):
        self._end(self._last_in if self._last_in is not None else t_s)
        self.bounce.reset()
        self._prev_t = None

    def score(self, k: Kinematics) -> FrameState:
        dt = k.t_s - self._prev_t if self._prev_t is not None else 0.0
        self._prev_t = k.t_s
        inside = self.in_position(k)
        if self._hold is not None and self.left_stretch(k):
            self._end(self._last_in)  # stood up / sat up: the hold is over, no grace needed
        starting = self._hold is None or k.t_s - self._hold.start_s < 0.5
        if finite(k.back_bow) and (k.trunk_incline_deg < 15 or inside and starting):
            # this back's own bow: standing or sitting tall, or as the hold begins (the catalogue's
            # "compare with the start of the hold"); rounding_back() caps what it may excuse
            self._upright_bow = min(self._upright_bow, k.back_bow)
        faults = self.frame_faults(k) if inside else {}
        faults = {code: faults.get(code, False) for code in self.fault_min_s}
        self.faults.update(k.t_s, faults, self.fault_min_s)
        now = self.faults.active(k.t_s, self.fault_min_s)
        if inside:
            if self._hold is None:
                self._hold = Hold(start_s=k.t_s, end_s=k.t_s, side=None)
                self.bounce.reset()
                self._side_votes.clear()
                self._back = {"max_back_bow": math.nan, "min_ear_shoulder_hip_deg": math.nan, "max_trunk_incline_deg": math.nan}
            else:
                self._hold.end_s = k.t_s
                self._hold.correct_s += dt if not now else 0.0
            self._track_back(k)
            side = self.stretched_side(k)
            if side is not None:
                self._side_votes[side] += 1
            self._last_in = k.t_s
        elif self._hold is not None and k.t_s - self._last_in > self.p["grace_s"]:
            self._end(self._last_in)
        holding = self._hold is not None
        cue = None if inside else self.spec.position_cue
        state = FrameState(k.t_s, scoring=True, holding=holding, hold_s=self._hold.duration_s if holding else 0.0,
                           cue=cue, angles=self.angles(k) if inside else {})
        return with_cue(state, self.spec, now)

    def _end(self, t_end: float) -> None:
        hold, self._hold = self._hold, None
        if hold is not None:
            hold.end_s = min(hold.end_s, t_end)
            # side-on, MediaPipe swaps the legs now and then: the hold's leg is the one seen most
        if hold is not None and hold.duration_s >= self.p["min_hold_s"]:
            hold.correct_s = min(hold.correct_s, hold.duration_s)
            hold.side = self._side_votes.most_common(1)[0][0] if self._side_votes else None
            hold.metrics.update({key: round(v, 3) for key, v in self._back.items() if math.isfinite(v)})
            hold.metrics["target_s"] = self.p["hold_s"]
            hold.metrics["reached_target"] = hold.correct_s >= self.p["hold_s"]
            self.holds.append(hold)
