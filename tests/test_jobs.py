"""The job queue (formcheck/jobs.py) and the media store (formcheck/media.py).

Against the real Redis on loopback (database 13; `scripts/test` starts one if none answers): two
`formcheck worker` processes, four `formcheck submit` at once, one worker SIGKILLed with its pool mid-job — all
four reports identical to a local `formcheck analyze`, the killed job redone once by the other worker, no job
run twice although every analysis outlasts the (test's 5-s) visibility timeout; a file that is not a video
fails once with `formcheck analyze`'s message; a redelivered finished job is not redone. The media store against
moto's S3-compatible server (PyPI, run as a local server on loopback), and a smoke run on RabbitMQ when one
answers. The run-ownership rules (heartbeat, takeover, giving up) are also tested without a broker.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import types
from pathlib import Path

import av
import pytest

from conftest import clip
from formcheck import jobs, pause
from formcheck.errors import FormcheckError
from formcheck.media import LocalMedia, open_media

BIN = Path(sys.executable).parent
FORMCHECK = str(BIN / "formcheck")
REDIS_URL = os.environ.get("FORMCHECK_TEST_REDIS", "redis://127.0.0.1:6379/13")
REDIS_S3_URL = REDIS_URL.rsplit("/", 1)[0] + "/14"  # the S3 test's worker must not meet the two above
VISIBILITY_S = 5  # short, so the killed job comes back fast and every analysis outlasts it (renewal tested)
CLIPS = [("legraise_supine_dk2.mp4", "straight_leg_raise"), ("squat_side_kan6.mp4", "squat"),
         ("rdl_side_flat_gazi_TR.mp4", "hip_hinge"), ("treepose_sheknows.mp4", "single_leg_balance")]


def _redis(url: str = REDIS_URL):
    if os.environ.get("FORMCHECK_NO_REDIS") == "1":
        pytest.skip("FORMCHECK_NO_REDIS=1: Redis could not be installed on this machine")
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"no Redis answers at {url}: scripts/test starts one (or set FORMCHECK_TEST_REDIS)")
    return client


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORMCHECK_", "AWS_"))}
    env.update(FORMCHECK_VISIBILITY_TIMEOUT_S=str(VISIBILITY_S), PYTHONUNBUFFERED="1", **extra)
    return env


class Worker:
    """`formcheck worker` in a process group of its own (it and its pool can be killed at once)."""

    def __init__(self, name: str, env: dict, logs: Path):
        self.name = name
        self.log = logs / f"{name}.log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen([FORMCHECK, "worker", "--name", name], env=env, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while " ready." not in self.log.read_text():
            assert self.proc.poll() is None, f"worker {self.name} ended:\n{self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"worker {self.name} not ready:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.2)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _analyze_locally(path: str, exercise: str, out: Path, *more: str) -> subprocess.Popen:
    return subprocess.Popen([FORMCHECK, "analyze", path, "-e", exercise, "--json", str(out), "-q", *more], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _queue_empty(client) -> bool:
    return client.llen(jobs.QUEUE) == 0 and client.hlen("unacked") == 0


# --- two workers on Redis, a local media folder --------------------------------------------------------------

@pytest.fixture(scope="module")
def queue(tmp_path_factory):
    client = _redis()
    client.flushdb()
    root = tmp_path_factory.mktemp("queue")
    pauses = root / "pauses"  # where a test holds the workers' jobs (formcheck/pause.py)
    env = _env(FORMCHECK_BROKER_URL=REDIS_URL, FORMCHECK_MEDIA_URL=str(root / "media"),
               **{pause.ENV: str(pauses)})
    workers = [Worker(name, env, root) for name in ("w1", "w2")]
    try:
        for w in workers:
            w.wait_ready()
        yield types.SimpleNamespace(client=client, env=env, root=root, media=LocalMedia(root / "media"),
                                    workers={w.name: w for w in workers}, pauses=pauses)
    finally:
        for w in workers:
            w.stop()
        client.flushdb()


def test_four_uploads_two_workers_one_killed_mid_job(queue, tmp_path):
    """Every job is held at its first tracked frame (formcheck/pause.py) until the test lets it go: once both
    workers hold one, one worker is killed there, mid-job, and the other's job is held past the visibility
    timeout before any job goes on, so renewal is tested whatever the machine's speed."""
    paths = [(str(clip(name)), exercise) for name, exercise in CLIPS]
    pause.hold(queue.pauses, "tracking")
    try:
        _four_uploads_one_worker_killed(queue, tmp_path, paths)
    finally:
        pause.release(queue.pauses, "tracking")  # a failure here must not leave the workers held


def _four_uploads_one_worker_killed(queue, tmp_path, paths) -> None:
    submits = []
    for i, (path, exercise) in enumerate(paths):
        err = open(tmp_path / f"submit{i}.err", "w")
        submits.append((subprocess.Popen([FORMCHECK, "submit", path, "-e", exercise, "--json",
                                          str(tmp_path / f"queued{i}.json"), "--timeout", "600"],
                                         env=queue.env, stdout=subprocess.PIPE, stderr=err, text=True), err))
        time.sleep(0.3)
    # the local reference analyses meanwhile (not held: their environment has no pause folder)
    references = [_analyze_locally(path, exercise, tmp_path / f"local{i}.json") for i, (path, exercise) in
                  enumerate(paths)]
    runs: dict[str, dict[str, dict]] = {}  # job → run id → the run's last progress seen
    names: dict[str, str] = {}
    killed = victim = held_since = None
    hang_guard = time.monotonic() + 600  # a hang guard only: the whole test normally takes about a minute
    while any(p.poll() is None for p, _ in submits):
        assert time.monotonic() < hang_guard, "the uploads did not finish (hang guard)"
        for key, _ in queue.media.list("jobs"):
            job_id, fname = key.split("/")[1:3]
            if fname == "job.json" and job_id not in names:
                names[job_id] = json.loads(queue.media.get_bytes(key))["name"]
            if fname != "progress.json":
                continue
            state = json.loads(queue.media.get_bytes(key) or b"null") or {}
            if state:
                runs.setdefault(job_id, {})[state["run"]] = state
            if killed is None and job_id in names and state.get("state") == "running" \
                    and len(set(pause.reached(queue.pauses, "tracking"))) == 2 and state["done"] > 0:
                victim, killed = names[job_id], state["worker"].split("@")[0]  # both workers hold a job mid-way
                queue.workers[killed].kill()  # the worker, its pool and the job it runs, at once
                held_since = time.monotonic()
        if held_since is not None and time.monotonic() - held_since > VISIBILITY_S + 3:
            pause.release(queue.pauses, "tracking")  # the survivor's job outlasted the visibility timeout
        time.sleep(0.2)
    assert killed, "no worker was killed mid-job"
    for i, (p, err) in enumerate(submits):
        err.close()
        assert p.returncode == 0, (paths[i], (tmp_path / f"submit{i}.err").read_text()[-2000:])
    for ref in references:
        assert ref.wait(600) == 0, ref.stderr.read()
    for i, (path, _) in enumerate(paths):
        queued = json.loads((tmp_path / f"queued{i}.json").read_text())
        local = json.loads((tmp_path / f"local{i}.json").read_text())
        for part in ("reps", "holds", "faults", "refused", "summary", "side", "view"):
            assert queued[part] == local[part], (path, part)
        assert queued == local, path  # nothing differs at all, the video named alike
    by_name = {names[job_id]: job_runs for job_id, job_runs in runs.items()}
    first = by_name[victim]
    assert sorted(r["attempt"] for r in first.values()) == [1, 2], first  # killed once, redone once
    survivor = ({"w1", "w2"} - {killed}).pop()
    assert [r["worker"].split("@")[0] for r in first.values() if r["attempt"] == 2] == [survivor]
    for path in {path for path, _ in paths} - {victim}:  # none of the others was run twice, though one was held
        assert len(by_name[path]) == 1 and next(iter(by_name[path].values()))["attempt"] == 1, by_name[path]
    received = "".join(w.log.read_text() for w in queue.workers.values())
    for job_id, name in names.items():  # each delivered once (the killed one again after the kill): the
        count = received.count(f"Task formcheck.analyse[{job_id}] received")  # visibility timeout returned none
        assert count == 1 or (name == victim and count >= 2), (name, count)  # of a live worker's jobs
    longest = max(r["t"] - r["started"] for job_runs in runs.values() for r in job_runs.values())
    assert longest > VISIBILITY_S, f"no run outlasted the {VISIBILITY_S}-s visibility timeout ({longest:.1f} s)"
    err = (tmp_path / f"submit{[path for path, _ in paths].index(victim)}.err").read_text()
    assert "queued" in err and f"on {survivor}@" in err and "(attempt 2)" in err  # progress was printed
    assert not list(queue.media.list("jobs"))  # submit removed each job's media once it had the report
    time.sleep(2)
    assert _queue_empty(queue.client)


def test_the_page_sends_uploads_to_the_workers(queue, browser, tmp_path):
    """With FORMCHECK_BROKER_URL set the page analyses nothing itself: an upload goes to the workers, the page
    shows which one has it and its progress, then the usual review (dk2: 3 reps, the bent knee); a file that is
    not a video fails with the usual message, from the worker."""
    from test_browser import answer_screen, bad_upload_refused, idle, review_mode, start_server

    url, proc = start_server(tmp_path, {"FORMCHECK_BROKER_URL": REDIS_URL,
                                        "FORMCHECK_MEDIA_URL": str(queue.root / "media"),
                                        "FORMCHECK_VISIBILITY_TIMEOUT_S": str(VISIBILITY_S)})
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        idle(page)
        answer_screen(page)
        idle(page)
        review_mode(page)
        before = {name: len(w.log.read_text()) for name, w in queue.workers.items()}
        page.locator('input[type="file"]').set_input_files(str(clip("legraise_supine_dk2.mp4")))
        page.wait_for_selector("text=/on worker w[12]/", timeout=120_000)  # a worker's progress, on the page
        page.wait_for_selector('[data-testid="stVideo"]', timeout=300_000)
        idle(page)
        assert page.locator('[data-testid="stMetricValue"]').first.inner_text() == "3"
        assert page.get_by_text("Keep your knee straight").count() >= 1
        logs = "".join(w.log.read_text()[before[name]:] for name, w in queue.workers.items())
        assert jobs.TASK in logs and "succeeded" in logs, logs[-2000:]  # a worker did it

        bad_upload_refused(page, tmp_path, 120_000)
        assert not any(queue.media.list("jobs")), "the page left a job's files in the media store"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _use(queue, monkeypatch) -> None:
    """This process as a submitter on the test's queue and media store (the page's side)."""
    for key in ("FORMCHECK_BROKER_URL", "FORMCHECK_MEDIA_URL", "FORMCHECK_VISIBILITY_TIMEOUT_S"):
        monkeypatch.setenv(key, queue.env[key])


def test_a_bad_file_fails_once_with_the_usual_message(queue, tmp_path, monkeypatch):
    (tmp_path / "notes.mp4").write_text("not a video")
    queued = subprocess.run([FORMCHECK, "submit", "notes.mp4", "-e", "straight_leg_raise", "--json", "out.json",
                             "-q"], env=queue.env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    local = subprocess.run([FORMCHECK, "analyze", "notes.mp4", "-e", "straight_leg_raise", "--json", "out.json",
                            "-q"], env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert queued.returncode == local.returncode == 2
    assert queued.stderr == local.stderr and queued.stderr.count("\n") == 1, (queued.stderr, local.stderr)
    assert "notes.mp4" in queued.stderr and "Traceback" not in queued.stderr
    assert not (tmp_path / "out.json").exists()
    # the same through the page's API, looking at the job before it is discarded: one run, no retry
    _use(queue, monkeypatch)
    job_id = jobs.submit(tmp_path / "notes.mp4", "straight_leg_raise", name="notes.mp4", review=True)
    with pytest.raises(jobs.JobFailed, match="Cannot read video 'notes.mp4'"):
        jobs.wait(job_id, timeout_s=120)
    assert jobs.progress(job_id).state == "failed" and jobs.progress(job_id).attempt == 1
    files = {key.split("/")[-1] for key, _ in queue.media.list(f"jobs/{job_id}")}
    assert files == {"job.json", "progress.json", "claim.1", "outcome.json"}, files  # the upload removed
    time.sleep(VISIBILITY_S + 6)  # past the visibility timeout and a sweep: nothing comes back
    assert _queue_empty(queue.client)
    assert {key.split("/")[-1] for key, _ in queue.media.list(f"jobs/{job_id}")} == files
    jobs.discard(job_id)
    assert not list(queue.media.list(f"jobs/{job_id}"))


def test_a_redelivered_finished_job_is_not_redone(queue, tmp_path, monkeypatch):
    _use(queue, monkeypatch)
    job_id = jobs.submit(clip("treepose_sheknows.mp4"), "single_leg_balance", name="tree.mp4", review=True)
    seen = []
    done = jobs.wait(job_id, seen.append, timeout_s=300)
    assert seen[-1].state == "done" and any(p.state == "running" for p in seen)
    assert done.report["summary"]["hold_count"] == 1 and done.report["video"]["path"] == "tree.mp4"
    assert done.review.report == done.report and done.annotated[4:8] == b"ftyp"  # what the page shows
    before = {key: queue.media.get_bytes(key) for key, _ in queue.media.list(f"jobs/{job_id}")}
    jobs.celery_app().send_task(jobs.TASK, args=[job_id], task_id=job_id, queue=jobs.QUEUE)  # delivered again
    deadline = time.monotonic() + 60
    while not _queue_empty(queue.client):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(1)
    after = {key: queue.media.get_bytes(key) for key, _ in queue.media.list(f"jobs/{job_id}")}
    assert after == before  # no new run, no second outcome: results stored once
    jobs.discard(job_id)


# --- the media store on an S3-compatible server ------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """moto's S3-compatible server on loopback, with a bucket."""
    port = _free_port()
    log = tmp_path_factory.mktemp("s3") / "moto.log"
    with open(log, "w") as out:
        server = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    env = {"AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "formcheck",
           "AWS_SECRET_ACCESS_KEY": "formcheck-test", "AWS_DEFAULT_REGION": "us-east-1"}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        import boto3

        boto3.client("s3").create_bucket(Bucket="formcheck-media")
        yield env
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_the_media_store_contract(kind, tmp_path, request):
    if kind == "s3":
        request.getfixturevalue("s3")
        store = open_media(f"s3://formcheck-media/t{time.monotonic_ns()}")
    else:
        store = open_media(str(tmp_path / "media"))
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 << 20))  # a few MB, as a clip would be
    store.put_file("jobs/a1/input.mp4", src)
    assert store.get_file("jobs/a1/input.mp4", tmp_path / "back.bin")
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()
    assert not store.get_file("jobs/a1/missing", tmp_path / "none.bin") and store.get_bytes("jobs/a1/missing") is None
    store.put_bytes("jobs/a1/progress.json", b"1")
    store.put_bytes("jobs/a1/progress.json", b"2")
    assert store.get_bytes("jobs/a1/progress.json") == b"2"
    assert store.create_once("jobs/a1/outcome.json", b"first") and not store.create_once("jobs/a1/outcome.json", b"2nd")
    assert store.get_bytes("jobs/a1/outcome.json") == b"first"  # written once, whoever comes second
    store.put_bytes("jobs/b2/job.json", b"{}")
    assert sorted(k for k, _ in store.list("jobs")) == ["jobs/a1/input.mp4", "jobs/a1/outcome.json",
                                                        "jobs/a1/progress.json", "jobs/b2/job.json"]
    assert all(abs(t - time.time()) < 120 for _, t in store.list("jobs"))
    store.delete("jobs/a1/input.mp4")
    store.delete("jobs/a1/input.mp4")  # already gone: no error
    assert store.get_bytes("jobs/a1/input.mp4") is None and store.get_bytes("jobs/a1/outcome.json") == b"first"
    store.delete_prefix("jobs/a1")
    assert [k for k, _ in store.list("jobs")] == ["jobs/b2/job.json"]
    for bad in ("", "/abs", "jobs/../x", "jobs//x"):
        with pytest.raises(ValueError):
            store.put_bytes(bad, b"")


def test_a_worker_on_another_machine_gets_the_video_through_s3(s3, tmp_path):
    """Worker and submitter share only the broker and the bucket (no folder): the report is the local one."""
    client = _redis(REDIS_S3_URL)
    client.flushdb()
    env = _env(FORMCHECK_BROKER_URL=REDIS_S3_URL, FORMCHECK_MEDIA_URL="s3://formcheck-media/clinic", **s3)
    worker = Worker("s3w", env, tmp_path)
    path = str(clip("treepose_sheknows.mp4"))
    local = _analyze_locally(path, "single_leg_balance", tmp_path / "local.json", "--csv", str(tmp_path / "local.csv"))
    try:
        worker.wait_ready()
        queued = subprocess.run([FORMCHECK, "submit", path, "-e", "single_leg_balance", "--json",
                                 str(tmp_path / "queued.json"), "--csv", str(tmp_path / "queued.csv"), "--annotated",
                                 str(tmp_path / "a.mp4"), "-q"], env=env, cwd=tmp_path, capture_output=True, text=True,
                                timeout=300)
        assert queued.returncode == 0, queued.stderr
        assert "single_leg_balance: 0 reps, 1 holds" in queued.stdout
    finally:
        worker.stop()
    assert local.wait(300) == 0, local.stderr.read()
    assert json.loads((tmp_path / "queued.json").read_text()) == json.loads((tmp_path / "local.json").read_text())
    assert (tmp_path / "queued.csv").read_text() == (tmp_path / "local.csv").read_text()
    with av.open(str(tmp_path / "a.mp4")) as annotated, av.open(path) as source:  # the annotated video, whole
        assert sum(1 for _ in annotated.decode(video=0)) == sum(1 for _ in source.decode(video=0)) > 50
    import boto3

    left = boto3.client("s3").list_objects_v2(Bucket="formcheck-media", Prefix="clinic/jobs/").get("Contents", [])
    assert not left  # the upload and results are gone from the bucket once fetched
    client.flushdb()


# --- RabbitMQ, when one answers here ------------------------------------------------------------------------

def test_rabbitmq_as_the_broker(tmp_path):
    try:
        socket.create_connection(("127.0.0.1", 5672), 1).close()
    except OSError:
        pytest.skip("no RabbitMQ on 127.0.0.1:5672")
    url = "amqp://guest:guest@127.0.0.1:5672//"
    jobs.celery_app(url).control.purge()  # nothing left over from an earlier run
    env = _env(FORMCHECK_BROKER_URL=url, FORMCHECK_MEDIA_URL=str(tmp_path / "media"))
    worker = Worker("rw", env, tmp_path)
    path = str(clip("treepose_sheknows.mp4"))
    try:
        worker.wait_ready()
        queued = subprocess.run([FORMCHECK, "submit", path, "-e", "single_leg_balance", "--json",
                                 str(tmp_path / "q.json"), "-q"], env=env, capture_output=True, text=True, timeout=300)
    finally:
        worker.stop()
    assert queued.returncode == 0, queued.stderr
    assert json.loads((tmp_path / "q.json").read_text())["summary"]["hold_count"] == 1


# --- who runs a job: the rules, without a broker -----------------------------------------------------------

class Retried(Exception):
    pass


class FakeTask:
    def __init__(self):
        self.request = types.SimpleNamespace(hostname="t1@test")
        self.app = types.SimpleNamespace(conf={"formcheck_threads": 1})

    def retry(self, args, kwargs, countdown, **_):
        return Retried(args, kwargs, countdown)


def _job(store, job_id="j1", name="clip.mp4") -> str:
    store.put_bytes(f"jobs/{job_id}/input.mp4", b"video")
    store.put_bytes(f"jobs/{job_id}/job.json", json.dumps(
        {"id": job_id, "exercise": "squat", "params": None, "name": name, "input": "input.mp4"}).encode())
    return job_id


@pytest.fixture
def fake_run(monkeypatch):
    calls = []

    def execute(store, job_id, spec, run, threads):
        calls.append(run.state["attempt"])
        store.put_bytes(f"jobs/{job_id}/report.json", b"{}")
        return ["report.json"]

    monkeypatch.setattr(jobs, "_execute", execute)
    return calls


def test_a_job_is_run_once_and_its_outcome_stored_once(tmp_path, fake_run):
    store = LocalMedia(tmp_path)
    job_id = _job(store)
    assert jobs._analyse_in(FakeTask(), store, job_id, None) == "done"
    assert fake_run == [1] and store.get_bytes(f"jobs/{job_id}/input.mp4") is None  # the upload removed
    outcome = store.get_bytes(f"jobs/{job_id}/outcome.json")
    assert json.loads(outcome)["ok"]
    assert json.loads(store.get_bytes(f"jobs/{job_id}/progress.json"))["state"] == "stopped"
    assert jobs._analyse_in(FakeTask(), store, job_id, None) == "already done"  # redelivered: not redone
    assert fake_run == [1] and store.get_bytes(f"jobs/{job_id}/outcome.json") == outcome


def _progress(store: LocalMedia, job_id: str, **fields) -> dict:
    """A worker's progress record for `job_id` as a worker writes it: a fresh first run, but for `fields`."""
    record = {"state": "running", "run": "r1", "beat": 1, "attempt": 1, "crashes": 0, "worker": "w1@x",
              "phase": "analysing", "done": 0, "total": 0, "t": time.time(), **fields}
    store.put_bytes(f"jobs/{job_id}/progress.json", json.dumps(record).encode())
    return record


def test_a_live_run_is_left_alone_and_a_dead_one_taken_over(tmp_path, fake_run):
    store = LocalMedia(tmp_path)
    job_id = _job(store)
    beat = _progress(store, job_id, beat=7, done=10, total=100)
    with pytest.raises(Retried) as retried:  # another worker beats: look again later
        jobs._analyse_in(FakeTask(), store, job_id, None)
    assert retried.value.args[1] == {"seen": "r1:7"} and fake_run == []
    _progress(store, job_id, **{**beat, "beat": 8})
    with pytest.raises(Retried):  # it moved on since: still alive
        jobs._analyse_in(FakeTask(), store, job_id, "r1:7")
    assert jobs._analyse_in(FakeTask(), store, job_id, "r1:8") == "done"  # no beat since the last look: dead
    assert fake_run == [2]
    assert json.loads(store.get_bytes(f"jobs/{job_id}/outcome.json"))["attempt"] == 2


def test_a_job_whose_worker_keeps_dying_is_given_up(tmp_path, fake_run):
    store = LocalMedia(tmp_path)
    job_id = _job(store, name="crash.mp4")
    _progress(store, job_id, run="r3", attempt=3, crashes=jobs.MAX_CRASHES - 1, t=time.time() - 3600)
    assert jobs._analyse_in(FakeTask(), store, job_id, None) == "given up" and fake_run == []
    with pytest.raises(jobs.JobFailed, match="'crash.mp4'.*3 times"):
        jobs.result(job_id, store)
    assert store.get_bytes(f"jobs/{job_id}/input.mp4") is None


def test_an_orderly_stop_is_not_counted_as_a_crash(tmp_path, fake_run):
    store = LocalMedia(tmp_path)
    job_id = _job(store)
    _progress(store, job_id, state="stopped", beat=3)
    assert jobs._analyse_in(FakeTask(), store, job_id, None) == "done"  # no wait: nobody is on it
    assert json.loads(store.get_bytes(f"jobs/{job_id}/progress.json"))["crashes"] == 0


def test_two_runs_of_one_attempt_cannot_both_start_and_a_silent_claim_is_taken_over(tmp_path, fake_run):
    store = LocalMedia(tmp_path)
    job_id = _job(store)
    store.create_once(f"jobs/{job_id}/claim.1", b"w2@x")  # another worker claimed attempt 1 a moment ago
    with pytest.raises(Retried) as retried:
        jobs._analyse_in(FakeTask(), store, job_id, None)
    assert fake_run == [] and retried.value.args[1] == {"seen": "claim.1"}
    # looked at again later: still no beat from that claim, so its worker died before its first one
    assert jobs._analyse_in(FakeTask(), store, job_id, "claim.1") == "done" and fake_run == [2]
    assert json.loads(store.get_bytes(f"jobs/{job_id}/progress.json"))["crashes"] == 1


def test_a_bad_file_is_named_as_submitted(tmp_path):
    store = LocalMedia(tmp_path / "media")
    job_id = _job(store, name="../my videos/notes.mp4")
    assert jobs._analyse_in(FakeTask(), store, job_id, None) == "failed"
    with pytest.raises(jobs.JobFailed, match=r"^Cannot read video '\.\./my videos/notes\.mp4': not a readable video"):
        jobs.result(job_id, store)


def test_without_a_broker_nothing_is_queued(tmp_path, monkeypatch):
    monkeypatch.delenv("FORMCHECK_BROKER_URL", raising=False)
    assert not jobs.enabled()
    with pytest.raises(FormcheckError, match="FORMCHECK_BROKER_URL"):
        jobs.submit(clip("squat_side_kan6.mp4"), "squat")
    out = subprocess.run([FORMCHECK, "submit", str(clip("squat_side_kan6.mp4")), "-e", "squat"], env=_env(),
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.startswith("formcheck: error: no job queue")
    assert jobs.shown_url("redis://:secret@h:6379/0") == "redis://:***@h:6379/0"


def test_jobs_nobody_came_back_for_are_swept(tmp_path):
    store = LocalMedia(tmp_path)
    old, fresh = _job(store, "old1"), _job(store, "new1")
    day_ago = time.time() - jobs.JOB_TTL_S - 60
    for path in (tmp_path / "jobs" / old).iterdir():
        os.utime(path, (day_ago, day_ago))
    assert jobs.sweep(store) == [old]
    assert not list(store.list(f"jobs/{old}")) and len(list(store.list(f"jobs/{fresh}"))) == 2
