"""benchmarks/accuracy.py's judges on small hand-made label/result pairs: a right answer is right, each kind of
wrong answer is wrong. (The real model on the labelled clips is asserted by the integration tests.)"""

import importlib.util
import sys
from pathlib import Path

from conftest import REPO, SHARED

_spec = importlib.util.spec_from_file_location("accuracy", REPO / "benchmarks" / "accuracy.py")
accuracy = sys.modules["accuracy"] = importlib.util.module_from_spec(_spec)  # dataclasses look their module up
_spec.loader.exec_module(accuracy)
Case, Outcome = accuracy.Case, accuracy.Outcome


def case(label, exercise="straight_leg_raise", **flags):
    return Case("clip.mp4", Path("clip.mp4"), exercise, label, **flags)


def outcome(reps=(), holds=(), faults=(), refused=()):
    return Outcome([(peak, list(f)) for peak, f in reps], list(holds), list(faults), list(refused))


def verdict(c, o):
    return accuracy.row(c, o)[3]


def problems(judge, c, o):
    return judge(c, o).problems


def test_reps_right_count_and_peaks_is_right_a_wrong_count_or_peak_is_wrong():
    label = {"reps_complete": 3, "tops_s": [2.0, 6.0, 9.2, 12.4]}  # a 4th top cut off by the clip's end
    assert problems(accuracy.judge_reps, case(label), outcome(reps=[(2.1, []), (5.8, []), (9.3, [])])) == []
    assert problems(accuracy.judge_reps, case(label), outcome(reps=[(2.1, []), (5.8, [])]))
    assert problems(accuracy.judge_reps, case(label), outcome(reps=[(2.1, []), (5.8, []), (9.3, []), (12.4, [])]))
    late = outcome(reps=[(2.1, []), (5.8, []), (9.2 + 2 * accuracy.TIME_TOL_S, [])])
    assert problems(accuracy.judge_reps, case(label), late) == ["rep 3 peaks at 10.00 s, not at a labelled one"]


def test_bottoms_may_be_spans():
    label = {"reps_complete": 1, "bottoms_s": [[1.3, 2.4], [5.0, 6.0]]}
    assert problems(accuracy.judge_reps, case(label, "hip_hinge"), outcome(reps=[(2.3, [])])) == []
    assert problems(accuracy.judge_reps, case(label, "hip_hinge"), outcome(reps=[(3.6, [])]))


def test_holds_must_match_the_labelled_intervals():
    label = {"single_leg_intervals_s": [[0.45, 6.55]], "tolerance_s": 0.1}
    c = case(label, "single_leg_balance")
    assert problems(accuracy.judge_holds, c, outcome(holds=[(0.4, 6.7, "right")])) == []
    split = outcome(holds=[(0.4, 3.0, "right"), (3.5, 6.7, "right")])  # a touch-down seen that wasn't there
    assert problems(accuracy.judge_holds, c, split) == ["2 holds for 1 labelled"]
    assert any("covers" in p for p in problems(accuracy.judge_holds, c, outcome(holds=[(0.4, 3.0, "right")])))
    assert any("outside" in p for p in problems(accuracy.judge_holds, c, outcome(holds=[(0.4, 9.0, "right")])))
    assert problems(accuracy.judge_holds, c, outcome())


def test_no_faults_means_none_reported():
    c = case({"faults": []})
    assert problems(accuracy.judge_faults, c, outcome()) == []
    assert problems(accuracy.judge_faults, c, outcome(faults=[("knee_bent", 1.0, 2.0)])) == ["`knee_bent` reported"]
    none_visible = case({"faults": ["none visible (knee straight, back flat)"]})
    assert problems(accuracy.judge_faults, none_visible, outcome(faults=[("dropped", 1.0, 1.0)]))


def test_a_double_leg_raise_may_be_called_both_legs():
    c = case({"exercise": "supine_double_leg_raise", "faults": []})
    assert problems(accuracy.judge_faults, c, outcome(faults=[("both_legs", 1.0, 2.0)])) == []
    assert problems(accuracy.judge_faults, c, outcome(faults=[("knee_bent", 1.0, 2.0)]))
    assert problems(accuracy.judge_faults, case({"exercise": "single leg raise", "faults": []}),
                    outcome(faults=[("both_legs", 1.0, 2.0)]))


def test_named_faults_must_be_reported_and_unjudged_ones_are_listed():
    c = case({"faults": ["knees_bent_on_lowering", "feet_do_not_return_to_floor"]})
    judged = accuracy.judge_faults(c, outcome(faults=[("knee_bent", 4.0, 5.0)]))
    assert judged.problems == [] and "not checked: feet_do_not_return_to_floor" in judged.said
    assert problems(accuracy.judge_faults, c, outcome()) == ["no `knee_bent`"]


def test_a_fault_with_a_span_must_fire_in_it_and_nowhere_else():
    c = case({"faults": ["rounded back during the reach 21.3-23.0 s (deliberate demo, probably)"]},
             "hamstring_stretch_seated")
    assert problems(accuracy.judge_faults, c, outcome(faults=[("back_rounded", 21.6, 22.8)])) == []
    assert problems(accuracy.judge_faults, c, outcome()) == ["no `back_rounded` in 21.3–23 s"]
    also = outcome(faults=[("back_rounded", 21.6, 22.8), ("back_rounded", 30.0, 31.0)])
    assert problems(accuracy.judge_faults, c, also) == ["`back_rounded` also at 30.0–31.0 s"]


def test_back_label():
    assert problems(accuracy.judge_back, case({"back": "rounded"}), outcome(faults=[("back_rounded", 0, 0)])) == []
    assert problems(accuracy.judge_back, case({"back": "rounded"}), outcome())
    assert problems(accuracy.judge_back, case({"back": "flat (slight upper-back curve)"}),
                    outcome(faults=[("back_rounded", 0, 0)]))


def test_a_photo_must_be_judged_and_show_no_fault_its_label_rules_out():
    label = {"back_knee": "straight", "back_heel": "down"}
    c = case(label, "calf_stretch", photo=True)
    assert verdict(c, outcome()) == "right"
    assert "wrong" in verdict(c, outcome(faults=[("heel_lifted", 0, 0)]))
    assert "wrong" in verdict(c, outcome(refused=[("wrong_view", 0, 0)]))


def test_a_look_alike_is_right_only_when_no_rep_is_accepted():
    c = case({"reps_complete": 3, "faults": ["no chin-down/up component"]}, "sciatic_nerve_glide", look_alike=True)
    assert verdict(c, outcome(reps=[(11.0, ["head_still"]), (18.0, ["head_still", "knee_bent"])])) == "right"
    assert verdict(c, outcome()) == "right"  # nothing counted is nothing accepted
    assert "wrong" in verdict(c, outcome(reps=[(11.0, ["head_still"]), (18.0, [])]))


def test_described_cases():
    c = case(accuracy.DESCRIBED["supine_hamstring_handsleg_mewfit.mp4"], "hamstring_stretch_supine", described=True)
    assert verdict(c, outcome(holds=[(0.0, 5.5, "left"), (7.6, 11.0, "right")])) == "right"
    assert "wrong" in verdict(c, outcome(holds=[(0.0, 5.5, "left"), (7.6, 11.0, "left")]))
    assert "wrong" in verdict(c, outcome(holds=[(0.0, 5.5, "left")]))
    hinge = case(accuracy.DESCRIBED["rdl_side_kneebent_wrong_gazi_BL.mp4"], "hip_hinge", described=True)
    assert "wrong" in verdict(hinge, outcome(reps=[(1.5, [])]))


def test_exercise_names_and_the_cases_from_shared():
    known = {"sciatic_nerve_glide", "straight_leg_raise"}
    sentence = {"formcheck_exercise": "sciatic_nerve_glide (look-alike: must not be accepted as a correct glide)"}
    assert accuracy.exercise_of(sentence, known) == ("sciatic_nerve_glide", True)
    assert accuracy.exercise_of({"formcheck_exercise": "wall_sit"}, known) == (None, False)
    assert accuracy.exercise_of({"formcheck_exercise": "straight_leg_raise"}, known) == ("straight_leg_raise", False)
    assert accuracy.row(case({"exercise": "wall_sit_isometric"}, None), None)[3] == "not judged"

    from formcheck.exercises import CATALOGUE

    assert accuracy.SHARED == SHARED
    cases = accuracy.cases(CATALOGUE)
    assert all(c.path.exists() for c in cases)
    assert {c.media for c in cases} >= set(accuracy.DESCRIBED)
    assert any(c.look_alike for c in cases) and any(c.exercise is None for c in cases)


def test_the_total_line_counts_judged_rows_only():
    rows = [("a", "", "", "right"), ("b", "", "", "**wrong**: x"), ("c", "", "no checker", "not judged")]
    assert accuracy.markdown(rows).splitlines()[-1] == "**1 of 2 right** (1 not judged: no checker)"
