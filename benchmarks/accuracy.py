"""Accuracy on the real clips and photos, measured: every labelled case in ../shared (videos/ and photos/
labels-dev.json) and the clips the README names by their description, through the real analysis (the
default pose model), judged against what each label says. Prints one Markdown table (media, what the label
says, what formcheck said, right or wrong) and "N of M right": the README's accuracy table is this output.

    python benchmarks/accuracy.py [--only NAME ...] [--markdown] [--no-every-frame]

Each clip is analysed twice in the run: as formcheck does by default, at the steady rate of 15 frames a second
(ANALYSIS_FPS: the table), and over every frame (`formcheck analyze --every-frame`, what it did before); the
lines under the table say what differs.

A measurement, not a test: wrong rows are reported, not failed on. The exit code is non-zero only when
something crashed (an analysis that raised is reported as an error row, then the script exits with 1).

How a label is judged (one function per kind of label, below):
- look-alike (`formcheck_exercise` names a checker, then "(look-alike: must not be accepted ...)"): another
  exercise shown to a checker; right when no rep is reported fault-free. The label's other fields describe
  the other exercise, so they are not compared.
- `reps_complete`: the count; with `tops_s`/`rep_tops_s`/`bottoms_s` (times or [from, to] spans) each counted
  rep's peak must lie within TIME_TOL_S of a labelled one.
- `single_leg_intervals_s`/`holds_s`: as many holds as intervals; together they cover at least
  HOLD_COVERAGE_MIN of the labelled time, and no more than HOLD_SPILL_MAX of it lies outside (± tolerance).
- `faults`: [] or "none …" = no fault at all (bar one that names the labelled exercise itself, e.g.
  `both_legs` for a double-leg raise: VARIANT_CODES); a phrase naming a rounded back or bent knees = that fault,
  and when it gives a span ("21.3-23.0 s") the fault must fire in it and nowhere else; phrases formcheck
  does not judge are listed as not checked.
- `back` (clips and photos): "rounded…" = `back_rounded`, anything else = none.
- photos' `knee`/`back_knee` "straight", `back_heel` "down": `knee_bent`/`back_knee_bent`/`heel_lifted`
  absent. A labelled photo must be judged, not refused.
- cases named by their description (DESCRIBED): `reps_min`, `holds`, `hold_sides`, `faults_present`,
  `faults_absent`.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"  # ../shared beside the repository, as the tests expect
VIDEOS, PHOTOS = SHARED / "videos", SHARED / "photos"

TIME_TOL_S = 0.4  # a counted rep's peak vs the labelled top/bottom (labels are made by eye, ±0.3 s)
HOLD_COVERAGE_MIN = 0.8  # share of the labelled stance/hold time the holds must cover
HOLD_SPILL_MAX = 0.2  # hold time outside the labelled intervals, as a share of the labelled time
HOLD_EDGE_TOL_S = 0.3  # labelled interval edges are this uncertain unless the label says (tolerance_s)

# Not dev labels: what each clip shows by its description in ../shared/videos/README.md (the README's
# accuracy table lists them); judged with the same rules as the labels.
DESCRIBED = {
    "deadlift_side_formfit.mp4": {"formcheck_exercise": "hip_hinge", "says": "clean deadlift hinge",
                                  "reps_min": 1, "faults_absent": ["back_rounded"]},
    "rdl_side_kneebent_wrong_gazi_BL.mp4": {"formcheck_exercise": "hip_hinge", "says": "RDL squatted down",
                                            "faults_present": ["knee_bent"]},
    "rdl_side_kneebent_right_gazi_BR.mp4": {"formcheck_exercise": "hip_hinge", "says": "RDL, soft knees",
                                            "faults_absent": ["knee_bent"]},
    "standhamstring_heelfwd_flat_mewfit.mp4": {"formcheck_exercise": "hamstring_stretch_standing",
                                               "says": "two holds, flat back", "holds": 2,
                                               "faults_absent": ["back_rounded"]},
    "supine_hamstring_handsleg_mewfit.mp4": {"formcheck_exercise": "hamstring_stretch_supine",
                                             "says": "two holds, one per leg", "holds": 2,
                                             "hold_sides": ["left", "right"]},
}


@dataclass
class Case:
    media: str
    path: Path
    exercise: str | None  # None: no checker for the labelled exercise
    label: dict
    photo: bool = False
    described: bool = False  # expectations from the clip's description, not a dev label
    look_alike: bool = False  # another exercise shown to this checker: must not be accepted


@dataclass
class Judgement:
    said: str  # what the label says, short
    problems: list[str] = field(default_factory=list)  # why formcheck is wrong about it (empty: right)


# --- what formcheck said ----------------------------------------------------------------------------

@dataclass
class Outcome:
    """The parts of an analysis the judges read (a CheckResult's reps, holds, faults, refusals)."""

    reps: list  # (peak_s, faults)
    holds: list  # (start_s, end_s, side)
    faults: list  # (code, start_s, end_s)
    refused: list  # (code, start_s, end_s)

    @classmethod
    def of(cls, result) -> "Outcome":
        return cls([(r.peak_s, list(r.faults)) for r in result.reps],
                   [(h.start_s, h.end_s, h.side) for h in result.holds],
                   [(f.code, f.start_s, f.end_s) for f in result.faults],
                   [(f.code, f.start_s, f.end_s) for f in result.refused])

    @property
    def codes(self) -> set[str]:
        return {code for code, _, _ in self.faults}


def summary(out: Outcome, photo: bool = False) -> str:
    if photo:
        if out.refused:
            return "refused: " + ", ".join(code for code, _, _ in out.refused)
        return ", ".join(f"`{c}`" for c in sorted(out.codes)) or "no fault"
    parts = []
    if out.reps:
        parts.append(f"{len(out.reps)} rep{'s' * (len(out.reps) != 1)}, peaks "
                     + "/".join(f"{p:.2f}" for p, _ in out.reps) + " s")
        faulted = [f"{i}: " + "+".join(f) for i, (_, f) in enumerate(out.reps, 1) if f]
        if faulted:
            parts.append("rep faults " + ", ".join(faulted))
    if out.holds:
        parts.append(f"{len(out.holds)} hold{'s' * (len(out.holds) != 1)} "
                     + ", ".join(f"{s:.2f}–{e:.2f} s" + (f" {side}" if side else "") for s, e, side in out.holds))
    if not out.reps and not out.holds:
        parts.append("no rep or hold")
    parts.append(", ".join(sorted({f"`{c}`" for c in out.codes})) or "no faults")
    return "; ".join(parts)


# --- the judges: one per kind of label ----------------------------------------------------------------

def judge_look_alike(case: Case, out: Outcome) -> Judgement | None:
    if not case.look_alike:
        return None
    clean = [i for i, (_, faults) in enumerate(out.reps, 1) if not faults]
    shown = case.label.get("exercise", "another exercise").split(" (")[0].split(" - ")[0]
    return Judgement(f"{shown}: a look-alike, not a correct {case.exercise}",
                     [f"rep {', '.join(map(str, clean))} accepted as a correct {case.exercise}"] if clean else [])


def _times(values: list) -> list[tuple[float, float]]:
    """Labelled tops/bottoms as spans: a time t is (t, t); a [from, to] pair stays a span."""
    return [(float(v[0]), float(v[1])) if isinstance(v, list) else (float(v), float(v)) for v in values]


def judge_reps(case: Case, out: Outcome) -> Judgement | None:
    label = case.label
    if "reps_complete" not in label:
        return None
    want = label["reps_complete"]
    key = next((k for k in ("tops_s", "rep_tops_s", "bottoms_s") if k in label), None)
    said = f"{want} rep{'s' * (want != 1)}"
    problems = [] if len(out.reps) == want else [f"{len(out.reps)} reps counted"]
    if key:
        spans = _times(label[key])
        said += (", bottoms " if key.startswith("bottoms") else ", tops ") + "/".join(
            f"{a:g}" if a == b else f"{a:g}–{b:g}" for a, b in spans) + " s"
        for i, (peak, _) in enumerate(out.reps, 1):
            if not any(a - TIME_TOL_S <= peak <= b + TIME_TOL_S for a, b in spans):
                problems.append(f"rep {i} peaks at {peak:.2f} s, not at a labelled one")
    return Judgement(said, problems)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def judge_holds(case: Case, out: Outcome) -> Judgement | None:
    label = case.label
    key = next((k for k in ("single_leg_intervals_s", "holds_s") if k in label), None)
    if key is None:
        return None
    intervals = _times(label[key])
    tol = float(label.get("tolerance_s", HOLD_EDGE_TOL_S))
    labelled = sum(b - a for a, b in intervals)
    holds = [(s, e) for s, e, _ in out.holds]
    covered = sum(_overlap(h, i) for h in holds for i in intervals)
    widened = [(a - tol, b + tol) for a, b in intervals]
    spill = sum((e - s) - sum(_overlap((s, e), w) for w in widened) for s, e in holds)
    said = ("stance " if key == "single_leg_intervals_s" else "hold ") + ", ".join(
        f"{a:g}–{b:g} s" for a, b in intervals)
    problems = []
    if len(holds) != len(intervals):
        problems.append(f"{len(holds)} holds for {len(intervals)} labelled")
    if covered < HOLD_COVERAGE_MIN * labelled:
        problems.append(f"covers {covered / labelled:.0%} of the labelled time")
    if spill > HOLD_SPILL_MAX * labelled:
        problems.append(f"{spill:.1f} s of hold outside it")
    return Judgement(said, problems)


SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*[-–]\s*(\d+(?:\.\d+)?)\s*s\b")


def fault_meant(phrase: str) -> str | None:
    """The formcheck fault a label's fault phrase names (None: one formcheck does not judge)."""
    words = phrase.lower().replace("_", " ")
    if re.search(r"\brounded\b", words):
        return "back_rounded"
    if re.search(r"\bknees?\b", words) and re.search(r"\bbent\b", words):
        return "knee_bent"
    return None


# what the labelled exercise itself is, when formcheck's checker names it as a fault: not a wrong answer
VARIANT_CODES = {"double_leg": "both_legs"}  # a word in the label's `exercise` -> the fault code it implies


def judge_faults(case: Case, out: Outcome) -> Judgement | None:
    phrases = case.label.get("faults")
    if phrases is None:
        return None
    variant = {code for word, code in VARIANT_CODES.items() if word in case.label.get("exercise", "")}
    if not phrases or all(p.lower().startswith("none") for p in phrases):
        said = "no faults" + "".join(f" (`{c}` is the labelled exercise)" for c in sorted(variant))
        return Judgement(said, [f"`{c}` reported" for c in sorted(out.codes - variant)])
    said, problems, unchecked = [], [], []
    for phrase in phrases:
        code = fault_meant(phrase)
        if code is None:
            unchecked.append(phrase)
            continue
        span = SPAN.search(phrase)
        if span is None:
            said.append(f"`{code}`")
            if code not in out.codes:
                problems.append(f"no `{code}`")
            continue
        a, b = float(span.group(1)), float(span.group(2))
        said.append(f"`{code}` {a:g}–{b:g} s only")
        episodes = [(s, e) for c, s, e in out.faults if c == code]
        if not any(_overlap((s, e), (a - TIME_TOL_S, b + TIME_TOL_S)) > 0 for s, e in episodes):
            problems.append(f"no `{code}` in {a:g}–{b:g} s")
        elsewhere = [f"{s:.1f}–{e:.1f}" for s, e in episodes if _overlap((s, e), (a - TIME_TOL_S, b + TIME_TOL_S)) == 0]
        if elsewhere:
            problems.append(f"`{code}` also at {', '.join(elsewhere)} s")
    if unchecked:
        said.append(f"not checked: {', '.join(unchecked)}")
    return Judgement("; ".join(said), problems)


def judge_back(case: Case, out: Outcome) -> Judgement | None:
    back = case.label.get("back")
    if back is None:
        return None
    rounded = back.startswith("rounded")
    if rounded == ("back_rounded" in out.codes):
        return Judgement(f"back {back}")
    return Judgement(f"back {back}", ["no `back_rounded`" if rounded else "`back_rounded` reported"])


PHOTO_LEGS = {"knee": ("straight", "knee_bent"), "back_knee": ("straight", "back_knee_bent"),
              "back_heel": ("down", "heel_lifted")}  # label key: (value, the fault it rules out)


def judge_photo(case: Case, out: Outcome) -> Judgement | None:
    if not case.photo:
        return None
    said, problems = [], [f"refused ({code})" for code, _, _ in out.refused]
    for key, (value, code) in PHOTO_LEGS.items():
        if case.label.get(key) == value:
            said.append(f"{key.replace('_', ' ')} {value}")
            if code in out.codes:
                problems.append(f"`{code}` reported")
    return Judgement(", ".join(said), problems)


def judge_described(case: Case, out: Outcome) -> Judgement | None:
    if not case.described:
        return None
    expect, problems = case.label, []
    if len(out.reps) < expect.get("reps_min", 0):
        problems.append(f"{len(out.reps)} reps")
    if "holds" in expect and len(out.holds) != expect["holds"]:
        problems.append(f"{len(out.holds)} holds")
    if "hold_sides" in expect and sorted(side or "?" for _, _, side in out.holds) != sorted(expect["hold_sides"]):
        problems.append("hold sides " + "/".join(side or "?" for _, _, side in out.holds))
    problems += [f"no `{c}`" for c in expect.get("faults_present", []) if c not in out.codes]
    problems += [f"`{c}` reported" for c in expect.get("faults_absent", []) if c in out.codes]
    return Judgement(f"by the clip's description: {expect['says']}", problems)


JUDGES = (judge_reps, judge_holds, judge_faults, judge_back, judge_photo, judge_described)


def judge(case: Case, out: Outcome) -> list[Judgement]:
    """Every kind of label the case carries, judged; a look-alike only as a look-alike."""
    look_alike = judge_look_alike(case, out)
    if look_alike is not None:
        return [look_alike]
    return [j for j in (judge_one(case, out) for judge_one in JUDGES) if j is not None]


# --- the cases ------------------------------------------------------------------------------------------

def exercise_of(label: dict, known) -> tuple[str | None, bool]:
    """(checker, look-alike?) from a label's `formcheck_exercise`: a checker's name, maybe followed by
    "(look-alike: …)"; (None, False) when there is no checker for the named exercise."""
    named = label.get("formcheck_exercise", "")
    first = named.split()[0] if named.split() else ""
    if first not in known:
        return None, False
    return first, "look-alike" in named


def cases(known) -> list[Case]:
    out = []
    for folder, photo in ((VIDEOS, False), (PHOTOS, True)):
        labels = json.loads((folder / "labels-dev.json").read_text())
        for media, label in labels.items():
            if media.startswith("_"):
                continue
            exercise, look_alike = exercise_of(label, known)
            out.append(Case(media, folder / media, exercise, label, photo=photo, look_alike=look_alike))
    for media, expect in DESCRIBED.items():
        out.append(Case(media, VIDEOS / media, expect["formcheck_exercise"], expect, described=True))
    return out


def analyse(case: Case, every_frame: bool = False) -> Outcome:
    from formcheck.analyze import ANALYSIS_FPS, analyze_photo, analyze_video

    if case.photo:
        analysis, _ = analyze_photo(case.path, case.exercise)
    else:
        analysis, _ = analyze_video(case.path, case.exercise, fps=None if every_frame else ANALYSIS_FPS)
    return Outcome.of(analysis.result)


def row(case: Case, out: Outcome | None, error: str | None = None) -> tuple[str, str, str, str]:
    media = f"{case.media} ({case.exercise or case.label.get('formcheck_exercise', '?')})"
    if case.exercise is None:
        return media, case.label.get("exercise", "?"), "no checker", "not judged"
    if error is not None:
        return media, "", f"error: {error}", "error"
    judgements = judge(case, out)
    said = "; ".join(j.said for j in judgements if j.said)
    problems = [p for j in judgements for p in j.problems]
    return media, said, summary(out, case.photo), "right" if not problems else "**wrong**: " + "; ".join(problems)


def markdown(rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["| media | label | formcheck | verdict |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in r) + " |" for r in rows]
    judged = [r for r in rows if r[3] != "not judged"]
    right = sum(r[3] == "right" for r in judged)
    unjudged = len(rows) - len(judged)
    lines.append("")
    lines.append(f"**{right} of {len(judged)} right**" + (f" ({unjudged} not judged: no checker)" if unjudged else ""))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only the media whose name contains NAME (repeatable)")
    parser.add_argument("--markdown", action="store_true", default=True, help="print a Markdown table (default)")
    parser.add_argument("--no-every-frame", dest="every_frame", action="store_false",
                        help="skip the second analysis of each clip over every frame")
    args = parser.parse_args(argv)
    from formcheck.exercises import CATALOGUE

    chosen = [c for c in cases(CATALOGUE) if not args.only or any(n in c.media for n in args.only)]
    rows, every, crashed = [], {}, False
    for i, case in enumerate(chosen, 1):
        print(f"[{i}/{len(chosen)}] {case.media} ...", file=sys.stderr, flush=True)
        if case.exercise is None:
            rows.append(row(case, None))
            continue
        for all_frames in (False, True) if args.every_frame and not case.photo else (False,):
            t0 = time.perf_counter()
            try:
                found = row(case, analyse(case, all_frames))
            except Exception as exc:  # noqa: BLE001 -- a crash is reported in its row and in the exit code
                traceback.print_exc()
                found = row(case, None, f"{type(exc).__name__}: {exc}")
                crashed = True
            if all_frames:
                every[len(rows) - 1] = found
            else:
                rows.append(found)
            print(f"    {'every frame' if all_frames else 'steady rate'} {time.perf_counter() - t0:.1f} s: "
                  f"{found[3]}", file=sys.stderr, flush=True)
    print(markdown(rows))
    if every:
        print(compared(rows, every))
    return 1 if crashed else 0


def compared(rows: list[tuple], every: dict[int, tuple]) -> str:
    """The verdicts over every frame against those at the steady rate (the table), in the same run: right or
    wrong the same, and where the details of what was found differ."""
    flipped = [i for i in sorted(every) if (every[i][3] == "right") != (rows[i][3] == "right")]
    detail = [i for i in sorted(every) if i not in flipped and every[i][2:] != rows[i][2:]]
    right = sum(every[i][3] == "right" for i in every)
    lines = ["", f"Over every frame (`--every-frame`): {right} of {len(every)} clips right; right or wrong the same "
             f"as at the steady rate on {len(every) - len(flipped)} of {len(every)} clips."]
    lines += [f"- verdict changed: {rows[i][0]}: steady rate {rows[i][3]}, every frame {every[i][3]}" for i in flipped]
    lines += [f"- same verdict, other details: {rows[i][0]}: steady rate {rows[i][2]}; every frame {every[i][2]}"
              for i in detail]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
