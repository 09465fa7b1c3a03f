"""The analysis report's contract (`../shared/docs/report-schema.md`) as a check: what `Clinic.save_session`
accepts. Required keys with their types, finite numbers, counts that agree (`summary` with `reps` and `holds`,
no fault on a rep beyond those counted); added keys are allowed (the contract only ever grows).
"""

from __future__ import annotations

import math
import numbers

SCHEMA = "formcheck.report/1"
MAX_ROWS = 10_000  # reps, holds, faults or refused spans in one report
SIDES = ("left", "right", "both")
VIEWS = ("side", "front", "oblique")


def file_name(path) -> str:
    """A file's own name, whatever folders (POSIX or Windows) came with it: what a report or an export may show
    of a path."""
    return str(path).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


class ReportError(ValueError):
    """The report does not follow the contract (the message names the field)."""


def _number(value, where: str, *, optional: bool = False, whole: bool = False, low: float | None = 0.0):
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ReportError(f"{where} must be a finite number")
    if whole and float(value) != int(value):
        raise ReportError(f"{where} must be a whole number")
    if low is not None and value < low:
        raise ReportError(f"{where} must not be below {low:g}")


def _text(value, where: str, *, optional: bool = False, choices: tuple[str, ...] | None = None, most: int = 2000):
    if value is None and optional:
        return
    if not isinstance(value, str) or len(value) > most:
        raise ReportError(f"{where} must be text")
    if choices is not None and value not in choices:
        raise ReportError(f"{where} must be one of {', '.join(choices)}")


def _rows(report: dict, key: str) -> list:
    rows = report.get(key)
    if not isinstance(rows, list):
        raise ReportError(f"'{key}' must be a list")
    if len(rows) > MAX_ROWS:
        raise ReportError(f"'{key}' has more than {MAX_ROWS} entries")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ReportError(f"{key}[{i}] must be an object")
    return rows


def _metrics(value, where: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise ReportError(f"{where} must be an object")
    for name, v in value.items():  # free-form per exercise: numbers (finite or null), yes/no, short words
        _text(name, f"{where} name", most=80)
        if isinstance(v, bool) or (isinstance(v, str) and len(v) <= 80):
            continue
        _number(v, f"{where}.{name}", optional=True, low=None)


def check_report(report, exercises=None) -> None:
    """Raise ReportError unless `report` follows the contract (`exercises`: the catalogue names allowed)."""
    if not isinstance(report, dict):
        raise ReportError("a report is a JSON object")
    missing = [k for k in ("schema", "exercise", "video", "side", "view", "reps", "holds", "faults", "refused",
                           "summary") if k not in report]
    if missing:
        raise ReportError("the report lacks " + ", ".join(f"'{k}'" for k in missing))
    if report["schema"] != SCHEMA:
        raise ReportError(f"'schema' must be '{SCHEMA}'")
    _text(report["exercise"], "'exercise'", most=60)
    if exercises is not None and report["exercise"] not in exercises:
        raise ReportError(f"unknown exercise '{report['exercise']}'")
    video = report["video"]
    if not isinstance(video, dict):
        raise ReportError("'video' must be an object")
    _text(video.get("path"), "video.path", most=260)
    for key in ("duration_s", "fps"):
        _number(video.get(key), f"video.{key}")
    for key in ("frames", "width", "height"):
        _number(video.get(key), f"video.{key}", whole=True)
    _text(report["side"], "'side'", optional=True, choices=SIDES)
    _text(report["view"], "'view'", optional=True, choices=VIEWS)
    reps = _rows(report, "reps")
    for i, r in enumerate(reps):
        _number(r.get("index"), f"reps[{i}].index", whole=True, low=1)
        for key in ("start_s", "peak_s", "end_s"):
            _number(r.get(key), f"reps[{i}].{key}", optional=key == "peak_s")
        _text(r.get("side"), f"reps[{i}].side", optional=True, choices=SIDES)
        _metrics(r.get("metrics"), f"reps[{i}].metrics")
        faults = r.get("faults", [])
        if not isinstance(faults, list) or not all(isinstance(c, str) and len(c) <= 80 for c in faults):
            raise ReportError(f"reps[{i}].faults must be a list of fault codes")
    holds = _rows(report, "holds")
    for i, h in enumerate(holds):
        for key in ("start_s", "end_s", "duration_s", "correct_s"):
            _number(h.get(key), f"holds[{i}].{key}", optional=key == "correct_s")
        _text(h.get("side"), f"holds[{i}].side", optional=True, choices=SIDES)
        _metrics(h.get("metrics"), f"holds[{i}].metrics")
    for i, f in enumerate(_rows(report, "faults")):
        _text(f.get("code"), f"faults[{i}].code", most=80)
        _text(f.get("message"), f"faults[{i}].message", most=500)
        for key in ("start_s", "end_s"):
            _number(f.get(key), f"faults[{i}].{key}")
        rep = f.get("rep")
        _number(rep, f"faults[{i}].rep", optional=True, whole=True, low=1)
        if rep is not None and rep > len(reps):
            raise ReportError(f"faults[{i}] is on rep {rep}, but {len(reps)} reps were counted")
    for i, s in enumerate(_rows(report, "refused")):
        _text(s.get("reason"), f"refused[{i}].reason", most=80)
        for key in ("start_s", "end_s"):
            _number(s.get(key), f"refused[{i}].{key}")
    summary = report["summary"]
    if not isinstance(summary, dict):
        raise ReportError("'summary' must be an object")
    for key in ("rep_count", "hold_count"):
        _number(summary.get(key), f"summary.{key}", whole=True)
    for key in ("longest_hold_s", "total_hold_s"):
        _number(summary.get(key), f"summary.{key}")
    if summary["rep_count"] != len(reps) or summary["hold_count"] != len(holds):
        raise ReportError("summary's rep_count and hold_count must match the reps and holds listed")
    if "settings" in report and not isinstance(report["settings"], dict):
        raise ReportError("'settings' must be an object")
    if "sets" in report and not isinstance(report["sets"], list):
        raise ReportError("'sets' must be a list")
