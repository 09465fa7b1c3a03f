"""The clinic's operations, each checked against who is asking: a patient sees only their own data, a
therapist only their assigned patients, an admin manages accounts. Enforced here, in the service layer,
so the page (or any future API) cannot forget a check. Passwords are hashed with Argon2 and never
stored or logged in clear.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from .errors import FormcheckError
from .exercises import CATALOGUE
from .store import ExerciseSession, Note, Prescription, SafetyScreen, User

ROLES = ("patient", "therapist", "admin")
_hasher = PasswordHasher()


class AccessDenied(FormcheckError):
    """The actor may not read or change this."""


@dataclass(frozen=True)
class Actor:
    """Who is asking: the logged-in user's id and role (what every operation is checked against)."""

    id: int
    role: str
    username: str


OPERATOR = Actor(0, "admin", "operator")  # whoever runs `formcheck admin` on the server


class Clinic:
    def __init__(self, sessions: sessionmaker):
        self._db = sessions

    # --- accounts ------------------------------------------------------------------------------
    def create_user(self, actor: Actor, username: str, password: str, role: str, display_name: str = "",
                    therapist_id: int | None = None) -> int:
        """Admins create therapists and admins; therapists create their own patients. The server's operator
        acts as `OPERATOR` (the `formcheck admin` command, e.g. for the first therapist)."""
        if role not in ROLES:
            raise FormcheckError(f"unknown role '{role}': choose one of {', '.join(ROLES)}")
        if len(password) < 8:
            raise FormcheckError("a password needs at least 8 characters")
        if not username.strip():
            raise FormcheckError("a username is needed")
        with self._db.begin() as db:
            if role == "patient":
                self._require(actor, "therapist", "admin")
                therapist_id = actor.id if actor.role == "therapist" else therapist_id
            else:
                self._require(actor, "admin")
            if role == "patient":
                therapist = db.get(User, therapist_id) if therapist_id is not None else None
                if therapist is None or therapist.role != "therapist":
                    raise FormcheckError("a patient needs an existing therapist")
            if db.scalar(select(User.id).where(User.username == username)) is not None:
                raise FormcheckError(f"the username '{username}' is taken")
            user = User(username=username, password_hash=_hasher.hash(password), role=role,
                        display_name=display_name or username, therapist_id=therapist_id if role == "patient" else None)
            db.add(user)
            db.flush()
            return user.id

    def login(self, username: str, password: str) -> Actor | None:
        with self._db() as db:
            user = db.scalar(select(User).where(User.username == username))
            try:
                if user is None or not _hasher.verify(user.password_hash, password):
                    return None
            except (VerificationError, InvalidHashError):
                return None
            return Actor(user.id, user.role, user.username)

    # --- who may see whom ----------------------------------------------------------------------
    @staticmethod
    def _require(actor: Actor, *roles: str) -> None:
        if actor.role not in roles:
            raise AccessDenied(f"a {actor.role} may not do this")

    def _patient(self, db, actor: Actor, patient_id: int) -> User:
        patient = db.get(User, patient_id)
        allowed = patient is not None and patient.role == "patient" and (
            actor.role == "admin" or (actor.role == "patient" and actor.id == patient_id)
            or (actor.role == "therapist" and patient.therapist_id == actor.id))
        if not allowed:  # the same answer whether the patient exists or not: ids leak nothing
            raise AccessDenied(f"no access to patient {patient_id}")
        return patient

    def _session(self, db, actor: Actor, session_id: int) -> ExerciseSession:
        record = db.get(ExerciseSession, session_id)
        try:
            if record is None:
                raise AccessDenied("missing")
            self._patient(db, actor, record.patient_id)
        except AccessDenied:  # one answer for "missing" and "not yours", naming nothing else
            raise AccessDenied(f"no access to session {session_id}") from None
        return record

    def patients(self, actor: Actor) -> list[dict]:
        self._require(actor, "therapist", "admin")
        with self._db() as db:
            query = select(User).where(User.role == "patient")
            if actor.role == "therapist":
                query = query.where(User.therapist_id == actor.id)
            return [{"id": u.id, "username": u.username, "name": u.display_name} for u in db.scalars(query)]

    # --- prescriptions -------------------------------------------------------------------------
    def prescribe(self, actor: Actor, patient_id: int, exercise: str, sets: int, reps: int | None = None,
                  hold_s: float | None = None, per_week: int = 7, settings: dict | None = None) -> int:
        self._require(actor, "therapist", "admin")
        if exercise not in CATALOGUE:
            raise FormcheckError(f"unknown exercise '{exercise}'")
        try:
            CATALOGUE[exercise].params(settings)  # unknown thresholds are refused now, not at exercise time
        except ValueError as exc:
            raise FormcheckError(str(exc)) from None
        with self._db.begin() as db:
            self._patient(db, actor, patient_id)
            for old in db.scalars(select(Prescription).where(Prescription.patient_id == patient_id,
                                                             Prescription.exercise == exercise, Prescription.active)):
                old.active = False  # the new prescription replaces the old one
            p = Prescription(patient_id=patient_id, exercise=exercise, sets=sets, reps=reps, hold_s=hold_s,
                             per_week=per_week, settings=settings or {}, created_by=actor.id)
            db.add(p)
            db.flush()
            return p.id

    def prescriptions(self, actor: Actor, patient_id: int) -> list[dict]:
        with self._db() as db:
            self._patient(db, actor, patient_id)
            rows = db.scalars(select(Prescription).where(Prescription.patient_id == patient_id, Prescription.active))
            return [{"id": p.id, "exercise": p.exercise, "sets": p.sets, "reps": p.reps, "hold_s": p.hold_s,
                     "per_week": p.per_week, "settings": p.settings} for p in rows]

    @staticmethod
    def checker_settings(prescription: dict) -> dict:
        """A prescription as the exercise checker's settings (what the live page and the review follow)."""
        spec = CATALOGUE[prescription["exercise"]]
        out = dict(prescription["settings"] or {})
        out["sets"] = prescription["sets"] if "sets" in spec.defaults else out.get("sets")
        if prescription.get("reps") and "reps" in spec.defaults:
            out["reps"] = prescription["reps"]
        if prescription.get("hold_s") and "hold_s" in spec.defaults:
            out["hold_s"] = prescription["hold_s"]
        return {k: v for k, v in out.items() if v is not None}

    # --- safety screen and sessions ------------------------------------------------------------
    def record_screen(self, actor: Actor, calf_red_flag: bool, nerve_symptoms: bool) -> int:
        self._require(actor, "patient")
        with self._db.begin() as db:
            screen = SafetyScreen(patient_id=actor.id, calf_red_flag=calf_red_flag, nerve_symptoms=nerve_symptoms)
            db.add(screen)
            db.flush()
            return screen.id

    def latest_screen(self, actor: Actor, patient_id: int) -> dict | None:
        with self._db() as db:
            self._patient(db, actor, patient_id)
            s = db.scalar(select(SafetyScreen).where(SafetyScreen.patient_id == patient_id)
                          .order_by(SafetyScreen.id.desc()).limit(1))
            return None if s is None else {"id": s.id, "calf_red_flag": s.calf_red_flag,
                                           "nerve_symptoms": s.nerve_symptoms, "answered_at": s.answered_at}

    def save_session(self, actor: Actor, report: dict, landmarks: bytes, source: str, pain_before: int | None = None,
                     pain_after: int | None = None, screen_id: int | None = None, video: bytes | None = None) -> int:
        """Store one exercise session (one transaction: all of it or nothing). Video only by opt-in."""
        self._require(actor, "patient")
        for pain in (pain_before, pain_after):
            if pain is not None and not 0 <= pain <= 10:
                raise FormcheckError("pain is scored from 0 to 10")
        with self._db.begin() as db:
            record = ExerciseSession(patient_id=actor.id, exercise=report["exercise"], source=source, report=report,
                                     landmarks=landmarks, video=video, pain_before=pain_before, pain_after=pain_after,
                                     screen_id=screen_id)
            db.add(record)
            db.flush()
            return record.id

    def sessions(self, actor: Actor, patient_id: int) -> list[dict]:
        with self._db() as db:
            self._patient(db, actor, patient_id)
            rows = db.scalars(select(ExerciseSession).where(ExerciseSession.patient_id == patient_id)
                              .order_by(ExerciseSession.created_at))
            return [self._summary(r) for r in rows]

    @staticmethod
    def _summary(r: ExerciseSession) -> dict:
        return {"id": r.id, "exercise": r.exercise, "source": r.source, "created_at": r.created_at,
                "pain_before": r.pain_before, "pain_after": r.pain_after, "report": r.report,
                "summary": r.report["summary"], "faults": sorted({f["code"] for f in r.report["faults"]}),
                "has_video": r.has_video}

    def session(self, actor: Actor, session_id: int) -> dict:
        with self._db() as db:
            r = self._session(db, actor, session_id)
            return {**self._summary(r), "patient_id": r.patient_id, "landmarks": r.landmarks, "video": r.video}

    # --- notes ---------------------------------------------------------------------------------
    def add_note(self, actor: Actor, session_id: int, text: str, at_s: float | None = None) -> int:
        self._require(actor, "therapist", "admin")
        if not text.strip():
            raise FormcheckError("a note needs some text")
        with self._db.begin() as db:
            self._session(db, actor, session_id)
            note = Note(session_id=session_id, author_id=actor.id, text=text.strip(), at_s=at_s)
            db.add(note)
            db.flush()
            return note.id

    def notes(self, actor: Actor, session_id: int) -> list[dict]:
        with self._db() as db:
            self._session(db, actor, session_id)
            rows = db.scalars(select(Note).where(Note.session_id == session_id).order_by(Note.created_at))
            return [{"id": n.id, "text": n.text, "at_s": n.at_s, "created_at": n.created_at} for n in rows]

    # --- the therapist's overview --------------------------------------------------------------
    def adherence(self, actor: Actor, patient_id: int, today: datetime | None = None) -> list[dict]:
        """This week (Monday on): sessions done per prescribed exercise vs its frequency."""
        today = today or datetime.now(UTC)
        week = (today - timedelta(days=today.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        done = {}
        for s in self.sessions(actor, patient_id):
            created = s["created_at"] if s["created_at"].tzinfo else s["created_at"].replace(tzinfo=UTC)
            if created >= week:
                done[s["exercise"]] = done.get(s["exercise"], 0) + 1
        return [{"exercise": p["exercise"], "done": done.get(p["exercise"], 0), "prescribed": p["per_week"]}
                for p in self.prescriptions(actor, patient_id)]

    def flags(self, actor: Actor, patient_id: int) -> list[str]:
        """What a therapist should look at: pain up by 2+, red-flag answers, a fault that keeps coming back."""
        out = []
        sessions = self.sessions(actor, patient_id)
        for s in sessions:
            if s["pain_before"] is not None and s["pain_after"] is not None and s["pain_after"] - s["pain_before"] >= 2:
                out.append(f"pain up {s['pain_before']}→{s['pain_after']} in session {s['id']}")
        screen = self.latest_screen(actor, patient_id)
        if screen and (screen["calf_red_flag"] or screen["nerve_symptoms"]):
            out.append("red flag in the safety screen: " + ", ".join(
                k for k, v in (("calf pain with swelling", screen["calf_red_flag"]),
                               ("nerve symptoms", screen["nerve_symptoms"])) if v))
        recent = sessions[-3:]
        for code in sorted({c for s in recent for c in s["faults"]}):
            if len(recent) == 3 and all(code in s["faults"] for s in recent):
                out.append(f"recurring fault: {code} in the last 3 sessions")
        return out

    def export_patient(self, actor: Actor, patient_id: int) -> dict:
        """Everything stored about a patient (no landmark blobs or video), as JSON-ready data."""
        sessions = [{**s, "patient_id": patient_id, "notes": self.notes(actor, s["id"])}
                    for s in self.sessions(actor, patient_id)]
        return {"patient_id": patient_id, "prescriptions": self.prescriptions(actor, patient_id), "sessions": sessions}


def landmarks_blob(series) -> bytes:
    """A PoseSeries as compressed .npz bytes (what a session stores instead of video)."""
    buffer = io.BytesIO()
    series.save(buffer)
    return buffer.getvalue()
