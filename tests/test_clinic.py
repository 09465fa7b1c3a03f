"""The clinic's store and its access rules, against a real SQLite file and a real PostgreSQL server:
every forbidden read and write is attempted and refused; passwords never stored in clear."""

import os
import uuid

import pytest

from conftest import FIXTURES
from formcheck.clinic import OPERATOR, AccessDenied, Clinic, landmarks_blob
from formcheck.errors import FormcheckError
from formcheck.pose import PoseSeries
from formcheck.report import build_report
from formcheck.session import analyze_series
from formcheck.store import open_store
from formcheck.video import VideoInfo

PG_ADMIN = os.environ.get("FORMCHECK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'clinic.db'}"
        return
    if os.environ.get("FORMCHECK_NO_POSTGRES") == "1":
        pytest.skip("FORMCHECK_NO_POSTGRES=1: PostgreSQL could not be installed on this machine")
    from sqlalchemy import create_engine, text

    name = f"formcheck_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:  # a real server is required: scripts/test installs and starts one
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def clinic(db_url):
    return Clinic(open_store(db_url))


def report_of(name="legraise_supine_dk2"):
    series = PoseSeries.load(FIXTURES / f"{name}.full.npz")
    analysis = analyze_series(series, "straight_leg_raise")
    info = VideoInfo(f"{name}.mp4", series.width, series.height, 24.0, float(series.t_s[-1]), len(series), 0)
    return build_report(analysis, info, "full"), landmarks_blob(analysis.poses)


@pytest.fixture
def world(clinic):
    """Two therapists, each with one patient; each patient with a prescription and a stored session."""
    t1 = clinic.create_user(OPERATOR, "t1", "therapist-one", "therapist")
    t2 = clinic.create_user(OPERATOR, "t2", "therapist-two", "therapist")
    T1, T2 = clinic.login("t1", "therapist-one"), clinic.login("t2", "therapist-two")
    p1 = clinic.create_user(T1, "p1", "patient-one", "patient")
    p2 = clinic.create_user(T2, "p2", "patient-two", "patient")
    P1, P2 = clinic.login("p1", "patient-one"), clinic.login("p2", "patient-two")
    clinic.prescribe(T1, p1, "straight_leg_raise", sets=3, reps=10, per_week=14, settings={"knee_bent_deg": 125.0})
    clinic.prescribe(T2, p2, "single_leg_balance", sets=3, per_week=7)
    report, blob = report_of()
    s1 = clinic.save_session(P1, report, blob, "upload", pain_before=2, pain_after=5,
                             screen_id=clinic.record_screen(P1, False, False))
    s2 = clinic.save_session(P2, report, blob, "live")
    return dict(t1=t1, t2=t2, p1=p1, p2=p2, T1=T1, T2=T2, P1=P1, P2=P2, s1=s1, s2=s2)


def test_the_remote_loop_in_the_service_layer(clinic, world):
    w = world
    assert [p["username"] for p in clinic.patients(w["T1"])] == ["p1"]
    assert clinic.prescriptions(w["P1"], w["p1"])[0]["settings"] == {"knee_bent_deg": 125.0}
    settings = Clinic.checker_settings(clinic.prescriptions(w["P1"], w["p1"])[0])
    assert settings == {"knee_bent_deg": 125.0, "sets": 3, "reps": 10}
    sessions = clinic.sessions(w["T1"], w["p1"])
    assert [s["id"] for s in sessions] == [w["s1"]] and sessions[0]["summary"]["rep_count"] == 3
    assert "knee_bent" in sessions[0]["faults"] and not sessions[0]["has_video"]
    stored = clinic.session(w["T1"], w["s1"])
    assert PoseSeries.load(__import__("io").BytesIO(stored["landmarks"])).t_s.shape == (207,)
    clinic.add_note(w["T1"], w["s1"], "Good depth; keep the knees straighter on the way down", at_s=4.9)
    assert [n["text"] for n in clinic.notes(w["P1"], w["s1"])] == [
        "Good depth; keep the knees straighter on the way down"]
    assert clinic.adherence(w["T1"], w["p1"]) == [{"exercise": "straight_leg_raise", "done": 1, "prescribed": 14}]
    assert any("pain up 2→5" in f for f in clinic.flags(w["T1"], w["p1"]))
    export = clinic.export_patient(w["P1"], w["p1"])
    assert export["sessions"][0]["notes"][0]["at_s"] == 4.9 and "landmarks" not in export["sessions"][0]


FORBIDDEN = [
    ("patient reads another patient's session by id", lambda c, w: c.session(w["P1"], w["s2"])),
    ("patient lists another patient's sessions", lambda c, w: c.sessions(w["P1"], w["p2"])),
    ("patient reads another patient's prescriptions", lambda c, w: c.prescriptions(w["P1"], w["p2"])),
    ("patient reads another patient's notes", lambda c, w: c.notes(w["P1"], w["s2"])),
    ("patient exports another patient", lambda c, w: c.export_patient(w["P1"], w["p2"])),
    ("patient lists patients", lambda c, w: c.patients(w["P1"])),
    ("patient prescribes", lambda c, w: c.prescribe(w["P1"], w["p1"], "squat", sets=1, reps=5)),
    ("patient writes a note", lambda c, w: c.add_note(w["P1"], w["s1"], "I did great")),
    ("patient creates a patient", lambda c, w: c.create_user(w["P1"], "x", "password123", "patient")),
    ("patient creates a therapist", lambda c, w: c.create_user(w["P1"], "x", "password123", "therapist")),
    ("therapist reads another therapist's patient's session", lambda c, w: c.session(w["T1"], w["s2"])),
    ("therapist lists another therapist's patient's sessions", lambda c, w: c.sessions(w["T1"], w["p2"])),
    ("therapist prescribes to another therapist's patient",
     lambda c, w: c.prescribe(w["T1"], w["p2"], "squat", sets=1, reps=5)),
    ("therapist notes another therapist's patient's session", lambda c, w: c.add_note(w["T1"], w["s2"], "hi")),
    ("therapist reads another therapist's patient's flags", lambda c, w: c.flags(w["T1"], w["p2"])),
    ("therapist creates a therapist", lambda c, w: c.create_user(w["T1"], "x", "password123", "therapist")),
    ("therapist saves a session as if a patient", lambda c, w: c.save_session(w["T1"], *report_of(), "upload")),
    ("therapist reads a session that does not exist", lambda c, w: c.session(w["T1"], 999_999)),
    ("therapist reads a therapist as if a patient", lambda c, w: c.sessions(w["T1"], w["t2"])),
]


@pytest.mark.parametrize("what,attempt", FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_forbidden(clinic, world, what, attempt):
    with pytest.raises(AccessDenied):
        attempt(clinic, world)


def test_no_access_message_is_the_same_for_missing_and_foreign_ids(clinic, world):
    with pytest.raises(AccessDenied) as foreign:
        clinic.session(world["P1"], world["s2"])
    with pytest.raises(AccessDenied) as missing:
        clinic.session(world["P1"], 424242)
    assert str(foreign.value) == f"no access to session {world['s2']}" and str(missing.value) == "no access to session 424242"


def test_login_and_passwords(clinic, db_url, caplog):
    clinic.create_user(OPERATOR, "drw", "correct horse battery", "therapist")
    assert clinic.login("drw", "correct horse battery").role == "therapist"
    assert clinic.login("drw", "wrong password!") is None and clinic.login("nobody", "x" * 10) is None
    with pytest.raises(FormcheckError, match="at least 8"):
        clinic.create_user(OPERATOR, "short", "abc", "therapist")
    from sqlalchemy import create_engine, text

    with create_engine(db_url).connect() as c:
        stored = c.execute(text("select password_hash from users where username='drw'")).scalar()
    assert stored.startswith("$argon2") and "correct horse" not in stored
    assert "correct horse" not in caplog.text
    if db_url.startswith("sqlite"):
        raw = open(db_url.removeprefix("sqlite:///"), "rb").read()
        wal = db_url.removeprefix("sqlite:///") + "-wal"
        raw += open(wal, "rb").read() if os.path.exists(wal) else b""
        assert b"correct horse" not in raw


def test_bad_inputs_are_clear_errors(clinic, world):
    with pytest.raises(FormcheckError, match="unknown exercise"):
        clinic.prescribe(world["T1"], world["p1"], "cartwheel", sets=1)
    with pytest.raises(FormcheckError, match="unknown setting"):
        clinic.prescribe(world["T1"], world["p1"], "squat", sets=1, settings={"no_such": 1})
    with pytest.raises(FormcheckError, match="0 to 10"):
        clinic.save_session(world["P1"], *report_of(), "upload", pain_before=11)
    with pytest.raises(FormcheckError, match="taken"):
        clinic.create_user(OPERATOR, "t1", "another-password", "therapist")
    with pytest.raises(FormcheckError, match="existing therapist"):
        clinic.create_user(OPERATOR, "orphan", "password123", "patient")


def test_a_new_prescription_replaces_the_old_one(clinic, world):
    clinic.prescribe(world["T1"], world["p1"], "straight_leg_raise", sets=3, reps=20, per_week=14)
    current = clinic.prescriptions(world["P1"], world["p1"])
    assert len(current) == 1 and current[0]["reps"] == 20 and current[0]["settings"] == {}


def test_kill_9_mid_session_keeps_every_committed_session_whole(db_url):
    """The server dies (SIGKILL) while storing sessions: what was committed stays, nothing is half-written."""
    import signal
    import subprocess
    import sys

    from sqlalchemy import create_engine, text

    writer = subprocess.Popen([sys.executable, str(FIXTURES.parent / "writer_until_killed.py"), db_url],
                              stdout=subprocess.PIPE, text=True)
    committed = []
    while len(committed) < 8:
        line = writer.stdout.readline()
        assert line, "the writer died before it was killed"
        committed.append(int(line))
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    clinic = Clinic(open_store(db_url))  # reopens (and recovers) the same database
    patient = clinic.login("p", "patient-pw")
    stored = {s["id"]: s for s in clinic.sessions(patient, patient.id)}
    assert set(committed) <= set(stored)  # every acknowledged commit survived
    for session_id in stored:  # and every stored row is whole
        full = clinic.session(patient, session_id)
        assert full["report"]["summary"]["rep_count"] == 3
        assert len(PoseSeries.load(__import__("io").BytesIO(full["landmarks"]))) == 207
    if db_url.startswith("sqlite"):
        with create_engine(db_url).connect() as c:
            assert c.execute(text("PRAGMA integrity_check")).scalar() == "ok"
