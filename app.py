"""formcheck's page: the safety screen, then live coaching through the browser's camera or the review of
a recorded video. Everything it judges comes from the `formcheck` package; this file only lays it out.

Run it with `scripts/app`. Live video goes browser → server → browser over WebRTC (streamlit-webrtc).
By default no STUN/TURN server is used (same machine or LAN); set FORMCHECK_ICE_SERVERS to a JSON list of
ICE servers (e.g. a TURN server) for patients on other networks.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

from formcheck.errors import FormcheckError
from formcheck.exercises import CATALOGUE

MAX_UPLOAD_MB = 200
REFUSAL_TEXT = {
    "no_person": "Step into the picture",
    "two_people": "Only one person in the picture, please",
    "not_full_body": "Step back so your whole body, feet included, is in view",
    "low_visibility": "Move so the camera sees you clearly",
    "wrong_view": "Turn side-on to the camera (or check the set-up above)",
}


def rtc_configuration() -> dict:
    """No public STUN by default (`{}` would turn streamlit-webrtc's public defaults back on)."""
    servers = os.environ.get("FORMCHECK_ICE_SERVERS")
    return {"iceServers": json.loads(servers) if servers else []}


def safety_screen() -> bool:
    """The catalogue's red flags, asked before any exercise. Returns whether exercising may go on."""
    st.subheader("Before you start")
    calf = st.radio("Do you have pain in your calf together with swelling and redness?", ["No", "Yes"], index=None,
                    horizontal=True)
    nerve = st.radio("Do you feel tingling, numbness, burning or shooting pain in your leg?", ["No", "Yes"],
                     index=None, horizontal=True)
    if calf is None or nerve is None:
        st.info("Please answer both questions first.")
        return False
    if calf == "Yes":
        st.error("These can be signs of a blood clot (thrombosis). Do not exercise: see a doctor today.")
        return False
    if nerve == "Yes":
        st.warning("Nerve symptoms: stop stretching and see a professional. The seated nerve glide is the gentler "
                   "alternative your therapist may prescribe.")
    return True


def speak(text: str, seq: int) -> None:
    """Say a cue with the browser's speech synthesis (the component re-renders only for a new cue)."""
    components.html(f"<script>/* cue {seq} */ window.speechSynthesis.speak("
                    f"new SpeechSynthesisUtterance({json.dumps(text)}));</script>", height=0)


def live_page(name: str) -> None:
    import av
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    from formcheck.live import LiveCoach

    spec = CATALOGUE[name]
    if st.session_state.get("coach_for") != name:
        st.session_state.coach, st.session_state.coach_for = LiveCoach(name), name
    coach: LiveCoach = st.session_state.coach

    def callback(frame: av.VideoFrame) -> av.VideoFrame:
        t_s = float(frame.time) if frame.time is not None else time.monotonic()
        out = av.VideoFrame.from_ndarray(coach.process(frame.to_ndarray(format="rgb24"), t_s), format="rgb24")
        out.pts, out.time_base = frame.pts, frame.time_base
        return out

    st.caption("Press START and allow the camera. The counter and the timer only run while your form is right.")
    ctx = webrtc_streamer(key=f"live-{name}", mode=WebRtcMode.SENDRECV, rtc_configuration=rtc_configuration(),
                          media_stream_constraints={"video": {"width": 640, "height": 480}, "audio": False},
                          video_frame_callback=callback, async_processing=True)
    voice = st.toggle("Speak the cues", value=True)

    @st.fragment(run_every=0.5)
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
        if snap.frames and not snap.scoring:
            st.warning(f"Not scoring: {REFUSAL_TEXT.get(snap.refusal, snap.cue or 'get into position')}")
        if snap.cue:
            st.markdown(f"### {snap.cue}")
        if voice and snap.spoken and snap.spoken != st.session_state.get("spoken"):
            st.session_state.spoken = snap.spoken
            speak(snap.spoken[1], snap.spoken[0])

    status()
    playing = bool(ctx.state.playing)
    if st.session_state.get("was_playing") and not playing:  # the user pressed STOP: the set's summary
        analysis = coach.finish()
        st.session_state.coach = LiveCoach(name)
        st.session_state.summary = analysis
    st.session_state.was_playing = playing
    if st.session_state.get("summary") is not None:
        summary = st.session_state.summary
        st.subheader("Your set")
        result = summary.result
        st.write(f"{len(result.reps)} reps, {len(result.holds)} holds, "
                 f"{len({f.code for f in result.faults})} kinds of fault")
        show_tables(summary)


def show_tables(analysis) -> None:
    result = analysis.result
    if result.reps:
        st.dataframe([{"rep": r.index, "start s": round(r.start_s, 2), "end s": round(r.end_s, 2), "side": r.side,
                       **r.metrics, "faults": ", ".join(r.faults)} for r in result.reps], hide_index=True)
    if result.holds:
        st.dataframe([{"start s": round(h.start_s, 2), "end s": round(h.end_s, 2), "held s": round(h.duration_s, 1),
                       "correct s": round(h.correct_s, 1), "side": h.side} for h in result.holds], hide_index=True)


def review_page(name: str) -> None:
    import cv2

    from formcheck.analyze import analyze_video, write_annotated
    from formcheck.charts import angle_chart
    from formcheck.report import build_report, frames_csv, html_report, report_json

    upload = st.file_uploader(f"Video (mp4, mov, avi, webm; up to {MAX_UPLOAD_MB} MB)",
                              type=["mp4", "mov", "avi", "webm"])
    if upload is None:
        return
    if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
        st.error(f"That file is larger than {MAX_UPLOAD_MB} MB: trim it or export it at a lower resolution.")
        return
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / ("upload" + Path(upload.name).suffix.lower())
        video.write_bytes(upload.getbuffer())
        bar = st.progress(0.0, text="Analysing …")
        try:
            analysis, info = analyze_video(
                video, name, progress=lambda d, t: bar.progress(min(1.0, d / max(t, 1)), text="Analysing …"))
            moments = sorted({f.start_s for f in analysis.result.faults})[:6]
            frames = write_annotated(video, analysis, Path(tmp) / "annotated.mp4", capture_at=moments)
            clip = (Path(tmp) / "annotated.mp4").read_bytes()
        except FormcheckError as exc:
            bar.empty()
            st.error(str(exc))
            return
        bar.empty()
    report = build_report(analysis, info, "full")
    report["video"]["path"] = upload.name
    st.video(clip)
    summary = report["summary"]
    cols = st.columns(3)
    cols[0].metric("Reps", summary["rep_count"])
    cols[1].metric("Holds", summary["hold_count"])
    cols[2].metric("Longest hold", f"{summary['longest_hold_s']:.1f} s")
    show_tables(analysis)
    st.altair_chart(angle_chart(analysis), use_container_width=True)
    for fault in report["faults"]:
        st.warning(f"{fault['start_s']:.1f}–{fault['end_s']:.1f} s: {fault['message']}")
    for span in report["refused"]:
        st.info(f"{span['start_s']:.1f}–{span['end_s']:.1f} s not scored: {span['reason'].replace('_', ' ')}")
    images = []
    for t, rgb in frames.items():
        codes = ", ".join(sorted({f.code for f in analysis.result.faults if abs(f.start_s - t) < 1e-6}))
        images.append((f"{t:.1f} s: {codes}", cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()))
    if images:
        st.subheader("Fault moments")
        st.image([png for _, png in images], caption=[c for c, _ in images], width=320)
    cols = st.columns(3)
    cols[0].download_button("Report (JSON)", report_json(report), "formcheck-report.json", "application/json")
    cols[1].download_button("Angles per frame (CSV)", frames_csv(analysis), "formcheck-frames.csv", "text/csv")
    cols[2].download_button("Printable report (HTML)", html_report(report, images), "formcheck-report.html",
                            "text/html")


st.set_page_config(page_title="formcheck", page_icon="🦵", layout="centered")
st.title("formcheck")
st.caption("Exercise form feedback for your physiotherapy home programme. Coaching-grade angles from one "
           "camera, not a diagnosis. **Never stretch into sharp pain.**")
if safety_screen():
    exercise = st.selectbox("Exercise", list(CATALOGUE), format_func=lambda n: CATALOGUE[n].title)
    spec = CATALOGUE[exercise]
    st.markdown(f"**Camera set-up:** {spec.camera}  \n**Checked:** {spec.measures}")
    mode = st.radio("Mode", ["Exercise live", "Review a recorded video"], horizontal=True)
    if mode == "Exercise live":
        live_page(exercise)
    else:
        review_page(exercise)
