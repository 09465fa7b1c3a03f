"""The values a prescription may give: each exercise threshold's bounds, declared by its unit (the setting's
name ends in it: `_deg`, `_s`, ...) so every exercise's every setting is covered without touching the exercise
files, and the dose's (sets, reps, hold, times a day, days and times a week, rest).

Every value must be a finite real number (no `nan`, no infinity, no `True`), inside its bounds, and a whole number
where it counts something. `bound(name)` says which rule a setting falls under; a test checks every catalogue
default lies inside its own bounds.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass


@dataclass(frozen=True)
class Bound:
    low: float
    high: float
    whole: bool = False  # a count: a whole number
    what: str = ""  # how the unit reads in a message

    def text(self) -> str:
        return f"{self.low:g}–{self.high:g}{self.what}"


# exact names first (counts), then the unit suffixes, first match wins
EXACT: dict[str, Bound] = {
    "sets": Bound(1, 10, True),
    "reps": Bound(1, 100, True),
    "reps_goal": Bound(1, 200, True),
    "per_day": Bound(1, 12, True),
}
SUFFIXES: tuple[tuple[str, Bound], ...] = (
    ("_deg", Bound(0, 180, what="°")),  # a joint or segment angle
    ("_s", Bound(0, 600, what=" s")),  # a time: a hold, a rep's least duration, a grace period
    ("_corr", Bound(-1, 1)),  # a correlation
    ("_share", Bound(0, 1)),  # a share of frames or legs
    ("_ratio", Bound(0, 10)),  # one length over another
    ("_count", Bound(0, 1000, True)),
    ("_n", Bound(0, 1000, True)),
)
# anything else is a length in body units (a fraction of the torso or leg, e.g. back_bow_max 0.05, hop_torso 0.3)
PROPORTION = Bound(0, 5, what=" (body lengths)")

# the dose (a prescription's own fields)
DOSE: dict[str, Bound] = {
    "sets": EXACT["sets"],
    "reps": EXACT["reps"],
    "hold_s": Bound(1, 600, what=" s"),
    "hold_max_s": Bound(1, 600, what=" s"),
    "per_day": EXACT["per_day"],
    "days_per_week": Bound(1, 7, True),
    "per_week": Bound(1, 84, True),
    "rest_s": Bound(0, 600, what=" s"),
    "progress_after": Bound(1, 50, True),
}


def bound(name: str) -> Bound:
    if name in EXACT:
        return EXACT[name]
    return next((b for suffix, b in SUFFIXES if name.endswith(suffix)), PROPORTION)


def check_number(name: str, value, rule: Bound) -> int | float:
    """`value` as a plain int or float if it is a finite number inside `rule`, else ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, not {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number")
    if rule.whole and number != int(number):
        raise ValueError(f"{name} must be a whole number")
    if number < rule.low:
        raise ValueError(f"{name} must be at least {rule.low:g}{rule.what} (not {number:g})")
    if number > rule.high:
        raise ValueError(f"{name} must be at most {rule.high:g}{rule.what} (not {number:g})")
    return int(number) if rule.whole else (int(value) if isinstance(value, numbers.Integral) else number)


def check_settings(settings: dict | None) -> dict:
    """A prescription's threshold overrides with every value checked against its bound (names are checked
    against the exercise's spec elsewhere)."""
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise ValueError("settings must be a mapping of setting names to numbers")
    return {str(name): check_number(str(name), value, bound(str(name))) for name, value in settings.items()}


def check_dose_value(field: str, value):
    """One dose field (see `DOSE`), or None as given."""
    return None if value is None else check_number(field.replace("_", " "), value, DOSE[field])
