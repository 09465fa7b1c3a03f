"""The page's session state, typed: one `PageState` per browser session instead of loose st.session_state keys.

Widgets keep their own values under the keys in `W` (with persist_state="page", so a widget hidden while the
workout view is on keeps its value); everything else the page remembers between reruns is a field here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

_KEY = "formcheck"


class W:
    """Keys of the widgets whose values other parts of the page read."""

    SCREEN = "screen-"  # + a key of formcheck.safety.QUESTIONS: one radio per question (see `screen_key`)
    EXERCISE = "exercise"
    PRESCRIPTION = "prescription"
    PAIN_BEFORE = "pain-before"
    MODE = "mode"
    VOICE = "voice"
    VARIANT = "variant"  # the balance variant chosen before the set (formcheck.dosing.VARIANTS)
    STOP = "stop-symptom"  # the live page's big "Stop — tingling, numbness or sharp pain" button

    @staticmethod
    def screen_key(question: str) -> str:
        return W.SCREEN + question


LIVE, REVIEW = "Exercise live", "Review a recorded video"


@dataclass
class LiveSummary:
    """What STOP shows: the workout's analysis (None if no frame came) and its table of sets."""

    analysis: Any  # formcheck.session.Analysis | None
    sets: list[dict]
    variant: str | None = None  # the balance variant the set was done in, saved with it
    stop_id: int | None = None  # a signed-in patient's stop (clinic.stop_during_set) that ended the set
    stopped: list[str] | None = None  # the stop's advice (formcheck.safety.stop_during_set) when it ended so
    landmarks: dict | None = None  # where the landmarks came from, when the browser found them (saved with it)


@dataclass
class PageState:
    actor: Any = None  # formcheck.clinic.Actor of whoever signed in; None for a guest
    token: str | None = None  # the sign-in's token (Clinic.start_session), also in the browser's cookie
    cookie_tried: bool = False  # the browser's cookie was tried once (a reload's sign-in)
    identity_tried: bool = False  # the identity provider's sign-in (st.user) was tried once
    identity_refused: bool = False  # ... and no account goes with it
    ended: bool = False  # the sign-in ended elsewhere (ui/sign_in.py says so once signed out)
    live_slot: Any = None  # formcheck.limits.Slot: this session's place among the server's live coaches
    screen_recorded: tuple | None = None  # the answers last stored for a signed-in patient
    screen_id: int | None = None  # the stored screen a saved session refers to
    coach: Any = None  # formcheck.coach_process.CoachProcess, started ahead of START
    coach_for: tuple | None = None  # (exercise, params, plan) the coach was made for
    was_playing: bool = False  # the camera was on at the end of the last run (its end = STOP)
    grant: Any = None  # formcheck.web.channel.Grant: the browser's live set (its token and coach)
    grant_for: tuple | None = None  # (exercise, params, plan) it was made for
    browser_on: bool = False  # the browser's live set runs (its START came, no STOP yet)
    pose_refused: str | None = None  # why this browser cannot run the pose model (then the server finds it)
    scrolled: bool = False  # the workout view was scrolled to the top when it came up
    summary: LiveSummary | None = None
    summary_shown: bool = False  # the page was scrolled to the summary once
    spoken: tuple[int, str] | None = None  # the last cue said aloud
    review: Any = None  # (formcheck.review.Review, annotated clip bytes) of the video under review
    review_for: tuple | None = None  # what it was made from (file id or sample, exercise, params)
    sample: str | None = None  # the exercise whose sample clip is under review ("Try the sample")
    guest_stops: list[str] = field(default_factory=list)  # a guest's stopped exercises: off for this session


def chosen_variant(exercise: str) -> str | None:
    """The balance variant picked before the set (None for an exercise without variants)."""
    from formcheck.dosing import VARIANTS

    chosen = st.session_state.get(W.VARIANT)
    return (chosen if chosen in VARIANTS[exercise] else next(iter(VARIANTS[exercise]))) \
        if exercise in VARIANTS else None


def page_state() -> PageState:
    """This browser session's state (made at its first run)."""
    if _KEY not in st.session_state:
        st.session_state[_KEY] = PageState()
    return st.session_state[_KEY]


def sign_out() -> None:
    """Forget everything of this browser session (its widgets too); its live set's token ends."""
    if _KEY in st.session_state and st.session_state[_KEY].grant is not None:
        from formcheck.web.routes import REGISTRY

        REGISTRY.revoke_session(st.session_state[_KEY].grant.session_id)
    for key in list(st.session_state):
        del st.session_state[key]
