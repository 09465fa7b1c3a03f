"""The analysis report (`../shared/docs/report-schema.md`): a public contract, so keys are only ever added.

Also the per-frame CSV.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from dataclasses import asdict, fields

from . import __version__
from .exercises import CATALOGUE
from .kinematics import Kinematics
from .session import Analysis
from .video import VideoInfo

SCHEMA = "formcheck.report/1"
DISCLAIMER = "Coaching-grade angles from one camera (about ±5–10° side-on); not a diagnosis."


def _r(x: float | None, digits: int = 3) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def build_report(analysis: Analysis, video: VideoInfo, model: str) -> dict:
    spec = CATALOGUE[analysis.exercise]
    result = analysis.result
    cues = {f.code: f.cue for f in spec.faults}
    views = Counter(k.view for k, s in zip(analysis.kinematics, analysis.states) if s.scoring and k.view)
    holds = [
        {"start_s": _r(h.start_s), "end_s": _r(h.end_s), "duration_s": _r(h.duration_s), "correct_s": _r(h.correct_s),
         "side": h.side, "metrics": h.metrics}
        for h in result.holds
    ]
    times = [s.t_s for s in analysis.states]
    return {
        "schema": SCHEMA,
        "exercise": analysis.exercise,
        "video": {"path": video.path, "duration_s": _r(video.duration_s), "fps": _r(video.fps, 2),
                  "frames": len(times), "width": video.width, "height": video.height},
        "side": result.side,
        "view": views.most_common(1)[0][0] if views else None,
        "reps": [
            {"index": r.index, "start_s": _r(r.start_s), "peak_s": _r(r.peak_s), "end_s": _r(r.end_s), "side": r.side,
             "metrics": r.metrics, "faults": r.faults}
            for r in result.reps
        ],
        "holds": holds,
        "faults": [
            {"code": f.code, "start_s": _r(f.start_s), "end_s": _r(f.end_s), "message": cues.get(f.code, f.code),
             "rep": f.rep}
            for f in result.faults
        ],
        "refused": [{"start_s": _r(e.start_s), "end_s": _r(e.end_s), "reason": e.code} for e in result.refused],
        "summary": {
            "rep_count": len(result.reps),
            "hold_count": len(holds),
            "longest_hold_s": max((h["duration_s"] for h in holds), default=0.0),
            "total_hold_s": _r(sum(h["duration_s"] for h in holds)) or 0.0,
            "scored_s": _r(_scored_seconds(analysis)),
        },
        "settings": analysis.params,
        "model": {"pose": f"pose_landmarker_{model}", "formcheck": __version__},
        "disclaimer": DISCLAIMER,
    }


def _scored_seconds(analysis: Analysis) -> float:
    t = [s.t_s for s in analysis.states]
    return sum(b - a for (a, s), b in zip(zip(t, analysis.states), t[1:]) if s.scoring)


CSV_FIELDS = [f.name for f in fields(Kinematics)]


def frames_csv(analysis: Analysis) -> str:
    """One row per frame: the smoothed measurements and what the checker made of them."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS + ["view", "scoring", "refusal", "rep_count", "holding", "hold_s", "cue", "faults"])
    for k, s in zip(analysis.kinematics, analysis.states):
        row = asdict(k)
        writer.writerow([_csv_value(row[name]) for name in CSV_FIELDS]
                        + [k.view or "", int(s.scoring), s.refusal or "", s.rep_count, int(s.holding),
                           f"{s.hold_s:.2f}", s.cue or "", ";".join(s.faults)])
    return out.getvalue()


def _csv_value(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.4g}" if abs(v) < 1 else f"{v:.2f}"
    return v


def report_json(report: dict) -> str:
    return json.dumps(report, indent=1, ensure_ascii=False) + "\n"


def html_report(report: dict, fault_images: list[tuple[str, bytes]] = ()) -> str:
    """A self-contained HTML page (no external assets): summary, reps, holds, faults, fault frames."""
    import base64
    import html

    def table(rows: list[dict], columns: list[str]) -> str:
        if not rows:
            return "<p>None.</p>"
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in columns) + "</tr>"
                       for r in rows)
        return f"<table><tr>{head}</tr>{body}</table>"

    s = report["summary"]
    reps = [{**{k: r[k] for k in ("index", "start_s", "end_s", "side")}, **r["metrics"], "faults": ", ".join(r["faults"])}
            for r in report["reps"]]
    rep_cols = list(dict.fromkeys(k for r in reps for k in r)) if reps else []
    images = "".join(
        f'<figure><img alt="{html.escape(c)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        f"<figcaption>{html.escape(c)}</figcaption></figure>" for c, png in fault_images)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>formcheck report</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.2em .5em}}img{{max-width:28em}}figure{{display:inline-block}}</style></head>
<body><h1>formcheck: {html.escape(report["exercise"])}</h1>
<p>{html.escape(report["video"]["path"])} · {report["video"]["duration_s"]} s · view {report["view"]} ·
side {report["side"]}</p>
<p><b>{s["rep_count"]}</b> reps · <b>{s["hold_count"]}</b> holds · longest hold {s["longest_hold_s"]} s</p>
<h2>Reps</h2>{table(reps, rep_cols)}
<h2>Holds</h2>{table(report["holds"], ["start_s", "end_s", "duration_s", "correct_s", "side"])}
<h2>Faults</h2>{table(report["faults"], ["code", "start_s", "end_s", "message", "rep"])}
<h2>Not scored</h2>{table(report["refused"], ["start_s", "end_s", "reason"])}
<h2>Fault moments</h2>{images or "<p>None.</p>"}
<p><i>{html.escape(report["disclaimer"])} Never stretch into sharp pain.</i></p></body></html>
"""
