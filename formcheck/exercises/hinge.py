"""Hip hinge (good morning / Romanian deadlift pattern): the drill that teaches the stretches' hinge.

Counts hinge-down-and-up cycles of hip flexion. `back_rounded`, held for a quarter second while bent: the
back's silhouette (silhouette.py) bowing beyond what it was standing up (at most `upright_bow_cap` is
subtracted, so a slouched start earns no credit). Through a rep the head looks down at the weight and up
again, so its curl is judged only on a still photo (rules.rounded_in_photo), as in the held stretches.
`knee_bent` (beyond soft): the better-seen knee under `knee_bent_deg` at depth.
"""

from __future__ import annotations

import math

from .checker import RepChecker
from .rules import back_bowed, finite, rounded_in_photo
from .spec import ExerciseSpec, FaultSpec

SPEC = ExerciseSpec(
    name="hip_hinge",
    title="Hip hinge",
    kind="reps",
    views=("side",),
    camera="Side-on, at hip height, 2–3 m away, whole body in view; wear clothes that show your back's outline.",
    measures="hip flexion, the back's silhouette (rounding vs hinging), knee bend",
    faults=(
        FaultSpec("back_rounded", "Hinge from your hips, keep your back straight"),
        FaultSpec("knee_bent", "Keep your knees soft, not bent — push your hips back"),
    ),
    defaults={
        "reps": 10,
        "back_bow_max": 0.05,  # outline bow beyond the upright one, ÷ trunk length
        "upright_bow_cap": 0.02,  # the most of a standing bow that is subtracted
        "photo_bow_min": 0.075, "photo_neck_max_deg": 168.0,  # a still photo's absolute rule (rules.rounded_in_photo)
        # the head and upper back curling over (rules.head_curled)
        "head_curl_max_deg": 45.0, "curl_lean_min_deg": 15.0,
        "photo_hinged_deg": 45.0,  # hip flexion from which a photo counts as bent over
        "knee_bent_deg": 118.0,
        "rise_deg": 25.0,
        "min_rep_s": 0.8,
    },
    steps=(
        'Stand side-on, feet hip-width, knees soft (H, principles).',
        'Push your hips back and let your trunk tip forward with your back straight (H: "hinging at the hips").',
        'Come back up by driving your hips forward.',
    ),
    source="H principles: \"focus on hinging at the hips\", \"Maintain Proper Form\" (back straight); "
           "catalogue hip_hinge",
    needs_mask=True,
)


VIS_MEMORY_S = 1.0  # the better-seen leg is judged over about this long: nobody turns round within a rep


class HipHinge(RepChecker):
    spec = SPEC

    def __init__(self, params=None):
        super().__init__(params)
        self._upright_bow = self.p["upright_bow_cap"]
        self._max_bow = math.nan
        self._min_knee = math.inf
        self._min_neck = math.inf
        self._seen_left, self._seen_at = 0.0, None  # the left leg's visibility lead, remembered over VIS_MEMORY_S

    def refuse(self, k):
        reason = super().refuse(k)
        if reason is None and not finite(k.hip_left_deg, k.hip_right_deg):
            return "low_visibility"
        return reason

    def signal(self, k):
        return 180.0 - (k.hip_left_deg + k.hip_right_deg) / 2

    def _see_legs(self, k) -> None:
        """Remember which leg is better seen over about the last VIS_MEMORY_S (weighted by time, so the same at any
        frame rate): in a side view the near and far leg's visibilities cross back and forth from frame to frame,
        and a choice made frame by frame judged the far knee in some frames."""
        lead = k.vis_leg_left - k.vis_leg_right
        if not finite(lead):
            return
        kept = 0.0 if self._seen_at is None else math.exp(-max(0.0, k.t_s - self._seen_at) / VIS_MEMORY_S)
        self._seen_left, self._seen_at = kept * self._seen_left + (1 - kept) * lead, k.t_s

    def _knee(self, k) -> float:
        """The better-seen knee (in a photo, or before any frame was seen: this frame's)."""
        lead = self._seen_left if self._seen_at is not None else k.vis_leg_left - k.vis_leg_right
        return k.knee_deg("left" if lead >= 0 else "right")

    def rep_started(self, k, cycle):
        self._max_bow, self._min_knee, self._min_neck = math.nan, math.inf, math.inf

    def frame_faults(self, k, cycle):
        self._see_legs(k)
        if cycle is None:
            if finite(k.back_bow):  # standing between reps: what this back looks like upright
                self._upright_bow = min(self.p["upright_bow_cap"], 0.9 * self._upright_bow + 0.1 * k.back_bow)
            return {"back_rounded": False, "knee_bent": False}
        bent = self.signal(k) >= cycle.base + self.p["rise_deg"]
        bow = k.back_bow - self._upright_bow
        knee = self._knee(k)
        if bent:
            self._max_bow = (bow if not finite(self._max_bow)
                             else max(self._max_bow, bow) if finite(bow) else self._max_bow)
            self._min_knee = min(self._min_knee, knee) if finite(knee) else self._min_knee
            self._min_neck = min(self._min_neck, k.neck_deg) if finite(k.neck_deg) else self._min_neck
        return {"back_rounded": bent and back_bowed(k, self._upright_bow, self.p),
                "knee_bent": bent and finite(knee) and knee < self.p["knee_bent_deg"]}

    def posture_faults(self, k):
        if not self.signal(k) >= self.p["photo_hinged_deg"]:
            return []
        knee = self._knee(k)
        return [code for code, on in (("back_rounded", rounded_in_photo(k, self.p)),
                                      ("knee_bent", finite(knee) and knee < self.p["knee_bent_deg"])) if on]

    def rep_done(self, rep, cycle):
        rep.side = None
        rep.metrics = {"peak_hip_flexion_deg": round(cycle.peak, 1),
                       "min_knee_angle_deg": round(self._min_knee, 1) if finite(self._min_knee) else None,
                       "max_back_bow": round(self._max_bow, 3) if finite(self._max_bow) else None,
                       "min_ear_shoulder_hip_deg": round(self._min_neck, 1) if finite(self._min_neck) else None}

    def angles(self, k):
        return {"hip flexion": self.signal(k), "knee": self._knee(k)}
