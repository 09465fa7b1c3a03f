"""The clinic's store and its access rules, against a real SQLite file and a real PostgreSQL server:
every forbidden read and write is attempted and refused; passwords never stored in clear."""

import copy
import functools
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from conftest import FIXTURES, QUICK_PASSWORDS
from formcheck import safety
from formcheck.clinic import OPERATOR, AccessDenied, Clinic, landmarks_blob
from formcheck.errors import FormcheckError
from formcheck.exercises import make_checker
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


class Clock:
    """The clinic's time: the real one until a test sets `t`."""

    def __init__(self):
        self.t = None

    def __call__(self):
        return self.t or datetime.now(UTC)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def clinic(db_url, clock):
    return Clinic(open_store(db_url), clock=clock, hasher=QUICK_PASSWORDS)


@functools.cache
def _analysed(name: str) -> tuple[dict, bytes]:
    series = PoseSeries.load(FIXTURES / f"{name}.full.npz")
    analysis = analyze_series(series, "straight_leg_raise")
    info = VideoInfo(f"{name}.mp4", series.width, series.height, 24.0, float(series.t_s[-1]), len(series), 0)
    return build_report(analysis, info, "full"), landmarks_blob(analysis.poses)


def report_of(name="legraise_supine_dk2"):
    """The real clip's report and landmarks (analysed once per test run; each caller gets its own copy)."""
    report, blob = _analysed(name)
    return copy.deepcopy(report), blob


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
    assert settings == {"knee_bent_deg": 125.0, "sets": 3, "reps": 10, "per_day": 2}  # 14 a week: twice a day
    sessions = clinic.sessions(w["T1"], w["p1"])
    assert [s["id"] for s in sessions] == [w["s1"]] and sessions[0]["summary"]["rep_count"] == 3
    assert "knee_bent" in sessions[0]["faults"] and not sessions[0]["has_video"]
    stored = clinic.session(w["T1"], w["s1"])
    assert PoseSeries.load(__import__("io").BytesIO(stored["landmarks"])).t_s.shape == (207,)
    clinic.add_note(w["T1"], w["s1"], "Good depth; keep the knees straighter on the way down", at_s=4.9)
    assert [n["text"] for n in clinic.notes(w["P1"], w["s1"])] == [
        "Good depth; keep the knees straighter on the way down"]
    [adherence] = clinic.adherence(w["T1"], w["p1"])
    assert {k: adherence[k] for k in ("exercise", "done", "prescribed", "today", "per_day")} == {
        "exercise": "straight_leg_raise", "done": 1, "prescribed": 14, "today": 1, "per_day": 2}
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
    assert str(foreign.value) == f"no access to session {world['s2']}"
    assert str(missing.value) == "no access to session 424242"


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


# --- issue 14: safety answers and flags, stops, doses, per-day adherence, variants ----------------------
ALL_NO = {k: False for k in safety.SYMPTOMS}
WED = datetime(2025, 3, 5, 10, 0, tzinfo=UTC)  # a Wednesday


def synthetic_report(exercise, reps=0, holds=(), faults=()):
    """A report as build_report makes it, reduced to what the clinic and progression read."""
    hold_rows = [{"start_s": 0.0, "end_s": d, "duration_s": d, "correct_s": c, "side": "left", "metrics": {}}
                 for d, c in holds]
    return {"schema": "formcheck.report/1", "exercise": exercise,
            "video": {"path": "live camera", "duration_s": 60.0, "fps": 15.0, "frames": 900, "width": 640,
                      "height": 480},
            "side": "left", "view": "side",
            "reps": [{"index": i + 1, "start_s": i, "peak_s": i + 0.5, "end_s": i + 1, "side": "left", "metrics": {},
                      "faults": []} for i in range(reps)],
            "holds": hold_rows,
            "faults": [{"code": c, "start_s": 1.0, "end_s": 2.0, "message": c, "rep": None} for c in faults],
            "refused": [], "settings": {},
            "summary": {"rep_count": reps, "hold_count": len(hold_rows),
                        "longest_hold_s": max((d for d, _ in holds), default=0.0),
                        "total_hold_s": sum(d for d, _ in holds), "scored_s": 60.0}}


def open_keys(clinic, actor, patient_id):
    return {f["key"]: f for f in clinic.open_flags(actor, patient_id)}


def test_every_answer_is_stored_and_the_two_question_call_still_works(clinic, world):
    w = world
    answers = {**ALL_NO, "calf_pain": True, "smoking": True, "diabetes": False, "sedentary_overweight": None}
    sid = clinic.record_screen(w["P1"], answers)
    [legacy, stored] = clinic.screens(w["T1"], w["p1"])
    assert stored["id"] == sid and stored["answers"] == {k: v for k, v in answers.items() if v is not None}
    assert stored["verdict"] == safety.screen(answers) and stored["verdict"].caution
    assert legacy["answers"] == {"nerve_symptoms": False}  # the world's record_screen(P1, False, False)
    assert clinic.latest_screen(w["P1"], w["p1"])["id"] == sid
    with pytest.raises(FormcheckError, match="every safety question"):
        clinic.record_screen(w["P1"], {"calf_pain": False})
    with pytest.raises(FormcheckError, match="unknown safety answer"):
        clinic.record_screen(w["P1"], {**ALL_NO, "calf_swelling": True})
    with pytest.raises(AccessDenied):
        clinic.record_screen(w["T1"], ALL_NO)
    with pytest.raises(AccessDenied):
        clinic.screens(w["T2"], w["p1"])
    clinic.record_screen(w["P1"], True, False)  # the page's two questions: calf pain with swelling and redness
    assert clinic.latest_screen(w["P1"], w["p1"])["answers"] == {
        "calf_pain": True, "leg_swelling": True, "leg_redness": True, "nerve_symptoms": False}
    assert clinic.verdict_today(w["P1"], w["p1"]).blocked


def test_a_yes_stays_flagged_until_the_therapist_acknowledges_it(clinic, world):
    w = world
    clinic.record_screen(w["P1"], {**ALL_NO, "nerve_symptoms": True})
    clinic.record_screen(w["P1"], ALL_NO)  # a later No does not erase it
    flag = open_keys(clinic, w["T1"], w["p1"])["screen:nerve_symptoms"]
    assert "nerve symptoms" in flag["text"] and "Yes (1×" in flag["text"]
    assert flag["text"] in clinic.flags(w["T1"], w["p1"])
    with pytest.raises(AccessDenied):
        clinic.acknowledge_flag(w["P1"], w["p1"], flag["id"])
    with pytest.raises(AccessDenied):
        clinic.acknowledge_flag(w["T2"], w["p1"], flag["id"])
    clinic.acknowledge_flag(w["T1"], w["p1"], flag["id"], "phoned: seeing her GP")
    assert "screen:nerve_symptoms" not in open_keys(clinic, w["T1"], w["p1"])
    assert clinic.acknowledged_flags(w["T1"], w["p1"])[-1]["note"] == "phoned: seeing her GP"
    with pytest.raises(FormcheckError, match="no open flag"):
        clinic.acknowledge_flag(w["T1"], w["p1"], flag["id"])
    # the therapist looks, then the patient answers Yes again: acknowledging what was seen leaves the new Yes
    clinic.record_screen(w["P1"], {**ALL_NO, "nerve_symptoms": True})
    seen = open_keys(clinic, w["T1"], w["p1"])["screen:nerve_symptoms"]
    clinic.record_screen(w["P1"], {**ALL_NO, "nerve_symptoms": True})
    clinic.acknowledge_flag(w["T1"], w["p1"], seen["id"])
    still = open_keys(clinic, w["T1"], w["p1"])["screen:nerve_symptoms"]
    assert still["through"] > seen["through"] and "Yes (1×" in still["text"]
    # other flags close the same way; the pain flag from the world's session
    pain = open_keys(clinic, w["T1"], w["p1"])[f"pain:{w['s1']}"]
    clinic.acknowledge_flag(w["T1"], w["p1"], pain["id"])
    assert not any("pain up" in t for t in clinic.flags(w["T1"], w["p1"]))


def test_each_thrombosis_sign_raises_its_own_flag(clinic, world):
    w = world
    clinic.record_screen(w["P1"], {**ALL_NO, "leg_warmth": True})
    clinic.record_screen(w["P1"], {**ALL_NO, "calf_pain": True})
    keys = open_keys(clinic, w["T1"], w["p1"])
    assert {"screen:leg_warmth", "screen:calf_pain"} <= set(keys) and "screen:leg_swelling" not in keys


def test_a_risk_factor_is_raised_again_only_after_a_no(clinic, world):
    w = world
    clinic.record_screen(w["P1"], {**ALL_NO, "smoking": True})
    flag = open_keys(clinic, w["T1"], w["p1"])["screen:smoking"]
    clinic.acknowledge_flag(w["T1"], w["p1"], flag["id"])
    clinic.record_screen(w["P1"], {**ALL_NO, "smoking": True})  # still a smoker: already seen
    clinic.record_screen(w["P1"], ALL_NO)  # not asked this time (None): no change either
    clinic.record_screen(w["P1"], {**ALL_NO, "smoking": True})
    assert "screen:smoking" not in open_keys(clinic, w["T1"], w["p1"])
    clinic.record_screen(w["P1"], {**ALL_NO, "smoking": False})
    clinic.record_screen(w["P1"], {**ALL_NO, "smoking": True})  # started again
    assert "screen:smoking" in open_keys(clinic, w["T1"], w["p1"])


def test_touch_down_never_makes_a_recurring_fault_flag(clinic, world):
    w = world
    clinic.prescribe(w["T2"], w["p2"], "single_leg_balance", hold_s=20)
    for faults in (("touch_down",), ("touch_down", "hopping"), ("touch_down", "hopping")):
        clinic.save_session(w["P2"], synthetic_report("single_leg_balance", holds=((8.0, 8.0),), faults=faults), b"",
                            "live", variant="eyes_open")
    assert not any("recurring" in t for t in clinic.flags(w["T2"], w["p2"]))
    clinic.save_session(w["P2"], synthetic_report("single_leg_balance", holds=((8.0, 8.0),),
                                                  faults=("touch_down", "hopping")), b"", "live", variant="eyes_open")
    assert [t for t in clinic.flags(w["T2"], w["p2"]) if "recurring" in t] == [
        "recurring fault: hopping in the last 3 sessions"]


def test_a_prescribed_30_s_balance_hold_reaches_the_checker(clinic, world):
    w = world
    clinic.prescribe(w["T2"], w["p2"], "single_leg_balance", hold_s=30)
    [p] = clinic.prescriptions(w["P2"], w["p2"])
    settings = Clinic.checker_settings(p)
    assert settings["target_hold_s"] == 30.0 and "hold_s" not in settings
    checker = make_checker("single_leg_balance", settings)
    assert checker.p["target_hold_s"] == 30.0 and checker.spec.target_text(checker.p) == " / 30 s"


def test_doses_as_the_articles_give_them(clinic, world):
    w = world
    T, p = w["T1"], w["p1"]
    clinic.prescribe(T, p, "straight_leg_raise")
    clinic.prescribe(T, p, "calf_stretch")
    clinic.prescribe(T, p, "hamstring_stretch_standing", hold_s=(20, 30))
    clinic.prescribe(T, p, "hamstring_stretch_seated", per_day=2, days_per_week=(3, 5), rest_s=90)
    clinic.prescribe(T, p, "single_leg_balance")
    clinic.prescribe(T, p, "sciatic_nerve_glide", per_week=3)  # the older "times a week"
    got = {x["exercise"]: x for x in clinic.prescriptions(w["P1"], p)}
    slr, calf, standing, seated = (got[n] for n in ("straight_leg_raise", "calf_stretch", "hamstring_stretch_standing",
                                                    "hamstring_stretch_seated"))
    assert (slr["sets"], slr["reps"], slr["per_day"], slr["days_min"], slr["per_week"]) == (3, 10, 2, 7, 14)
    assert (calf["hold_min_s"], calf["per_day"], calf["dose"]) == (20.0, 3, "1 × hold 20 s, 3 times a day, every day")
    assert (standing["hold_min_s"], standing["hold_max_s"],
            standing["days_min"], standing["days_max"]) == (20, 30, 3, 5)
    assert make_checker("hamstring_stretch_standing", Clinic.checker_settings(standing)).p["hold_s"] == 20.0
    assert (seated["per_day"], seated["per_week"], seated["rest_s"], slr["rest_s"]) == (2, 6, 90.0, 60.0)
    assert got["single_leg_balance"]["as_often_as_possible"] and got["single_leg_balance"]["per_day"] is None
    assert got["single_leg_balance"]["variant"] == "eyes_open"
    glide = got["sciatic_nerve_glide"]
    assert (glide["per_day"], glide["days_min"], glide["days_max"]) == (1, 3, 3)
    for bad, message in [(dict(exercise="calf_stretch", reps=10), "held"),
                         (dict(exercise="straight_leg_raise", hold_s=20), "reps"),
                         (dict(exercise="calf_stretch", hold_s=(30, 20)), "longest"),
                         (dict(exercise="calf_stretch", days_per_week=(5, 3)), "days a week"),
                         (dict(exercise="straight_leg_raise", per_day=2, per_week=3), "does not match"),
                         (dict(exercise="straight_leg_raise", variant="eyes_closed"), "no variants"),
                         (dict(exercise="single_leg_balance", variant="one_hand"), "unknown variant"),
                         (dict(exercise="straight_leg_raise", progress_after=0), "at least 1")]:
        with pytest.raises(FormcheckError, match=message):
            clinic.prescribe(T, p, **bad)


def test_adherence_counts_per_day_and_per_week(clinic, world, clock):
    w = world
    clock.t = WED - timedelta(days=3)
    clinic.prescribe(w["T1"], w["p1"], "straight_leg_raise")  # twice a day, every day
    clinic.prescribe(w["T1"], w["p1"], "single_leg_balance")  # as often as possible
    report, blob = report_of()
    when = [WED - timedelta(days=3, hours=2),  # last Sunday: another week
            WED - timedelta(days=2, hours=2), WED - timedelta(days=2, hours=-8),  # Monday twice
            WED - timedelta(days=1),  # Tuesday once
            WED - timedelta(hours=1), WED]  # Wednesday twice
    for t in when:
        clock.t = t
        clinic.save_session(w["P1"], report, blob, "live")
    for t in (WED, WED + timedelta(hours=1), WED + timedelta(hours=2)):
        clock.t = t
        clinic.save_session(w["P1"], synthetic_report("single_leg_balance", holds=((9.0, 9.0),)), b"", "live",
                            variant="eyes_open")
    got = {a["exercise"]: a for a in clinic.adherence(w["T1"], w["p1"], today=WED + timedelta(hours=8))}
    slr, balance = got["straight_leg_raise"], got["single_leg_balance"]
    assert [(d["date"].isoformat(), d["done"], d["target"]) for d in slr["by_day"]] == [
        ("2025-03-03", 2, 2), ("2025-03-04", 1, 2), ("2025-03-05", 2, 2)]
    assert (slr["done"], slr["prescribed"], slr["today"], slr["days_done"], slr["days_complete"]) == (5, 14, 2, 3, 2)
    assert (balance["today"], balance["per_day"], balance["as_often_as_possible"], balance["days_complete"]) == (
        3, None, True, 1)
    tuesday = {a["exercise"]: a for a in clinic.adherence(w["T1"], w["p1"], today=WED - timedelta(days=1))}
    assert tuesday["straight_leg_raise"]["done"] == 3 and tuesday["single_leg_balance"]["done"] == 0


def test_balance_variants_are_recorded_and_kept_apart_in_trends(clinic, world):
    from formcheck.trends import trend_rows

    w = world
    for variant, best in (("eyes_open", 12.0), ("eyes_closed", 5.0), ("eyes_open", 14.0), (None, 7.0)):
        clinic.save_session(w["P2"], synthetic_report("single_leg_balance", holds=((best, best), (3.0, 3.0))), b"",
                            "live", variant=variant)
    sessions = clinic.sessions(w["T2"], w["p2"])
    assert [s["variant"] for s in sessions] == [None, "eyes_open", "eyes_closed", "eyes_open", None]
    assert clinic.session(w["P2"], sessions[2]["id"])["report"]["variant"] == "eyes_closed"
    stance = {}
    for row in trend_rows(sessions):
        if row["measure"] == "best single-leg stance (s)":
            stance.setdefault(row["series"], []).append(row["value"])
    assert stance == {"Single-leg balance (eyes open)": [12.0, 14.0], "Single-leg balance (eyes closed)": [5.0],
                      "Single-leg balance (variant not recorded)": [7.0]}
    with pytest.raises(FormcheckError, match="unknown variant"):
        clinic.save_session(w["P2"], synthetic_report("single_leg_balance"), b"", "live", variant="one_hand")
    with pytest.raises(FormcheckError, match="no variants"):
        clinic.save_session(w["P2"], *report_of(), "live", variant="eyes_closed")


def test_stop_during_a_set_records_excludes_for_the_day_and_flags(clinic, world, clock):
    w = world
    clock.t = WED
    stop = clinic.stop_during_set(w["P1"], "hamstring_stretch_standing", "tingling", at_s=12.5)
    today = clinic.verdict_today(w["P1"], w["p1"])
    assert not today.blocked and today.excluded == set(safety.STRETCHES)
    assert today.allowed(["straight_leg_raise", "sciatic_nerve_glide", "calf_stretch"]) == [
        "straight_leg_raise", "sciatic_nerve_glide"]
    assert "off for today" in today.advice[0] and "consult a professional" in " ".join(today.advice).lower()
    flag = open_keys(clinic, w["T1"], w["p1"])["stop:hamstring_stretch_standing"]
    assert "tingling" in flag["text"]
    assert not any(f["kind"] == "stop" for f in clinic.open_flags(w["T2"], w["p2"]))
    # the stopped set is saved afterwards and carries its stop
    stretch = synthetic_report("hamstring_stretch_standing", holds=((12.0, 11.0),))
    with pytest.raises(AccessDenied):
        clinic.save_session(w["P2"], copy.deepcopy(stretch), b"", "live", stop_id=stop)
    with pytest.raises(FormcheckError, match="another set"):
        clinic.save_session(w["P1"], *report_of(), "live", stop_id=stop)  # a leg raise is not that set
    sid = clinic.save_session(w["P1"], stretch, b"", "live", stop_id=stop)
    assert clinic.session(w["T1"], sid)["stopped"] == "tingling"
    with pytest.raises(FormcheckError, match="another set"):
        clinic.save_session(w["P1"], copy.deepcopy(stretch), b"", "live", stop_id=stop)
    # sharp pain in an already saved leg-raise session: that exercise is off too
    clock.t = WED + timedelta(hours=1)
    clinic.stop_during_set(w["P1"], "straight_leg_raise", "sharp_pain", session_id=w["s1"])
    assert {s["id"]: s["stopped"] for s in clinic.sessions(w["P1"], w["p1"])}[w["s1"]] == "sharp_pain"
    assert clinic.excluded_today(w["P1"], w["p1"]) == set(safety.STRETCHES) | {"straight_leg_raise"}
    with pytest.raises(FormcheckError, match="not calf_stretch"):
        clinic.stop_during_set(w["P1"], "calf_stretch", "sharp_pain", session_id=w["s1"])
    with pytest.raises(AccessDenied):
        clinic.stop_during_set(w["P1"], "straight_leg_raise", "sharp_pain", session_id=w["s2"])
    with pytest.raises(FormcheckError, match="unknown symptom"):
        clinic.stop_during_set(w["P1"], "straight_leg_raise", "itching")
    with pytest.raises(AccessDenied):
        clinic.stop_during_set(w["T1"], "straight_leg_raise")
    # the next day the exercises are back; the therapist's flags stay until acknowledged
    clock.t = WED + timedelta(days=1)
    assert clinic.verdict_today(w["P1"], w["p1"]).clear
    stops = {k: f for k, f in open_keys(clinic, w["T1"], w["p1"]).items() if k.startswith("stop:")}
    assert set(stops) == {"stop:hamstring_stretch_standing", "stop:straight_leg_raise"}
    for f in stops.values():
        clinic.acknowledge_flag(w["T1"], w["p1"], f["id"])
    assert not any(f["kind"] == "stop" for f in clinic.open_flags(w["T1"], w["p1"]))


def test_a_screen_in_the_morning_counts_all_day(clinic, world, clock):
    w = world
    clock.t = WED
    clinic.record_screen(w["P1"], {**ALL_NO, "sharp_pain": True})
    clock.t = WED + timedelta(hours=3)
    clinic.record_screen(w["P1"], ALL_NO)
    assert clinic.excluded_today(w["P1"], w["p1"]) == set(safety.STRETCHES)
    assert clinic.excluded_today(w["P1"], w["p1"], at=WED + timedelta(days=1)) == set()


def _migrated_to(db_url, revision):
    from pathlib import Path

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    import formcheck.store

    engine = create_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(Path(formcheck.store.__file__).resolve().parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return engine


def test_rows_written_before_the_safety_and_dose_migration_stay_readable(db_url):
    from argon2 import PasswordHasher
    from sqlalchemy import text

    engine = _migrated_to(db_url, "0001")
    t = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    with engine.begin() as c:
        for uid, name, role, therapist in ((1, "t", "therapist", None), (2, "p", "patient", 1)):
            c.execute(text("INSERT INTO users (id, username, password_hash, role, display_name, therapist_id, "
                           "created_at) VALUES (:i, :u, :h, :r, :u, :t, :c)"),
                      dict(i=uid, u=name, h=PasswordHasher().hash(f"{name}-password"), r=role, t=therapist, c=t))
        for pid, exercise, per_week in ((1, "straight_leg_raise", 14), (2, "sciatic_nerve_glide", 3)):
            c.execute(text("INSERT INTO prescriptions (id, patient_id, exercise, sets, reps, hold_s, per_week, "
                           "settings, active, created_by, created_at) "
                           "VALUES (:i, 2, :e, 3, 10, NULL, :w, '{}', :a, 1, :c)"),
                      dict(i=pid, e=exercise, w=per_week, a=True, c=t))
        for sid, calf, nerve in ((1, True, False), (2, False, True)):
            c.execute(text("INSERT INTO safety_screens (id, patient_id, calf_red_flag, nerve_symptoms, answered_at) "
                           "VALUES (:i, 2, :calf, :nerve, :c)"), dict(i=sid, calf=calf, nerve=nerve, c=t))
    engine.dispose()
    clinic = Clinic(open_store(db_url))  # upgrades to the head
    T, P = clinic.login("t", "t-password"), clinic.login("p", "p-password")
    got = {x["exercise"]: x for x in clinic.prescriptions(T, 2)}
    assert (got["straight_leg_raise"]["per_day"], got["straight_leg_raise"]["days_min"]) == (2, 7)
    assert (got["sciatic_nerve_glide"]["per_day"], got["sciatic_nerve_glide"]["days_min"],
            got["sciatic_nerve_glide"]["days_max"]) == (1, 3, 3)
    assert got["straight_leg_raise"]["rest_s"] == 60.0 and got["straight_leg_raise"]["progress_after"] == 3
    first, second = clinic.screens(P, 2)
    assert first["answers"] == {"nerve_symptoms": False, "calf_pain": True, "leg_swelling": True, "leg_redness": True}
    assert first["verdict"].blocked and second["answers"] == {"nerve_symptoms": True}
    assert {"screen:leg_swelling", "screen:leg_redness", "screen:calf_pain", "screen:nerve_symptoms"} <= set(
        open_keys(clinic, T, 2))
    clinic._db.kw["bind"].dispose()


def test_the_migrations_make_exactly_the_models_schema(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from formcheck.store import Base

    factory = open_store(db_url)
    with factory.kw["bind"].connect() as c:
        assert compare_metadata(MigrationContext.configure(c), Base.metadata) == []
    factory.kw["bind"].dispose()


def test_the_leg_raise_trend_is_the_foot_lift_falling_back_to_hip_flexion_for_older_sessions():
    """The article's range is the leg's lift (30–45°): the trend reads each session's highest `peak_leg_lift_deg`;
    a session stored before the lift was measured has only the hip's flexion, which stands in for it."""
    from formcheck.trends import trend_rows

    def session(day, metrics):
        report = synthetic_report("straight_leg_raise", reps=len(metrics))
        for rep, m in zip(report["reps"], metrics):
            rep["metrics"] = m
        return {"id": day, "created_at": datetime(2026, 11, day, tzinfo=UTC), "exercise": "straight_leg_raise",
                "report": report}

    sessions = [session(1, [{"peak_hip_flexion_deg": 52.0}, {"peak_hip_flexion_deg": 55.0}]),
                session(2, [{"peak_leg_lift_deg": 38.0, "peak_hip_flexion_deg": 61.0},
                            {"peak_leg_lift_deg": 41.5, "peak_hip_flexion_deg": 66.0}])]
    ranges = [r["value"] for r in trend_rows(sessions) if r["measure"] == "peak leg-raise range (°)"]
    assert ranges == [55.0, 41.5]
