"""Single-leg balance on a real side-on clip with the real model: a stance supported by a hand on a rail."""

import pytest

from conftest import clip
from formcheck.analyze import analyze_video

pytestmark = pytest.mark.integration

# kneeflex_standing_kan10, by eye from frames 0.1–0.25 s apart (feet cropped and enlarged; the free foot is the
# near one, so on the floor it would be drawn lower than the standing foot, never higher): side-on, the right
# hand on the rail, she stands on her right leg (the far one) from the first frame. The free foot curls up
# behind, hovers a few centimetres off the floor behind the standing foot (about 6–9.5 s), and touches down
# once: its toes on the floor from about 16.55 s to 17.25 s. Then it is up again to the end (21.7 s).
KAN10_STANCES = [(0.0, 16.55), (17.25, 21.7)]
TOLERANCE_S = 0.3  # the foot comes down and goes up over a few frames, toes last


def test_side_on_stance_with_a_hand_on_the_rail_is_what_is_seen():
    analysis, _ = analyze_video(clip("kneeflex_standing_kan10.mp4"), "single_leg_balance")
    result = analysis.result
    assert [h.side for h in result.holds] == ["right", "right"]
    for hold, (start, end) in zip(result.holds, KAN10_STANCES):
        assert hold.start_s == pytest.approx(start, abs=TOLERANCE_S)
        assert hold.end_s == pytest.approx(end, abs=TOLERANCE_S)
    assert [(f.code, pytest.approx(f.start_s, abs=TOLERANCE_S)) for f in result.faults] == [("touch_down", 16.55)]
    assert not result.refused
