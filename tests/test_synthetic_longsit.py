"""The seated long-sit, end to end from landmarks and silhouette (no real video of it exists here):
a fold from the hips holds cleanly, the same reach made by rounding the back is flagged."""

import numpy as np

from formcheck.session import Session
from synthetic_body import H, W, seated

FPS = 25.0


def session_for(curl: float):
    session = Session("hamstring_stretch_seated", W, H)
    for t in np.arange(0, 10, 1 / FPS):
        lean = 0.0 if t < 2 else min(40.0, 40.0 * (t - 2))  # sit tall 2 s, fold in 1 s, hold
        session.add(seated(float(t), lean, curl), float(t))
    return session.finish()


def test_hinging_from_the_hips_holds_without_fault():
    analysis = session_for(curl=0.0)
    assert len(analysis.result.holds) == 1
    assert analysis.result.faults == []
    assert analysis.result.holds[0].metrics["max_back_bow"] < 0.03


def test_rounding_the_back_for_the_same_reach_is_back_rounded():
    analysis = session_for(curl=0.8)
    assert "back_rounded" in {f.code for f in analysis.result.faults}
    hold = analysis.result.holds[0]
    assert hold.metrics["max_back_bow"] >= 0.05
    assert hold.correct_s < hold.duration_s - 3.0  # the rounded time does not count as correct
