"""The page, run by Streamlit's own test harness: the safety screen comes before any exercise."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


@pytest.fixture(autouse=True)
def errors_raise(monkeypatch):
    """The page turns an unexpected error into a plain message; here it must show as the exception it is."""
    monkeypatch.setenv("FORMCHECK_DEBUG", "1")


def test_page_asks_the_safety_questions_first():
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    from formcheck import safety

    assert len(at.radio) == len(safety.QUESTIONS) and "Never stretch into sharp pain" in at.caption[0].value
    assert at.selectbox == [] or len(at.selectbox) == 0  # no exercise before the screen is answered


MODE = 9  # the mode's radio comes after the safety screen's questions (one radio each)


def answered(**yes: bool) -> AppTest:
    """Every safety question answered: No, except those given as Yes (by their key in safety.QUESTIONS)."""
    from formcheck import safety

    assert len(safety.QUESTIONS) == MODE
    at = AppTest.from_file(APP, default_timeout=30).run()
    for i, key in enumerate(safety.QUESTIONS):
        at.radio[i].set_value("Yes" if yes.get(key) else "No")
    return at.run()


def test_thrombosis_signs_block_exercising():
    at = answered(leg_swelling=True)
    assert any("thrombosis" in e.value and "see a doctor" in e.value for e in at.error)
    assert len(at.selectbox) == 0


def test_nerve_symptoms_warn_and_clear_screen_shows_the_exercises(monkeypatch):
    import streamlit_webrtc.component as component

    monkeypatch.setattr(component, "get_this_session_info", lambda: None)
    at = answered(nerve_symptoms=True)
    assert not at.exception
    assert any("no stretching today" in w.value and "Consult a professional" in w.value for w in at.warning)
    from formcheck.exercises import CATALOGUE

    offered = set(at.selectbox[0].options)
    assert "Seated sciatic nerve glide" in offered  # the gentler alternative stays
    assert not any("stretch" in title.lower() for title in offered)  # nerve symptoms: stop stretching
    assert offered == {spec.title for name, spec in CATALOGUE.items() if "stretch" not in name}


def test_clear_screen_offers_every_exercise(monkeypatch):
    import streamlit_webrtc.component as component

    from formcheck.exercises import CATALOGUE

    monkeypatch.setattr(component, "get_this_session_info", lambda: None)
    at = answered()
    assert set(at.selectbox[0].options) == {spec.title for spec in CATALOGUE.values()}


def test_live_mode_shows_the_camera_component_and_the_counter(monkeypatch):
    """AppTest cannot run WebRTC: with streamlit-webrtc's session lookup patched to "no session" the page
    still lays out the live view."""
    import streamlit_webrtc.component as component

    monkeypatch.setattr(component, "get_this_session_info", lambda: None)
    at = answered()
    assert not at.exception
    assert [m.label for m in at.metric][:2] == ["Reps", "Set"]  # the default exercise counts reps, in sets
    assert [m.value for m in at.metric][:2] == ["0 / 10", "1 of 3"]
    assert at.toggle[0].label == "Speak the cues"
    at.radio[MODE].set_value("Review a recorded video").run()
    assert not at.exception


def test_before_start_the_page_shows_how_to_do_it_and_the_plan_of_sets(monkeypatch):
    """The how-to: the exercise's steps (or its set-up, until it has steps) and its looping stick-figure demo;
    the plan: sets, reps and rest, and the countdown after START."""
    import streamlit_webrtc.component as component

    monkeypatch.setattr(component, "get_this_session_info", lambda: None)
    at = answered()
    texts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert "**How to do it**" in texts
    assert any("3 sets × 10 reps, 60 s rest" in t and "countdown" in t for t in texts)
    assert len(at.get("image")) == 1  # the demo (an animated GIF drawn from recorded landmarks)


def test_the_review_mode_offers_the_sample_clip(monkeypatch):
    import streamlit_webrtc.component as component

    monkeypatch.setattr(component, "get_this_session_info", lambda: None)
    at = answered()
    at.radio[MODE].set_value("Review a recorded video").run()
    assert not at.exception
    assert "Try the sample" in [b.label for b in at.button]


@pytest.mark.integration
@pytest.mark.parametrize("title, labels", [
    ("Straight-leg raise", ["Reps", "With a fault", "Faults seen"]),
    ("Single-leg balance", ["Holds", "Longest hold", "Total held"]),
])
def test_the_sample_review_shows_figures_in_the_exercises_own_terms(monkeypatch, title, labels):
    """The shipped sample analysed on the review page (the real model, in its child process): a rep exercise's
    figures are reps, a hold's are holds (no "Holds 0" over a leg raise)."""
    import streamlit_webrtc.component as component

    monkeypatch.setattr(component, "get_this_session_info", lambda: None)
    at = answered()
    at.selectbox[0].set_value(title).run()
    next(r for r in at.radio if "Review a recorded video" in r.options).set_value("Review a recorded video").run()
    next(b for b in at.button if b.label == "Try the sample").click().run(timeout=300)
    assert not at.exception
    assert [m.label for m in at.metric] == labels
    first = at.metric[0].value
    assert first == ("3" if title == "Straight-leg raise" else "1")  # dk2's 3 raises; the balance sample's stance
