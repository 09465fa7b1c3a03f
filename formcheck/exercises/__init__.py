"""The exercise catalogue: each exercise is a spec (data) plus the few lines of logic a spec can't say."""

from __future__ import annotations

from ..errors import FormcheckError
from .balance import SingleLegBalance
from .checker import Checker
from .spec import ExerciseSpec
from .hinge import HipHinge
from .legraise import StraightLegRaise
from .nerveglide import SciaticNerveGlide
from .squat import Lunge, Squat
from .stretches import STRETCHES

CHECKERS: dict[str, type[Checker]] = {c.spec.name: c for c in (StraightLegRaise, SingleLegBalance, *STRETCHES,
                                                                SciaticNerveGlide, HipHinge, Squat, Lunge)}
CATALOGUE: dict[str, ExerciseSpec] = {name: c.spec for name, c in CHECKERS.items()}


def make_checker(name: str, params: dict | None = None) -> Checker:
    if name not in CHECKERS:
        raise FormcheckError(f"unknown exercise '{name}': choose one of {', '.join(CHECKERS)} "
                             "(see `formcheck exercises`)")
    try:
        return CHECKERS[name](params)
    except ValueError as exc:
        raise FormcheckError(str(exc)) from None
