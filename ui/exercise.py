"""The patient's (or a guest's) page: the safety screen, the exercise (a signed-in patient's prescription),
then the live workout or the review of a recorded video; a patient's sessions and their therapist's notes.

Once the camera starts, everything above it collapses to one line, so the camera, the counter and the set
fill the first screen. The header is laid out after the workout (into a container placed above it), since
what it shows depends on whether the camera is on.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from formcheck.dosing import VARIANTS, variant_label
from formcheck.exercises import CATALOGUE
from formcheck.workout import WorkoutPlan
from ui.common import clinic, show_note
from ui.live import live_section
from ui.review import end_unused_coach, review_section
from ui.screen import may_exercise, one_line, safety_screen, verdict
from ui.state import LIVE, REVIEW, W, page_state


@dataclass(frozen=True)
class Choice:
    """The exercise about to be done, with the settings in force and its plan of sets."""

    exercise: str
    params: dict | None
    plan: WorkoutPlan
    prescriptions: tuple = ()  # a signed-in patient's prescriptions on offer today
    prescription: dict | None = None  # the one chosen of them
    offered: tuple[str, ...] = ()  # every exercise on offer today (the safety screen's verdict)


def prescription_label(p: dict) -> str:
    return (f"{CATALOGUE[p['exercise']].title}: {p['sets']} sets" + (f" × {p['reps']}" if p.get("reps") else "")
            + (f", hold {p['hold_s']:.0f} s" if p.get("hold_s") else ""))


def current_choice(actor, names: list[str]) -> Choice | None:
    """What the picker holds (its widget's value, also while hidden), or its first option; None when nothing is
    on offer today (every exercise stopped or excluded)."""
    from formcheck.clinic import Clinic

    if not names:
        return None
    if actor is not None and actor.role == "patient":
        prescriptions = tuple(p for p in clinic().prescriptions(actor, actor.id) if p["exercise"] in names)
        if prescriptions:
            chosen = {p["id"]: p for p in prescriptions}.get(st.session_state.get(W.PRESCRIPTION), prescriptions[0])
            params = Clinic.checker_settings(chosen)
            spec = CATALOGUE[chosen["exercise"]]
            plan = WorkoutPlan.for_exercise(spec, spec.params(params), rest_s=chosen.get("rest_s"))
            return Choice(chosen["exercise"], params, plan, prescriptions, chosen, tuple(names))
    name = st.session_state.get(W.EXERCISE)
    name = name if name in names else names[0]
    spec = CATALOGUE[name]
    return Choice(name, None, WorkoutPlan.for_exercise(spec, spec.params()), offered=tuple(names))


def picker(actor, choice: Choice) -> None:
    """The exercise (a patient's prescriptions, else the catalogue), pain before, set-up, and the mode."""
    if choice.prescriptions:
        st.selectbox("Your exercise", [p["id"] for p in choice.prescriptions], key=W.PRESCRIPTION,
                     persist_state="page",
                     format_func=lambda i: prescription_label(next(p for p in choice.prescriptions if p["id"] == i)))
    else:
        if actor is not None and actor.role == "patient":
            st.info("None of your prescribed exercises is on offer today (see above): you can try another one "
                    "meanwhile." if clinic().prescriptions(actor, actor.id) else
                    "Nothing prescribed for today yet: you can try an exercise meanwhile.")
        st.selectbox("Exercise", choice.offered, key=W.EXERCISE, persist_state="page",
                     format_func=lambda n: CATALOGUE[n].title)
    next_step_line(actor)
    variant_picker(choice)
    if actor is not None:
        st.slider("Pain before you start (0 = none, 10 = worst)", 0, 10, 0, key=W.PAIN_BEFORE, persist_state="page")
    spec = CATALOGUE[choice.exercise]
    st.markdown(f"**Camera set-up:** {spec.camera}  \n**Checked:** {spec.measures}")
    st.radio("Mode", [LIVE, REVIEW], horizontal=True, key=W.MODE, persist_state="page")


def variant_picker(choice: Choice) -> None:
    """Balance: eyes open, eyes closed or on a cushion, chosen before the set and saved with it; the
    prescription's variant first."""
    if choice.exercise not in VARIANTS:
        return
    options = list(VARIANTS[choice.exercise])
    prescribed = (choice.prescription or {}).get("variant")
    st.radio("Variant", options, index=options.index(prescribed) if prescribed in options else 0, horizontal=True,
             key=W.VARIANT, persist_state="page", format_func=lambda v: variant_label(choice.exercise, v))


def next_step_line(actor) -> None:
    """The next steps the therapist accepted (still the current prescription), one line each."""
    if actor is None or actor.role != "patient":
        return
    current = {p["id"] for p in clinic().prescriptions(actor, actor.id)}
    for step in clinic().steps(actor, actor.id):
        if step["status"] == "accepted" and current & set(step["result"] or ()):
            st.success(f"Next step: {step['text']}", icon=":material/trending_up:")


def my_sessions(actor) -> None:
    if actor is None or actor.role != "patient":
        return
    sessions = clinic().sessions(actor, actor.id)
    if not sessions:
        return
    with st.expander(f"My sessions and my therapist's notes ({len(sessions)})", expanded=True):
        for s in reversed(sessions):
            st.markdown(f"**{s['created_at']:%d %b %H:%M}** · {CATALOGUE[s['exercise']].title} · "
                        f"{s['summary']['rep_count']} reps, {s['summary']['hold_count']} holds")
            for note in clinic().notes(actor, s["id"]):
                show_note(note, to_patient=True)
    seen = [e for e in clinic().access_log(actor, actor.id) if e["username"] != actor.username]
    if seen:
        with st.expander(f"Who has seen my data ({len(seen)})"):
            st.table([{"when": f"{e['at']:%d %b %Y %H:%M}", "who": f"{e['who']} ({e['role']})", "what": e["what"]}
                      for e in reversed(seen)])


def page() -> None:
    actor = page_state().actor
    header = st.container()
    today = verdict()  # once a run: for a patient it reads the day's stored screens and stops
    if not may_exercise(today):
        end_unused_coach()
        with header:
            safety_screen(today)
        my_sessions(actor)
        return
    choice = current_choice(actor, today.allowed(list(CATALOGUE)))
    if choice is None:
        end_unused_coach()
        with header:
            safety_screen(today)
            st.info("No exercise is left for today: rest, and follow the advice above.")
        my_sessions(actor)
        return
    live = st.session_state.get(W.MODE, LIVE) == LIVE
    with st.container():
        if live:
            on = live_section(choice.exercise, choice.params, choice.plan)
        else:
            end_unused_coach()
            review_section(choice.exercise, choice.params)
            on = False
    with header:
        if on:  # the workout view: what was answered and chosen, in one line
            st.markdown(f"✓ {one_line()} · **{CATALOGUE[choice.exercise].title}** · {choice.plan.describe()}")
        elif safety_screen(today):
            picker(actor, choice)
    if not on:
        my_sessions(actor)
