"""Sets as a patient does them (formcheck/workout.py): a countdown, each set counted up to its target and no
further, "set done", a rest, the next set by itself, and the table of all sets. Frame states in, no camera."""

import itertools

import numpy as np
import pytest
from conftest import FIXTURES

from formcheck.exercises import CATALOGUE
from formcheck.exercises.records import FrameState
from formcheck.live import LiveCoach
from formcheck.pose import PoseSeries
from formcheck.workout import COUNTDOWN, DONE, REST, SET, Workout, WorkoutPlan, set_rows


def reps_at(times_of_reps, t):
    return sum(1 for r in times_of_reps if r <= t)


def run(workout, frames):
    """Feed (t, FrameState) pairs; returns every status and every announcement."""
    statuses, said = [], []
    for t, state in frames:
        statuses.append(workout.update(t, state))
        if workout.said:
            said.append((t, workout.said))
    return statuses, said


def test_plan_follows_the_exercise_settings_and_the_prescribed_rest():
    slr = CATALOGUE["straight_leg_raise"]
    plan = WorkoutPlan.for_exercise(slr, slr.params({"reps": 12, "sets": 2}), rest_s=30)
    assert (plan.kind, plan.sets, plan.target, plan.rest_s, plan.countdown_s) == ("reps", 2, 12, 30, 5)
    assert plan.describe() == "2 sets × 12 reps, 30 s rest"
    balance = CATALOGUE["single_leg_balance"]
    assert WorkoutPlan.for_exercise(balance, balance.params()).target == 45  # target_hold_s
    hinge = CATALOGUE["hip_hinge"]  # no sets in its defaults: one set
    assert WorkoutPlan.for_exercise(hinge, hinge.params()).sets == 1
    assert WorkoutPlan.for_exercise(slr, slr.params()).rest_s == 60  # the default rest


def test_reps_count_per_set_never_past_the_target_then_rest_then_the_next_set_by_itself():
    """A rep every 2 s from t=1 s, 10 frames a second: countdown 5 s, 3 reps a set, 10 s rest, 2 sets."""
    plan = WorkoutPlan("reps", sets=2, target=3, rest_s=10, countdown_s=5)
    reps = [1 + 2 * k for k in range(40)]
    frames = [(t, FrameState(t, scoring=True, rep_count=reps_at(reps, t))) for t in np.arange(0, 40, 0.1)]
    statuses, said = run(Workout(plan), frames)
    by_t = dict(zip([round(t, 1) for t, _ in frames], statuses))
    assert by_t[0.0].phase == COUNTDOWN and by_t[4.9].phase == COUNTDOWN and by_t[4.9].count == 0
    assert by_t[2.0].remaining_s == pytest.approx(3.0)
    assert by_t[5.0].phase == SET and by_t[5.0].set_index == 1  # reps in the countdown do not count
    assert by_t[7.0].count == 1 and by_t[9.0].count == 2  # reps at 7, 9, 11 s
    assert by_t[11.0].phase == REST and by_t[11.0].remaining_s == pytest.approx(10)
    assert (by_t[11.0].set_index, by_t[11.0].count, by_t[11.0].set_text) == (1, 3, "1 of 2 done")  # set 1's result
    assert by_t[16.0].remaining_s == pytest.approx(5)
    assert by_t[21.0].phase == SET and by_t[21.0].set_index == 2 and by_t[21.0].count == 0  # by itself
    assert by_t[27.0].phase == DONE
    assert max(s.count for s in statuses) == 3  # never "4 / 3", whatever the session counted
    assert by_t[39.9].phase == DONE and by_t[39.9].count == 3
    texts = [text for _, text in said]
    assert texts[0].startswith("Get into position") and "Set 1 of 2: go" in texts
    assert [t for t, text in said if text.startswith("Set done")] == pytest.approx([11.0, 27.0])
    assert "Set 2 of 2: go" in texts
    records = statuses[-1].records
    assert [(r.index, r.reps, r.first_rep, r.complete) for r in records] == [(1, 3, 4, True), (2, 3, 12, True)]
    assert by_t[39.9].counter == "3 / 3" and by_t[15.0].message.startswith("Rest: 6 s. Set 2 of 2")


def test_spoken_durations_say_one_second_not_one_seconds():
    plan = WorkoutPlan("reps", sets=2, target=1, rest_s=1, countdown_s=1)
    frames = [(t, FrameState(t, scoring=True, rep_count=reps_at([1.5, 3.5], t))) for t in np.arange(0, 6, 0.1)]
    texts = [text for _, text in run(Workout(plan), frames)[1]]
    assert "Get into position. Counting starts in 1 second" in texts and "Set done. Rest for 1 second" in texts
    plan = WorkoutPlan("reps", sets=2, target=1, rest_s=20, countdown_s=5)
    frames = [(t, FrameState(t, scoring=True, rep_count=reps_at([6.5], t))) for t in np.arange(0, 8, 0.1)]
    texts = [text for _, text in run(Workout(plan), frames)[1]]
    assert "Get into position. Counting starts in 5 seconds" in texts and "Set done. Rest for 20 seconds" in texts


def test_holds_count_from_the_set_start_up_to_the_target_and_a_broken_hold_does_not_end_the_set():
    """A hold of 8 s from 2 s (into the countdown), a touch-down, then one of 20 s: target 10 s, 2 sets, 5 s rest."""
    plan = WorkoutPlan("hold", sets=2, target=10, rest_s=5, countdown_s=3)

    def state(t):
        for start, end in ((2, 10), (12, 32), (34, 60)):
            if start <= t < end:
                return FrameState(t, scoring=True, holding=True, hold_s=t - start)
        return FrameState(t, scoring=True)

    frames = [(t, state(t)) for t in np.arange(0, 60, 0.1)]
    statuses, _ = run(Workout(plan), frames)
    by_t = dict(zip([round(t, 1) for t, _ in frames], statuses))
    assert by_t[5.0].held_s == pytest.approx(2.0)  # held since 2 s, counted from the set's start at 3 s
    assert by_t[10.5].phase == SET and not by_t[10.5].holding  # foot down at 7 s held: the set goes on
    assert by_t[22.0].phase == REST  # 10 s of the second hold (12 → 22)
    assert by_t[27.0].phase == SET and by_t[27.0].held_s == pytest.approx(0.0, abs=0.11)
    assert by_t[31.0].held_s == pytest.approx(4.0)  # the hold begun in the rest, counted from 27 s
    assert by_t[33.0].phase == SET and not by_t[33.0].holding  # foot down at 32 s: 5 s held, the set goes on
    assert by_t[43.5].phase == SET and by_t[44.5].phase == DONE  # a new hold from 34 s reaches 10 s at 44 s
    assert max(s.held_s for s in statuses) == pytest.approx(10.0)
    records = statuses[-1].records
    assert [(r.index, round(r.held_s), r.complete) for r in records] == [(1, 10, True), (2, 10, True)]
    assert by_t[8.0].counter == "5 s / 10 s" and by_t[11.0].counter == "-- / 10 s"


def test_outside_a_set_the_overlay_shows_no_count_and_no_fault_cue_but_keeps_a_position_cue():
    workout = Workout(WorkoutPlan("reps", sets=1, target=3, countdown_s=5))
    fault = FrameState(1.0, scoring=True, rep_count=7, cue="Keep your knee straight", faults=("knee_bent",))
    workout.update(0.0, FrameState(0.0, scoring=False))
    shown = workout.shown(fault)
    assert shown.cue is None and shown.faults == () and shown.rep_count == 0
    refused = FrameState(1.0, scoring=False, cue="Step back so your whole body is in view")
    assert workout.shown(refused).cue == refused.cue
    workout.update(6.0, fault)  # the set starts with the session at 7 reps
    assert workout.shown(fault).cue == "Keep your knee straight"
    later = FrameState(7.0, scoring=True, rep_count=9)
    workout.update(7.0, later)
    assert workout.shown(later).rep_count == 2


def test_the_set_table_names_each_sets_reps_faults_and_a_set_stopped_under_way():
    """The live coach on dk2's leg raises looped four times: 3 reps a loop; 3 sets of 4 reps, STOP in the third."""
    from test_live import ReplayEstimator

    series = PoseSeries.load(FIXTURES / "legraise_supine_dk2.full.npz")
    plan = WorkoutPlan("reps", sets=3, target=4, rest_s=3, countdown_s=2)
    coach = LiveCoach("straight_leg_raise", estimator=ReplayEstimator(series), plan=plan)
    frame = np.zeros((series.height, series.width, 3), np.uint8)
    loop = float(series.t_s[-1] - series.t_s[0]) + 1 / 24
    seen = []
    for k in range(4):  # four loops of the clip as one camera
        for t in series.t_s:
            coach.process(frame, float(t) + k * loop)
            snap = coach.snapshot()
            seen.append((snap.workout.phase, snap.workout.count, snap.rep_count))
    status = coach.snapshot().workout
    assert max(count for _, count, _ in seen) == 4 and seen[-1][2] > 4  # the session counted on; the set did not
    assert {phase for phase, _, _ in seen} >= {"countdown", "set", "rest"}
    assert coach.set_progress(coach.snapshot()) == "3 / 3"
    analysis = coach.finish()
    rows = set_rows(status.records, plan, analysis)
    assert rows[0]["set"] == 1 and rows[0]["reps"] == "4 / 4" and rows[0]["done"] == "yes"
    assert rows[-1]["done"] == "stopped"  # STOP in the middle of the last set begun
    assert any("knee_bent" in row["faults"] for row in rows)  # dk2's bent knee, in the set it happened in
    assert rows[0]["from s"] == 0.0 and all(a["to s"] <= b["from s"] for a, b in itertools.pairwise(rows))
