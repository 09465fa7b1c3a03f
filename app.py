"""formcheck's page: the safety screen, then live coaching through the browser's camera or the review of
a recorded video. Everything it judges comes from the `formcheck` package; this file only lays it out.

Run it with `scripts/app`. Live video goes browser → server → browser over WebRTC (streamlit-webrtc).
By default no STUN/TURN server is used (same machine or LAN); set FORMCHECK_ICE_SERVERS to a JSON list of
ICE servers (e.g. a TURN server) for patients on other networks.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import streamlit as st

from formcheck.errors import FormcheckError
from formcheck.files import remove_orphaned_scratch, scratch_dir
from formcheck.exercises import CATALOGUE
from formcheck.exercises.base import REFUSAL_CUES

MAX_UPLOAD_MB = 200


def rtc_configuration() -> dict:
    """No public STUN by default (`{}` would turn streamlit-webrtc's public defaults back on)."""
    servers = os.environ.get("FORMCHECK_ICE_SERVERS")
    return {"iceServers": json.loads(servers) if servers else []}


def safety_screen() -> bool:
    """The catalogue's red flags, asked before any exercise. Returns whether exercising may go on; a
    signed-in patient's answers are stored with their sessions (a red flag shows on the therapist's list)."""
    st.subheader("Before you start")
    calf = st.radio("Do you have pain in your calf together with swelling and redness?", ["No", "Yes"], index=None,
                    horizontal=True)
    nerve = st.radio("Do you feel tingling, numbness, burning or shooting pain in your leg?", ["No", "Yes"],
                     index=None, horizontal=True)
    if calf is None or nerve is None:
        st.info("Please answer both questions first.")
        return False
    actor = st.session_state.get("actor")
    if actor is not None and actor.role == "patient" and st.session_state.get("screened") != (calf, nerve):
        st.session_state.screen_id = clinic().record_screen(actor, calf == "Yes", nerve == "Yes")
        st.session_state.screened = (calf, nerve)
    if calf == "Yes":
        st.error("These can be signs of a blood clot (thrombosis). Do not exercise: see a doctor today.")
        return False
    st.session_state.no_stretching = nerve == "Yes"
    if nerve == "Yes":
        st.warning("Nerve symptoms: stop stretching and see a professional. The seated nerve glide is the gentler "
                   "alternative your therapist may prescribe; the stretches are not offered today.")
    return True


def allowed(names: list[str]) -> list[str]:
    """The exercises on offer after the screen: no stretches when nerve symptoms were reported."""
    if st.session_state.get("no_stretching"):
        return [n for n in names if not n.startswith(("hamstring_stretch", "calf_stretch"))]
    return names


def speak(text: str, seq: int) -> None:
    """Say a cue with the browser's speech synthesis (the component re-renders only for a new cue)."""
    st.iframe(f"<script>/* cue {seq} */ window.speechSynthesis.speak("
              f"new SpeechSynthesisUtterance({json.dumps(text)}));</script>")


def live_page(name: str, params: dict | None = None) -> None:
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    from formcheck.coach_process import CoachGone, CoachProcess
    from formcheck.live import FEW_FRAMES_CUE, FEW_FRAMES_FPS, SET_LIMIT_CUE
    from formcheck.webrtc import hold_up_under_load

    hold_up_under_load()  # video on its own loop, late frames dropped, slow consent answers not fatal

    spec = CATALOGUE[name]

    def new_coach() -> CoachProcess:
        """A coach for the next set, its process started now, so that START finds it ready."""
        st.session_state.coach, st.session_state.coach_for = CoachProcess(name, params), (name, repr(params))
        st.session_state.coach.start()
        return st.session_state.coach

    # The frame callback and the status read `coach` when they run: a new coach assigned to it below is theirs.
    coach: CoachProcess = st.session_state.coach if st.session_state.get("coach_for") == (name, repr(params)) \
        else new_coach()

    def callback(frame):
        return coach.process_video_frame(frame)

    st.caption("Press START and allow the camera. The counter and the timer only run while your form is right.")
    ctx = webrtc_streamer(key=f"live-{name}", mode=WebRtcMode.SENDRECV, rtc_configuration=rtc_configuration(),
                          media_stream_constraints={"video": {"width": 640, "height": 480}, "audio": False},
                          video_frame_callback=callback, async_processing=True)
    voice = st.toggle("Speak the cues", value=True)

    @st.fragment(run_every=1.0)
    def status() -> None:
        snap = coach.snapshot()
        cols = st.columns(4)
        if spec.kind == "reps":
            cols[0].metric("Reps", f"{snap.rep_count}{coach.target}")
        else:
            cols[0].metric("Hold", f"{snap.hold_s:.0f} s{coach.target}" if snap.holding else f"--{coach.target}")
            cols[1].metric("Best hold", f"{snap.best_hold_s:.0f} s")
        if coach.set_progress(snap):
            cols[2].metric("Set", coach.set_progress(snap))
        cols[3].metric("Frames/s", f"{snap.fps:.0f}")
        if snap.limit_reached:
            st.info(SET_LIMIT_CUE)
        elif snap.frames and not snap.scoring:
            st.warning(f"Not scoring: {REFUSAL_CUES.get(snap.refusal) or snap.cue or 'get into position'}")
        if snap.frames > 1 and snap.fps < FEW_FRAMES_FPS:
            st.info(FEW_FRAMES_CUE)
        if snap.cue:
            st.markdown(f"### {snap.cue}")
        if voice and snap.spoken and snap.spoken != st.session_state.get("spoken"):
            st.session_state.spoken = snap.spoken
            speak(snap.spoken[1], snap.spoken[0])

    status()
    playing = bool(ctx.state.playing)
    if st.session_state.get("was_playing") and not playing:  # the user pressed STOP: the set's summary
        try:
            analysis = coach.finish()
        except CoachGone as exc:
            analysis = None
            st.error(f"This set could not be summarised: {exc}. Press START to begin a new set.")
        coach = new_coach()
        st.session_state.summary = analysis
    st.session_state.was_playing = playing
    if st.session_state.get("summary") is not None:
        summary = st.session_state.summary
        st.subheader("Your set")
        result = summary.result
        st.write(f"{len(result.reps)} reps, {len(result.holds)} holds, "
                 f"{len({f.code for f in result.faults})} kinds of fault")
        show_tables(summary)
        if summary is not None:
            offer_save(summary, live_report(summary), "live")


def show_tables(analysis) -> None:
    result = analysis.result
    if result.reps:
        st.dataframe([{"rep": r.index, "start s": round(r.start_s, 2), "end s": round(r.end_s, 2), "side": r.side,
                       **r.metrics, "faults": ", ".join(r.faults)} for r in result.reps], hide_index=True)
    if result.holds:
        st.dataframe([{"start s": round(h.start_s, 2), "end s": round(h.end_s, 2), "held s": round(h.duration_s, 1),
                       "correct s": round(h.correct_s, 1), "side": h.side} for h in result.holds], hide_index=True)


def review_page(name: str, params: dict | None = None) -> None:
    from formcheck import child
    from formcheck.review import review_upload

    upload = st.file_uploader(f"Video (mp4, mov, avi, webm; up to {MAX_UPLOAD_MB} MB)",
                              type=["mp4", "mov", "avi", "webm"])
    if upload is None:
        return
    if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
        st.error(f"That file is larger than {MAX_UPLOAD_MB} MB: trim it or export it at a lower resolution.")
        return
    key = (upload.file_id, name, repr(params))
    if st.session_state.get("review_for") != key:  # analyse once; ticking a box or downloading reruns the page
        st.session_state.review, st.session_state.review_for = None, None
        with scratch_dir() as tmp:
            video = Path(tmp) / ("upload" + Path(upload.name).suffix.lower())
            video.write_bytes(upload.getbuffer())
            bar = st.progress(0.0, text="Analysing …")
            try:  # in a child process: the server's own keeps its interpreter lock for the live video
                review = child.call(
                    review_upload, video, name, params, Path(tmp) / "annotated.mp4", upload.name,
                    progress=lambda d, t: bar.progress(min(1.0, d / max(t, 1)), text="Analysing …"))
                clip = (Path(tmp) / "annotated.mp4").read_bytes()
            except FormcheckError as exc:
                bar.empty()
                st.error(str(exc))
                return
            bar.empty()
        st.session_state.review, st.session_state.review_for = (review, clip), key
    review, clip = st.session_state.review
    report = review.report
    st.video(clip)
    summary = report["summary"]
    cols = st.columns(3)
    cols[0].metric("Reps", summary["rep_count"])
    cols[1].metric("Holds", summary["hold_count"])
    cols[2].metric("Longest hold", f"{summary['longest_hold_s']:.1f} s")
    show_tables(review.analysis)
    st.vega_lite_chart(review.chart, width="stretch")
    for fault in report["faults"]:
        st.warning(f"{fault['start_s']:.1f}–{fault['end_s']:.1f} s: {fault['message']}")
    for span in report["refused"]:
        st.info(f"{span['start_s']:.1f}–{span['end_s']:.1f} s not scored: {span['reason'].replace('_', ' ')}")
    if review.moments:
        st.subheader("Fault moments")
        st.image([png for _, png in review.moments], caption=[c for c, _ in review.moments], width=320)
    cols = st.columns(3)
    cols[0].download_button("Report (JSON)", review.report_json, "formcheck-report.json", "application/json")
    cols[1].download_button("Angles per frame (CSV)", review.frames_csv, "formcheck-frames.csv", "text/csv")
    cols[2].download_button("Printable report (HTML)", review.report_html, "formcheck-report.html", "text/html")
    offer_save(review.analysis, report, "upload", upload)


def live_report(analysis) -> dict:
    from formcheck.models import DEFAULT_VARIANT
    from formcheck.report import build_report
    from formcheck.video import VideoInfo

    t = analysis.poses.t_s
    duration = float(t[-1] - t[0]) if len(t) > 1 else 0.0
    fps = (len(t) - 1) / duration if duration else 0.0
    info = VideoInfo("live camera", analysis.poses.width, analysis.poses.height, fps, duration, len(t), 0)
    return build_report(analysis, info, DEFAULT_VARIANT)  # the live coach's model


# --- accounts: the clinic ----------------------------------------------------------------------


@st.cache_resource
def modules_loaded() -> None:
    """Once per server, at its first page: what the live and review pages import later (~2 s of CPU).
    Imported when an upload's result first came in, they held the interpreter lock that the live sets'
    video needed, and every live page fell behind for seconds (tests/test_several_patients.py)."""
    for module in ("pandas", "pyarrow", "streamlit_webrtc", "formcheck.coach_process", "formcheck.review"):
        importlib.import_module(module)  # pandas and pyarrow: st.dataframe's


@st.cache_resource
def orphaned_scratch_removed() -> int:
    """Once per server: a server killed mid-upload left the patient's raw clip in its scratch folder."""
    return len(remove_orphaned_scratch())


@st.cache_resource
def clinic():
    from formcheck.clinic import Clinic
    from formcheck.store import open_store

    return Clinic(open_store())


def sign_in_box():
    """The sidebar: sign in (therapists and patients) or go on as a guest (nothing is saved)."""
    from formcheck.errors import FormcheckError as Error

    actor = st.session_state.get("actor")
    with st.sidebar:
        if actor is not None:
            st.write(f"Signed in as **{actor.username}** ({actor.role})")
            if st.button("Sign out"):
                for key in list(st.session_state):
                    del st.session_state[key]
                st.rerun()
            return actor
        st.subheader("Sign in")
        with st.form("sign-in"):
            username = st.text_input("Username")
            password = st.text_input("Password", type="password")
            if st.form_submit_button("Sign in"):
                try:
                    found = clinic().login(username, password)
                except Error as exc:
                    st.error(str(exc))
                    found = None
                if found is None:
                    st.error("Wrong username or password.")
                else:
                    st.session_state.actor = found
                    st.rerun()
        st.caption("Without signing in, nothing is saved.")
    return None


def offer_save(analysis, report: dict, source: str, video=None) -> None:
    """A signed-in patient keeps the session (skeleton only, unless they opt in to the uploaded `video`)."""
    actor = st.session_state.get("actor")
    if actor is None or actor.role != "patient":
        return
    from formcheck.clinic import landmarks_blob

    st.subheader("Save this session for your therapist")
    pain_after = st.slider("Pain now (0 = none, 10 = worst)", 0, 10, 0, key=f"pain-after-{source}")
    keep = st.checkbox("Also keep my video (otherwise only the stick figure is kept)", key=f"keep-{source}") \
        if video is not None else False
    if st.button("Save session", key=f"save-{source}"):
        session_id = clinic().save_session(actor, report, landmarks_blob(analysis.poses), source,
                                           pain_before=st.session_state.get("pain_before"), pain_after=pain_after,
                                           screen_id=st.session_state.get("screen_id"),
                                           video=video.getvalue() if keep else None)
        st.success(f"Saved (session {session_id}). Your therapist can see it now.")


def my_sessions(actor) -> None:
    sessions = clinic().sessions(actor, actor.id)
    if not sessions:
        return
    with st.expander(f"My sessions and my therapist's notes ({len(sessions)})", expanded=True):
        for s in reversed(sessions):
            st.markdown(f"**{s['created_at']:%d %b %H:%M}** · {CATALOGUE[s['exercise']].title} · "
                        f"{s['summary']['rep_count']} reps, {s['summary']['hold_count']} holds")
            for note in clinic().notes(actor, s["id"]):
                at = f" (at {note['at_s']:.1f} s)" if note["at_s"] is not None else ""
                st.info(f"Note from your therapist{at}: {note['text']}")


def trends(sessions: list[dict]) -> None:
    """Per exercise, over sessions: range, correct-hold share, best stance, rep quality."""
    import altair as alt

    rows = []
    for s in sessions:
        report = s["report"]
        reps, holds = report["reps"], report["holds"]
        point = {"when": s["created_at"].isoformat(), "exercise": s["exercise"]}
        if reps:
            peaks = [r["metrics"].get("peak_hip_flexion_deg") for r in reps if r["metrics"].get("peak_hip_flexion_deg")]
            if peaks and s["exercise"] == "straight_leg_raise":
                rows.append({**point, "measure": "peak leg-raise range (°)", "value": max(peaks)})
            rows.append({**point, "measure": "reps without fault (%)",
                         "value": 100 * sum(not r["faults"] for r in reps) / len(reps)})
        if holds and s["exercise"] == "single_leg_balance":
            rows.append({**point, "measure": "best single-leg stance (s)", "value": max(h["duration_s"] for h in holds)})
        elif holds:
            total = sum(h["duration_s"] for h in holds)
            rows.append({**point, "measure": "correct hold time (%)",
                         "value": 100 * sum(h["correct_s"] for h in holds) / total if total else 0})
    if rows:
        chart = alt.Chart(alt.Data(values=rows)).mark_line(point=True).encode(
            x=alt.X("when:T", title="session"), y=alt.Y("value:Q", title=None), color="exercise:N"
        ).properties(height=160).facet(row=alt.Row("measure:N", title=None)).resolve_scale(y="independent")
        st.altair_chart(chart)


def therapist_view(actor) -> None:
    from formcheck.errors import FormcheckError as Error
    from formcheck.replay import load_series, skeleton_at, skeleton_video

    c = clinic()
    st.header("Your patients")
    with st.expander("Add a patient"):
        with st.form("new-patient", clear_on_submit=True):
            username = st.text_input("Patient's username")
            name = st.text_input("Name")
            password = st.text_input("First password (give it to the patient)", type="password")
            if st.form_submit_button("Add patient"):
                try:
                    c.create_user(actor, username, password, "patient", name)
                    st.success(f"Added {name or username}.")
                except Error as exc:
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
    st.table(overview)
    chosen = st.selectbox("Patient", patients, format_func=lambda p: f"{p['name']} ({p['username']})")
    pid = chosen["id"]
    with st.expander("Prescribe an exercise"):
        with st.form("prescribe"):
            exercise = st.selectbox("Exercise", list(CATALOGUE), format_func=lambda n: CATALOGUE[n].title)
            cols = st.columns(4)
            sets = cols[0].number_input("Sets", 1, 10, 3)
            reps = cols[1].number_input("Reps (rep exercises)", 0, 50, 10)
            hold = cols[2].number_input("Hold s (stretches)", 0, 120, 30)
            per_week = cols[3].number_input("Times a week", 1, 21, 7)
            extra = st.text_input("Thresholds (NAME=VALUE, comma separated, e.g. knee_bent_deg=125)")
            if st.form_submit_button("Save prescription"):
                try:
                    settings = {k.strip(): float(v) for k, _, v in (x.partition("=") for x in extra.split(",") if x.strip())}
                    kind = CATALOGUE[exercise].kind
                    c.prescribe(actor, pid, exercise, int(sets), (int(reps) or None) if kind == "reps" else None,
                                (float(hold) or None) if kind == "hold" else None, int(per_week), settings)
                    st.success("Prescription saved: the patient's page follows it now.")
                except (Error, ValueError) as exc:
                    st.error(str(exc))
    for p in c.prescriptions(actor, pid):
        st.caption(f"Prescribed: {CATALOGUE[p['exercise']].title}, {p['sets']} sets"
                   + (f" × {p['reps']} reps" if p["reps"] else "") + (f", hold {p['hold_s']:.0f} s" if p["hold_s"] else "")
                   + f", {p['per_week']}× a week" + (f", {p['settings']}" if p["settings"] else ""))
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
    full = c.session(actor, chosen_session["id"])
    report = full["report"]
    st.write(f"{report['summary']['rep_count']} reps, {report['summary']['hold_count']} holds; faults: "
             + (", ".join(chosen_session["faults"]) or "none"))
    if report["reps"]:
        st.dataframe([{"rep": r["index"], "start s": r["start_s"], "end s": r["end_s"], **r["metrics"],
                       "faults": ", ".join(r["faults"])} for r in report["reps"]], hide_index=True)
    if report["holds"]:
        st.dataframe([{k: h[k] for k in ("start_s", "end_s", "duration_s", "correct_s", "side")}
                      for h in report["holds"]], hide_index=True)
    series = load_series(full["landmarks"])
    if full["video"] is not None:
        st.video(full["video"])
    else:
        with scratch_dir() as tmp:
            skeleton_video(series, full["exercise"], Path(tmp) / "replay.mp4")
            st.video((Path(tmp) / "replay.mp4").read_bytes())
    moments = report["faults"][:6]
    if moments:
        st.caption("Fault moments")
        st.image([skeleton_at(series, full["exercise"], f["start_s"], f["message"]) for f in moments],
                 caption=[f"{f['start_s']:.1f} s: {f['code']}" for f in moments], width=300)
    for note in c.notes(actor, full["id"]):
        at = "" if note["at_s"] is None else f" at {note['at_s']:.1f} s"
        st.info(f"Note{at}: {note['text']}")
    with st.form("note", clear_on_submit=True):
        text = st.text_area("Note to the patient")
        at_s = st.number_input("About the moment (s into the session, optional)", 0.0, 3600.0, 0.0)
        if st.form_submit_button("Send note"):
            try:
                c.add_note(actor, full["id"], text, at_s or None)
                st.success("Sent: the patient sees it on their page.")
            except Error as exc:
                st.error(str(exc))
    session_exports(full, series, moments)
    st.download_button("Export this patient (JSON)", json.dumps(c.export_patient(actor, pid), default=str, indent=1),
                       f"formcheck-patient-{pid}.json", "application/json")


def session_exports(full: dict, series, moments: list[dict]) -> None:
    """One stored session as JSON, per-frame landmarks as CSV, and a printable HTML report."""
    import cv2

    from formcheck.replay import skeleton_at
    from formcheck.report import html_report, report_json

    images = [(f"{m['start_s']:.1f} s: {m['code']}", cv2.imencode(".png", cv2.cvtColor(
        skeleton_at(series, full["exercise"], m["start_s"], m["message"]), cv2.COLOR_RGB2BGR))[1].tobytes())
        for m in moments]
    cols = st.columns(3)
    sid = full["id"]
    cols[0].download_button("Session (JSON)", report_json(full["report"]), f"formcheck-session-{sid}.json",
                            "application/json")
    cols[1].download_button("Landmarks (CSV)", series.to_csv(), f"formcheck-session-{sid}-landmarks.csv", "text/csv")
    cols[2].download_button("Printable report (HTML)", html_report(full["report"], images),
                            f"formcheck-session-{sid}.html", "text/html")


def patient_exercise(actor):
    """A signed-in patient exercises what was prescribed, with its settings."""
    from formcheck.clinic import Clinic

    prescriptions = [p for p in clinic().prescriptions(actor, actor.id) if p["exercise"] in allowed(list(CATALOGUE))]
    if not prescriptions:
        st.info("Nothing prescribed for today yet: you can try an exercise meanwhile.")
        name = st.selectbox("Exercise", allowed(list(CATALOGUE)), format_func=lambda n: CATALOGUE[n].title)
        return name, None
    chosen = st.selectbox("Your exercise", prescriptions, format_func=lambda p: (
        f"{CATALOGUE[p['exercise']].title}: {p['sets']} sets" + (f" × {p['reps']}" if p["reps"] else "")
        + (f", hold {p['hold_s']:.0f} s" if p["hold_s"] else "")))
    return chosen["exercise"], Clinic.checker_settings(chosen)


st.set_page_config(page_title="formcheck", page_icon="🦵", layout="centered")
st.title("formcheck")
st.caption("Exercise form feedback for your physiotherapy home programme. Coaching-grade angles from one "
           "camera, not a diagnosis. **Never stretch into sharp pain.**")
orphaned_scratch_removed()
modules_loaded()
actor = sign_in_box()
if actor is not None and actor.role in ("therapist", "admin"):
    therapist_view(actor)
elif safety_screen():
    params = None
    if actor is not None:
        exercise, params = patient_exercise(actor)
        st.session_state.pain_before = st.slider("Pain before you start (0 = none, 10 = worst)", 0, 10, 0)
    else:
        exercise = st.selectbox("Exercise", allowed(list(CATALOGUE)), format_func=lambda n: CATALOGUE[n].title)
    spec = CATALOGUE[exercise]
    st.markdown(f"**Camera set-up:** {spec.camera}  \n**Checked:** {spec.measures}")
    mode = st.radio("Mode", ["Exercise live", "Review a recorded video"], horizontal=True)
    if mode == "Exercise live":
        live_page(exercise, params)
    else:
        if st.session_state.get("coach") is not None and not st.session_state.coach.frames_sent:
            st.session_state.pop("coach").finish()  # started ahead for a live set: no model kept meanwhile
            st.session_state.coach_for = None
        review_page(exercise, params)
    if actor is not None:
        my_sessions(actor)
