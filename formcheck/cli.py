"""`formcheck`: analyse a recorded video (here, or queued for workers), list the exercise catalogue, prepare
the pose models.

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
from .overrides import parse_overrides

EXIT_USER_ERROR = 2


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return int(text)


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
    from .analyze import ANALYSIS_FPS, analyze_photo, analyze_video, write_annotated, write_annotated_photo
    from .video import is_image_path
    from .files import write_atomic
    from .report import build_report, frames_csv, report_json

    video = Path(args.video)
    for out in (args.json, args.csv, args.annotated):
        _check_output(out, video)
    if is_image_path(video):
        if args.annotated and not is_image_path(args.annotated):
            raise FormcheckError("for a photo, --annotated takes an image path (.png or .jpg)")
        analysis, info = analyze_photo(video, args.exercise, parse_overrides(args.set), args.model)
    else:
        update, close = _progress("analysing", args.quiet)
        try:
            analysis, info = analyze_video(video, args.exercise, parse_overrides(args.set), args.model, update,
                                           workers=args.workers,
                                           fps=None if args.every_frame else args.fps or ANALYSIS_FPS)
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
    _print_summary(report, text, args)
    return 0


def _print_summary(report: dict, text: str, args) -> None:
    summary = report["summary"]
    if not args.json:
        sys.stdout.write(text)
    else:
        faults = sorted({f["code"] for f in report["faults"]})
        print(f"{args.exercise}: {summary['rep_count']} reps, {summary['hold_count']} holds "
              f"(longest {summary['longest_hold_s']:.1f} s), faults: {', '.join(faults) or 'none'}, "
              f"refused spans: {len(report['refused'])} -> {args.json}")


def cmd_submit(args) -> int:
    """Queue one analysis (formcheck/jobs.py), wait for it printing its progress, write what it made."""
    from . import jobs
    from .files import write_atomic
    from .video import is_image_path

    video = Path(args.video)
    for out in (args.json, args.csv, args.annotated):
        _check_output(out, video)
    if is_image_path(video):
        raise FormcheckError("a photo is checked at once: use `formcheck analyze PHOTO`, not the queue")
    job_id = jobs.submit(video, args.exercise, parse_overrides(args.set), name=args.video, model=args.model,
                         annotated=bool(args.annotated))
    if not args.quiet:
        print(f"formcheck: job {job_id} queued; waiting for a worker ...", file=sys.stderr)
    bars = []

    def shown(p: "jobs.JobProgress") -> None:
        if args.quiet:
            return
        if p.state == "running":
            if not bars or bars[-1][0] != (p.attempt, p.phase):
                if bars:
                    bars[-1][1].close()
                from tqdm import tqdm

                label = f"{p.phase} on {p.worker}" + (f" (attempt {p.attempt})" if p.attempt > 1 else "")
                bars.append(((p.attempt, p.phase), tqdm(total=p.total or None, desc=label, unit="frame",
                                                         file=sys.stderr, mininterval=0.5, leave=False)))
            bar = bars[-1][1]
            if p.total and bar.total != p.total:
                bar.total = p.total
            bar.update(max(0, p.done - bar.n))

    try:
        done = jobs.wait(job_id, shown, timeout_s=args.timeout)
    except jobs.JobFailed as exc:
        jobs.discard(job_id)
        if exc.internal:
            raise RuntimeError(f"the worker failed: {exc}") from None
        raise
    finally:
        for _, bar in bars:
            bar.close()
    if args.json:
        write_atomic(args.json, done.report_json)
    if args.csv:
        write_atomic(args.csv, done.frames_csv)
    if args.annotated:
        write_atomic(args.annotated, done.annotated)
    jobs.discard(job_id)
    _print_summary(done.report, done.report_json, args)
    return 0


def cmd_worker(args) -> int:
    from . import jobs

    jobs.run_worker(concurrency=args.concurrency, threads=args.threads, name=args.name, loglevel=args.loglevel)
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
    if args.browser:
        folder = models.ensure_web_runtime()
        print(f"browser runtime: {folder} ({len(models.WEB_RUNTIME_FILES)} files of {models.TASKS_VISION}, verified)")
    return 0


def cmd_admin(args) -> int:
    if args.action == "backup":
        return cmd_backup(args)
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


def cmd_backup(args) -> int:
    """A consistent copy of the SQLite database (its online backup API: the server may go on writing); for
    PostgreSQL, the error says to use pg_dump."""
    from .store import backup

    target = backup(args.path)
    print(f"backed up the database to {target} ({target.stat().st_size:,} bytes, readable by this user only)")
    return 0


def _analysis_arguments(parser: argparse.ArgumentParser, video_help: str) -> None:
    """What `analyze` and `submit` both take: the video, the exercise, the outputs and the settings."""
    parser.add_argument("video", help=video_help)
    parser.add_argument("--exercise", "-e", required=True, help="catalogue name (see `formcheck exercises`)")
    parser.add_argument("--json", help="write the report (report-schema.md) here")
    parser.add_argument("--csv", help="write per-frame angles here")
    parser.add_argument("--annotated", help="write an annotated H.264 .mp4 here")
    parser.add_argument("--model", default=models.DEFAULT_VARIANT, choices=models.VARIANTS, help="pose model size")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override an exercise default (e.g. knee_bent_deg=125); repeatable")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="formcheck",
                                description="Exercise form checker for physiotherapy home programmes.")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("analyze", help="check the form in a recorded video")
    _analysis_arguments(a, "a video file, or a still photo (.jpg/.png) of a held position")
    a.add_argument("--workers", type=_positive_int, metavar="N",
                   help="track N parts of the video at once (default: one per CPU core; 1 = a single pass)")
    rate = a.add_mutually_exclusive_group()
    rate.add_argument("--fps", type=_positive_int, metavar="N",
                      help="track a steady N frames a second (every frame of a slower source; default 15)")
    rate.add_argument("--every-frame", action="store_true", help="track every frame of the video (slower)")
    a.set_defaults(func=cmd_analyze)
    q = sub.add_parser("submit", help="queue the analysis of a video for a worker and wait for its report "
                                      "(needs FORMCHECK_BROKER_URL)")
    _analysis_arguments(q, "a video file")
    q.add_argument("--timeout", type=float, default=3600.0, metavar="S",
                   help="give up waiting after S seconds (the job itself goes on; default 3600)")
    q.set_defaults(func=cmd_submit)
    w = sub.add_parser("worker", help="analyse queued uploads until stopped (needs FORMCHECK_BROKER_URL; run any "
                                      "number, on any machine sharing the broker and FORMCHECK_MEDIA_URL)")
    w.add_argument("--concurrency", "-c", type=_positive_int, default=1,
                   help="analyses at once in this worker (default 1; each uses --threads cores)")
    w.add_argument("--threads", type=_positive_int, metavar="N",
                   help="parts of a video tracked at once (default: this machine's cores / concurrency)")
    w.add_argument("--name", help="worker name (default formcheck-PID@host)")
    w.add_argument("--loglevel", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    w.set_defaults(func=cmd_worker)
    e = sub.add_parser("exercises", help="list the exercise catalogue with defaults and sources")
    e.add_argument("--markdown", action="store_true", help="print the catalogue as the README's Markdown section")
    e.set_defaults(func=cmd_exercises)
    m = sub.add_parser("models", help="prepare and verify the pose model(s)")
    m.add_argument("--variant", default=models.DEFAULT_VARIANT, choices=(*models.VARIANTS, "all"))
    m.add_argument("--browser", action="store_true",
                   help="also prepare the browser's pose runtime (npm's tasks-vision module and wasm, in models/web)")
    m.set_defaults(func=cmd_models)
    adm = sub.add_parser("admin", help="manage this server's database: create a therapist (or admin), back it up")
    actions = adm.add_subparsers(dest="action", required=True)
    cu = actions.add_parser("create-user", help="create a therapist (or admin) account")
    cu.add_argument("username")
    cu.add_argument("--role", choices=["therapist", "admin"], default="therapist")
    cu.add_argument("--name", help="display name")
    cu.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    bk = actions.add_parser("backup", help="write a consistent copy of the SQLite database to PATH (0600); "
                                           "for PostgreSQL use pg_dump")
    bk.add_argument("path", help="the backup file to write (its folder must exist)")
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
