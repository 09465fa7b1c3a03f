"""Accounts a clinic can run safely (issue 15), tried as an attacker and as a clinic's administrator would, on a
real SQLite file and a real PostgreSQL server: throttled sign-in, NIST passwords, the account life-cycle,
sign-in tokens, private database files and backups, escaped exports, validated data, roles, the access log,
server limits."""

import gc
import math
import os
import statistics
import stat
import time
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from formcheck import accounts, bounds, limits
from formcheck.clinic import OPERATOR, SIGN_IN_FAILED, AccessDenied, Clinic, SignInEnded
from formcheck.errors import FormcheckError
from formcheck.exercises import CATALOGUE
from formcheck.report import csv_cell, html_report
from formcheck.store import open_store
from test_clinic import (ALL_NO, Clock, _migrated_to, clinic, clock, db_url, report_of,  # noqa: F401 (fixtures)
                         synthetic_report, world)

STRONG = "correct horse battery"


def engine_of(clinic):
    return clinic._db.kw["bind"]


# --- sign-in: throttling, timing, one message ----------------------------------------------------------
def test_the_right_password_is_refused_right_after_25_failures(clinic, clock):
    clinic.create_user(OPERATOR, "drw", STRONG, "therapist")
    attacker = "203.0.113.7"
    for i in range(25):
        assert clinic.login("drw", f"guess number {i}", client=attacker) is None
    assert clinic.login("drw", STRONG, client=attacker) is None  # locked: even the right password waits
    assert clinic.login("drw", STRONG, client="198.51.100.2") is None  # the name is locked, whoever asks
    admin_id = clinic.create_user(OPERATOR, "boss", "an admin's own passphrase", "admin")
    admin = clinic.login("boss", "an admin's own passphrase")
    failures = clinic.sign_in_failures(admin)
    assert {f["reason"] for f in failures} == {"wrong_password", "locked"} and len(failures) == 27
    assert all(f["username"] == "drw" for f in failures) and failures[0]["client"] == "198.51.100.2"
    locks = {(lock["kind"], lock["name"]) for lock in clinic.sign_in_locks(admin)}
    assert locks == {("account", "drw"), ("client", attacker)}
    assert [a["locked_until"] is not None for a in clinic.accounts(admin) if a["username"] == "drw"] == [True]
    assert all(STRONG not in str(f) and "guess" not in str(f) for f in failures)  # never a password
    # the lock passes; a success clears the name's count (not the client's)
    clock.t = clock() + timedelta(minutes=2)
    assert clinic.login("drw", STRONG, client="198.51.100.2").username == "drw"
    assert clinic.login("drw", "one typo", client="198.51.100.2") is None
    assert clinic.login("drw", STRONG, client="198.51.100.2") is not None  # 1 failure: no lock
    assert admin_id


def test_the_lock_grows_with_each_failure_after_it(clinic, clock):
    clinic.create_user(OPERATOR, "drw", STRONG, "therapist")
    clock.t = clock()
    for i in range(accounts.ACCOUNT.free):
        clinic.login("drw", f"wrong {i}")
    counts = []
    for wait in (60, 120, 240):  # each try after a lock ends and fails again doubles the lock
        clock.t += timedelta(seconds=wait - 1)
        assert clinic.login("drw", STRONG) is None  # still locked: not counted
        clock.t += timedelta(seconds=2)
        assert clinic.login("drw", "still wrong") is None
        with engine_of(clinic).connect() as c:
            counts.append(c.execute(text("select failures from sign_in_throttles where key='account:drw'")).scalar())
    assert counts == [accounts.ACCOUNT.free + 1, accounts.ACCOUNT.free + 2, accounts.ACCOUNT.free + 3]
    assert [accounts.ACCOUNT.lock_for(n).total_seconds() for n in (5, 6, 7, 20)] == [60, 120, 240, 900]
    clock.t += timedelta(seconds=481)
    assert clinic.login("drw", STRONG) is not None


def test_an_unknown_name_answers_no_faster_than_half_a_wrong_password(db_url):
    clinic = Clinic(open_store(db_url))  # at the server's own Argon2 cost: the time it takes is what is compared
    clinic.create_user(OPERATOR, "drw", STRONG, "therapist")
    clinic.login("nobody-warmup", "x" * 12)  # the dummy hash is made once, on first use

    def took(username, password):
        t0 = time.perf_counter()
        assert clinic.login(username, password) is None
        return time.perf_counter() - t0

    wrong = [took("drw", f"wrong password {i}") for i in range(6)]
    unknown = [took(f"ghost{i}", f"wrong password {i}") for i in range(6)]
    assert statistics.median(unknown) >= 0.5 * statistics.median(wrong), (unknown, wrong)
    # and a disabled account, a locked one, a password too long to be one: the same single answer (None)
    assert clinic.login("drw", "y" * 10_000) is None and clinic.login(None, None) is None
    assert "Sign-in failed" in SIGN_IN_FAILED


# --- passwords (NIST SP 800-63B) -------------------------------------------------------------------------
WEAK = ["12345678", "password", " " * 8, "drsmith-rocks!", "Password123!", "aaaaaaaaaaaa", "abcdefghij",
        "short1!", "formcheck", "iloveyou2024", "DRSMITH is great"]


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused(password):
    with pytest.raises(FormcheckError):
        accounts.check_password(password, "drsmith")


def test_weak_passwords_are_refused_everywhere_and_good_ones_taken(clinic, world):
    w = world
    for password in ("12345678", "password", " " * 8, "Pat3-is-my-name"):
        with pytest.raises(FormcheckError) as refused:
            clinic.create_user(w["T1"], "pat3", password, "patient")
        assert "$argon2" not in str(refused.value) and "INSERT" not in str(refused.value)
    for password in ("12345678", "password", " " * 8):
        with pytest.raises(FormcheckError):
            clinic.reset_password(w["T1"], w["p1"], password)
    with pytest.raises(FormcheckError, match="most common"):
        clinic.change_password(w["P1"], "patient-one", "qwerty123")
    for good in ("correct horse battery", "Tr0ub4dor&3x", "ünïcödé-pässwörd"):
        assert accounts.password_problem(good, "drsmith") is None
    assert accounts.common_passwords() and "password1" in accounts.common_passwords()


# --- usernames ----------------------------------------------------------------------------------------------
def test_usernames_are_normalised_and_unique_case_insensitively(clinic, world):
    for same in ("T1", "t1 ", "  T1", "ｔ１"):  # the last one full-width
        with pytest.raises(FormcheckError, match="taken"):
            clinic.create_user(OPERATOR, same, "another therapist's pw", "therapist")
    assert clinic.login("  T1 ", "therapist-one").id == world["t1"]
    for bad in ("", "   ", "a\u200bb", "x" * 81, "na#me"):
        with pytest.raises(FormcheckError):
            clinic.create_user(OPERATOR, bad, "another therapist's pw", "therapist")


def test_a_taken_name_is_a_clear_error_even_in_a_race(clinic, monkeypatch):
    """Two sign-ups with one name at the same moment: the second insert hits the unique index. Its
    IntegrityError (SQL text, a password hash) never reaches the message."""
    import formcheck.clinic as clinic_module

    real = clinic_module.accounts.check_password

    def meanwhile(password, username=""):  # runs after the "is it free?" check, before the insert
        monkeypatch.setattr(clinic_module.accounts, "check_password", real)
        Clinic(clinic._db).create_user(OPERATOR, "Racer", "the other request's pw", "therapist")
        return real(password, username)

    monkeypatch.setattr(clinic_module.accounts, "check_password", meanwhile)
    with pytest.raises(FormcheckError) as lost:
        clinic.create_user(OPERATOR, "racer", "this request's password", "therapist")
    assert str(lost.value) == "the username 'racer' is taken"
    assert not isinstance(lost.value.__cause__, Exception) or "IntegrityError" not in repr(lost.value)


# --- the account life-cycle -------------------------------------------------------------------------------------
def test_a_disabled_user_is_refused_at_sign_in_and_with_a_sign_in_from_before(clinic, world):
    w = world
    token = clinic.start_session(w["P1"])
    assert clinic.resume(token).id == w["p1"]
    with pytest.raises(AccessDenied):
        clinic.disable_user(w["T2"], w["p1"])  # not their patient
    with pytest.raises(AccessDenied):
        clinic.disable_user(w["P2"], w["p1"])
    clinic.disable_user(w["T1"], w["p1"])
    assert clinic.login("p1", "patient-one") is None
    assert clinic.resume(token) is None
    with pytest.raises(SignInEnded):
        clinic.sessions(w["P1"], w["p1"])
    with pytest.raises(SignInEnded):
        clinic.save_session(w["P1"], *report_of(), "live")
    with pytest.raises(SignInEnded):
        clinic.start_session(w["P1"])
    assert clinic.sessions(w["T1"], w["p1"])  # the data stays for the therapist
    clinic.enable_user(w["T1"], w["p1"])
    assert clinic.resume(token) is None  # the old sign-ins stay ended
    with pytest.raises(SignInEnded):
        clinic.sessions(w["P1"], w["p1"])
    again = clinic.login("p1", "patient-one")
    assert clinic.sessions(again, w["p1"])


def test_an_actor_from_before_a_role_change_is_refused(clinic, world):
    with engine_of(clinic).begin() as c:  # changed in the database behind the page's back
        c.execute(text("update users set role='admin' where id=:i"), {"i": world["t1"]})
    with pytest.raises(SignInEnded):
        clinic.patients(world["T1"])
    with pytest.raises(SignInEnded):
        clinic.sessions(world["T1"], world["p1"])


def test_reset_and_change_password(clinic, world):
    w = world
    admin_id = clinic.create_user(OPERATOR, "boss", "an admin's own passphrase", "admin")
    admin = clinic.login("boss", "an admin's own passphrase")
    token = clinic.start_session(w["P1"])
    for who, whom in ((w["T2"], w["p1"]), (admin, w["p1"]), (w["T1"], w["t2"]), (w["P1"], w["p1"]),
                      (w["T1"], 424242), (admin, admin_id)):
        with pytest.raises(AccessDenied):
            clinic.reset_password(who, whom, "a new shared secret")
    clinic.reset_password(w["T1"], w["p1"], "a new shared secret")
    assert clinic.resume(token) is None and clinic.login("p1", "patient-one") is None
    with pytest.raises(SignInEnded):
        clinic.prescriptions(w["P1"], w["p1"])
    P1 = clinic.login("p1", "a new shared secret")
    assert P1.must_change_password
    with pytest.raises(FormcheckError, match="not right"):
        clinic.change_password(P1, "wrong current one", "my very own secret")
    with pytest.raises(FormcheckError, match="differ"):
        clinic.change_password(P1, "a new shared secret", "a new shared secret")
    other_device = clinic.start_session(P1)
    P1b = clinic.change_password(P1, "a new shared secret", "my very own secret")
    assert not P1b.must_change_password and clinic.resume(other_device) is None
    with pytest.raises(SignInEnded):
        clinic.sessions(P1, w["p1"])
    assert clinic.sessions(P1b, w["p1"]) and clinic.login("p1", "my very own secret") is not None
    clinic.reset_password(admin, w["t2"], "therapist two anew")  # an admin resets a therapist's
    assert clinic.login("t2", "therapist two anew").must_change_password


def test_a_reset_lifts_the_lock(clinic, world):
    for i in range(accounts.ACCOUNT.free):
        clinic.login("p1", f"forgotten {i}")
    assert clinic.login("p1", "patient-one") is None
    clinic.reset_password(world["T1"], world["p1"], "a fresh start today")
    assert clinic.login("p1", "a fresh start today") is not None


# --- sign-in tokens ----------------------------------------------------------------------------------------------
def test_sign_in_tokens_survive_a_reload_expire_and_end(clinic, world, clock):
    w = world
    clock.t = clock()
    token = clinic.start_session(w["P1"], client="192.0.2.1")
    assert len(token) >= 40
    with engine_of(clinic).connect() as c:
        stored = c.execute(text("select token_hash from sign_in_tokens")).scalars().all()
    assert token not in stored and accounts.token_hash(token) in stored
    back = clinic.resume(token)
    assert (back.id, back.role) == (w["p1"], "patient") and clinic.sessions(back, w["p1"])
    for junk in (None, "", "x", token[:-1] + ("A" if token[-1] != "A" else "B"), "y" * 5000, 42):
        assert clinic.resume(junk) is None
    clock.t += timedelta(minutes=accounts.IDLE_MINUTES - 1)
    assert clinic.resume(token) is not None  # used: idle time starts again
    clock.t += timedelta(minutes=accounts.IDLE_MINUTES + 1)
    assert clinic.resume(token) is None  # unused too long
    fresh, began = clinic.start_session(w["P1"]), clock.t
    for _ in range(accounts.SESSION_HOURS * 3):  # used every half hour: it still ends after SESSION_HOURS
        clock.t += timedelta(minutes=30)
        if clinic.resume(fresh) is None:
            break
    assert clock.t - began == timedelta(hours=accounts.SESSION_HOURS)
    one, two = clinic.start_session(w["P1"]), clinic.start_session(w["P1"])
    clinic.end_session(one)
    assert clinic.resume(one) is None and clinic.resume(two) is not None
    clinic.sign_out_everywhere(w["P1"])
    assert clinic.resume(two) is None
    with pytest.raises(SignInEnded):
        clinic.sessions(w["P1"], w["p1"])


def test_a_sign_in_through_the_identity_provider_finds_the_account_by_its_e_mail(clinic, world, clock):
    t = clinic.create_user(OPERATOR, "Dr.Lee@Clinic.example", "doctor lee's passphrase", "therapist", "Dr Lee")
    issued = clock()
    actor = clinic.login_verified_email("dr.lee@clinic.example", issued)
    assert (actor.id, actor.role, actor.name) == (t, "therapist", "Dr Lee")
    assert clinic.patients(actor) == []
    for unknown in ("nobody@clinic.example", "", None, "t1"):
        assert clinic.login_verified_email(unknown, issued) is None
    assert clinic.login_verified_email("dr.lee@clinic.example", None) is None

    clock.t = issued + timedelta(minutes=5)  # signed out everywhere: an identity issued before no longer counts
    clinic.sign_out_everywhere(actor)
    assert clinic.login_verified_email("dr.lee@clinic.example", issued) is None
    assert clinic.login_verified_email("dr.lee@clinic.example", clock.t + timedelta(seconds=1)) is not None
    clinic.disable_user(OPERATOR, t)
    assert clinic.login_verified_email("dr.lee@clinic.example", clock.t + timedelta(seconds=1)) is None


# --- roles: an admin manages accounts, not care -------------------------------------------------------------------
def test_an_admin_manages_accounts_but_reads_no_clinical_data(clinic, world):
    w = world
    clinic.create_user(OPERATOR, "boss", "an admin's own passphrase", "admin")
    admin = clinic.login("boss", "an admin's own passphrase")
    for attempt in (lambda: clinic.sessions(admin, w["p1"]), lambda: clinic.session(admin, w["s1"]),
                    lambda: clinic.prescriptions(admin, w["p1"]), lambda: clinic.notes(admin, w["s1"]),
                    lambda: clinic.export_patient(admin, w["p1"]), lambda: clinic.flags(admin, w["p1"]),
                    lambda: clinic.add_note(admin, w["s1"], "from the admin"),
                    lambda: clinic.prescribe(admin, w["p1"], "squat"), lambda: clinic.access_log(admin, w["p1"]),
                    lambda: clinic.printable_report(admin, w["s1"])):
        with pytest.raises(AccessDenied):
            attempt()
    names = {a["username"]: a for a in clinic.accounts(admin)}
    assert set(names) >= {"t1", "t2", "p1", "p2", "boss"} and "password_hash" not in names["t1"]
    clinic.disable_user(admin, w["t2"])
    assert clinic.accounts(admin)[1]["disabled"] and clinic.login("t2", "therapist-two") is None
    clinic.assign_therapist(admin, w["p2"], w["t1"])
    assert {p["username"] for p in clinic.patients(w["T1"])} == {"p1", "p2"}
    with pytest.raises(AccessDenied):
        clinic.accounts(w["T1"])


def test_notes_carry_their_authors_name_and_role(clinic, world):
    w = world
    clinic.create_user(OPERATOR, "drlee", "doctor lee's passphrase", "therapist", "Dr Lee")
    clinic.add_note(w["T1"], w["s1"], "Keep the knee straight")
    [note] = clinic.notes(w["P1"], w["s1"])
    assert (note["author"], note["author_role"]) == ("t1", "therapist")


# --- database files and backups -----------------------------------------------------------------------------------
def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_database_files_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        folder = tmp_path / "server-data"
        url = f"sqlite:///{folder / 'clinic.db'}"
        clinic = Clinic(open_store(url))
        clinic.create_user(OPERATOR, "drw", STRONG, "therapist")
        files = [folder / f"clinic.db{suffix}" for suffix in ("", "-wal", "-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert _mode(folder) == 0o700
        engine_of(clinic).dispose()
        # an older database, made world-readable before this release, is made private when opened
        for f in files:
            if f.exists():
                os.chmod(f, 0o644)
        os.chmod(folder, 0o755)
        Clinic(open_store(url)).login("drw", STRONG)
        assert all(_mode(f) == 0o600 for f in files if f.exists()) and _mode(folder) == 0o700
        # a folder shared with other files (e.g. the working directory) is left as it is; the files are private
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o755)
        (shared / "notes.txt").write_text("someone else's")
        Clinic(open_store(f"sqlite:///{shared / 'clinic.db'}"))
        assert _mode(shared) == 0o755 and _mode(shared / "clinic.db") == 0o600
    finally:
        os.umask(old)


def test_backup_is_a_consistent_private_copy(tmp_path, monkeypatch, capsys):
    import sqlite3

    from formcheck.cli import main

    url = f"sqlite:///{tmp_path / 'live' / 'clinic.db'}"
    monkeypatch.setenv("FORMCHECK_DB_URL", url)
    clinic = Clinic(open_store(url))
    clinic.create_user(OPERATOR, "drw", STRONG, "therapist")
    old = os.umask(0o022)
    try:
        assert main(["admin", "backup", str(tmp_path / "copy.db")]) == 0
    finally:
        os.umask(old)
    copy = tmp_path / "copy.db"
    assert _mode(copy) == 0o600 and "copy.db" in capsys.readouterr().out
    with sqlite3.connect(copy) as c:
        assert c.execute("select username from users").fetchall() == [("drw",)]
        assert c.execute("pragma integrity_check").fetchone() == ("ok",)
    assert Clinic(open_store(f"sqlite:///{copy}")).login("drw", STRONG) is not None
    assert not list(tmp_path.glob(".copy.db*"))  # no part file left
    assert main(["admin", "backup", str(tmp_path / "no-such-folder" / "x.db")]) == 2
    monkeypatch.setenv("FORMCHECK_DB_URL", "postgresql+psycopg://clinic:secret-pw@db.example/formcheck")
    assert main(["admin", "backup", str(tmp_path / "pg.dump")]) == 2
    err = capsys.readouterr().err
    assert "pg_dump" in err and "secret-pw" not in err and not (tmp_path / "pg.dump").exists()


# --- escaping: the printable report and the CSV -------------------------------------------------------------------
SCRIPT, IMG = "<script>alert('x')</script>", '<img src=x onerror="alert(1)">'


def test_a_real_report_with_markup_in_its_fields_is_exported_escaped(clinic, world):
    w = world
    report, blob = report_of()
    report["faults"][0]["message"] = SCRIPT
    report["faults"][1]["code"] = IMG
    report["video"]["path"] = f"/srv/formcheck/uploads/{IMG}.mp4"
    report["reps"][0]["metrics"][IMG] = 3.0
    report["refused"].append({"start_s": 0.0, "end_s": 0.1, "reason": SCRIPT})
    sid = clinic.save_session(w["P1"], report, blob, "upload", pain_before=1, pain_after=2)
    clinic.add_note(w["T1"], sid, f"see {IMG} and [a link](javascript:alert(1)) {SCRIPT}", at_s=2.0)
    with engine_of(clinic).begin() as c:
        c.execute(text("update users set display_name=:n where id=:i"), {"n": f"Pat {SCRIPT}", "i": w["p1"]})
    page = clinic.printable_report(w["T1"], sid, [(f"1.0 s: {IMG}", b"\x89PNG\r\n\x1a\n" + b"0" * 16)])
    for raw in (SCRIPT, IMG, "<img src=x", "<script>"):
        assert raw not in page
    assert "&lt;script&gt;" in page and "onerror=&#34;alert(1)&#34;" in page
    assert "/srv/" not in page and "uploads" not in page  # the file's own name at most
    assert "t1 (therapist)" in page and "Pat &lt;script&gt;" in page
    assert "3 × 10, twice a day" in page  # the prescription in force: prescribed vs done
    assert "Peak hip flexion (°)" in page and "peak_hip_flexion_deg" not in page
    assert "<svg" in page and "@media print" in page
    stored = clinic.session(w["P1"], sid)["report"]
    assert stored["video"]["path"] == f"{IMG}.mp4".split("/")[-1]


def test_the_printable_report_never_says_none_nor_a_rep_beyond_those_counted():
    report, _ = report_of()
    report["faults"].append({**report["faults"][0], "rep": 4})  # an older report: a fault in an unfinished 4th
    page = html_report(report)
    assert "Fault moments" not in page and "None" not in page
    assert "an unfinished rep" in page and "<td>4</td>" not in page


def test_build_report_names_the_video_by_its_file_only():
    from formcheck.pose import PoseSeries
    from formcheck.report import build_report
    from formcheck.session import analyze_series
    from formcheck.video import VideoInfo
    from conftest import FIXTURES

    series = PoseSeries.load(FIXTURES / "legraise_supine_dk2.full.npz")
    analysis = analyze_series(series, "straight_leg_raise")
    info = VideoInfo("/home/clinic/uploads/tmp123/clip.mp4", series.width, series.height, 24.0, 8.6, len(series), 0)
    report = build_report(analysis, info, "full")
    assert report["video"]["path"] == "clip.mp4"
    assert all(f["rep"] is None or 1 <= f["rep"] <= len(report["reps"]) for f in report["faults"])


def test_csv_cells_that_would_run_as_formulas_are_neutralised():
    assert csv_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert [csv_cell(v) for v in ("+1+1", "-2+3", "@SUM(A1)", "\tx", "-12.5", "12", "knee_bent", 3.5)] == [
        "'+1+1", "'-2+3", "'@SUM(A1)", "'\tx", "-12.5", "12", "knee_bent", 3.5]


def test_the_frames_csv_has_no_formula_cell():
    import csv
    import io

    from formcheck.pose import PoseSeries
    from formcheck.report import frames_csv
    from formcheck.session import analyze_series
    from conftest import FIXTURES

    analysis = analyze_series(PoseSeries.load(FIXTURES / "legraise_supine_dk2.full.npz"), "straight_leg_raise")
    for row in csv.reader(io.StringIO(frames_csv(analysis))):
        for cell in row:
            if cell and cell[0] in "=+-@":
                float(cell)  # only a negative number may start with "-"


# --- validation ---------------------------------------------------------------------------------------------------
NONSENSE = [
    dict(settings={"knee_bent_deg": math.nan}), dict(settings={"knee_bent_deg": -1e9}),
    dict(settings={"knee_bent_deg": math.inf}), dict(settings={"knee_bent_deg": 200}),
    dict(settings={"min_rep_s": 1e6}), dict(settings={"knee_bent_deg": True}), dict(settings={"knee_bent_deg": "125"}),
    dict(settings={"both_legs_share": 2.0}), dict(sets=-3), dict(sets=0), dict(sets=2.5), dict(sets=1000),
    dict(reps=0), dict(reps=10_000), dict(per_week=0), dict(per_week=-1), dict(per_week=1000), dict(per_day=100),
    dict(per_day=0), dict(days_per_week=8), dict(days_per_week=(0, 3)), dict(rest_s=-1), dict(rest_s=math.nan),
    dict(progress_after=0), dict(progress_after=1e9), dict(as_often_as_possible="yes"),
]
NONSENSE_HOLDS = [dict(hold_s=math.nan), dict(hold_s=-1e9), dict(hold_s=(20, math.inf)), dict(hold_s=0),
                  dict(hold_s=10_000), dict(hold_max_s=-5)]


def test_nonsense_prescriptions_are_refused(clinic, world):
    """`nan` (which silently disabled a check), `-1e9`, `sets=-3`, `per_week=0` and the like."""
    before = clinic.prescriptions(world["T1"], world["p1"])
    for exercise, cases in (("straight_leg_raise", NONSENSE), ("calf_stretch", NONSENSE_HOLDS)):
        for bad in cases:
            with pytest.raises(FormcheckError) as refused:
                clinic.prescribe(world["T1"], world["p1"], exercise, **bad)
            assert type(refused.value) is FormcheckError and str(refused.value), bad
    assert clinic.prescriptions(world["T1"], world["p1"]) == before
    with pytest.raises(FormcheckError, match="at least 1"):
        clinic.set_progress_after(world["T1"], before[0]["id"], 0)


def test_every_catalogue_default_lies_inside_its_declared_bounds():
    for spec in CATALOGUE.values():
        for name, value in spec.defaults.items():
            assert bounds.check_settings({name: value}) == {name: value}, (spec.name, name)
    assert bounds.bound("knee_bent_deg").high == 180 and bounds.bound("min_rep_s").high == 600
    assert bounds.bound("hop_torso") == bounds.PROPORTION


def test_save_session_checks_the_report_and_the_screen(clinic, world):
    w = world
    report, blob = report_of()
    for broken in ({k: v for k, v in report.items() if k != "summary"},
                   {**report, "summary": {**report["summary"], "rep_count": 7}},
                   {**report, "faults": report["faults"] + [{**report["faults"][0], "rep": 4}]},
                   {**report, "reps": "three"}, {**report, "exercise": "cartwheel"},
                   {**report, "video": {**report["video"], "duration_s": math.nan}},
                   {**report, "side": IMG}, {**report, "schema": "other/9"}, "not a report"):
        with pytest.raises(FormcheckError, match="not a valid report"):
            clinic.save_session(w["P1"], broken, blob, "upload")
    with pytest.raises(FormcheckError):
        clinic.save_session(w["P1"], report, blob, "telepathy")
    with pytest.raises(FormcheckError):
        clinic.save_session(w["P1"], report, blob, "upload", pain_before=True)
    theirs = clinic.record_screen(w["P2"], ALL_NO)
    with pytest.raises(AccessDenied, match=f"no access to screen {theirs}"):
        clinic.save_session(w["P1"], report, blob, "upload", screen_id=theirs)
    with pytest.raises(AccessDenied):
        clinic.save_session(w["P1"], report, blob, "upload", screen_id=999_999)
    mine = clinic.record_screen(w["P1"], ALL_NO)
    assert clinic.save_session(w["P1"], report, blob, "upload", screen_id=mine)
    assert len(clinic.sessions(w["P1"], w["p1"])) == 2  # nothing half-stored by the refusals


# --- the access log -----------------------------------------------------------------------------------------------
def test_every_read_by_someone_else_is_in_the_access_log(clinic, world, clock):
    w = world
    clock.t = clock()
    clinic.sessions(w["P1"], w["p1"])  # the patient's own reads are not logged
    assert clinic.access_log(w["P1"], w["p1"]) == []
    clinic.sessions(w["T1"], w["p1"])
    clinic.session(w["T1"], w["s1"])
    clinic.sessions(w["T1"], w["p1"])  # again within minutes: one entry
    log = clinic.access_log(w["P1"], w["p1"])
    assert [(e["who"], e["role"], e["what"]) for e in log] == [("t1", "therapist", "sessions"),
                                                              ("t1", "therapist", f"session {w['s1']}")]
    assert all(e["at"] == clock.t for e in log)
    clock.t += timedelta(hours=1)
    clinic.sessions(w["T1"], w["p1"])
    assert len(clinic.access_log(w["T1"], w["p1"])) == 3  # the therapist sees it too
    with pytest.raises(AccessDenied):
        clinic.access_log(w["T2"], w["p1"])
    with pytest.raises(AccessDenied):
        clinic.access_log(w["P2"], w["p1"])
    export = clinic.export_patient(w["T1"], w["p1"])
    assert "export" in {e["what"] for e in export["access_log"]}
    assert {e["what"] for e in clinic.access_log(w["P1"], w["p1"])} >= {"sessions", "export", "prescriptions"}
    assert clinic.access_log(w["P2"], w["p2"]) == []  # T1's reads of p1 are not on p2's log


# --- limits -------------------------------------------------------------------------------------------------------
def test_limits_refuse_past_capacity_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("FORMCHECK_MAX_LIVE", "2")
    live = limits.Limit("live coaches", "FORMCHECK_MAX_LIVE", 4)
    one, two = live.take(), live.take()
    with pytest.raises(limits.Busy, match="busy, try again in a minute"):
        live.take()
    one.release()
    one.release()  # once only
    assert live.in_use == 1
    with live.take():
        assert live.in_use == 2
    assert live.in_use == 1
    del two  # a slot nobody holds (its browser session gone) is given back
    gc.collect()
    assert live.in_use == 0
    monkeypatch.setenv("FORMCHECK_MAX_LIVE", "0")
    with pytest.raises(limits.Busy):
        live.take()
    assert (limits.LIVE.capacity, limits.ANALYSES.setting) == (0, "FORMCHECK_MAX_ANALYSES")


def test_an_upload_splits_only_its_share_of_the_cores():
    """Alone on a 2-core server an analysis splits its clip over both cores; next to live coaches and another
    analysis it takes one, so the live patients' coaching keeps the rest."""
    with limits.ANALYSES.take():
        assert limits.fair_share(2) == 2 and limits.fair_share(8) == 8
        with limits.ANALYSES.take(), limits.LIVE.take(), limits.LIVE.take():
            assert limits.fair_share(2) == 1 and limits.fair_share(8) == 2
    assert limits.fair_share(2) == 2  # nothing running: the whole machine


# --- migration ----------------------------------------------------------------------------------------------------
def test_accounts_from_before_0004_stay_usable(db_url):
    from argon2 import PasswordHasher

    engine = _migrated_to(db_url, "0003")
    with engine.begin() as c:
        for uid, name in ((1, "T2"), (2, "t2 ")):  # two accounts an older release let differ only by case
            c.execute(text("INSERT INTO users (id, username, password_hash, role, display_name, therapist_id, "
                           "created_at) VALUES (:i, :u, :h, 'therapist', :u, NULL, CURRENT_TIMESTAMP)"),
                      dict(i=uid, u=name, h=PasswordHasher().hash(f"password of {uid}")))
    engine.dispose()
    clinic = Clinic(open_store(db_url))
    first = clinic.login("t2", "password of 1")
    assert first is not None and first.id == 1 and not first.must_change_password
    with create_engine(db_url).connect() as c:
        keys = dict(c.execute(text("select id, username_key from users")).all())
    assert keys == {1: "t2", 2: "t2#2"}
    assert clinic.start_session(first)
    engine_of(clinic).dispose()
