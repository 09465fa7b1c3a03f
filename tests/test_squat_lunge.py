"""Squat and lunge rep counters: synthetic depth/knee/trunk faults, and the labelled real clips."""

import json

import numpy as np
import pytest

from conftest import VIDEOS, clip, standing
from formcheck.analyze import analyze_video
from formcheck.exercises import make_checker


def squats(depth_deg: float, reps: int = 3, fps: float = 30.0, **at_bottom):
    """Knee flexion 0 → depth → 0 every 2.5 s; `at_bottom` fields are blended in with the depth."""
    out = []
    for t in np.arange(0, reps * 2.5 + 1.0, 1 / fps):
        d = 0.5 * (1 - np.cos(2 * np.pi * min(t, reps * 2.5) / 2.5))
        extra = {key: value * d for key, value in at_bottom.items()}
        out.append(standing(float(t), 0.0, shoulder_spread=0.1, knee_left_deg=178 - depth_deg * d,
                            knee_right_deg=178 - depth_deg * d, **extra))
    return out


def run(name, records, params=None):
    checker = make_checker(name, params)
    for k in records:
        checker.update(k)
    return checker.finish()


def test_squat_counts_and_deep_enough_is_clean():
    result = run("squat", squats(90.0))
    assert len(result.reps) == 3 and result.faults == []
    assert all(r.metrics["peak_knee_flexion_deg"] == pytest.approx(92, abs=1) for r in result.reps)


def test_shallow_squat_fires_too_shallow_and_the_depth_is_a_setting():
    assert {f.code for f in run("squat", squats(45.0)).faults} == {"too_shallow"}
    assert run("squat", squats(45.0), {"min_depth_deg": 40.0}).faults == []


def test_knee_past_the_toes_side_on_fires():
    result = run("squat", squats(90.0, knee_over_toe_left=0.6, knee_over_toe_right=0.6))
    assert "knee_over_toe" in {f.code for f in result.faults}


def test_lunge_trunk_lean_fires_upright_does_not():
    assert "trunk_lean" in {f.code for f in run("lunge", squats(90.0, trunk_incline_deg=45.0)).faults}
    assert "trunk_lean" not in {f.code for f in run("lunge", squats(90.0, trunk_incline_deg=10.0)).faults}


@pytest.mark.integration
@pytest.mark.parametrize("name,exercise", [("squat_side_kan6.mp4", "squat"), ("lunge_ucf101_g18c05.mp4", "lunge")])
def test_real_counts_match_labels(name, exercise):
    label = json.loads((VIDEOS / "labels-dev.json").read_text())[name]
    analysis, _ = analyze_video(clip(name), exercise)
    assert len(analysis.result.reps) == label["reps_complete"]
    # each counted rep's deepest moment is one of the labelled bottoms
    for rep in analysis.result.reps:
        assert min(abs(rep.peak_s - b) for b in label["bottoms_s"]) < 0.4


def test_lunge_depth_and_front_knee_over_toe():
    shallow = run("lunge", squats(40.0, trunk_incline_deg=5.0))
    assert "too_shallow" in {f.code for f in shallow.faults}
    over = run("lunge", squats(95.0, knee_over_toe_left=0.6, knee_over_toe_right=0.6, trunk_incline_deg=5.0))
    assert "knee_over_toe" in {f.code for f in over.faults}
    clean = run("lunge", squats(95.0, trunk_incline_deg=5.0))
    assert clean.faults == [] and len(clean.reps) == 3
