"""Where sessions, prescriptions, notes and accounts live: SQLAlchemy 2 models over an embedded SQLite file
by default (WAL, every write in a transaction) or any database URL (PostgreSQL for a clinic server).

The schema is created and upgraded by Alembic migrations (`formcheck/migrations`) on first use.
Access rules are not here: they are the clinic's (`clinic.py`), so no caller can skip them.
"""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text,
                        UniqueConstraint, create_engine, event, false, text)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column, sessionmaker

DEFAULT_DB = Path(__file__).resolve().parent.parent / "data" / "formcheck.db"


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)  # as shown (NFKC, trimmed)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # "patient" | "therapist" | "admin"
    display_name: Mapped[str] = mapped_column(String(120), default="")
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # a patient's therapist
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    # 0004: the name as compared (NFKC, case-folded): "T2", "t2 " and "t2" are one account. Always set; NULL is
    # allowed by the column only because SQLite cannot add a NOT NULL column to a table that others reference.
    username_key: Mapped[str | None] = mapped_column(String(80), unique=True, index=True)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # None: the account is in use
    # raised by a disable, a password change or reset, a role change, "sign out everywhere": every sign-in (an
    # Actor or a token) made before carries the old number and is refused from then on
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # 0005: when auth_epoch last moved; an identity provider's sign-in (st.login) issued before is refused
    sign_ins_ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SignInToken(Base):
    """A sign-in that survives a reload: the browser keeps a random token (a cookie), the store only its SHA-256."""

    __tablename__ = "sign_in_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    epoch: Mapped[int] = mapped_column(Integer)  # the user's auth_epoch when it was made
    client: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInThrottle(Base):
    """Failed sign-ins in a row for one account name ("account:NAME") or one client ("client:ID"), and the lock
    they earned."""

    __tablename__ = "sign_in_throttles"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(220), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInFailure(Base):
    """One refused sign-in, for the admins: the name tried, the client, why (never the password)."""

    __tablename__ = "sign_in_failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))  # as compared (an unknown name too)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    client: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(20))  # wrong_password | unknown_user | disabled | locked
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)


class AccessLogEntry(Base):
    """Someone other than the patient read the patient's data: who, what, when."""

    __tablename__ = "access_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(16))
    what: Mapped[str] = mapped_column(String(80))  # e.g. "sessions", "session 12", "export"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Prescription(Base):
    __tablename__ = "prescriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    exercise: Mapped[str] = mapped_column(String(60))
    sets: Mapped[int] = mapped_column(Integer)
    reps: Mapped[int | None] = mapped_column(Integer)
    hold_s: Mapped[float | None] = mapped_column(Float)
    rest_s: Mapped[float | None] = mapped_column(Float)  # between sets of a live workout (None: its default)
    per_week: Mapped[int] = mapped_column(Integer)  # sessions a week at least (times a day × fewest days)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # threshold overrides, e.g. knee_bent_deg
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    # the dose (migration 0003); `hold_s` above is the shortest hold that counts, `hold_max_s` the longest asked
    hold_max_s: Mapped[float | None] = mapped_column(Float)
    per_day: Mapped[int | None] = mapped_column(Integer)  # times a day (None: as often as possible)
    as_often_as_possible: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    days_min: Mapped[int | None] = mapped_column(Integer)  # days a week, e.g. 3..5
    days_max: Mapped[int | None] = mapped_column(Integer)
    variant: Mapped[str | None] = mapped_column(String(20))  # balance: eyes_open | eyes_closed | cushion
    progress_after: Mapped[int] = mapped_column(Integer, default=3, server_default=text("3"))  # sessions at target


class SafetyScreen(Base):
    __tablename__ = "safety_screens"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # a thrombosis sign (0001: calf pain with swelling and redness)
    calf_red_flag: Mapped[bool] = mapped_column(Boolean)
    nerve_symptoms: Mapped[bool] = mapped_column(Boolean)  # tingling, numbness, burning, shooting pain
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    # every answer, keyed as safety.QUESTIONS (0003; 0001/0002 rows were filled from the two columns above)
    answers: Mapped[dict | None] = mapped_column(JSON)


class ExerciseSession(Base):
    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    exercise: Mapped[str] = mapped_column(String(60))
    source: Mapped[str] = mapped_column(String(10))  # "live" | "upload"
    report: Mapped[dict] = mapped_column(JSON)  # the analysis report (report-schema.md)
    # the blobs load only when a session is opened, not when sessions are listed
    landmarks: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # the PoseSeries, compressed .npz
    video: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)  # only when the patient opted in
    has_video: Mapped[bool] = column_property(video.column.is_not(None))  # without loading the video
    pain_before: Mapped[int | None] = mapped_column(Integer)
    pain_after: Mapped[int | None] = mapped_column(Integer)
    screen_id: Mapped[int | None] = mapped_column(ForeignKey("safety_screens.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)
    variant: Mapped[str | None] = mapped_column(String(20))  # chosen before the set (balance), 0003


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at_s: Mapped[float | None] = mapped_column(Float)  # the moment in the session it is about
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class SetStop(Base):
    """The patient pressed "stop" during a set (tingling, numbness or sharp pain): that exercise is off for the
    day and the therapist is flagged. Linked to the session when the stopped set is saved."""

    __tablename__ = "set_stops"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    exercise: Mapped[str] = mapped_column(String(60))
    symptom: Mapped[str] = mapped_column(String(40))  # safety.STOP_SYMPTOMS
    at_s: Mapped[float | None] = mapped_column(Float)  # seconds into the set
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now, index=True)


class FlagAck(Base):
    """A therapist acknowledged a flag: every occurrence of `key` up to `through` (a row id) is seen."""

    __tablename__ = "flag_acks"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key: Mapped[str] = mapped_column(String(80))  # e.g. "screen:leg_swelling", "stop:calf_stretch", "pain:12"
    through: Mapped[int] = mapped_column(Integer)
    acknowledged_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class ProgressionStep(Base):
    """A next step the progression rule suggested from the sessions up to `basis_last`; the therapist accepts
    (the prescription changes) or declines it."""

    __tablename__ = "progression_steps"
    __table_args__ = (UniqueConstraint("prescription_id", "basis_last", name="uq_progression_steps_basis"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"))
    exercise: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(16))  # "reps" | "variant" | "add"
    change: Mapped[dict] = mapped_column(JSON)  # {"reps": 15} | {"variant": "eyes_closed"} | {"add": [...]}
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    basis: Mapped[list] = mapped_column(JSON)  # the session ids it rests on
    basis_last: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="suggested")  # | "accepted" | "declined"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[list | None] = mapped_column(JSON)  # the prescriptions made on acceptance


def database_url() -> str:
    """FORMCHECK_DB_URL, or the embedded SQLite file under data/."""
    return os.environ.get("FORMCHECK_DB_URL") or f"sqlite:///{DEFAULT_DB}"


SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")  # the files SQLite keeps beside the database


def sqlite_path(url: str) -> Path | None:
    """The database file of a `sqlite:///` URL (None for an in-memory or a server database)."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def make_private(path: Path) -> None:
    """The SQLite database, its folder and its -wal/-shm/-journal files readable by the server's user only (0700
    folder, 0600 files), whatever the umask. A folder this makes is 0700; an existing one is made 0700 when it is
    this user's and holds nothing but this database (like `data/`): a folder shared with other files (the
    working directory, /tmp) is left as it is, and the files in it are still 0600. The file is created 0600
    before SQLite opens it: SQLite gives its -wal and -shm files the database file's permissions."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    else:
        info = folder.stat()
        ours = {path.name, *(f"{path.name}{suffix}" for suffix in SQLITE_COMPANIONS)}
        if (info.st_uid == os.geteuid() and not info.st_mode & stat.S_ISVTX
                and stat.S_IMODE(info.st_mode) != 0o700 and {p.name for p in folder.iterdir()} <= ours):
            os.chmod(folder, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for file in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)):
        if file.exists() and stat.S_IMODE(file.stat().st_mode) != 0o600:
            os.chmod(file, 0o600)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; a crash keeps committed data
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_store(url: str | None = None) -> sessionmaker:
    """An engine on `url`, upgraded to the latest schema; returns the session factory. A SQLite database is
    made private to this user first (`make_private`)."""
    from alembic import command
    from alembic.config import Config

    url = url or database_url()
    path = sqlite_path(url)
    if path is not None:
        make_private(path)
    engine: Engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    if path is not None:
        make_private(path)  # the -wal/-shm the first connection made (0600 already; an older database's too)
    return sessionmaker(engine, expire_on_commit=False)


def backup(target: str | Path, url: str | None = None) -> Path:
    """A consistent copy of the SQLite database at `target` (SQLite's online backup: writers may go on), written
    0600 beside its final name and moved into place only when whole and checked. A PostgreSQL database is
    copied with `pg_dump`, not here (FormcheckError saying so)."""
    import sqlite3
    import tempfile

    from .errors import FormcheckError

    url = url or database_url()
    source = sqlite_path(url)
    if source is None:
        if url.startswith("postgresql"):
            from sqlalchemy.engine import make_url

            u = make_url(url)
            raise FormcheckError(
                "this server's database is PostgreSQL: back it up with pg_dump, e.g. "
                f"`pg_dump --format=custom --file {target} --host {u.host or 'localhost'} "
                f"--username {u.username or 'postgres'} {u.database}` (restore with pg_restore)")
        raise FormcheckError("only an SQLite file database is backed up by formcheck; use your database's own tool")
    if not source.exists():
        raise FormcheckError(f"there is no database at {source} yet")
    target = Path(target)
    if target.is_dir():
        raise FormcheckError(f"cannot write {target}: it is a folder")
    if not target.parent.exists():
        raise FormcheckError(f"cannot write {target}: folder {target.parent} does not exist")
    if target.resolve() == source.resolve():
        raise FormcheckError("refusing to back the database up onto itself")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)  # 0600
    os.close(fd)
    try:
        src = sqlite3.connect(source)
        dst = sqlite3.connect(tmp)
        try:
            with dst:
                src.backup(dst)
            if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise FormcheckError("the copy failed its integrity check; the database was not backed up")
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
            src.close()
        os.chmod(tmp, 0o600)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
