"""Seated sciatic nerve glide (H, nerve glide): sitting, knee extended; one rep = toes up with the chin
down, then toes pointed with the chin up. The nerve should glide, never be held on stretch.

Counts cycles of the working ankle (knee–ankle–toes angle: toes up is small, pointed is large); the working
leg is the straighter knee. A rep is a correct glide only when all of the catalogue's parts are there:
- the knee stays extended through the rep (`knee_bent` otherwise);
- the head really moves: its pitch spans at least `head_min_range_deg` over the rep (`head_still`
  otherwise). A seated knee extension or ankle pumps look like the glide from the legs alone; the chin is
  what makes it a nerve glide;
- the head moves with the foot: head pitch and ankle angle rise and fall together (chin down as the toes
  come up). Their correlation over the rep (its low, top and half-way back) is 1 in step, about 0.5 with the
  head a quarter of a rep behind (the chin still going down as the toes point) and negative against the
  foot; under `phase_min_corr` it is `out_of_phase`;
- no end position is kept still for more than `dwell_max_s` (`held_end_range`).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ..legs import SIDES, Side
from .checker import RepChecker
from .rules import finite
from .spec import ExerciseSpec, FaultSpec

SPEC = ExerciseSpec(
    name="sciatic_nerve_glide",
    title="Seated sciatic nerve glide",
    kind="reps",
    views=("side", "oblique"),
    camera="Side-on, seated on a chair, 2 m away; the working leg, foot and your head in view.",
    measures="ankle up/down with the knee extended, head (chin) up/down, their timing, dwell at each end",
    faults=(
        FaultSpec("held_end_range", "Keep it moving, don't hold the end position", 0.0),
        FaultSpec("knee_bent", "Keep your knee straight"),
        FaultSpec("head_still", "Move your chin too: down as your toes come up, up as you point them", 0.0),
        FaultSpec("out_of_phase", "Chin down as your toes come up", 0.0),
    ),
    defaults={
        "sets": 3, "reps": 15,
        "rise_deg": 15.0,  # hysteresis of the ankle cycle
        "min_rep_s": 0.8,
        "dwell_max_s": 1.0,  # catalogue: a dwell over 1 s at an end is a hold
        "dwell_band_deg": 4.0,  # the ankle within this many degrees counts as still
        # the leg stays out in front: a knee bent by more than 40° is not extended (2-D, side-on)
        "knee_bent_deg": 140.0,
        # chin down to chin up spans much of the neck's flexion–extension (~45° each way); 10° is well
        # beyond the ear–nose angle's jitter and well within any deliberate nod
        "head_min_range_deg": 10.0,
        "phase_min_corr": 0.5,  # the head at most about a quarter of a rep behind (or ahead of) the foot
    },
    steps=(
        'Sit upright on a chair; straighten one leg out in front, toes up (H, nerve glide).',
        'Chin down towards your chest; then chin up as you point your toes away: one repetition (H, nerve glide).',
        'Keep it moving, do not hold the end position; 10–15 times, 2–3 sets per leg (H, nerve glide).',
        'It should feel like a gentle pull, never sharp pain (H, nerve glide).',
    ),
    source="H nerve glide (seated: toes up + chin down, then toes pointed + chin up; 10–15 reps × 2–3; don't hold)",
)


class SciaticNerveGlide(RepChecker):
    spec = SPEC

    def __init__(self, params=None):
        super().__init__(params)
        # (t, ankle, head pitch) since the ankle's latest low: a rep is judged from where it began
        self._samples: deque[tuple[float, float, float]] = deque()
        self._still_since: float | None = None
        self._still_at = float("nan")
        self._dwell_before: tuple[float, float] | None = None
        self._last_dwell: tuple[float, float] | None = None  # the latest still stretch (start, end)

    def refuse(self, k):
        reason = super().refuse(k)
        if reason is None and not finite(self._ankle(k), k.head_pitch_deg):
            return "low_visibility"
        return reason

    def working_leg(self, k) -> Side:
        """The extended leg: the straighter knee (a knee that can't be measured is not the straighter)."""
        return max(SIDES, key=lambda side: k.knee_deg(side) if finite(k.knee_deg(side)) else -np.inf)

    def _ankle(self, k) -> float:
        return k.ankle_deg(self.working_leg(k))

    def signal(self, k):
        return self._ankle(k)

    def interrupt(self, t_s):
        super().interrupt(t_s)
        self._samples.clear()

    def rep_started(self, k, cycle):
        # a dwell at the toes-up end shows only once the next rep rises out of it (resting after a set is fine)
        dwell = self._last_dwell
        self._dwell_before = dwell if self.reps and dwell and dwell[1] >= cycle.start_s else None

    def frame_faults(self, k, cycle):
        ankle = self._ankle(k)
        self._samples.append((k.t_s, ankle, k.head_pitch_deg))
        # keep what the rep in progress (or the one just completed, until it is judged) or the next one may need
        lowering = self.counter.lowering
        start = cycle.start_s if cycle else lowering.start_s if lowering else self.counter.low_s
        while start is not None and self._samples and self._samples[0][0] < start:
            self._samples.popleft()
        # dwell: the ankle kept within a few degrees for longer than allowed (at either end of the range)
        if self._still_since is None or abs(ankle - self._still_at) > self.p["dwell_band_deg"]:
            if self._still_since is not None and k.t_s - self._still_since > self.p["dwell_max_s"]:
                self._last_dwell = (self._still_since, k.t_s)  # a long stillness just ended
            self._still_since, self._still_at = k.t_s, ankle
        held = k.t_s - self._still_since > self.p["dwell_max_s"]
        knee_bent = k.knee_deg(self.working_leg(k)) < self.p["knee_bent_deg"]
        return {"held_end_range": held and cycle is not None, "knee_bent": knee_bent and cycle is not None}

    def rep_done(self, rep, cycle):
        ankles = np.array([a for t, a, _ in self._samples if t >= cycle.start_s])
        heads = np.array([h for t, _, h in self._samples if t >= cycle.start_s])
        head_range = float(heads.max() - heads.min()) if len(heads) else 0.0
        moving = len(ankles) > 2 and ankles.std() > 0 and heads.std() > 0
        corr = float(np.corrcoef(ankles, heads)[0, 1]) if moving else 0.0
        rep.side = None
        rep.metrics = {"ankle_range_deg": round(float(ankles.max() - ankles.min()), 1) if len(ankles) else None,
                       "head_range_deg": round(head_range, 1),
                       "head_ankle_correlation": round(corr, 2)}
        if self._dwell_before is not None:
            self.rep_fault(rep, "held_end_range", *self._dwell_before)
        if head_range < self.p["head_min_range_deg"]:
            self.rep_fault(rep, "head_still", cycle.start_s, cycle.end_s)
        elif corr < self.p["phase_min_corr"]:
            self.rep_fault(rep, "out_of_phase", cycle.start_s, cycle.end_s)

    def angles(self, k):
        return {"ankle": self._ankle(k), "knee": k.knee_deg(self.working_leg(k)), "head pitch": k.head_pitch_deg}
