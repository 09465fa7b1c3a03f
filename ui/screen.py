"""The safety screen: every question of `formcheck.safety.QUESTIONS` (the leg's symptoms and the thrombosis risk
factors), asked before any exercise, and today's verdict (`safety.screen`; for a signed-in patient together with
the day's stored screens and stops, `Clinic.verdict_today`; for a guest with this browser session's stops). Once
every question is answered they collapse to one line (an expander that opens again to change an answer)."""

from __future__ import annotations

import streamlit as st

from formcheck import safety
from formcheck.exercises import CATALOGUE
from ui.common import clinic
from ui.state import W, page_state


def answers() -> dict[str, bool | None]:
    """The answers so far (True = Yes, False = No, None = not yet), as the widgets hold them (also while hidden)."""
    given = {k: st.session_state.get(W.screen_key(k)) for k in safety.QUESTIONS}
    return {k: None if v is None else v == "Yes" for k, v in given.items()}


def answered() -> bool:
    return not safety.unanswered(answers())


def patient():
    """The signed-in patient (None for a guest or anyone else)."""
    actor = page_state().actor
    return actor if actor is not None and actor.role == "patient" else None


def verdict() -> safety.Verdict:
    """Today's verdict: these answers, plus whatever earlier today still holds (a stop during a set, an earlier
    screen's Yes)."""
    s, actor = page_state(), patient()
    now = safety.screen({k: v for k, v in answers().items() if v is not None})
    if actor is not None:
        return safety.combine(now, clinic().verdict_today(actor, actor.id))
    return safety.combine(now, *(safety.stop_during_set(e) for e in s.guest_stops))


def may_exercise(today: safety.Verdict) -> bool:
    return answered() and not today.blocked


def one_line() -> str:
    yes = [safety.LABELS[k] for k, v in answers().items() if v]
    return "Safety questions answered: " + ("Yes to " + "; ".join(yes) if yes else "no symptoms, no risk factors")


def record(given: dict[str, bool | None]) -> None:
    """A signed-in patient's answers are stored once per change (their therapist sees a Yes as a flag)."""
    s, actor = page_state(), patient()
    if actor is not None and s.screen_recorded != tuple(given.items()):
        s.screen_id = clinic().record_screen(actor, given)
        s.screen_recorded = tuple(given.items())


def show_verdict(v: safety.Verdict) -> None:
    """What today's verdict means: each advice with its source, and what is not offered today."""
    if v.blocked:
        st.error("**Do not exercise today.**\n\n" + "\n\n".join(v.advice))
        return
    off = [CATALOGUE[n].title for n in CATALOGUE if n in v.excluded]
    if v.excluded or v.caution:
        st.warning("\n\n".join(v.advice + ([f"Not offered today: {', '.join(off)}."] if off else [])))
    elif v.advice:
        st.info("\n\n".join(v.advice))


def safety_screen(today: safety.Verdict) -> bool:
    """Ask (or show collapsed) every question; returns whether exercising may go on under `today` (`verdict()`,
    which already holds these answers). A signed-in patient's answers are stored (a Yes stays a flag on the
    therapist's list until they acknowledge it)."""
    done = answered()
    with st.container(key="safety-screen"), st.expander(f"✓ {one_line()}" if done else "Before you start",
                                                          expanded=not done):
        for key, question in safety.QUESTIONS.items():
            if key == safety.RISK_FACTORS[0]:
                st.caption("Risk factors for a blood clot (thrombosis):")
            st.radio(question, ["No", "Yes"], index=None, horizontal=True, key=W.screen_key(key),
                     persist_state="page")
    given = answers()
    missing = safety.unanswered(given)
    if missing:
        st.info(f"Please answer every question first ({len(missing)} left).")
        return False
    record(given)
    show_verdict(today)
    return not today.blocked
