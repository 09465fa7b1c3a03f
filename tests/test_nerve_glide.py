"""The seated sciatic nerve glide on synthetic series (no real video of it exists yet): reps counted,
a held end position and a head moving against the foot are caught, a correct glide is clean."""

import numpy as np

from conftest import standing
from formcheck.exercises import make_checker

FPS = 30.0


def glide(reps=4, period=2.0, head_sign=1.0, hold_top_s=0.0, rest_s=0.0, tail_s=1.0, fps=FPS):
    """Ankle 80° (toes up) ↔ 130° (pointed); head pitch follows (+) or opposes (−) the ankle."""
    out, t = [], 0.0
    phases = []
    for _ in range(reps):
        phases += [("move", period / 2, 80, 130), ("hold", hold_top_s, 130, 130), ("move", period / 2, 130, 80),
                   ("hold", rest_s, 80, 80)]
    for _, duration, a, b in phases:
        for u in np.arange(0, duration, 1 / fps):
            x = u / duration if duration else 1.0
            ankle = a + (b - a) * 0.5 * (1 - np.cos(np.pi * x))
            out.append(seated_glide(t, ankle, head_sign * (ankle - 105) * 0.6))
            t += 1 / fps
    for _ in range(int(tail_s * fps)):
        out.append(seated_glide(t, 80.0, head_sign * -15.0))
        t += 1 / fps
    return out


def seated_glide(t, ankle, head):
    return standing(float(t), 0.0, shoulder_spread=0.1, knee_left_deg=170.0, knee_right_deg=95.0,
                    ankle_left_deg=ankle, ankle_right_deg=100.0, head_pitch_deg=head)


def run(records):
    checker = make_checker("sciatic_nerve_glide")
    for k in records:
        checker.update(k)
    return checker.finish()


def test_correct_glides_count_and_are_clean():
    result = run(glide(reps=4))
    assert len(result.reps) == 4 and result.faults == []
    assert all(r.metrics["head_ankle_correlation"] > 0.9 for r in result.reps)


def test_holding_the_pointed_end_fires_held_end_range():
    result = run(glide(reps=3, hold_top_s=2.0))
    assert len(result.reps) == 3 and "held_end_range" in {f.code for f in result.faults}


def test_holding_the_toes_up_end_between_reps_fires_but_resting_after_the_set_does_not():
    assert "held_end_range" in {f.code for f in run(glide(reps=3, rest_s=2.0)).faults}
    assert "held_end_range" not in {f.code for f in run(glide(reps=3, tail_s=5.0)).faults}


def test_head_against_the_foot_is_out_of_phase():
    result = run(glide(reps=3, head_sign=-1.0))
    assert [r.faults for r in result.reps] == [["out_of_phase"]] * 3
    assert all(f.rep in (1, 2, 3) for f in result.faults)
