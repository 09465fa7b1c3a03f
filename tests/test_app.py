"""The page, run by Streamlit's own test harness: the safety screen comes before any exercise."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_page_asks_the_safety_questions_first():
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert len(at.radio) == 2 and "Never stretch into sharp pain" in at.caption[0].value
    assert at.selectbox == [] or len(at.selectbox) == 0  # no exercise before the screen is answered


def answered(calf: str, nerve: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.radio[0].set_value(calf)
    at.radio[1].set_value(nerve)
    return at.run()


def test_thrombosis_signs_block_exercising():
    at = answered("Yes", "No")
    assert any("thrombosis" in e.value for e in at.error)
    assert len(at.selectbox) == 0


def test_nerve_symptoms_warn_and_clear_screen_shows_the_exercises(monkeypatch):
    import streamlit_webrtc.component as component

    monkeypatch.setattr(component, "get_this_session_info", lambda: None)
    at = answered("No", "Yes")
    assert not at.exception
    assert any("stop stretching" in w.value for w in at.warning)
    from formcheck.exercises import CATALOGUE

    offered = set(at.selectbox[0].options)
    assert "Seated sciatic nerve glide" in offered  # the gentler alternative stays
    assert not any("stretch" in title.lower() for title in offered)  # nerve symptoms: stop stretching
    assert offered == {spec.title for name, spec in CATALOGUE.items() if "stretch" not in name}


def test_clear_screen_offers_every_exercise(monkeypatch):
    import streamlit_webrtc.component as component

    from formcheck.exercises import CATALOGUE

    monkeypatch.setattr(component, "get_this_session_info", lambda: None)
    at = answered("No", "No")
    assert set(at.selectbox[0].options) == {spec.title for spec in CATALOGUE.values()}


def test_live_mode_shows_the_camera_component_and_the_counter(monkeypatch):
    """AppTest cannot run WebRTC: with streamlit-webrtc's session lookup patched to "no session" the page
    still lays out the live view."""
    import streamlit_webrtc.component as component

    monkeypatch.setattr(component, "get_this_session_info", lambda: None)
    at = answered("No", "No")
    assert not at.exception
    assert [m.label for m in at.metric][:1] == ["Reps"]  # the default exercise counts reps
    assert at.toggle[0].label == "Speak the cues"
    at.radio[2].set_value("Review a recorded video").run()
    assert not at.exception
