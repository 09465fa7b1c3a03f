"""The therapist's page: their patients (adherence, last pain, flags), prescriptions, trends, and each session
with its table, a stick-figure replay (rendered once per session, then cached), fault moments, notes and exports."""

from __future__ import annotations

import json

import streamlit as st

from formcheck.dosing import variant_label
from formcheck.exercises import CATALOGUE
from ui.common import account_controls, clinic, show_note
from ui.state import page_state


@st.cache_data(max_entries=16, show_spinner="Drawing the stick-figure replay …")
def replay_media(session_id: int, exercise: str, video_kept: bool, _landmarks: bytes, _faults: list[dict]):
    """A stored session's stick-figure video (None when its video was kept) and its fault moments as
    (caption, PNG): drawn once per session (a session never changes once saved), not on every rerun of the
    page. Called only after the clinic checked that the caller may see the session."""
    from formcheck.replay import fault_moments, load_series, skeleton_video_bytes

    series = load_series(_landmarks)
    return (None if video_kept else skeleton_video_bytes(series, exercise)), fault_moments(series, exercise, _faults)


def prescribe_form(actor, pid: int) -> None:
    from formcheck.errors import FormcheckError
    from formcheck.overrides import parse_overrides

    c = clinic()
    with st.expander("Prescribe an exercise"), st.form("prescribe"):
        exercise = st.selectbox("Exercise", list(CATALOGUE), format_func=lambda n: CATALOGUE[n].title)
        cols = st.columns(5)
        sets = cols[0].number_input("Sets", 1, 10, 3)
        reps = cols[1].number_input("Reps (rep exercises)", 0, 50, 10)
        hold = cols[2].number_input("Hold s (stretches)", 0, 120, 30)
        rest = cols[3].number_input("Rest s between sets", 0, 600, 60)
        per_week = cols[4].number_input("Times a week", 1, 21, 7)
        extra = st.text_input("Thresholds (NAME=VALUE, comma separated, e.g. knee_bent_deg=125)")
        if st.form_submit_button("Save prescription"):
            try:
                settings = parse_overrides(extra, "a threshold")
                kind = CATALOGUE[exercise].kind
                c.prescribe(actor, pid, exercise, int(sets), (int(reps) or None) if kind == "reps" else None,
                            (float(hold) or None) if kind == "hold" else None, int(per_week), settings,
                            rest_s=float(rest))
                st.success("Prescription saved: the patient's page follows it now.")
            except FormcheckError as exc:
                st.error(str(exc))
    for p in c.prescriptions(actor, pid):
        st.caption(f"Prescribed: {CATALOGUE[p['exercise']].title}, {p['sets']} sets"
                   + (f" × {p['reps']} reps" if p["reps"] else "")
                   + (f", hold {p['hold_s']:.0f} s" if p["hold_s"] else "") + f", {p['per_week']}× a week"
                   + (f", {p['rest_s']:.0f} s rest" if p.get("rest_s") is not None else "")
                   + (f", {variant_label(p['exercise'], p['variant']).lower()}" if p.get("variant") else "")
                   + (f", {p['settings']}" if p["settings"] else ""))


def flags_to_look_at(actor, pid: int) -> None:
    """The patient's open flags (a Yes in the screen, a stop during a set, pain up, a recurring fault), each
    open until acknowledged."""
    c = clinic()
    flags = c.open_flags(actor, pid)
    st.subheader(f"Flags ({len(flags)})")
    if not flags:
        st.caption("No open flags.")
    for flag in flags:
        text, button = st.columns([5, 1], vertical_alignment="center")
        text.warning(f"{flag['raised_at']:%d %b %H:%M} · {flag['text']}")
        if button.button("Acknowledge", key=f"ack-{flag['id']}"):
            c.acknowledge_flag(actor, pid, flag["id"])
            st.rerun()


def next_steps(actor, pid: int) -> None:
    """Progression suggested by the patient's sessions (`Clinic.next_steps`): accept (the prescription moves on,
    the patient sees "next step") or decline (suggested again after as many new sessions at target)."""
    c = clinic()
    steps = c.next_steps(actor, pid)
    if not steps:
        return
    st.subheader("Suggested next steps")
    for step in steps:
        text, accept, decline = st.columns([4, 1, 1], vertical_alignment="center")
        text.info(f"{step['text']} ({len(step['basis'])} sessions at target; source: {step['source']})")
        if accept.button("Accept", key=f"accept-{step['id']}"):
            c.accept_step(actor, step["id"])
            st.rerun()
        if decline.button("Decline", key=f"decline-{step['id']}"):
            c.decline_step(actor, step["id"])
            st.rerun()


def trends(sessions: list[dict]) -> None:
    from formcheck.charts import trend_chart
    from formcheck.trends import trend_rows

    rows = trend_rows(sessions)
    if rows:
        st.altair_chart(trend_chart(rows))


def session_view(actor, session: dict) -> None:
    """One stored session: its table, the replay (or the kept video), fault moments, notes, exports."""
    from formcheck.errors import FormcheckError
    from formcheck.replay import load_series
    from formcheck.report import html_report, report_json

    c = clinic()
    full = c.session(actor, session["id"])
    report = full["report"]
    st.write(f"{report['summary']['rep_count']} reps, {report['summary']['hold_count']} holds; faults: "
             + (", ".join(session["faults"]) or "none"))
    if report.get("sets"):
        st.dataframe(report["sets"], hide_index=True)
    if report["reps"]:
        st.dataframe([{"rep": r["index"], "start s": r["start_s"], "end s": r["end_s"], **r["metrics"],
                       "faults": ", ".join(r["faults"])} for r in report["reps"]], hide_index=True)
    if report["holds"]:
        st.dataframe([{k: h[k] for k in ("start_s", "end_s", "duration_s", "correct_s", "side")}
                      for h in report["holds"]], hide_index=True)
    faults = report["faults"][:6]
    replay, moments = replay_media(full["id"], full["exercise"], full["video"] is not None, full["landmarks"], faults)
    st.video(full["video"] if full["video"] is not None else replay)
    if moments:
        st.caption("Fault moments")
        st.image([png for _, png in moments], caption=[caption for caption, _ in moments], width=300)
    for note in c.notes(actor, full["id"]):
        show_note(note)
    with st.form("note", clear_on_submit=True):
        text = st.text_area("Note to the patient")
        at_s = st.number_input("About the moment (s into the session, optional)", 0.0, 3600.0, 0.0)
        if st.form_submit_button("Send note"):
            try:
                c.add_note(actor, full["id"], text, at_s or None)
                st.success("Sent: the patient sees it on their page.")
            except FormcheckError as exc:
                st.error(str(exc))
    cols = st.columns(3)
    sid = full["id"]
    cols[0].download_button("Session (JSON)", report_json(report), f"formcheck-session-{sid}.json", "application/json")
    cols[1].download_button("Landmarks (CSV)", load_series(full["landmarks"]).to_csv(),
                            f"formcheck-session-{sid}-landmarks.csv", "text/csv")
    cols[2].download_button("Printable report (HTML)", html_report(report, moments), f"formcheck-session-{sid}.html",
                            "text/html")


def patient_account(actor, patient: dict) -> None:
    """A patient's account: a new password when they forgot theirs, or disabling it (the sessions stay)."""
    with st.expander("Patient's account" + (" (disabled)" if patient["disabled"] else "")):
        account_controls(actor, patient["id"], patient["disabled"], "New password (give it to the patient)",
                         "New password set: the patient chooses their own at next sign-in.")


def page() -> None:
    from formcheck.errors import FormcheckError

    actor = page_state().actor
    c = clinic()
    st.header("Your patients")
    with st.expander("Add a patient"), st.form("new-patient", clear_on_submit=True):
        username = st.text_input("Patient's username")
        name = st.text_input("Name")
        password = st.text_input("First password (give it to the patient)", type="password")
        if st.form_submit_button("Add patient"):
            try:
                c.create_user(actor, username, password, "patient", name)
                st.success(f"Added {name or username}.")
            except FormcheckError as exc:
                st.error(str(exc))
    patients = c.patients(actor)
    if not patients:
        st.info("No patients yet.")
        return
    overview = []
    for p in patients:
        sessions = c.sessions(actor, p["id"])
        last = next((s for s in reversed(sessions) if s["pain_after"] is not None), None)
        adherence = c.adherence(actor, p["id"])
        overview.append({"patient": p["name"], "this week": ", ".join(
            f"{a['exercise']} {a['done']}/{a['prescribed']}" for a in adherence) or "no prescription",
            "last pain": last["pain_after"] if last else None, "flags": "; ".join(c.flags(actor, p["id"]))})
    st.table(overview, hide_index=True)
    chosen = st.selectbox("Patient", patients, format_func=lambda p: f"{p['name']} ({p['username']})"
                          + (" · disabled" if p["disabled"] else ""))
    pid = chosen["id"]
    patient_account(actor, chosen)
    flags_to_look_at(actor, pid)
    next_steps(actor, pid)
    prescribe_form(actor, pid)
    sessions = c.sessions(actor, pid)
    if not sessions:
        st.info("No sessions yet.")
        return
    st.subheader("Trends")
    trends(sessions)
    st.subheader("Sessions")
    chosen_session = st.selectbox("Session", list(reversed(sessions)), format_func=lambda s: (
        f"{s['created_at']:%d %b %H:%M} · {CATALOGUE[s['exercise']].title} · {s['source']} · pain "
        f"{s['pain_before']}→{s['pain_after']}"))
    session_view(actor, chosen_session)
    st.download_button("Export this patient (JSON)", json.dumps(c.export_patient(actor, pid), default=str, indent=1),
                       f"formcheck-patient-{pid}.json", "application/json")
