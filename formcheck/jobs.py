"""Upload analysis as jobs on a Celery queue, when one machine is not enough.

With `FORMCHECK_BROKER_URL` set (a Redis URL, `redis://host:6379/0`, or a RabbitMQ one,
`amqp://user:pw@host:5672//`), an upload is put in the media store (formcheck/media.py), one message naming
its job is sent to the `formcheck` queue, and any `formcheck worker` (any number, on any machine sharing the
broker and the media store) analyses it. Without it nothing here is used: the page analyses in-process.

The page's API (also what `formcheck submit` uses):
    job_id = submit(path, exercise, params, name=..., review=True)
    progress(job_id) -> JobProgress(state "queued" | "running" | "done" | "failed", done, total, ...)
    result(job_id)   -> JobResult (report, CSV, annotated video, the page's Review) or None while not done;
                        raises JobFailed (a FormcheckError: the usual one-line message) if it failed
    wait(job_id, on_progress, timeout) -> JobResult
    discard(job_id)  -> removes the job's media (the raw upload is removed by the worker when it is done)

A job in the media store, `jobs/<id>/`: `job.json` (what to do), the upload, `progress.json` (rewritten every
2 s by the run working on it: its heartbeat), `claim.<n>` (which run owns attempt n), the results, and
`outcome.json`, written once (a conditional create), after the results: its presence is what "done" means.

Delivery (Celery's, not ours): `acks_late` (a message is acknowledged when its job has ended, not when a worker
takes it), `task_reject_on_worker_lost` (a pool process that dies puts its message straight back), prefetch 1.
A worker SIGKILLed with its pool cannot put anything back: on Redis, its unacknowledged message returns to the
queue once it is older than the transport's visibility timeout (an hour by Celery's default; here
`FORMCHECK_VISIBILITY_TIMEOUT_S`, default 60 s, swept for every 5 s by every live worker), so another worker
redoes it within about 1–2 minutes. A live worker keeps its own messages from expiring (`KeepReservedInvisible`
renews them every visibility-timeout / 4), so a long analysis is never handed to a second worker meanwhile.
RabbitMQ redelivers when the dead worker's connection closes.

Exactly once, whatever is delivered twice: a run first looks at the job. Outcome there → nothing to do. A fresh
heartbeat of another run → it retries later (Celery retry), and takes over if that heartbeat has stopped. A
file that makes its worker die is given up after MAX_CRASHES such deaths; a file that is not a video fails at
once, its one-line message stored as the outcome, and is never retried.
"""

from __future__ import annotations

import json
import os
import pickle
import socket
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import FormcheckError
from .media import MediaError, MediaStore, open_media

QUEUE = "formcheck"
TASK = "formcheck.analyse"
HEARTBEAT_S = 2.0  # a running job's progress.json is rewritten this often
STALE_S = 30.0  # a heartbeat older than this belongs to a run that has died
MAX_CRASHES = 3  # a job whose worker died this many times while on it fails instead of being retried again
JOB_TTL_S = 24 * 3600  # a job's leftovers (results nobody fetched) are removed after this long
SWEEP_EVERY_S = 3600.0


class JobFailed(FormcheckError):
    """The job ended without a report; its message is the one `formcheck analyze` would have printed."""

    def __init__(self, message: str, internal: bool = False):
        super().__init__(message)
        self.internal = internal


def broker_url() -> str | None:
    return os.environ.get("FORMCHECK_BROKER_URL") or None


def enabled() -> bool:
    """Whether uploads go to the queue (FORMCHECK_BROKER_URL set) rather than being analysed in-process."""
    return broker_url() is not None


def visibility_timeout_s() -> float:
    return float(os.environ.get("FORMCHECK_VISIBILITY_TIMEOUT_S", "60"))


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


# --- the Celery app ------------------------------------------------------------------------------------------

_apps: dict[str, object] = {}


def celery_app(url: str | None = None):
    """The Celery app on the broker at `url` (default FORMCHECK_BROKER_URL), with the analysis task."""
    url = url or broker_url()
    if not url:
        raise FormcheckError("no job queue: set FORMCHECK_BROKER_URL to a Redis or RabbitMQ URL "
                             "(e.g. redis://127.0.0.1:6379/0), or use `formcheck analyze`")
    if url in _apps:
        return _apps[url]
    from celery import Celery

    app = Celery("formcheck", broker=url, set_as_current=False)
    timeout = visibility_timeout_s()
    app.conf.update(
        task_acks_late=True,  # acknowledged when the job has ended, so a dead worker's job is redelivered
        task_reject_on_worker_lost=True,  # a pool process killed mid-job puts its message straight back
        task_acks_on_failure_or_timeout=True,  # an unexpected error fails once; it is not redelivered
        worker_prefetch_multiplier=1,  # a worker holds only what it runs: the rest waits for whoever is free
        task_ignore_result=True,  # results live in the media store, written once per job
        task_serializer="json", accept_content=["json"],
        task_default_queue=QUEUE,
        broker_connection_retry_on_startup=True,
        worker_max_tasks_per_child=20,  # a fresh pool process now and then: no slow growth over weeks
        broker_transport_options={
            "visibility_timeout": timeout,  # Redis: a dead worker's job is back in the queue after this long
            "unacked_restore_interval": 5,  # ... as seen by a live worker's sweep every 5 s (default 100 s)
            "unacked_restore_throttle": 1,
            "unacked_mutex_expire": max(30, int(timeout)),  # a worker killed mid-sweep blocks sweeps this long
        },
    )
    app.task(bind=True, name=TASK, max_retries=None)(_analyse)
    app.steps["consumer"].add(_renewal_step())
    _apps[url] = app
    return app


_steps: list = []


def _renewal_step():
    """The bootstep class below, made once (Celery is imported only where a queue is used)."""
    if _steps:
        return _steps[0]
    from celery import bootsteps

    class KeepReservedInvisible(bootsteps.StartStopStep):
        """On Redis, renew the delivery time of every message this worker holds (running or waiting for a pool
        process), so the visibility timeout only returns the messages of a worker that has died.

        The Redis transport keeps unacknowledged messages in a sorted set scored by delivery time
        (`unacked_index`, a documented transport option) and puts back those older than the visibility
        timeout. A live worker's event loop (not its busy pool) moves its messages' scores to now; ZADD XX never
        re-adds one that was acknowledged or already put back."""

        requires = {"celery.worker.consumer.tasks:Tasks"}

        def __init__(self, parent, **kwargs):
            super().__init__(parent, **kwargs)
            self.tref = None

        def start(self, c):
            if getattr(c.connection.transport, "driver_type", "") != "redis":
                return  # RabbitMQ has no visibility timeout: it redelivers when a consumer's connection closes
            every = max(1.0, min(30.0, visibility_timeout_s() / 4))
            self.tref = c.timer.call_repeatedly(every, renew_held_messages, priority=10)

        def stop(self, c):
            if self.tref is not None:
                self.tref.cancel()
                self.tref = None

    _steps.append(KeepReservedInvisible)
    return KeepReservedInvisible


def renew_held_messages() -> int:
    """Move the Redis delivery time of every message this worker holds to now; returns how many."""
    import logging

    from celery.worker import state

    now = time.time()
    by_channel: dict[int, tuple[object, list[str]]] = {}
    for request in list(state.reserved_requests) + list(state.active_requests):
        message = getattr(request, "message", None)
        tag = getattr(message, "delivery_tag", None)
        if tag is None or getattr(message, "acknowledged", False):
            continue
        channel = message.channel
        by_channel.setdefault(id(channel), (channel, []))[1].append(tag)
    renewed = 0
    for channel, tags in by_channel.values():
        try:
            with channel.conn_or_acquire() as client:
                renewed += client.zadd(channel.unacked_index_key, {tag: now for tag in set(tags)}, xx=True, ch=True)
        except Exception as exc:  # a broken connection: the next tick tries again
            logging.getLogger(__name__).warning("could not renew %d held message(s): %s", len(tags), exc)
    return renewed


def _prepare_pool_process(**_) -> None:
    """A new pool process imports the analysis now, not when its first job comes in (~2 s saved a job)."""
    from . import analyze, review  # noqa: F401


# --- the media store's view of a job ----------------------------------------------------------------------------

def _key(job_id: str, name: str) -> str:
    if not job_id.isalnum():
        raise FormcheckError(f"'{job_id}' is not a job id")
    return f"jobs/{job_id}/{name}"


def _read_json(store: MediaStore, key: str) -> dict | None:
    data = store.get_bytes(key)
    return None if data is None else json.loads(data)


def _write_json(store: MediaStore, key: str, value: dict) -> None:
    store.put_bytes(key, json.dumps(value).encode())


def _finish(store: MediaStore, job_id: str, outcome: dict) -> bool:
    """Store the job's outcome, once: False if another run already did."""
    return store.create_once(_key(job_id, "outcome.json"), json.dumps({**outcome, "t": time.time()}).encode())


class Run:
    """One worker's run of a job: it owns attempt `attempt` (its claim) and beats in progress.json."""

    def __init__(self, store: MediaStore, job_id: str, attempt: int, crashes: int, worker: str):
        self.store, self.job_id = store, job_id
        self.state = {"state": "running", "run": uuid.uuid4().hex, "beat": 0, "attempt": attempt,
                      "crashes": crashes, "worker": worker, "pid": os.getpid(), "phase": "analysing",
                      "done": 0, "total": 0, "started": time.time()}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._beat, name="formcheck-job-heartbeat", daemon=True)

    def __enter__(self) -> "Run":
        self.write()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.state["state"] = "stopped"  # ended in order: the next run need not wait for a heartbeat to die
        try:
            self.write()
        except MediaError:
            pass

    def update(self, done: int, total: int) -> None:
        self.state["done"], self.state["total"] = done, total

    def phase(self, name: str) -> None:
        self.state["phase"] = name

    def write(self) -> None:
        with self._lock:
            self.state["beat"] += 1
            self.state["t"] = time.time()
            _write_json(self.store, _key(self.job_id, "progress.json"), self.state)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self.write()
            except MediaError:
                pass  # the store is away for a moment; the next beat tries again


def _local_name(name: str, stored: str) -> str:
    """The upload's own file name, whatever folders (POSIX or Windows) came with it, or the stored one."""
    base = str(name).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return base if base and base not in (".", "..") else stored


def _analyse(task, job_id: str, seen: str | None = None) -> str:
    """The Celery task: analyse job `job_id` unless it is done or another live run has it."""
    store = open_media()
    try:
        return _analyse_in(task, store, job_id, seen)
    except MediaError as exc:  # the store is unreachable for now: try again shortly, a few times
        raise task.retry(args=[job_id], kwargs={"seen": seen}, exc=exc, countdown=10, max_retries=6) from exc


def _analyse_in(task, store: MediaStore, job_id: str, seen: str | None) -> str:
    import logging

    log = logging.getLogger(__name__)
    if store.get_bytes(_key(job_id, "outcome.json")) is not None:
        return "already done"  # a redelivered job whose result is stored: nothing to redo
    spec = _read_json(store, _key(job_id, "job.json"))
    if spec is None:
        log.error("job %s is not in this worker's media store %s: workers and submitters must share one "
                  "FORMCHECK_MEDIA_URL", job_id, store.url)
        return "unknown job"
    prev = _read_json(store, _key(job_id, "progress.json"))
    attempt, crashes = 1, 0
    if prev is not None:
        beat = f"{prev['run']}:{prev['beat']}"
        alive = prev["state"] == "running" and time.time() - prev.get("t", 0) < STALE_S
        if alive and beat != seen:  # another run beats (or did a moment ago): look again later
            raise task.retry(args=[job_id], kwargs={"seen": beat}, countdown=STALE_S / 2)
        attempt = prev["attempt"] + 1
        crashes = prev.get("crashes", 0) + (prev["state"] == "running")  # its heartbeat stopped: it died
    while True:
        if crashes >= MAX_CRASHES:
            message = (f"Cannot analyse '{spec['name']}': the analysis stopped unexpectedly {crashes} times "
                       "(its worker process died); export it again as .mp4, or analyse it with `formcheck analyze`.")
            _finish(store, job_id, {"ok": False, "error": message, "internal": False, "attempt": attempt})
            _remove_input(store, job_id)
            return "given up"
        if store.create_once(_key(job_id, f"claim.{attempt}"), (task.request.hostname or "?").encode()):
            break  # this run owns attempt `attempt`
        if seen != f"claim.{attempt}":  # another run took it a moment ago: look again later
            raise task.retry(args=[job_id], kwargs={"seen": f"claim.{attempt}"}, countdown=STALE_S / 2)
        attempt, crashes = attempt + 1, crashes + 1  # taken, yet no beat of it since: it died at once
    worker = task.request.hostname or socket.gethostname()
    log.info("job %s: attempt %d (%d crashed before) on %s", job_id, attempt, crashes, worker)
    started = time.monotonic()
    failed: Exception | None = None
    with Run(store, job_id, attempt, crashes, worker) as run:
        try:
            files = _execute(store, job_id, spec, run, task.app.conf.get("formcheck_threads"))
        except MediaError:
            raise
        except Exception as exc:
            failed = exc
    # The outcome only once the run has written its last progress: a submitter discards the job when it reads the
    # outcome, and a progress written after that would be left in the store.
    if failed is not None:  # a FormcheckError (not a video, too long, ...) fails once with the usual message
        internal = not isinstance(failed, FormcheckError)
        error = f"{type(failed).__name__}: {failed}" if internal else str(failed)
        _finish(store, job_id, {"ok": False, "error": error, "internal": internal, "attempt": attempt,
                                "worker": worker})
        _remove_input(store, job_id)
        if internal:
            raise failed  # logged by Celery, acknowledged: not redelivered
        return "failed"
    stored = _finish(store, job_id, {"ok": True, "files": files, "attempt": attempt, "worker": worker,
                                     "elapsed_s": round(time.monotonic() - started, 2)})
    _remove_input(store, job_id)  # the raw upload is not kept
    _maybe_sweep(store)
    return "done" if stored else "done by another run"


def _remove_input(store: MediaStore, job_id: str) -> None:
    spec = _read_json(store, _key(job_id, "job.json")) or {}
    if spec.get("input"):
        store.delete(_key(job_id, spec["input"]))


def _execute(store: MediaStore, job_id: str, spec: dict, run: Run, threads: int | None) -> list[str]:
    """Fetch the upload, analyse it as asked, store the results; returns the stored names."""
    from .analyze import analyze_video, write_annotated
    from .report import build_report, frames_csv, report_json

    name, exercise, params = spec["name"], spec["exercise"], spec.get("params")
    with tempfile.TemporaryDirectory(prefix="formcheck-job-") as tmp:
        local = Path(tmp) / _local_name(name, spec["input"])
        if not store.get_file(_key(job_id, spec["input"]), local):
            raise FormcheckError(f"the upload of job {job_id} ('{name}') is no longer in the media store: "
                                 "submit it again")
        annotated = Path(tmp) / "annotated.mp4"
        stored = []

        def put(fname: str, data: bytes | None = None) -> None:
            if data is None:
                store.put_file(_key(job_id, fname), annotated)
            else:
                store.put_bytes(_key(job_id, fname), data)
            stored.append(fname)

        try:
            if spec.get("review"):
                from .review import review_upload

                review = review_upload(local, exercise, params, annotated, name, progress=run.update)
                run.phase("saving")
                put("report.json", review.report_json.encode())
                put("frames.csv", review.frames_csv.encode())
                put("review.pickle", pickle.dumps(review, protocol=pickle.HIGHEST_PROTOCOL))
                put("annotated.mp4")
                return stored
            model = spec.get("model") or "full"
            analysis, info = analyze_video(local, exercise, params, model, run.update, workers=threads)
            report = build_report(analysis, info, model)
            report["video"]["path"] = local.name  # the video's own file name (never a folder of the worker's)
            put("report.json", report_json(report).encode())
            put("frames.csv", frames_csv(analysis).encode())
            if spec.get("annotated"):
                run.phase("annotating")
                write_annotated(local, analysis, annotated, run.update)
                put("annotated.mp4")
            return stored
        except MediaError:
            raise
        except FormcheckError as exc:  # the message names the file as the submitter did, not our copy
            raise FormcheckError(str(exc).replace(str(local), name)) from None


def _maybe_sweep(store: MediaStore) -> None:
    """About once an hour (whichever worker finishes a job then): remove jobs untouched for JOB_TTL_S."""
    last = _read_json(store, "sweep.json")
    if last is not None and time.time() - last.get("t", 0) < SWEEP_EVERY_S:
        return
    _write_json(store, "sweep.json", {"t": time.time()})
    sweep(store)


def sweep(store: MediaStore | None = None, older_than_s: float = JOB_TTL_S) -> list[str]:
    """Remove the jobs whose newest object is older than `older_than_s`; returns their ids."""
    store = store or open_media()
    newest: dict[str, float] = {}
    for key, mtime in store.list("jobs"):
        job_id = key.split("/")[1]
        newest[job_id] = max(newest.get(job_id, 0.0), mtime)
    old = [job_id for job_id, t in newest.items() if time.time() - t > older_than_s]
    for job_id in old:
        store.delete_prefix(f"jobs/{job_id}")
    return old


# --- the client side: the page and `formcheck submit` ----------------------------------------------------------

@dataclass(frozen=True)
class JobProgress:
    state: str  # "queued" (no worker has it yet), "running", "done", "failed"
    done: int = 0  # frames analysed
    total: int = 0  # frames expected
    phase: str = ""  # "analysing", "annotating", "saving"
    worker: str | None = None
    attempt: int = 0
    error: str | None = None


@dataclass(frozen=True)
class JobResult:
    job_id: str
    report: dict  # report-schema.md, its video named by the submitted file's name
    report_json: str
    frames_csv: str
    annotated: bytes | None  # the annotated .mp4, if asked for (always for review=True)
    review: object | None  # formcheck.review.Review, for review=True (what the review page shows)


def submit(path: str | os.PathLike, exercise: str, params: dict | None = None, *, name: str | None = None,
           review: bool = False, annotated: bool = False, model: str = "full",
           store: MediaStore | None = None) -> str:
    """Put the video at `path` in the media store and queue its analysis; returns the job's id.

    `name` is how messages name the video (default: `path` as given); reports show its file name only. `review=True`
    makes what the review page shows (formcheck.review.Review, with the annotated video); otherwise the report and
    per-frame CSV (and the annotated video with `annotated=True`). Bad settings and missing files fail here, at once;
    whether the file is a video is found out by the worker (JobFailed from result())."""
    from . import models
    from .analyze import MAX_BYTES
    from .exercises import make_checker
    from .video import _check_file

    app = celery_app()  # no broker set: say so first
    make_checker(exercise, params)  # an unknown exercise or a bad setting fails before anything is sent
    if model not in models.VARIANTS:
        raise FormcheckError(f"unknown model '{model}': choose one of {', '.join(models.VARIANTS)}")
    video = _check_file(path, "video")
    size = video.stat().st_size
    if size > MAX_BYTES:
        raise FormcheckError(f"'{video.name}' is {size / 1024**3:.1f} GB: the limit is {MAX_BYTES / 1024**3:.0f} GB; "
                             "trim it to the exercise")
    store = store or open_media()
    job_id = uuid.uuid4().hex
    stored = "input" + (video.suffix.lower() if video.suffix.isascii() and len(video.suffix) <= 6 else "")
    store.put_file(_key(job_id, stored), video)
    _write_json(store, _key(job_id, "job.json"), {
        "id": job_id, "exercise": exercise, "params": params or None, "name": str(name if name is not None else path),
        "input": stored, "review": review, "annotated": annotated or review, "model": model,
        "submitted": time.time()})
    try:
        app.send_task(TASK, args=[job_id], task_id=job_id, queue=QUEUE,
                      retry=True, retry_policy={"max_retries": 3, "interval_start": 0.5, "interval_step": 1})
    except Exception as exc:  # the broker is down or refuses: say so in one line, and leave nothing behind
        store.delete_prefix(f"jobs/{job_id}")
        raise FormcheckError(f"cannot reach the job queue at {shown_url(broker_url() or '')}: {exc}") from None
    return job_id


def progress(job_id: str, store: MediaStore | None = None) -> JobProgress:
    store = store or open_media()
    outcome = _read_json(store, _key(job_id, "outcome.json"))
    state = _read_json(store, _key(job_id, "progress.json"))
    if outcome is not None:
        total = state["total"] if state else 0
        return JobProgress("done" if outcome["ok"] else "failed", total, total, "", outcome.get("worker"),
                           outcome.get("attempt", 0), outcome.get("error"))
    if state is None:
        if store.get_bytes(_key(job_id, "job.json")) is None:
            raise FormcheckError(f"no job {job_id} in the media store {store.url}")
        return JobProgress("queued")
    return JobProgress("running", state["done"], state["total"], state["phase"], state["worker"], state["attempt"])


def result(job_id: str, store: MediaStore | None = None) -> JobResult | None:
    """The job's results once it is done, None before; JobFailed if it failed."""
    store = store or open_media()
    outcome = _read_json(store, _key(job_id, "outcome.json"))
    if outcome is None:
        return None
    if not outcome["ok"]:
        raise JobFailed(outcome["error"], outcome.get("internal", False))
    files = set(outcome["files"])
    text = store.get_bytes(_key(job_id, "report.json")).decode()
    review = pickle.loads(store.get_bytes(_key(job_id, "review.pickle"))) if "review.pickle" in files else None
    return JobResult(job_id, json.loads(text), text, store.get_bytes(_key(job_id, "frames.csv")).decode(),
                     store.get_bytes(_key(job_id, "annotated.mp4")) if "annotated.mp4" in files else None, review)


def wait(job_id: str, on_progress: Callable[[JobProgress], None] | None = None, timeout_s: float | None = None,
         poll_s: float = 0.5, store: MediaStore | None = None) -> JobResult:
    """Block until the job is done (its JobResult) or failed (JobFailed), calling on_progress as it changes."""
    store = store or open_media()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    last = None
    while True:
        now = progress(job_id, store)
        if now != last and on_progress:
            on_progress(now)
        last = now
        if now.state in ("done", "failed"):
            return result(job_id, store)
        if deadline is not None and time.monotonic() > deadline:
            raise FormcheckError(f"job {job_id} is not done after {timeout_s:.0f} s ({now.state}): is a "
                                 "`formcheck worker` running on the same broker and media store?")
        time.sleep(poll_s)


def discard(job_id: str, store: MediaStore | None = None) -> None:
    """Remove everything the job left in the media store (once its results have been read)."""
    (store or open_media()).delete_prefix(_key(job_id, "")[:-1])


def run_worker(concurrency: int = 1, threads: int | None = None, name: str | None = None,
               loglevel: str = "INFO") -> None:
    """`formcheck worker`: a Celery worker on the queue, until stopped (SIGTERM/Ctrl-C: warm shutdown)."""
    from celery.signals import worker_process_init

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    app = celery_app()  # nothing heavy (the model, NumPy's threads) is loaded before the pool is forked
    app.conf.formcheck_threads = threads or max(1, cores // concurrency)
    worker_process_init.connect(_prepare_pool_process, weak=False)
    from .media import media_url

    print(f"formcheck worker: queue '{QUEUE}' on {shown_url(broker_url())}, media store {media_url()}, "
          f"{concurrency} analysis at a time on {app.conf.formcheck_threads} thread(s), visibility timeout "
          f"{visibility_timeout_s():.0f} s", file=sys.stderr, flush=True)
    node = name or f"formcheck-{os.getpid()}"
    app.worker_main(["worker", "--pool=prefork", f"--concurrency={concurrency}", f"--queues={QUEUE}",
                     f"--hostname={node if '@' in node else node + '@%h'}", f"--loglevel={loglevel}",
                     "--without-gossip", "--without-mingle"])
