"""The analysis report (`../shared/docs/report-schema.md`): a public contract, so keys are only ever added.

Also the per-frame CSV (cells that a spreadsheet would run as a formula neutralised) and the printable HTML
report a clinician files (a Jinja2 template with autoescaping: nothing in a report or a note becomes markup).
No report or export shows a server's path: a video is named by its file's own name at most.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from collections import Counter
from dataclasses import asdict, fields
from pathlib import Path

from . import __version__
from .exercises import CATALOGUE
from .kinematics import Kinematics
from .schema import file_name
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
        "video": {"path": file_name(video.path), "duration_s": _r(video.duration_s), "fps": _r(video.fps, 2),
                  "frames": video.frames, "analysed_frames": len(times), "width": video.width,
                  "height": video.height},
        "side": result.side,
        "view": views.most_common(1)[0][0] if views else None,
        "reps": [
            {"index": r.index, "start_s": _r(r.start_s), "peak_s": _r(r.peak_s), "end_s": _r(r.end_s), "side": r.side,
             "metrics": r.metrics, "faults": r.faults}
            for r in result.reps
        ],
        "holds": holds,
        "faults": [  # a fault in a cycle that never completed is on no counted rep
            {"code": f.code, "start_s": _r(f.start_s), "end_s": _r(f.end_s), "message": cues.get(f.code, f.code),
             "rep": f.rep if f.rep is not None and 1 <= f.rep <= len(result.reps) else None}
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


def live_report(analysis: Analysis, sets: list[dict] | None = None, model: str | None = None,
                landmarks: dict | None = None) -> dict:
    """A live workout's report: the camera described by the frames that came (no file behind it), plus the
    table of its sets (`sets`, formcheck/workout.py's set_rows) when it had any, and where its landmarks came
    from (`landmarks`, e.g. {"source": "browser", ...}: formcheck.web.routes.provenance) when not from this server."""
    from .models import DEFAULT_VARIANT

    t = analysis.poses.t_s
    duration = float(t[-1] - t[0]) if len(t) > 1 else 0.0
    fps = (len(t) - 1) / duration if duration else 0.0
    camera = VideoInfo("live camera", analysis.poses.width, analysis.poses.height, fps, duration, len(t), 0)
    report = build_report(analysis, camera, model or DEFAULT_VARIANT)  # the live coach's model
    if sets:
        report["sets"] = sets
    if landmarks:
        report["landmarks"] = landmarks
    return report


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
        writer.writerow([csv_cell(_csv_value(row[name])) for name in CSV_FIELDS]
                        + [csv_cell(v) for v in (k.view or "", int(s.scoring), s.refusal or "", s.rep_count,
                                                  int(s.holding), f"{s.hold_s:.2f}", s.cue or "", ";".join(s.faults))])
    return out.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab or carriage return) gets a
    leading apostrophe (OWASP's advice); numbers, negative ones too, stay numbers."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
        return value  # "-12.5" is a number, not a formula
    except ValueError:
        return "'" + value


def _csv_value(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.4g}" if abs(v) < 1 else f"{v:.2f}"
    return v


def report_json(report: dict) -> str:
    return json.dumps(report, indent=1, ensure_ascii=False) + "\n"


# --- the printable report ---------------------------------------------------------------------------------
_FIRST = {"min": "least", "max": "most"}  # min_knee_angle_deg → "Least knee angle (°)"
_UNITS = (("_deg", " (°)"), ("_pct", " (%)"), ("_s", " (s)"))
LABELS = {  # where the generic wording would read oddly
    "peak_hip_flexion_deg": "Peak hip flexion (°)", "min_knee_angle_deg": "Least knee angle (°)",
    "peak_leg_lift_deg": "Peak leg lift (°)", "peak_knee_flexion_deg": "Peak knee bend (°)",
    "lowering_s": "Lowering time (s)", "reached_target": "Reached the target",
}
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf")


def label(name: str) -> str:
    """A column's name for people: `peak_hip_flexion_deg` → "Peak hip flexion (°)"."""
    if name in LABELS:
        return LABELS[name]
    suffix = next((sfx for sfx, _ in _UNITS if name.endswith(sfx)), "")
    unit = dict(_UNITS).get(suffix, "")
    words = (name[: -len(suffix)] if suffix else name).split("_")
    words[0] = _FIRST.get(words[0], words[0])
    text = " ".join(w for w in words if w)
    return (text[:1].upper() + text[1:] if text else name) + unit


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "–"
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)
    return str(value)


def _cell(value, digits: int = 1) -> dict:
    return {"text": _fmt(value, digits), "num": isinstance(value, (int, float)) and not isinstance(value, bool)}


def _plot(report: dict, angles: list[dict] | None) -> dict | None:
    """The angle plot's geometry (the template draws it as inline SVG): each angle over time when the frames'
    angles are given (`charts.angle_rows`), otherwise each rep's measured angles at its peak; reps and holds
    shaded green, faults red."""
    series: dict[str, list[tuple[float, float]]] = {}
    dotted = not angles
    for row in angles or ():
        t, deg = row.get("t_s"), row.get("deg")
        if isinstance(t, (int, float)) and isinstance(deg, (int, float)) and math.isfinite(t) and math.isfinite(deg):
            series.setdefault(str(row.get("angle", "angle")), []).append((float(t), float(deg)))
    if dotted:
        for r in report.get("reps", []):
            t = r.get("peak_s") if r.get("peak_s") is not None else r.get("end_s")
            for name, v in (r.get("metrics") or {}).items():
                if name.endswith("_deg") and isinstance(v, (int, float)) and not isinstance(v, bool) \
                        and math.isfinite(v) and isinstance(t, (int, float)):
                    series.setdefault(label(name), []).append((float(t), float(v)))
    series = dict(list(series.items())[: len(_COLORS)])
    if not series:
        return None
    spans = [(r.get("start_s"), r.get("end_s"), "#2ca02c", 0.12, f"rep {r.get('index')}")
             for r in report.get("reps", [])]
    spans += [(h.get("start_s"), h.get("end_s"), "#2ca02c", 0.12, "hold") for h in report.get("holds", [])]
    spans += [(f.get("start_s"), f.get("end_s"), "#d62728", 0.3, f.get("message") or f.get("code", ""))
              for f in report.get("faults", [])]
    spans = [(a, b, c, o, t) for a, b, c, o, t in spans if isinstance(a, (int, float)) and isinstance(b, (int, float))]
    times = [t for pts in series.values() for t, _ in pts] + [x for a, b, *_ in spans for x in (a, b)]
    values = [v for pts in series.values() for _, v in pts]
    t0, t1 = min(times), max(times)
    if t1 - t0 < 1e-6:
        t1 = t0 + 1.0
    v0, v1 = math.floor(min(values) / 10) * 10, math.ceil(max(values) / 10) * 10
    if v1 - v0 < 10:
        v1 = v0 + 10
    width, height, left, right_pad, top, bottom_pad = 720, 260, 48, 12, 10, 32
    inner_w, inner_h = width - left - right_pad, height - top - bottom_pad

    def x(t):
        return round(left + (t - t0) / (t1 - t0) * inner_w, 1)

    def y(v):
        return round(top + (v1 - v) / (v1 - v0) * inner_h, 1)

    lines = []
    for i, (name, pts) in enumerate(series.items()):
        pts = sorted(pts)
        step = max(1, len(pts) // 1500)  # at most ~1500 points a line
        coords = [(x(t), y(v)) for t, v in pts[::step]]
        lines.append({"label": name, "color": _COLORS[i],
                      "points": "" if dotted and len(coords) < 2 else " ".join(f"{a},{b}" for a, b in coords),
                      "dots": [{"x": a, "y": b} for a, b in coords] if dotted else []})
    v_step = max(10, int(math.ceil((v1 - v0) / 6 / 10)) * 10)
    t_step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1e9) if (t1 - t0) / s <= 10)
    return {"title": "Angles over time" if not dotted else "Angles at each rep's peak", "width": width,
            "height": height, "left": left, "top": top, "right": left + inner_w, "bottom": top + inner_h,
            "inner_w": inner_w, "inner_h": inner_h, "lines": lines,
            "bands": [{"x": x(a), "w": max(1.0, round(x(b) - x(a), 1)), "color": c, "opacity": o, "label": t}
                      for a, b, c, o, t in spans],
            "y_ticks": [{"y": y(v), "label": f"{v:g}"} for v in range(int(v0), int(v1) + 1, v_step)],
            "x_ticks": [{"x": x(t), "label": f"{t:g}"} for t in
                        (math.ceil(t0 / t_step) * t_step + k * t_step for k in range(12)) if t <= t1]}


def _mime(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    return "application/octet-stream"


def _dose_rows(report: dict, prescription: dict | None) -> list[dict]:
    spec = CATALOGUE.get(report.get("exercise"))
    s = report.get("summary", {})
    sets = report.get("sets") or []
    p = prescription or {}
    rows = [{"what": "Dose", "prescribed": p.get("dose") or "–",
             "done": f"{len(sets)} set{'s' if len(sets) != 1 else ''}" if sets else "this recording"}]
    if spec is None or spec.kind == "reps":
        target = p.get("reps") or (report.get("settings") or {}).get("reps")
        per_set = f"{target} a set" if target else "–"
        if p.get("sets") and target:
            per_set = f"{p['sets']} × {target}"
        rows.append({"what": "Reps", "prescribed": per_set, "done": f"{s.get('rep_count', 0)} counted"})
    else:
        hold = p.get("hold_min_s") or p.get("hold_s") or (report.get("settings") or {}).get("hold_s") \
            or (report.get("settings") or {}).get("target_hold_s")
        held = s.get("longest_hold_s")
        rows.append({"what": "Hold", "prescribed": f"{_fmt(hold, 0)} s" if hold else "–",
                     "done": f"longest {_fmt(held)} s, {s.get('hold_count', 0)} hold(s), "
                             f"{_fmt(s.get('total_hold_s'))} s in all"})
    return rows


def _sets_table(sets: list) -> dict | None:
    rows = [r for r in sets if isinstance(r, dict)]
    if not rows:
        return None
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return {"columns": [label(c) for c in columns], "rows": [[_fmt(r.get(c)) for c in columns] for r in rows]}


def _author(note: dict) -> str:
    """"Dr Smith (therapist)": the note's author by name and role."""
    role = f"({note['author_role']})" if note.get("author_role") else ""
    return " ".join(x for x in (note.get("author") or "", role) if x) or "therapist"


def _when(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%d %b %Y %H:%M") + (" UTC" if getattr(value, "tzinfo", None) else "")
    return str(value)


@functools.cache
def _template():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    folder = Path(__file__).resolve().parent / "templates"
    env = Environment(loader=FileSystemLoader(folder), undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, autoescape=select_autoescape(default=True, default_for_string=True))
    return env.get_template("report.html")


def html_report(report: dict, fault_images=(), *, patient: str | None = None, when=None,
                prescription: dict | None = None, notes=(), angles: list[dict] | None = None,
                pain: tuple[int | None, int | None] | None = None) -> str:
    """The printable report, self-contained (no outside assets): patient and date, prescribed vs done, the
    reps and holds under readable column names, the angle plot (inline SVG: `angles` are the frames' angles as
    `charts.angle_rows` gives them, else each rep's angles), the faults (a fault in an unfinished cycle is on no
    rep), the fault moments as pictures (`fault_images`: (caption, PNG/JPEG bytes); the section is left out
    without any), the therapist's notes (`Clinic.notes`), print styles. Every value is escaped by the template."""
    import base64

    spec = CATALOGUE.get(report.get("exercise"))
    s = report.get("summary", {})
    reps_counted = len(report.get("reps", []))
    metric_names = list(dict.fromkeys(k for r in report.get("reps", []) for k in (r.get("metrics") or {})))
    reps = {"columns": ["Rep", "Start (s)", "End (s)", "Side", *map(label, metric_names), "Faults"],
            "rows": [[_cell(r.get("index")), _cell(r.get("start_s")), _cell(r.get("end_s")),
                      _cell(r.get("side")), *(_cell((r.get("metrics") or {}).get(m)) for m in metric_names),
                      _cell(", ".join(label(c) for c in r.get("faults", [])) or "none")]
                     for r in report.get("reps", [])]}
    hold_metrics = list(dict.fromkeys(k for h in report.get("holds", []) for k in (h.get("metrics") or {})))
    holds = {"columns": ["From (s)", "To (s)", "Held (s)", "Held correctly (s)", "Side", *map(label, hold_metrics)],
             "rows": [[_cell(h.get("start_s")), _cell(h.get("end_s")), _cell(h.get("duration_s")),
                       _cell(h.get("correct_s")), _cell(h.get("side")),
                       *(_cell((h.get("metrics") or {}).get(m)) for m in hold_metrics)]
                      for h in report.get("holds", [])]}
    faults = []
    for f in report.get("faults", []):
        rep = f.get("rep")
        faults.append({"start": _fmt(f.get("start_s")), "end": _fmt(f.get("end_s")), "message": f.get("message") or
                       label(str(f.get("code", ""))),
                       "rep": str(rep) if isinstance(rep, int) and 1 <= rep <= reps_counted else
                       ("an unfinished rep" if isinstance(rep, int) else "–")})
    moments = [{"caption": str(caption), "mime": _mime(bytes(data)), "data": base64.b64encode(bytes(data)).decode()}
               for caption, data in fault_images or ()]
    video = report.get("video") or {}
    name = file_name(video.get("path", "")) if video.get("path") else ""
    variant = report.get("variant")
    if variant:
        from .dosing import variant_label

        variant = variant_label(report.get("exercise", ""), variant)
    pain_text = ""
    if pain and any(v is not None for v in pain):
        pain_text = f"{_fmt(pain[0])} before, {_fmt(pain[1])} after"
    context = {
        "title": f"formcheck: {spec.title if spec else report.get('exercise', 'exercise')}",
        "patient": patient or "", "when": _when(when),
        "source": "Live camera" if name in ("", "live camera") else f"Video {name}",
        "duration": f"{_fmt(video.get('duration_s'))} s" if video.get("duration_s") is not None else "",
        "view": report.get("view") or "", "side": f"{report['side']} side" if report.get("side") else "",
        "variant": variant or "", "pain": pain_text,
        "dose_rows": _dose_rows(report, prescription), "sets": _sets_table(report.get("sets") or []),
        "plot": _plot(report, angles), "reps": reps, "holds": holds, "faults": faults, "moments": moments,
        "refused": [{"start": _fmt(r.get("start_s")), "end": _fmt(r.get("end_s")),
                     "reason": label(str(r.get("reason", "")))} for r in report.get("refused", [])],
        "notes": [{"text": n.get("text", ""), "by": _author(n),
                   "at": f"{n['at_s']:.1f} s into the recording" if isinstance(n.get("at_s"), (int, float)) else "",
                   "when": _when(n.get("created_at"))} for n in notes or ()],
        "disclaimer": report.get("disclaimer") or DISCLAIMER,
        "version": (report.get("model") or {}).get("formcheck", "") if isinstance(report.get("model"), dict) else "",
        "summary": s,
    }
    return _template().render(**context)
