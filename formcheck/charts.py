"""Angle-over-time charts for the review page (Altair): the key angles, reps, holds and faults marked."""

from __future__ import annotations

import math

import altair as alt

from .session import Analysis


def angle_rows(analysis: Analysis) -> list[dict]:
    """Long-form rows (t_s, angle, deg) of the angles each frame's checker showed."""
    return [{"t_s": round(s.t_s, 3), "angle": name, "deg": round(value, 1)}
            for s in analysis.states for name, value in s.angles.items()
            if value is not None and math.isfinite(value)]


def angle_chart(analysis: Analysis) -> alt.LayerChart:
    result = analysis.result
    spans = ([{"start": r.start_s, "end": r.end_s, "what": f"rep {r.index}"} for r in result.reps]
             + [{"start": h.start_s, "end": h.end_s, "what": "hold"} for h in result.holds])
    faults = [{"start": f.start_s, "end": max(f.end_s, f.start_s + 0.05), "what": f.code} for f in result.faults]
    lines = alt.Chart(alt.Data(values=angle_rows(analysis))).mark_line().encode(
        x=alt.X("t_s:Q", title="time (s)"), y=alt.Y("deg:Q", title="angle (°)"), color=alt.Color("angle:N"))
    bands = alt.Chart(alt.Data(values=spans)).mark_rect(opacity=0.12, color="green").encode(
        x="start:Q", x2="end:Q", tooltip=["what:N"])
    marks = alt.Chart(alt.Data(values=faults)).mark_rect(opacity=0.35, color="red").encode(
        x="start:Q", x2="end:Q", tooltip=["what:N"])
    return alt.layer(bands, marks, lines).properties(height=280)


def trend_chart(rows: list[dict]) -> alt.FacetChart:
    """One small line plot per measure (formcheck/trends.py's rows), sessions along x, one line per series
    (an exercise, or a balance variant of it)."""
    line = "series" if rows and "series" in rows[0] else "exercise"
    return alt.Chart(alt.Data(values=rows)).mark_line(point=True).encode(
        x=alt.X("when:T", title="session"), y=alt.Y("value:Q", title=None), color=alt.Color(f"{line}:N", title=None)
    ).properties(height=160).facet(row=alt.Row("measure:N", title=None)).resolve_scale(y="independent")
