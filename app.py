"""formcheck's page (Streamlit). For now: the safety screen and upload review of a recorded video.

Live webcam coaching and the therapist's view come with their own issues; this page already drives the
same analysis as `formcheck analyze`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from formcheck.errors import FormcheckError
from formcheck.exercises import CATALOGUE

MAX_UPLOAD_MB = 200

st.set_page_config(page_title="formcheck", page_icon="🦵", layout="centered")
st.title("formcheck")
st.caption("Exercise form feedback for your physiotherapy home programme. Coaching-grade angles from one "
           "camera, not a diagnosis. **Never stretch into sharp pain.**")

st.subheader("Before you start")
calf = st.radio("Do you have pain in your calf together with swelling and redness?", ["No", "Yes"], index=None,
                horizontal=True)
nerve = st.radio("Do you feel tingling, numbness, burning or shooting pain in your leg?", ["No", "Yes"], index=None,
                 horizontal=True)
if calf is None or nerve is None:
    st.info("Please answer both questions first.")
    st.stop()
if calf == "Yes":
    st.error("These can be signs of a blood clot (thrombosis). Do not exercise: see a doctor today.")
    st.stop()
names = list(CATALOGUE)
if nerve == "Yes":
    st.warning("Nerve symptoms: stop stretching and see a professional. The seated nerve glide is the gentler "
               "alternative your therapist may prescribe.")

name = st.selectbox("Exercise", names, format_func=lambda n: CATALOGUE[n].title)
spec = CATALOGUE[name]
st.markdown(f"**Camera:** {spec.camera}  \n**Checked:** {spec.measures}")

st.subheader("Review a recorded video")
upload = st.file_uploader(f"Video (mp4, mov, avi, webm; up to {MAX_UPLOAD_MB} MB)", type=["mp4", "mov", "avi", "webm"])
if upload is None:
    st.stop()
if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
    st.error(f"That file is larger than {MAX_UPLOAD_MB} MB: trim it or export it at a lower resolution.")
    st.stop()

from formcheck.analyze import analyze_video, write_annotated  # noqa: E402  (heavy imports only when needed)
from formcheck.report import build_report, frames_csv, report_json  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    video = Path(tmp) / Path(upload.name).name.replace("/", "_")
    video.write_bytes(upload.getbuffer())
    bar = st.progress(0.0, text="Analysing …")
    try:
        analysis, info = analyze_video(video, name, progress=lambda d, t: bar.progress(min(1.0, d / max(t, 1)),
                                                                                        text="Analysing …"))
        annotated = Path(tmp) / "annotated.mp4"
        write_annotated(video, analysis, annotated)
    except FormcheckError as exc:
        bar.empty()
        st.error(str(exc))
        st.stop()
    bar.empty()
    report = build_report(analysis, info, "full")
    st.video(annotated.read_bytes())

summary = report["summary"]
cols = st.columns(3)
cols[0].metric("Reps", summary["rep_count"])
cols[1].metric("Holds", summary["hold_count"])
cols[2].metric("Longest hold", f"{summary['longest_hold_s']:.1f} s")
if report["reps"]:
    st.dataframe([{"rep": r["index"], "start s": r["start_s"], "end s": r["end_s"], "side": r["side"],
                   **r["metrics"], "faults": ", ".join(r["faults"])} for r in report["reps"]], hide_index=True)
if report["holds"]:
    st.dataframe([{k: h[k] for k in ("start_s", "end_s", "duration_s", "correct_s", "side")} for h in report["holds"]],
                 hide_index=True)
for fault in report["faults"]:
    st.warning(f"{fault['start_s']:.1f}–{fault['end_s']:.1f} s: {fault['message']}")
for span in report["refused"]:
    st.info(f"{span['start_s']:.1f}–{span['end_s']:.1f} s not scored: {span['reason'].replace('_', ' ')}")
st.download_button("Report (JSON)", report_json(report), file_name="formcheck-report.json", mime="application/json")
st.download_button("Per-frame angles (CSV)", frames_csv(analysis), file_name="formcheck-frames.csv", mime="text/csv")
