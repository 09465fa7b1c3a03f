"""The review of a recorded video: an upload (or the sample clip), analysed in a process of its own, then the
annotated video, the rep/hold table, the angle plot, the fault moments and the downloads."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from formcheck import jobs
from formcheck.errors import FormcheckError
from formcheck.exercises import CATALOGUE
from formcheck.files import scratch_dir
from formcheck.limits import ANALYSES, Busy, fair_share
from ui.common import offer_save, show_tables
from ui.state import chosen_variant, page_state

MAX_UPLOAD_MB = 200
JOB_WAIT_S = 15 * 60  # with a job queue: an upload not analysed by then says no worker is running


def end_unused_coach() -> None:
    """A coach started ahead for a live workout that never came: no model kept meanwhile, and no place among the
    server's live coaches (formcheck.limits.LIVE) either; a browser's live set's token ends."""
    s = page_state()
    if s.grant is not None:
        from ui.live_browser import end_browser_set

        end_browser_set()
    if s.coach is not None and not s.coach.frames_sent:
        s.coach.finish()
        s.coach, s.coach_for = None, None
    if s.coach is None and s.live_slot is not None:
        s.live_slot.release()
        s.live_slot = None


def here(video: Path, exercise: str, params: dict | None, name: str, tmp: Path):
    """(Review, annotated clip) analysed on this server, in a child process (the server's own keeps its
    interpreter lock for the live video) over its fair share of the cores, at most FORMCHECK_MAX_ANALYSES at once
    (Busy beyond)."""
    from formcheck import child
    from formcheck.analyze import available_cores
    from formcheck.review import review_upload

    with ANALYSES.take():
        bar = st.progress(0.0, text="Analysing …")
        try:
            review = child.call(review_upload, video, exercise, params, tmp / "annotated.mp4", name,
                                fair_share(available_cores()),
                                progress=lambda d, t: bar.progress(min(1.0, d / max(t, 1)), text="Analysing …"))
        finally:
            bar.empty()
    return review, (tmp / "annotated.mp4").read_bytes()


def by_a_worker(video: Path, exercise: str, params: dict | None, name: str):
    """(Review, annotated clip) from the job queue (FORMCHECK_BROKER_URL): the upload goes to the media store,
    any `formcheck worker` analyses it, and the page shows where the job is until it is done."""
    phases = {"analysing": "Analysing", "annotating": "Drawing the annotated video", "saving": "Saving"}
    bar = st.progress(0.0, text="Queued: waiting for a worker …")

    def shown(p: jobs.JobProgress) -> None:
        if p.state == "running":
            bar.progress(min(1.0, p.done / max(p.total, 1)),
                         text=f"{phases.get(p.phase, 'Analysing')} on worker {p.worker} …")

    job_id = jobs.submit(video, exercise, params, name=name, review=True)
    try:
        result = jobs.wait(job_id, shown, timeout_s=JOB_WAIT_S)
    finally:
        jobs.discard(job_id)
        bar.empty()
    return result.review, result.annotated


def summary_metrics(kind: str, report: dict) -> list[tuple[str, str]]:
    """The three figures above the review, in the exercise's own terms: reps for a rep exercise, holds for a
    hold (a leg raise has no holds to show as 0)."""
    summary = report["summary"]
    if kind == "reps":
        faulty = sum(1 for rep in report["reps"] if rep["faults"])
        return [("Reps", str(summary["rep_count"])), ("With a fault", str(faulty)),
                ("Faults seen", str(len(report["faults"])))]
    return [("Holds", str(summary["hold_count"])), ("Longest hold", f"{summary['longest_hold_s']:.1f} s"),
            ("Total held", f"{summary['total_hold_s']:.1f} s")]


def review_section(exercise: str, params: dict | None) -> None:
    from formcheck.samples import SAMPLES, sample_for

    s = page_state()
    upload = st.file_uploader(f"Video (mp4, mov, avi, webm; up to {MAX_UPLOAD_MB} MB)",
                              type=["mp4", "mov", "avi", "webm"])
    sample = sample_for(exercise)
    if upload is None:
        if sample is not None:
            if st.button("Try the sample", help=f"Analyse {sample.name}, a real clip shipped in sample_videos/"):
                s.sample = exercise
        else:
            st.caption("No video at hand? A sample clip comes with " + " and ".join(
                CATALOGUE[name].title for name in SAMPLES) + ": choose one of them to try it.")
        if sample is None or s.sample != exercise:
            return
        key = ("sample", sample.name, exercise, repr(params))
    else:
        s.sample = None
        if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
            st.error(f"That file is larger than {MAX_UPLOAD_MB} MB: trim it or export it at a lower resolution.")
            return
        key = (upload.file_id, exercise, repr(params))
    if s.review_for != key:  # analyse once; ticking a box or downloading reruns the page
        s.review, s.review_for = None, None
        with scratch_dir() as tmp:
            if upload is not None:
                video, name = Path(tmp) / ("upload" + Path(upload.name).suffix.lower()), upload.name
                video.write_bytes(upload.getbuffer())
            else:
                video, name = sample, sample.name
            try:
                review, clip = (by_a_worker(video, exercise, params, name) if jobs.enabled()
                                else here(video, exercise, params, name, Path(tmp)))
            except Busy as exc:
                st.warning(str(exc))
                return
            except FormcheckError as exc:
                st.error(str(exc))
                return
        s.review, s.review_for = (review, clip), key
    review, clip = s.review
    report = review.report
    if upload is None:
        st.caption(f"The sample: {sample.name} (see sample_videos/ for its source and licence).")
    st.video(clip)
    for col, (label, value) in zip(st.columns(3), summary_metrics(CATALOGUE[exercise].kind, report)):
        col.metric(label, value)
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
    if upload is not None:  # the sample is nobody's session
        offer_save(review.analysis, report, "upload", upload, variant=chosen_variant(exercise))
