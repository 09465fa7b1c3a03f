"""Doses as the articles give them: sets × reps, hold seconds (a range: 20–30 s), times a day, days a week,
"as often as possible", rest between sets; and the balance variants. A prescription is one `Dose` (plus
thresholds); `ARTICLE_DOSES` is each exercise's starting dose with its source (K = back-of-knee article,
H = hamstring article; see `safety.ARTICLES`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .exercises import CATALOGUE

REST_S = 60.0  # between sets, unless prescribed otherwise (the articles give no rest time)

# Balance variants, easiest first (K ex. 2: "close your eyes to make the exercise more challenging [...] The final
# way to make the exercise even more difficult is by standing on a balance cushion").
VARIANTS: dict[str, dict[str, str]] = {
    "single_leg_balance": {"eyes_open": "Eyes open", "eyes_closed": "Eyes closed", "cushion": "On a balance cushion"},
}
VARIANT_SOURCE = "K ex. 2 (eyes closed to make it more challenging; finally a balance cushion)"


def default_variant(exercise: str) -> str | None:
    return next(iter(VARIANTS[exercise]), None) if exercise in VARIANTS else None


def check_variant(exercise: str, variant: str | None) -> None:
    if variant is None:
        return
    if exercise not in VARIANTS:
        raise ValueError(f"{exercise} has no variants")
    if variant not in VARIANTS[exercise]:
        raise ValueError(f"unknown variant '{variant}' for {exercise}: one of {', '.join(VARIANTS[exercise])}")


def variant_label(exercise: str, variant: str | None) -> str:
    if variant is None:
        return "variant not recorded" if exercise in VARIANTS else ""
    return VARIANTS.get(exercise, {}).get(variant, variant)


_TIMES = {1: "once", 2: "twice"}


@dataclass(frozen=True)
class Dose:
    sets: int
    reps: int | None = None  # rep exercises: per set
    hold_min_s: float | None = None  # hold exercises: a hold counts as reached from hold_min_s on
    hold_max_s: float | None = None  # ... up to hold_max_s (H: "Hold: 20-30 seconds"); None = just hold_min_s
    per_day: int | None = 1  # times a day; None with as_often_as_possible (no daily target, a daily count)
    as_often_as_possible: bool = False  # K ex. 2: "Perform the exercise as often as possible"
    days_min: int = 7  # days a week (H: "at least 3-5 times per week" → 3..5)
    days_max: int = 7
    rest_s: float = REST_S  # between sets
    source: str = ""

    def __post_init__(self):
        problems = []
        if self.sets < 1:
            problems.append("sets must be at least 1")
        if self.reps is not None and self.reps < 1:
            problems.append("reps must be at least 1")
        if self.hold_min_s is not None and self.hold_min_s <= 0:
            problems.append("a hold must be longer than 0 s")
        if self.hold_max_s is not None and (self.hold_min_s is None or self.hold_max_s < self.hold_min_s):
            problems.append("the longest hold must not be shorter than the shortest")
        if self.per_day is not None and self.per_day < 1:
            problems.append("times a day must be at least 1")
        if self.per_day is None and not self.as_often_as_possible:
            problems.append("times a day is needed (or 'as often as possible')")
        if not 1 <= self.days_min <= self.days_max <= 7:
            problems.append("days a week must be 1–7, the fewest first")
        if self.rest_s < 0 or not math.isfinite(self.rest_s):
            problems.append("rest between sets can't be negative")
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def per_week(self) -> int:
        """Sessions a week at least: times a day × the fewest days (at least once a day when 'as often as possible')."""
        return (self.per_day or 1) * self.days_min

    def hold_reached(self, seconds: float) -> bool:
        """A 20-s hold counts as reached when 20–30 s is prescribed: the shortest prescribed hold is the target."""
        return self.hold_min_s is not None and seconds >= self.hold_min_s

    def hold_text(self) -> str:
        if self.hold_min_s is None:
            return ""
        if self.hold_max_s is not None and self.hold_max_s > self.hold_min_s:
            return f"hold {self.hold_min_s:g}–{self.hold_max_s:g} s"
        return f"hold {self.hold_min_s:g} s"

    def text(self) -> str:
        """E.g. "3 × 10, twice a day, every day" or "3 × hold 20–30 s, once a day, 3–5 days a week"."""
        what = f"{self.sets} × {self.reps}" if self.reps else (
            f"{self.sets} × {self.hold_text()}" if self.hold_min_s else f"{self.sets} sets")
        if self.as_often_as_possible:
            often = "as often as possible" + (f" (at least {self._times(self.per_day)} a day)" if self.per_day else "")
        else:
            often = f"{self._times(self.per_day)} a day"
        days = "every day" if self.days_min == 7 else (
            f"{self.days_min} days a week" if self.days_min == self.days_max else
            f"{self.days_min}–{self.days_max} days a week")
        rest = f", {self.rest_s:g} s rest between sets" if self.sets > 1 and self.rest_s != REST_S else ""
        return f"{what}, {often}, {days}{rest}"

    @staticmethod
    def _times(n: int) -> str:
        return _TIMES.get(n, f"{n} times")


ARTICLE_DOSES: dict[str, Dose] = {
    "straight_leg_raise": Dose(3, 10, per_day=2, source="K ex. 1: \"Repeat this ten times\", \"Do this three times\"; "
                               "\"Perform the exercise twice a day\"; build up to 3 × 20"),
    "single_leg_balance": Dose(3, per_day=None, as_often_as_possible=True,
                               source="K ex. 2: \"Perform the exercise as often as possible\"; best of 3 (catalogue)"),
    "hamstring_stretch_chair": Dose(3, hold_min_s=20.0, per_day=3,
                                    source="K ex. 3: \"Hold this position for 20 seconds\", "
                                    "\"Repeat it several times\"; "
                                    "\"Repeat the exercise several times a day\" (several read as 3)"),
    "calf_stretch": Dose(1, hold_min_s=20.0, per_day=3,
                         source="K ex. 4: \"Hold this position for 20 seconds\", \"Repeat this three times a day\""),
    "hamstring_stretch_supine": Dose(3, hold_min_s=20.0, hold_max_s=30.0, days_min=3, days_max=5,
                                     source="H §1: \"Hold: 20-30 seconds, 2-3 repetitions per leg\"; H Integrating "
                                     "Stretching into Your Routine: \"at least 3-5 times per week\""),
    "hamstring_stretch_seated": Dose(3, hold_min_s=20.0, hold_max_s=30.0, days_min=3, days_max=5,
                                     source="H §2: \"Hold: 20-30 seconds, 2-3 repetitions\"; H Integrating "
                                     "Stretching into Your Routine: \"at least 3-5 times per week\""),
    "hamstring_stretch_standing": Dose(3, hold_min_s=20.0, hold_max_s=30.0, days_min=3, days_max=5,
                                       source="H §3: \"Hold: 20-30 seconds, 2-3 repetitions per leg\"; H Integrating "
                                       "Stretching into Your Routine: \"at least 3-5 times per week\""),
    "sciatic_nerve_glide": Dose(3, 15, days_min=3, days_max=5,
                                source="H Seated Sciatic Nerve Glide: \"10-15 repetitions, 2-3 sets per leg\"; H "
                                "Integrating Stretching into Your Routine (3-5 times per week)"),
    "squat": Dose(3, 10, source="K ex. 1: squats once the leg raise gets easier (no dose in the articles: "
                  "catalogue 3 × 10, daily)"),
    "lunge": Dose(3, 10, source="K ex. 1: lunges once the leg raise gets easier (no dose in the articles: "
                  "catalogue 3 × 10, daily)"),
    "hip_hinge": Dose(1, 10, source="H Maintain Proper Form (a teaching drill; catalogue 10 reps)"),
}


def article_dose(exercise: str) -> Dose:
    """The article's starting dose; for an exercise the articles don't dose, the catalogue's defaults, daily."""
    if exercise in ARTICLE_DOSES:
        return ARTICLE_DOSES[exercise]
    spec = CATALOGUE[exercise]
    hold = spec.defaults.get("hold_s") or spec.defaults.get("target_hold_s")
    return Dose(int(spec.defaults.get("sets", 1)), spec.defaults.get("reps") if spec.kind == "reps" else None,
                hold if spec.kind == "hold" else None, source=f"catalogue defaults ({spec.source})")


def legacy_frequency(per_week: int) -> tuple[int, int]:
    """(times a day, days a week) for an old "times a week": up to 7 → once a day on that many days; above 7 →
    every day, as many times a day as it takes (14 → twice a day)."""
    if per_week < 1:
        raise ValueError("times a week must be at least 1")
    return (1, per_week) if per_week <= 7 else (math.ceil(per_week / 7), 7)


def with_changes(dose: Dose, **changes) -> Dose:
    return replace(dose, **changes)
