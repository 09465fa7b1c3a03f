"""Where sessions, prescriptions, notes and accounts live: SQLAlchemy 2 models over an embedded SQLite file
by default (WAL, every write in a transaction) or any database URL (PostgreSQL for a clinic server).

The schema is created and upgraded by Alembic migrations (`formcheck/migrations`) on first use.
Access rules are not here: they are the clinic's (`clinic.py`), so no caller can skip them.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, create_engine,
                        event)
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
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # "patient" | "therapist" | "admin"
    display_name: Mapped[str] = mapped_column(String(120), default="")
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # a patient's therapist
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class Prescription(Base):
    __tablename__ = "prescriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    exercise: Mapped[str] = mapped_column(String(60))
    sets: Mapped[int] = mapped_column(Integer)
    reps: Mapped[int | None] = mapped_column(Integer)
    hold_s: Mapped[float | None] = mapped_column(Float)
    per_week: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)  # threshold overrides, e.g. knee_bent_deg
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


class SafetyScreen(Base):
    __tablename__ = "safety_screens"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    calf_red_flag: Mapped[bool] = mapped_column(Boolean)  # calf pain with swelling and redness
    nerve_symptoms: Mapped[bool] = mapped_column(Boolean)  # tingling, numbness, burning, shooting pain
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


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


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at_s: Mapped[float | None] = mapped_column(Float)  # the moment in the session it is about
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


def database_url() -> str:
    """FORMCHECK_DB_URL, or the embedded SQLite file under data/."""
    return os.environ.get("FORMCHECK_DB_URL") or f"sqlite:///{DEFAULT_DB}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; a crash keeps committed data
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def open_store(url: str | None = None) -> sessionmaker:
    """An engine on `url`, upgraded to the latest schema; returns the session factory."""
    from alembic import command
    from alembic.config import Config

    url = url or database_url()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine: Engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return sessionmaker(engine, expire_on_commit=False)
