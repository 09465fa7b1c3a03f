"""Progression (formcheck/progression.py): the rule on plain session histories, then on stored ones (SQLite
file and PostgreSQL, as tests/test_clinic.py): suggested once, accepted or declined by the therapist only."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from conftest import QUICK_PASSWORDS, SHARED
from formcheck import progression
from formcheck.clinic import OPERATOR, AccessDenied, Clinic
from formcheck.errors import FormcheckError
from formcheck.store import open_store
from test_clinic import db_url  # noqa: F401  (the SQLite/PostgreSQL fixture)
from test_clinic import synthetic_report as report

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # a Monday


def session(i, exercise="straight_leg_raise", reps=30, holds=(), faults=(), pain=(2, 2), variant=None,
            stopped=None, day=None):
    return {"id": i, "exercise": exercise, "created_at": T0 + timedelta(days=i if day is None else day),
            "report": report(exercise, reps, holds, faults), "faults": sorted(faults),
            "pain_before": pain[0], "pain_after": pain[1], "variant": variant, "stopped": stopped}


RAISE = {"exercise": "straight_leg_raise", "sets": 3, "reps": 10, "created_at": T0, "progress_after": 3}
BALANCE = {"exercise": "single_leg_balance", "sets": 3, "hold_min_s": 30.0, "variant": "eyes_open",
           "created_at": T0, "progress_after": 3}
STRETCH = {"exercise": "hamstring_stretch_standing", "sets": 3, "hold_min_s": 20.0, "hold_max_s": 30.0,
           "created_at": T0, "progress_after": 3}


def test_three_clean_sessions_at_target_suggest_3_x_15_then_3_x_20_then_squats_and_lunges():
    history = [session(i) for i in range(1, 4)]
    step = progression.next_step(RAISE, history)
    assert (step.kind, step.change, step.basis) == ("reps", {"reps": 15}, (1, 2, 3))
    assert "3 × 15" in step.text and "3×20" in step.source
    assert progression.next_step({**RAISE, "reps": 15},
                                 [session(i, reps=45) for i in range(1, 4)]).change == {"reps": 20}
    top = {**RAISE, "reps": 20}
    add = progression.next_step(top, [session(i, reps=60) for i in range(1, 4)])
    assert (add.kind, add.change) == ("add", {"add": ["squat", "lunge"]}) and "squats and lunges" in add.text.lower()
    assert progression.next_step(top, [session(i, reps=60) for i in range(1, 4)], active={"squat"}).change == {
        "add": ["lunge"]}
    assert progression.next_step(top, [session(i, reps=60) for i in range(1, 4)], active={"squat", "lunge"}) is None


@pytest.mark.parametrize("why,history", [
    ("only two sessions", [session(1), session(2)]),
    ("a rep short of 3 × 10 in one", [session(1), session(2, reps=29), session(3)]),
    ("a fault in one", [session(1), session(2, faults=("knee_bent",)), session(3)]),
    ("pain rose in one", [session(1), session(2, pain=(2, 3)), session(3)]),
    ("pain not scored in one", [session(1), session(2, pain=(None, 2)), session(3)]),
    ("pain going in creeps up", [session(1, pain=(1, 1)), session(2, pain=(2, 2)), session(3, pain=(3, 3))]),
    ("the last one was stopped", [session(1), session(2), session(3, stopped="sharp_pain")]),
    ("a later bad session breaks the run", [session(1), session(2), session(3), session(4, faults=("dropped",))]),
])
def test_no_suggestion_unless_every_condition_holds(why, history):
    assert progression.next_step(RAISE, history) is None, why


def test_only_the_last_n_count_and_n_is_the_therapists():
    history = [session(1, faults=("knee_bent",)), session(2), session(3), session(4)]
    assert progression.next_step(RAISE, history).basis == (2, 3, 4)  # an old fault is history
    assert progression.next_step({**RAISE, "progress_after": 4}, history) is None
    assert progression.next_step(RAISE, history, n=1).basis == (4,)
    assert progression.next_step({**RAISE, "progress_after": 5}, [session(i) for i in range(1, 6)]).basis == (
        1, 2, 3, 4, 5)


def test_sessions_before_the_prescription_or_of_other_exercises_do_not_count():
    history = [session(1), session(2), session(3), session(4, exercise="squat")]
    assert progression.next_step({**RAISE, "created_at": T0 + timedelta(days=2)}, history) is None
    assert progression.next_step(RAISE, history, since=T0 + timedelta(days=2)) is None
    assert progression.next_step(RAISE, history).basis == (1, 2, 3)
    naive = [{**s, "created_at": s["created_at"].replace(tzinfo=None)} for s in history]  # SQLite's naive UTC
    assert progression.next_step(RAISE, naive).basis == (1, 2, 3)


def test_balance_eyes_open_then_eyes_closed_then_a_cushion_and_touch_down_is_no_fault():
    def stances(i, variant, best=31.0, faults=("touch_down",)):
        return session(i, "single_leg_balance", reps=0, holds=((best, best), (5.0, 5.0)), faults=faults,
                       variant=variant)

    step = progression.next_step(BALANCE, [stances(i, "eyes_open") for i in range(1, 4)])
    assert (step.kind, step.change) == ("variant", {"variant": "eyes_closed"}) and "eyes closed" in step.text
    assert progression.next_step({**BALANCE, "variant": "eyes_closed"},
                                 [stances(i, "eyes_closed") for i in range(1, 4)]).change == {"variant": "cushion"}
    assert progression.next_step({**BALANCE, "variant": "cushion"},
                                 [stances(i, "cushion") for i in range(1, 4)]) is None
    # sessions of another variant are not the prescribed step; a short best stance or hopping is not at target
    assert progression.next_step(BALANCE, [stances(i, "eyes_closed") for i in range(1, 4)]) is None
    assert progression.next_step(BALANCE, [stances(1, "eyes_open"), stances(2, "eyes_open", best=29.0),
                                           stances(3, "eyes_open")]) is None
    assert progression.next_step(BALANCE, [stances(1, "eyes_open"), stances(2, "eyes_open", faults=("hopping",)),
                                           stances(3, "eyes_open")]) is None


def test_a_20_s_stretch_hold_is_at_target_when_20_to_30_s_is_prescribed():
    def holds(correct):
        return session(1, "hamstring_stretch_standing", reps=0, holds=[(correct + 1, correct)] * 3)

    assert progression.at_target(STRETCH, holds(20.0))
    assert not progression.at_target(STRETCH, holds(19.5))
    two = session(1, "hamstring_stretch_standing", reps=0, holds=[(21.0, 20.0)] * 2)
    assert not progression.at_target(STRETCH, two)  # 3 sets prescribed
    assert progression.ladder_step(STRETCH) is None  # stretches have no ladder in the articles


def test_the_ladders_quote_k():
    k = re.sub(r"\s+", " ", (SHARED / "seeds" / "back-of-knee-pain.txt").read_text()).lower()
    for source in (progression.K_EX1_REPS, progression.K_EX1_ADD):
        quote = re.search(r'"([^"]+)"', source).group(1)
        assert quote.lower() in k


# --- on stored histories ----------------------------------------------------------------------------
class Clock:
    def __init__(self, t):
        self.t = t

    def __call__(self):
        return self.t


@pytest.fixture
def stored(db_url):  # noqa: F811
    clock = Clock(T0)
    clinic = Clinic(open_store(db_url), clock=clock, hasher=QUICK_PASSWORDS)
    clinic.create_user(OPERATOR, "t1", "therapist-one", "therapist")
    clinic.create_user(OPERATOR, "t2", "therapist-two", "therapist")
    T1, T2 = clinic.login("t1", "therapist-one"), clinic.login("t2", "therapist-two")
    p = clinic.create_user(T1, "p1", "patient-one", "patient")
    P = clinic.login("p1", "patient-one")
    yield clinic, clock, T1, T2, P, p
    clinic._db.kw["bind"].dispose()


def do(clinic, clock, P, exercise="straight_leg_raise", reps=30, holds=(), faults=(), pain=(2, 2), variant=None):
    clock.t += timedelta(hours=12)
    return clinic.save_session(P, report(exercise, reps, holds, faults), b"", "live", pain_before=pain[0],
                               pain_after=pain[1], variant=variant)


def test_stored_history_suggest_decline_suggest_again_accept(stored):
    clinic, clock, T1, T2, P, p = stored
    clinic.prescribe(T1, p, "straight_leg_raise")  # K ex. 1: 3 × 10, twice a day
    ids = [do(clinic, clock, P) for _ in range(2)]
    assert clinic.next_steps(T1, p) == []
    ids.append(do(clinic, clock, P))
    [step] = clinic.next_steps(T1, p)
    assert (step["kind"], step["change"], step["basis"], step["status"]) == ("reps", {"reps": 15}, ids, "suggested")
    assert [s["id"] for s in clinic.next_steps(P, p)] == [step["id"]]  # the patient sees the same "next step"
    with pytest.raises(AccessDenied):
        clinic.accept_step(P, step["id"])
    with pytest.raises(AccessDenied):
        clinic.decline_step(T2, step["id"])
    clock.t += timedelta(minutes=5)
    clinic.decline_step(T1, step["id"], "keep 3 × 10 one more week")
    assert clinic.next_steps(T1, p) == []  # the same sessions do not suggest it again
    with pytest.raises(FormcheckError, match="already declined"):
        clinic.accept_step(T1, step["id"])
    for _ in range(2):
        do(clinic, clock, P)
    assert clinic.next_steps(T1, p) == []
    do(clinic, clock, P)
    [again] = clinic.next_steps(T1, p)
    assert again["id"] != step["id"] and again["change"] == {"reps": 15}
    made = clinic.accept_step(T1, again["id"], "well done")
    [current] = clinic.prescriptions(P, p)
    assert [current["id"]] == made and (current["sets"], current["reps"], current["per_day"]) == (3, 15, 2)
    assert [s["status"] for s in clinic.steps(P, p)] == ["declined", "accepted"]
    assert clinic.steps(P, p)[1]["result"] == made and clinic.steps(P, p)[1]["note"] == "well done"
    assert clinic.next_steps(T1, p) == []  # the new step starts counting from now
    for _ in range(3):
        do(clinic, clock, P, reps=44)  # a rep short of 3 × 15
    assert clinic.next_steps(T1, p) == []
    for _ in range(3):
        do(clinic, clock, P, reps=45)
    assert [s["change"] for s in clinic.next_steps(T1, p)] == [{"reps": 20}]


def test_stored_history_squats_and_lunges_join_at_3_x_20(stored):
    clinic, clock, T1, T2, P, p = stored
    clinic.prescribe(T1, p, "straight_leg_raise", reps=20, progress_after=2)
    for _ in range(2):
        do(clinic, clock, P, reps=60)
    [step] = clinic.next_steps(T1, p)
    assert step["change"] == {"add": ["squat", "lunge"]}
    made = clinic.accept_step(T1, step["id"])
    current = {x["exercise"]: x for x in clinic.prescriptions(P, p)}
    assert set(current) == {"straight_leg_raise", "squat", "lunge"} and sorted(made) == sorted(
        [current["squat"]["id"], current["lunge"]["id"]])
    assert (current["squat"]["sets"], current["squat"]["reps"]) == (3, 10)
    assert current["straight_leg_raise"]["reps"] == 20  # the raise stays
    do(clinic, clock, P, reps=60)
    assert clinic.next_steps(T1, p) == []  # top of the ladder, squats and lunges in


def test_stored_history_balance_variants_and_the_therapist_sets_n(stored):
    clinic, clock, T1, T2, P, p = stored
    pid = clinic.prescribe(T1, p, "single_leg_balance", hold_s=30)
    clinic.set_progress_after(T1, pid, 2)
    with pytest.raises(AccessDenied):
        clinic.set_progress_after(T2, pid, 1)
    with pytest.raises(AccessDenied):
        clinic.set_progress_after(P, pid, 1)
    stance = ((32.0, 32.0), (4.0, 4.0))
    do(clinic, clock, P, "single_leg_balance", 0, stance, ("touch_down",), variant="eyes_closed")  # not prescribed
    do(clinic, clock, P, "single_leg_balance", 0, stance, ("touch_down",), variant="eyes_open")
    assert clinic.next_steps(T1, p) == []
    do(clinic, clock, P, "single_leg_balance", 0, stance, ("touch_down",), variant="eyes_open")
    [step] = clinic.next_steps(T1, p)
    assert step["change"] == {"variant": "eyes_closed"}
    [new] = clinic.accept_step(T1, step["id"])
    [current] = clinic.prescriptions(P, p)
    assert current["id"] == new and current["variant"] == "eyes_closed" and current["progress_after"] == 2
    assert current["hold_min_s"] == 30.0 and Clinic.checker_settings(current)["target_hold_s"] == 30.0


def test_a_stop_restarts_the_count(stored):
    clinic, clock, T1, T2, P, p = stored
    clinic.prescribe(T1, p, "straight_leg_raise")
    for _ in range(2):
        do(clinic, clock, P)
    clock.t += timedelta(hours=1)
    clinic.stop_during_set(P, "straight_leg_raise", "sharp_pain")  # the set was not saved
    do(clinic, clock, P)
    assert clinic.next_steps(T1, p) == []
    for _ in range(2):
        do(clinic, clock, P)
    assert len(clinic.next_steps(T1, p)) == 1


def test_a_step_is_out_of_date_once_the_therapist_changed_the_prescription(stored):
    clinic, clock, T1, T2, P, p = stored
    clinic.prescribe(T1, p, "straight_leg_raise")
    for _ in range(3):
        do(clinic, clock, P)
    [step] = clinic.next_steps(T1, p)
    clinic.prescribe(T1, p, "straight_leg_raise", reps=12)
    assert clinic.next_steps(T1, p) == []  # not current any more
    with pytest.raises(FormcheckError, match="out of date"):
        clinic.accept_step(T1, step["id"])
    assert clinic.prescriptions(P, p)[0]["reps"] == 12
