"""`formcheck`: analyse a recorded video, list the exercise catalogue, prepare the pose models.

Every user-facing failure is one line on stderr and a non-zero exit code, never a traceback
(set FORMCHECK_DEBUG=1 to see one for an unexpected error).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import models
from .errors import FormcheckError

EXIT_USER_ERROR = 2


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return int(text)


def _overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise FormcheckError(f"--set takes NAME=VALUE, got '{pair}'")
        try:
            out[key] = int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            raise FormcheckError(f"--set {key}: '{value}' is not a number") from None
    return out


def _check_output(path: str | None, video: Path) -> None:
    if path is None:
        return
    out = Path(path)
    if not out.parent.exists() if str(out.parent) else False:
        raise FormcheckError(f"cannot write {out}: folder {out.parent} does not exist")
    if out.exists() and out.is_dir():
        raise FormcheckError(f"cannot write {out}: it is a folder")
    if out.resolve() == video.resolve():
        raise FormcheckError(f"refusing to overwrite the input video with {out}")


def _progress(label: str, quiet: bool):
    """A tqdm bar on stderr, created on the first update (so an early error prints no empty bar)."""
    bars = []
    if quiet:
        return None, lambda: None

    def update(done: int, total: int) -> None:
        if not bars:
            from tqdm import tqdm

            bars.append(tqdm(total=total or None, desc=label, unit="frame", file=sys.stderr, mininterval=0.5,
                             leave=False))
        bar = bars[0]
        if total and done > total:
            bar.total = done
        bar.update(done - bar.n)

    return update, lambda: [b.close() for b in bars]


def cmd_analyze(args) -> int:
    from .analyze import analyze_photo, analyze_video, write_annotated, write_annotated_photo
    from .video import is_image_path
    from .files import write_atomic
    from .report import build_report, frames_csv, report_json

    video = Path(args.video)
    for out in (args.json, args.csv, args.annotated):
        _check_output(out, video)
    if is_image_path(video):
        if args.annotated and not is_image_path(args.annotated):
            raise FormcheckError("for a photo, --annotated takes an image path (.png or .jpg)")
        analysis, info = analyze_photo(video, args.exercise, _overrides(args.set), args.model)
    else:
        update, close = _progress("analysing", args.quiet)
        try:
            analysis, info = analyze_video(video, args.exercise, _overrides(args.set), args.model, update,
                                           workers=args.workers)
        finally:
            close()
    report = build_report(analysis, info, args.model)
    text = report_json(report)
    if args.json:
        write_atomic(args.json, text)
    if args.csv:
        write_atomic(args.csv, frames_csv(analysis))
    if args.annotated and is_image_path(video):
        write_annotated_photo(video, analysis, args.annotated)
    elif args.annotated:
        update, close = _progress("annotating", args.quiet)
        try:
            write_annotated(video, analysis, args.annotated, update)
        finally:
            close()
    summary = report["summary"]
    if not args.json:
        sys.stdout.write(text)
    else:
        faults = sorted({f["code"] for f in report["faults"]})
        print(f"{args.exercise}: {summary['rep_count']} reps, {summary['hold_count']} holds "
              f"(longest {summary['longest_hold_s']:.1f} s), faults: {', '.join(faults) or 'none'}, "
              f"refused spans: {len(report['refused'])} -> {args.json}")
    return 0


def catalogue_markdown() -> str:
    """The README's exercise section, generated from the specs so the two never disagree."""
    from .exercises import CATALOGUE

    lines = []
    for spec in CATALOGUE.values():
        lines.append(f"#### `{spec.name}` — {spec.title} ({spec.kind})")
        lines.append(f"- Camera: {spec.camera} (views judged: {', '.join(spec.views)})")
        lines.append(f"- Checked: {spec.measures}")
        if spec.position_cue:
            lines.append(f"- Getting into position: \"{spec.position_cue}\"")
        lines.append("- Cues: " + "; ".join(f"`{f.code}` \"{f.cue}\"" for f in spec.faults))
        lines.append("- Defaults: " + ", ".join(f"`{k}={v}`" for k, v in spec.defaults.items()))
        lines.append(f"- Source: {spec.source}")
        lines.append("")
    return "\n".join(lines)


def cmd_exercises(args) -> int:
    from .exercises import CATALOGUE

    if args.markdown:
        print(catalogue_markdown(), end="")
        return 0
    for spec in CATALOGUE.values():
        print(f"{spec.name}  ({spec.kind}; camera: {', '.join(spec.views)})")
        print(f"  {spec.title}: {spec.measures}")
        print(f"  set-up: {spec.camera}")
        for f in spec.faults:
            print(f"  fault {f.code}: \"{f.cue}\"")
        print("  defaults: " + ", ".join(f"{k}={v}" for k, v in spec.defaults.items()))
        print(f"  source: {spec.source}\n")
    return 0


def cmd_models(args) -> int:
    variants = models.VARIANTS if args.variant == "all" else (args.variant,)
    for variant in variants:
        path = models.ensure_model(variant)
        print(f"{variant}: {path} (sha256 {models.sha256_of(path)[:16]}…, verified)")
    return 0


def cmd_admin(args) -> int:
    import getpass

    from .clinic import OPERATOR, Clinic
    from .store import database_url, open_store

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.username}: ")
    else:
        raise FormcheckError("give the password on standard input with --password-stdin (never as an argument)")
    clinic = Clinic(open_store())
    user_id = clinic.create_user(OPERATOR, args.username, password, args.role, args.name or args.username)
    print(f"created {args.role} '{args.username}' (id {user_id}) in {database_url().split('://')[0]} database")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="formcheck", description="Exercise form checker for physiotherapy home programmes.")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("analyze", help="check the form in a recorded video")
    a.add_argument("video", help="a video file, or a still photo (.jpg/.png) of a held position")
    a.add_argument("--exercise", "-e", required=True, help="catalogue name (see `formcheck exercises`)")
    a.add_argument("--json", help="write the report (report-schema.md) here")
    a.add_argument("--csv", help="write per-frame angles here")
    a.add_argument("--annotated", help="write an annotated H.264 .mp4 here")
    a.add_argument("--model", default=models.DEFAULT_VARIANT, choices=models.VARIANTS, help="pose model size")
    a.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override an exercise default (e.g. knee_bent_deg=125); repeatable")
    a.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    a.add_argument("--workers", type=_positive_int, metavar="N",
                   help="track N parts of the video at once (default: one per CPU core; 1 = a single pass)")
    a.set_defaults(func=cmd_analyze)
    e = sub.add_parser("exercises", help="list the exercise catalogue with defaults and sources")
    e.add_argument("--markdown", action="store_true", help="print the catalogue as the README's Markdown section")
    e.set_defaults(func=cmd_exercises)
    m = sub.add_parser("models", help="prepare and verify the pose model(s)")
    m.add_argument("--variant", default=models.DEFAULT_VARIANT, choices=(*models.VARIANTS, "all"))
    m.set_defaults(func=cmd_models)
    adm = sub.add_parser("admin", help="create a therapist (or admin) account on this server's database")
    adm.add_argument("action", choices=["create-user"])
    adm.add_argument("username")
    adm.add_argument("--role", choices=["therapist", "admin"], default="therapist")
    adm.add_argument("--name", help="display name")
    adm.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    adm.set_defaults(func=cmd_admin)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except FormcheckError as exc:
        print(f"formcheck: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("formcheck: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the promise: one line, never a traceback
        if os.environ.get("FORMCHECK_DEBUG"):
            raise
        print(f"formcheck: internal error: {type(exc).__name__}: {exc} (set FORMCHECK_DEBUG=1 for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
