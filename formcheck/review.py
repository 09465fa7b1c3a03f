"""An upload's review, whole: what the review page shows and offers, made where the analysis runs.

The page runs `review_upload` in a child process (formcheck/child.py) and only lays out what comes back.
Built in the server's process, the chart (Altair validates it against the Vega-Lite schema, ~0.4 s), the
fault pictures, the report and the downloads held the interpreter lock its live video needs, on every rerun
of the page: with four live sessions, every live page fell seconds behind when an upload's result came in
(tests/test_several_patients.py). Made once here, a page rerun (a download, a ticked box) costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import models
from .analyze import Progress, analyze_video, write_annotated
from .charts import angle_chart
from .replay import png
from .report import build_report, frames_csv, html_report, report_json
from .session import Analysis

MOMENTS = 6  # fault moments shown as pictures


@dataclass(frozen=True)
class Review:
    analysis: Analysis
    report: dict  # report-schema.md, its video named as the patient's file
    chart: dict  # the key angles over time with reps, holds and faults marked (a Vega-Lite spec)
    moments: list[tuple[str, bytes]]  # (caption, PNG) of the first fault moments, annotated
    report_json: str
    frames_csv: str
    report_html: str


def review_upload(path: str | Path, exercise: str, params: dict | None, out: str | Path, name: str,
                  workers: int | None = None, progress: Progress | None = None) -> Review:
    """Analyse the clip at `path` (shown to the patient as `name`, split over `workers` cores) and write its
    annotated copy to `out`."""
    analysis, info = analyze_video(path, exercise, params, progress=progress, workers=workers)
    at = sorted({f.start_s for f in analysis.result.faults})[:MOMENTS]
    pictures = write_annotated(path, analysis, out, capture_at=at)
    moments = [(_caption(analysis, t), png(rgb)) for t, rgb in pictures.items()]
    report = build_report(analysis, info, models.DEFAULT_VARIANT)  # what analyze_video used
    report["video"]["path"] = name
    return Review(analysis, report, angle_chart(analysis).to_dict(), moments, report_json(report), frames_csv(analysis),
                  html_report(report, moments))


def _caption(analysis: Analysis, t_s: float) -> str:
    codes = ", ".join(sorted({f.code for f in analysis.result.faults if abs(f.start_s - t_s) < 1e-6}))
    return f"{t_s:.1f} s: {codes}"
