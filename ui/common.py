"""What several parts of the page share: the clinic service, the rep/hold tables, saving a session, styles."""

from __future__ import annotations

import streamlit as st

from ui.state import page_state

# The workout view is read from 2-3 m away: the counter and the set are large (≥ 48 px), the cue too.
STYLE = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 3rem; }
@media (min-width: 640px) { [data-testid="stMainBlockContainer"] { padding-left: 2.5rem; padding-right: 2.5rem; } }
.st-key-workout-counter [data-testid="stMetricValue"] { font-size: 3.5rem; line-height: 1.15; }
.st-key-workout-counter [data-testid="stMetricValue"] div { white-space: normal; }
.st-key-workout-counter [data-testid="stMetricLabel"] p { font-size: 1.1rem; }
.st-key-workout-set [data-testid="stMetricValue"] { font-size: 2.25rem; }
.st-key-workout-cue h3 { font-size: 1.8rem; }
.st-key-workout-phase p { font-size: 1.35rem; font-weight: 600; }
.st-key-workout-extra [data-testid="stMetricValue"] { font-size: 1.4rem; }
.st-key-workout-summary { scroll-margin-top: 4rem; }
.st-key-workout-stop button { min-height: 4.5rem; background: #b71c1c; border-color: #b71c1c; color: #fff; }
.st-key-workout-stop button p { font-size: 1.35rem; font-weight: 700; }
</style>"""


def style() -> None:
    st.html(STYLE)


@st.cache_resource
def clinic():
    from formcheck.clinic import Clinic
    from formcheck.store import open_store

    return Clinic(open_store())


def show_tables(analysis) -> None:
    """The reps (with their measures and faults) and the holds of an analysis."""
    result = analysis.result
    if result.reps:
        st.dataframe([{"rep": r.index, "start s": round(r.start_s, 2), "end s": round(r.end_s, 2), "side": r.side,
                       **r.metrics, "faults": ", ".join(r.faults)} for r in result.reps], hide_index=True)
    if result.holds:
        st.dataframe([{"start s": round(h.start_s, 2), "end s": round(h.end_s, 2), "held s": round(h.duration_s, 1),
                       "correct s": round(h.correct_s, 1), "side": h.side} for h in result.holds], hide_index=True)


def offer_save(analysis, report: dict, source: str, video=None, variant: str | None = None,
               stop_id: int | None = None) -> None:
    """A signed-in patient keeps the session (skeleton only, unless they opt in to the uploaded `video`), with the
    balance variant it was done in and the stop (the live page's stop button) that ended it, if any."""
    s = page_state()
    actor = s.actor
    if actor is None or actor.role != "patient":
        return
    from formcheck.clinic import landmarks_blob
    from formcheck.errors import FormcheckError
    from ui.state import W

    st.subheader("Save this session for your therapist")
    pain_after = st.slider("Pain now (0 = none, 10 = worst)", 0, 10, 0, key=f"pain-after-{source}")
    keep = st.checkbox("Also keep my video (otherwise only the stick figure is kept)", key=f"keep-{source}") \
        if video is not None else False
    if st.button("Save session", key=f"save-{source}"):
        try:
            session_id = clinic().save_session(actor, report, landmarks_blob(analysis.poses), source,
                                               pain_before=st.session_state.get(W.PAIN_BEFORE),
                                               pain_after=pain_after, screen_id=s.screen_id,
                                               video=video.getvalue() if keep else None, variant=variant,
                                               stop_id=stop_id)
        except FormcheckError as exc:  # e.g. a stopped set saved twice: its stop already has its session
            st.error(str(exc))
            return
        st.success(f"Saved (session {session_id}). Your therapist can see it now.")


def show_note(note: dict, to_patient: bool = False) -> None:
    """A therapist's note as plain text (never Markdown: no links or images from stored text), with its author."""
    at = f" · at {note['at_s']:.1f} s of the video" if note["at_s"] is not None else ""
    who = f"{note['author']} ({note['author_role']})"
    with st.container(border=True):
        st.caption(("Note from " if to_patient else "Note by ") + who + at)
        st.text(note["text"])


def account_controls(actor, user_id: int, disabled: bool, password_label: str | None = None,
                     password_done: str = "") -> None:
    """Disable or enable an account (its sign-ins end at once; its data stays), and with `password_label` set a
    new password for it (the person chooses their own at next sign-in). The clinic checks who may do what."""
    from formcheck.errors import FormcheckError

    c = clinic()
    try:
        if disabled:
            if st.button("Enable this account", key=f"enable-{user_id}"):
                c.enable_user(actor, user_id)
                st.rerun()
        elif st.button("Disable this account", key=f"disable-{user_id}",
                       help="It can no longer sign in, and its sign-ins end now; its data stays"):
            c.disable_user(actor, user_id)
            st.rerun()
        if password_label is not None:
            with st.form(f"reset-{user_id}", clear_on_submit=True):
                password = st.text_input(password_label, type="password")
                if st.form_submit_button("Set new password"):
                    c.reset_password(actor, user_id, password)
                    st.success(password_done)
    except FormcheckError as exc:
        st.error(str(exc))
