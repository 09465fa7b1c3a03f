"""kill -9 of the real Streamlit server, in a real browser, on a fresh SQLite clinic database: what was
committed stays, the database is not corrupt, and nothing half-done is presented as complete.

A patient has one saved session (dk2's recorded landmarks, saved through the clinic); then the server
process (the Popen child running `streamlit run`) is SIGKILLed three times, each time restarted on the same
database and working directory:
  A. while the analysis of a second upload is running (held at its first tracked frame: formcheck/pause.py);
  B. while the annotated video of an upload is being written (held half-way: its temporary file exists, not
     yet renamed);
  C. in the middle of a live set (WebRTC camera on, reps being counted, STOP never pressed).
After each kill: `PRAGMA integrity_check` is ok, the saved session is still there byte for byte (report and
landmarks load), no session row was added, no final-named output file is incomplete; after each restart the
patient's "My sessions" lists exactly the committed session, with no traceback, and the dead server's scratch
folder (the patient's raw upload, half an annotated video) is gone; at the end a new upload analyses and saves
fine through the page. Slow: starts the app four times."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, alive, clip, descendants, ends_within
from formcheck import pause
from test_browser import idle, live_until_reps, review_mode, start_server
from test_clinic import report_of
from test_remote_loop import answer_screen, sign_in

pytestmark = pytest.mark.integration

THERAPIST = ("drt", "therapist-pass")
PATIENT = ("pat", "bend-the-other-knee-9")
ANALYSIS_S = 480_000  # ms: a hang guard for an upload's analysis (it normally takes well under a minute)
OUTPUT_NAMES = ("annotated.mp4", "replay.mp4")  # the files app.py writes and then shows (st.video)


# --- the server process ---------------------------------------------------------------------------


class Server:
    """The app on one working directory (its clinic.db and its own TMPDIR), started and SIGKILLed."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.tmpdir = workdir / "tmp"  # where app.py's tempfile.TemporaryDirectory()s go
        self.tmpdir.mkdir()
        self.db = workdir / "clinic.db"
        self.pauses = workdir / "pauses"  # where the test holds an analysis (formcheck/pause.py)
        self.url = f"sqlite:///{self.db}"
        self.proc: subprocess.Popen | None = None
        self.logs: list[Path] = []
        self.strays: list[int] = []

    def start(self) -> str:
        log = self.workdir / "streamlit.log"
        if self.logs:  # start_server truncates it: keep each run's log
            self.logs[-1] = log.rename(self.workdir / f"streamlit-{len(self.logs)}.log")
        url, self.proc = start_server(self.workdir, env={"TMPDIR": str(self.tmpdir), "FORMCHECK_DB_URL": self.url,
                                                                  pause.ENV: str(self.pauses)})
        self.logs.append(log)
        return url

    def sigkill(self) -> set[str]:
        """SIGKILL the python process that runs streamlit (the Popen child itself, no shell between);
        returns the files it and its children (an upload's analysis, a live coach) had open when it died."""
        proc = self.proc
        argv = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert Path(os.fsdecode(argv[0])).name.startswith("python"), argv
        assert argv[1:4] == [b"-m", b"streamlit", b"run"] and argv[4].endswith(b"app.py"), argv
        below = descendants(proc.pid)
        files, own = set(), set()
        for pid in [proc.pid, *below]:
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    try:
                        files.add(os.readlink(fd))
                        if pid == proc.pid:
                            own.add(os.readlink(fd))
                    except OSError:
                        pass
            except OSError:
                pass
        assert str(self.db) in own, "the killed process must be the one holding the clinic database"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL  # it died of the SIGKILL, not of anything else
        self.proc = None
        deadline = time.monotonic() + 120  # a hang guard: its children notice the closed pipe within a second
        survivors = [p for p in below if not ends_within(p, deadline - time.monotonic())]
        self.strays += survivors
        assert not survivors, f"processes of the killed server still run (and may still write): {survivors}"
        return files

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
            self.proc = None
        for pid in self.strays:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    def temp_dirs(self) -> set[Path]:
        return {p for p in self.tmpdir.iterdir() if p.is_dir()}


@pytest.fixture()
def server(tmp_path):
    workdir = tmp_path / "server"
    workdir.mkdir()
    made = subprocess.run([sys.executable, "-m", "formcheck.cli", "admin", "create-user", THERAPIST[0], "--name",
                           "Dr T", "--password-stdin"], input=THERAPIST[1] + "\n", capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "FORMCHECK_DB_URL": f"sqlite:///{workdir / 'clinic.db'}"})
    assert made.returncode == 0, made.stderr
    s = Server(workdir)
    with clinic_on(s.url) as c:  # the therapist's patient and prescription, through the service layer
        therapist = c.login(*THERAPIST)
        patient_id = c.create_user(therapist, PATIENT[0], "first-password-from-drt", "patient", "Pat Doe")
        c.change_password(c.login(PATIENT[0], "first-password-from-drt"), "first-password-from-drt", PATIENT[1])
        c.prescribe(therapist, patient_id, "straight_leg_raise", sets=3, reps=10, per_week=7)
    yield s
    s.stop()


# --- the database, as the next server will find it -------------------------------------------------


class clinic_on:
    """A Clinic on a database URL whose engine is disposed afterwards (no connection left open)."""

    def __init__(self, url: str):
        from formcheck.clinic import Clinic
        from formcheck.store import open_store

        self.factory = open_store(url)
        self.clinic = Clinic(self.factory)

    def __enter__(self):
        return self.clinic

    def __exit__(self, *exc):
        self.factory.kw["bind"].dispose()


def crash_copy(server: Server, name: str) -> Path:
    """The database exactly as the kill left it (main file and WAL), copied so that checking it does not
    checkpoint the original: the restarted server must recover it on its own."""
    target = server.workdir / f"after-{name}"
    target.mkdir()
    for suffix in ("", "-wal", "-journal"):
        if Path(f"{server.db}{suffix}").exists():
            shutil.copy2(f"{server.db}{suffix}", target / f"clinic.db{suffix}")
    return target / "clinic.db"


def check_database(db: Path) -> list[int]:
    """integrity_check and foreign keys of a (crash-copied) database; returns its session ids."""
    con = sqlite3.connect(db)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        return [row[0] for row in con.execute("SELECT id FROM sessions ORDER BY id")]
    finally:
        con.close()


def snapshot(url: str, session_id: int) -> dict:
    """One stored session as the patient reads it through the clinic: report, landmarks, timestamps."""
    from formcheck.replay import load_series

    with clinic_on(url) as c:
        patient = c.login(*PATIENT)
        listed = c.sessions(patient, patient.id)
        full = c.session(patient, session_id)
    series = load_series(full["landmarks"])  # the compressed landmarks still load
    assert len(series) == full["report"]["video"]["analysed_frames"] > 0
    assert session_id in [s["id"] for s in listed]
    return {"created_at": full["created_at"], "report": full["report"], "landmarks": full["landmarks"],
            "video": full["video"], "frames": len(series)}


def assert_committed_survived(server: Server, name: str, committed: dict[int, dict]) -> None:
    db = crash_copy(server, name)
    assert check_database(db) == sorted(committed), "a session row was lost or written for the killed work"
    for session_id, before in committed.items():
        assert snapshot(f"sqlite:///{db}", session_id) == before, f"session {session_id} changed"


# --- what the app left on disk -------------------------------------------------------------------


def video_frames(path: Path) -> int | None:
    """Frames in a video file, or None if it cannot be read as one (e.g. an mp4 without its moov box)."""
    from formcheck.errors import FormcheckError
    from formcheck.video import read_frames

    try:
        return sum(1 for _ in read_frames(path))
    except FormcheckError:
        return None


def assert_no_incomplete_output(server: Server, before: set[Path], expected_frames: int) -> list[Path]:
    """No final-named output the app would show (annotated.mp4, replay.mp4) is incomplete. Returns what the
    killed run left behind in its temporary directories (they are never cleaned after a SIGKILL)."""
    left = sorted(p for d in server.temp_dirs() - before for p in d.rglob("*") if p.is_file())
    for path in left:
        if path.name in OUTPUT_NAMES:  # the rename happened: it must be the whole video
            assert video_frames(path) == expected_frames, f"{path} is a half-written output under its final name"
    return left


# --- the patient in the browser -------------------------------------------------------------------


def patient_page(browser, url: str, committed: dict[int, dict]):
    """Sign in as the patient on a fresh page; "My sessions" lists exactly the committed sessions."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    sign_in(page, url, *PATIENT)
    answer_screen(page)
    idle(page)
    page.wait_for_selector("text=Pain before you start", timeout=60_000)  # the patient's page is drawn
    assert page.locator('[data-testid="stException"]').count() == 0
    mine = page.locator('[data-testid="stExpander"]').filter(has_text="My sessions")
    if not committed:
        assert mine.count() == 0
        return page
    mine.wait_for(timeout=60_000)
    label = mine.locator("summary").inner_text()
    assert f"My sessions and my therapist's notes ({len(committed)})" in label, label
    entries = [t.strip() for t in mine.locator('[data-testid="stMarkdownContainer"]').all_inner_texts()
               if " reps, " in t]
    expected = [f"{s['created_at']:%d %b %H:%M} · Straight-leg raise · {s['report']['summary']['rep_count']} reps, "
                f"{s['report']['summary']['hold_count']} holds" for s in committed.values()]
    assert sorted(entries) == sorted(expected)
    return page


def upload(page, name: str) -> None:
    review_mode(page)
    page.locator('input[type="file"]').set_input_files(str(clip(name)))


def upload_and_save(page, name: str, keep_video: bool = False) -> int:
    upload(page, name)
    page.wait_for_selector('[data-testid="stVideo"]', timeout=ANALYSIS_S)
    idle(page)
    assert page.locator('[data-testid="stMetricValue"]').first.inner_text() == "3"  # dk2's 3 labelled reps
    if keep_video:  # a rerun: the clip is analysed again
        page.get_by_text("Also keep my video").click()
        idle(page)
        page.wait_for_selector('[data-testid="stVideo"]', timeout=ANALYSIS_S)
        idle(page)
    page.get_by_role("button", name="Save session").click()
    saved = page.wait_for_selector("text=Your therapist can see it now", timeout=60_000).inner_text()
    idle(page)
    return int(re.search(r"Saved \(session (\d+)\)", saved).group(1))


def assert_scratch_removed(left_behind: list[Path]) -> None:
    """The patient's raw clip and half an annotated video, left by the killed server, are deleted by the next."""
    assert left_behind, "the kill should have left the upload in a scratch folder"
    assert not [p for p in left_behind if p.exists()], "the restarted server must remove the dead one's scratch"


def wait_until(ready, hang_guard_s: float, what: str):
    """Poll `ready()` until it is truthy; `hang_guard_s` only ends a run that hangs."""
    deadline = time.monotonic() + hang_guard_s
    while not (value := ready()):
        assert time.monotonic() < deadline, f"{what} (hang guard, {hang_guard_s:.0f} s)"
        time.sleep(0.1)
    return value


def assert_clean_log(log: Path) -> None:
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]


# --- the test ---------------------------------------------------------------------------------


def test_sigkill_of_the_server_keeps_committed_data_and_presents_nothing_partial(browser, server):
    dk2_frames = 207
    with clinic_on(server.url) as c:  # the uploads the page analyses come later: this one is the same report
        patient = c.login(*PATIENT)
        first = c.save_session(patient, *report_of("legraise_supine_dk2"), "upload")
    committed = {first: snapshot(server.url, first)}
    url = server.start()
    page = patient_page(browser, url, committed)
    assert committed[first]["report"]["video"]["frames"] == dk2_frames and committed[first]["video"] is None
    assert committed[first]["report"]["summary"]["rep_count"] == 3
    left_behind: list[Path] = []

    # A. SIGKILL while a second upload is being analysed (held at its first tracked frame) ------------
    before = server.temp_dirs()
    pause.hold(server.pauses, "tracking")
    upload(page, "treepose_sheknows.mp4")
    wait_until(lambda: pause.reached(server.pauses, "tracking"), ANALYSIS_S / 1000, "the analysis never started")
    page.locator('[data-testid="stProgress"]').filter(has_text="Analysing").wait_for(timeout=120_000)
    held = server.sigkill()
    pause.release(server.pauses, "tracking")
    assert any(f.endswith("/upload.mp4") for f in held)  # its analysis was reading the upload when it died
    page.close()
    assert_committed_survived(server, "analysis", committed)
    left = assert_no_incomplete_output(server, before, dk2_frames)
    assert not [p for p in left if "annotated" in p.name], left  # killed before any output was begun
    left_behind += left

    # B. restart on the same database; SIGKILL while the annotated video of an upload is half-written -----
    url = server.start()
    page = patient_page(browser, url, committed)
    assert_scratch_removed(left_behind)
    assert page.locator('[data-testid="stVideo"]').count() == 0  # nothing of the killed upload is shown
    assert page.get_by_text("Save session").count() == 0
    before = server.temp_dirs()
    pause.hold(server.pauses, "annotating")
    upload(page, "legraise_supine_dk2.mp4")
    wait_until(lambda: pause.reached(server.pauses, "annotating"), ANALYSIS_S / 1000,
               "the annotated video was never begun")
    partial = [p for d in server.temp_dirs() - before for p in d.glob(".annotated.*.mp4")]
    assert len(partial) == 1, partial  # half-written under its temporary name
    held = server.sigkill()
    pause.release(server.pauses, "annotating")
    assert str(partial[0]) in held  # the server's analysis was writing it when it died
    assert page.locator('[data-testid="stVideo"]').count() == 0  # the page never got a video to show
    page.close()
    assert_committed_survived(server, "annotation", committed)
    left = assert_no_incomplete_output(server, before, dk2_frames)
    assert partial[0] in left and not [p for p in left if p.name == "annotated.mp4"], left
    assert video_frames(partial[0]) in (None, *range(dk2_frames)), partial[0]  # not a playable whole video
    left_behind += left

    # C. restart; SIGKILL in the middle of a live set -------------------------------------------------
    url = server.start()
    page = patient_page(browser, url, committed)
    assert_scratch_removed(left_behind)
    live_until_reps(page, 1, 180_000)  # reps are being counted: mid-set
    assert page.get_by_text("Your set").count() == 0
    server.sigkill()
    page.close()
    assert_committed_survived(server, "live", committed)

    # the last restart: the same sessions, and the app works (a new upload analyses and saves) -----------
    url = server.start()
    page = patient_page(browser, url, committed)
    second = upload_and_save(page, "legraise_supine_dk2.mp4", keep_video=True)
    assert second not in committed
    committed[second] = snapshot(server.url, second)
    second_report = committed[second]["report"]
    assert second_report["summary"]["rep_count"] == 3 and second_report["video"]["frames"] == dk2_frames
    assert committed[second]["video"] == clip("legraise_supine_dk2.mp4").read_bytes()  # kept whole, by opt-in
    page.close()
    patient_page(browser, url, committed).close()
    server.stop()
    assert check_database(server.db) == sorted(committed)
    for log in server.logs:  # no run, killed or restarted, logged a traceback
        assert_clean_log(log)
