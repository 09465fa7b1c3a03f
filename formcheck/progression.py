"""Progression: when the current step has been done at target, without faults, with pain not rising, for N
sessions in a row (the therapist sets N; default 3), suggest the next one. The therapist accepts or
declines (`clinic.Clinic.accept_step` / `decline_step`); nothing changes on its own.

The ladders, from the back-of-knee article (K):
- straight-leg raise: 3 × 10, building up 5 reps at a time to 3 × 20 (K ex. 1: "You can build up the number
  of repetitions up to 3×20"); at 3 × 20, add squats and lunges (K ex. 1: "When the exercise gets easier, you
  can also start performing squats and lunges");
- single-leg balance: eyes open → eyes closed → on a balance cushion (K ex. 2).

Pure functions over the session and prescription dicts `Clinic` returns, so they are tested on stored
histories and on plain data alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from .dosing import VARIANT_SOURCE, VARIANTS, default_variant, variant_label
from .exercises import CATALOGUE
from .safety import NOT_FAULTS

DEFAULT_SESSIONS = 3  # sessions in a row at target before a step is suggested (therapist-settable)
LEG_RAISE_STEP = 5  # reps added per step
LEG_RAISE_GOAL = 20  # K ex. 1: "up to 3×20"
THEN_ADD = ("squat", "lunge")
K_EX1_REPS = "K ex. 1: \"You can build up the number of repetitions up to 3×20\""
K_EX1_ADD = "K ex. 1: \"When the exercise gets easier, you can also start performing squats and lunges\""


@dataclass(frozen=True)
class Step:
    """One suggested change to a prescription."""

    exercise: str
    kind: str  # "reps" | "variant" | "add"
    change: dict  # {"reps": 15} | {"variant": "eyes_closed"} | {"add": ["squat", "lunge"]}
    text: str  # what the therapist and the patient read
    source: str
    basis: tuple[int, ...] = field(default=())  # the session ids it rests on, oldest first


def utc(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def real_faults(session: dict) -> set[str]:
    """The session's fault codes that are faults (a balance touch-down ends a stance; it is not one)."""
    codes = session.get("faults")
    if codes is None:
        codes = {f["code"] for f in session["report"]["faults"]}
    return set(codes) - NOT_FAULTS


def hold_target_s(prescription: dict) -> float | None:
    """The shortest hold that counts: the prescribed one, else the spec's default target."""
    target = prescription.get("hold_min_s", prescription.get("hold_s"))
    if target:
        return float(target)
    defaults = CATALOGUE[prescription["exercise"]].defaults
    return defaults.get("hold_s") or defaults.get("target_hold_s")


def at_target(prescription: dict, session: dict) -> bool:
    """Done as prescribed: every rep of every set (reps), or every set's hold reached its target (stretches: a
    hold's correct time; balance: the best stance, as the catalogue says "best of 3")."""
    spec = CATALOGUE[prescription["exercise"]]
    report = session["report"]
    sets = prescription.get("sets") or spec.defaults.get("sets") or 1
    if spec.kind == "reps":
        reps = prescription.get("reps") or spec.defaults.get("reps")
        return bool(reps) and report["summary"]["rep_count"] >= sets * reps
    target = hold_target_s(prescription)
    if not target or not report["holds"]:
        return False
    if prescription["exercise"] in VARIANTS:  # balance: the best stance
        return max(h["duration_s"] for h in report["holds"]) >= target
    return sum(h["correct_s"] >= target for h in report["holds"]) >= sets


def pain_not_up(session: dict) -> bool:
    """Pain after ≤ pain before. A session without both scores can't show it, so it doesn't count."""
    before, after = session.get("pain_before"), session.get("pain_after")
    return before is not None and after is not None and after <= before


def current_variant(prescription: dict) -> str | None:
    return prescription.get("variant") or default_variant(prescription["exercise"])


def qualifies(prescription: dict, session: dict) -> tuple[bool, str]:
    """Whether one session counts towards the next step, and if not, why."""
    if session.get("stopped"):
        return False, f"stopped ({session['stopped']})"
    if prescription["exercise"] in VARIANTS and (session.get("variant") or None) != current_variant(prescription):
        return False, f"variant {session.get('variant')} is not the prescribed {current_variant(prescription)}"
    faults = real_faults(session)
    if faults:
        return False, "faults: " + ", ".join(sorted(faults))
    if not pain_not_up(session):
        return False, "pain rose (or was not scored)"
    if not at_target(prescription, session):
        return False, "not at target"
    return True, "at target"


def ladder_step(prescription: dict, active: set[str] = frozenset()) -> Step | None:
    """The next rung after the prescription's, whatever the sessions say (None at the top of the ladder)."""
    name = prescription["exercise"]
    title = CATALOGUE[name].title
    if name == "straight_leg_raise":
        sets = prescription.get("sets") or CATALOGUE[name].defaults["sets"]
        reps = prescription.get("reps") or CATALOGUE[name].defaults["reps"]
        if reps < LEG_RAISE_GOAL:
            to = min(reps + LEG_RAISE_STEP, LEG_RAISE_GOAL)
            return Step(name, "reps", {"reps": to}, f"{title}: build up to {sets} × {to} (now {sets} × {reps})",
                        K_EX1_REPS)
        missing = [n for n in THEN_ADD if n not in active]
        if missing:
            names = " and ".join(CATALOGUE[n].title.lower() + "s" for n in missing)
            return Step(name, "add", {"add": missing}, f"Add {names}: the leg raise at {sets} × {reps} has got easier",
                        K_EX1_ADD)
        return None
    if name in VARIANTS:
        order = list(VARIANTS[name])
        now = current_variant(prescription)
        at = order.index(now) if now in order else 0
        if at + 1 < len(order):
            to = order[at + 1]
            return Step(name, "variant", {"variant": to},
                        f"{title}: {variant_label(name, to).lower()} (now {variant_label(name, now).lower()})",
                        VARIANT_SOURCE)
    return None


def next_step(prescription: dict, sessions: list[dict], active: set[str] = frozenset(),
              since: datetime | None = None, n: int | None = None) -> Step | None:
    """The suggested next step, or None. `sessions` are the patient's (any order, any exercise); only this
    exercise's sessions after `since` (default: the prescription's start) count, and the last `n` of them
    (default: the prescription's `progress_after`, else 3) must all qualify, with the pain before each not
    rising from the first of them to the last."""
    step = ladder_step(prescription, active)
    if step is None:
        return None
    n = n or prescription.get("progress_after") or DEFAULT_SESSIONS
    since = since or prescription.get("created_at")
    mine = sorted((s for s in sessions if s["exercise"] == prescription["exercise"]
                   and (since is None or utc(s["created_at"]) >= utc(since))),
                  key=lambda s: (utc(s["created_at"]), s["id"]))
    last = mine[-n:]
    if len(last) < n or not all(qualifies(prescription, s)[0] for s in last):
        return None
    if last[-1]["pain_before"] > last[0]["pain_before"]:
        return None  # each session fine on its own, but the pain going in is creeping up
    return Step(step.exercise, step.kind, step.change, step.text, step.source, tuple(s["id"] for s in last))
