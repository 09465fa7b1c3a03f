"""Trend data over a patient's stored sessions: one row per session and measure, ready to plot (the page
draws them; this module decides what they are). Balance variants (eyes open, eyes closed, on a cushion) are
separate series: a 10-s stance with eyes closed is not a worse 20-s stance with eyes open.

Measures: peak leg-raise range (°), reps without fault (%), best single-leg stance (s), correct hold time (%).
"""

from __future__ import annotations

from .dosing import VARIANTS, variant_label
from .exercises import CATALOGUE


def series_name(exercise: str, variant: str | None) -> str:
    """What a line is called: the exercise, and for exercises with variants, the variant."""
    title = CATALOGUE[exercise].title if exercise in CATALOGUE else exercise
    return f"{title} ({variant_label(exercise, variant).lower()})" if exercise in VARIANTS else title


def trend_rows(sessions: list[dict]) -> list[dict]:
    """Rows {"when", "session_id", "exercise", "variant", "series", "measure", "value"} for the session dicts
    `Clinic.sessions` returns (in the order given)."""
    rows = []
    for s in sessions:
        report = s["report"]
        reps, holds = report["reps"], report["holds"]
        variant = s.get("variant")
        point = {"when": s["created_at"].isoformat(), "session_id": s.get("id"), "exercise": s["exercise"],
                 "variant": variant, "series": series_name(s["exercise"], variant)}
        if reps:
            # the working foot's lift off the floor (the article's 30–45°); sessions stored before it was measured
            # have the hip's flexion, which a pelvis curl adds to
            peaks = [v for r in reps if (v := r["metrics"].get("peak_leg_lift_deg")
                                         or r["metrics"].get("peak_hip_flexion_deg"))]
            if peaks and s["exercise"] == "straight_leg_raise":
                rows.append({**point, "measure": "peak leg-raise range (°)", "value": max(peaks)})
            rows.append({**point, "measure": "reps without fault (%)",
                         "value": 100 * sum(not r["faults"] for r in reps) / len(reps)})
        if holds and s["exercise"] == "single_leg_balance":
            rows.append({**point, "measure": "best single-leg stance (s)",
                         "value": max(h["duration_s"] for h in holds)})
        elif holds:
            total = sum(h["duration_s"] for h in holds)
            rows.append({**point, "measure": "correct hold time (%)",
                         "value": 100 * sum(h["correct_s"] for h in holds) / total if total else 0})
    return rows
