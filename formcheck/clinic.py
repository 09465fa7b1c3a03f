"""The clinic's operations, each checked against who is asking: a patient sees only their own data, a
therapist only their assigned patients, an admin manages accounts. Enforced here, in the service layer,
so the page (or any future API) cannot forget a check. Passwords are hashed with Argon2 and never
stored or logged in clear.

Accounts (issue 15): sign-in throttled per name and per client, one answer to every refusal; passwords checked
as NIST SP 800-63B asks (`accounts.py`); accounts disabled, passwords reset or changed, and every call re-checks
the account, so an `Actor` (or a sign-in token) from before is refused; tokens that survive a reload; an admin
manages accounts but reads no clinical data; every read of a patient's data by someone else is in the access
log; reports and prescriptions are checked before they are stored (`schema.py`, `bounds.py`).

Safety (`safety.py`'s rules): the screen's answers are stored whole; a Yes stays a flag for the therapist until
acknowledged; "stop" during a set takes that exercise off for the day. Doses (`dosing.py`), balance variants,
per-day adherence and progression (`progression.py`: suggested, then accepted or declined by the therapist).
"""

from __future__ import annotations

import functools
import io
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from . import accounts, bounds, dosing, progression, safety
from .dosing import Dose
from .errors import FormcheckError
from .exercises import CATALOGUE
from .schema import ReportError, check_report, file_name
from .store import (AccessLogEntry, ExerciseSession, FlagAck, Note, Prescription, ProgressionStep, SafetyScreen,
                    SetStop, SignInFailure, SignInThrottle, SignInToken, User, now)

ROLES = ("patient", "therapist", "admin")
PASSWORDS = PasswordHasher()  # argon2-cffi's defaults (RFC 9106's low-memory profile)
# the one answer to every refused sign-in (wrong password, unknown name, disabled account, too many tries)
SIGN_IN_FAILED = ("Sign-in failed: check your username and password. After several failed tries, signing in "
                  "waits a few minutes.")
ACCESS_LOG_WINDOW = timedelta(minutes=10)  # the same read by the same person within this is logged once
FAILURES_KEPT = timedelta(days=90)  # refused sign-ins listed for admins
NOTE_MAX = 5000


class AccessDenied(FormcheckError):
    """The actor may not read or change this."""


class SignInEnded(AccessDenied):
    """The Actor (or token) is from before the account was disabled, its password changed or reset, its role
    changed, or "sign out everywhere": sign in again."""


@dataclass(frozen=True)
class Actor:
    """Who is asking: the signed-in user's id and role (what every operation is checked against), and the
    account's sign-in epoch when they signed in (an Actor from before a disable, a password change or a role
    change is refused). Only `Clinic.login` / `Clinic.resume` make one."""

    id: int
    role: str
    username: str
    epoch: int = 0
    name: str = ""
    must_change_password: bool = False  # a first or reset password, chosen by someone else: ask for a new one


OPERATOR = Actor(0, "admin", "operator")  # whoever runs `formcheck admin` on the server


def utc(t: datetime) -> datetime:
    """Stored times as aware UTC (SQLite hands them back naive)."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def day_of(t: datetime) -> date:
    """The day a moment belongs to, for "today" and per-day counts: the UTC calendar day (as the week of
    `adherence` always was)."""
    return utc(t).astimezone(UTC).date()


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """What an unknown username's password is checked against: same cost as a real one, so the time a refusal
    takes says nothing about whether the name exists."""
    return hasher.hash(secrets.token_urlsafe(24))


def _actor(user: User) -> Actor:
    return Actor(user.id, user.role, user.username, user.auth_epoch or 0, user.display_name or user.username,
                 bool(user.must_change_password))


def _value_or_range(field: str, value, range_error: str):
    """One checked dose value, or a checked (low, high) pair (ValueError says which is wrong)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(range_error)
        return tuple(bounds.check_dose_value(field, x) for x in value)
    return bounds.check_dose_value(field, value)


class Clinic:
    def __init__(self, sessions: sessionmaker, clock: Callable[[], datetime] = now,
                 hasher: PasswordHasher = PASSWORDS):
        self._db = sessions
        self._now = clock  # when things happen (tests move it; the server uses the real time)
        self._hasher = hasher  # tests of the clinic's rules may use a cheaper cost; the server never does

    # --- accounts ------------------------------------------------------------------------------
    def create_user(self, actor: Actor, username: str, password: str, role: str, display_name: str = "",
                    therapist_id: int | None = None) -> int:
        """Admins create therapists and admins; therapists create their own patients. The server's operator
        acts as `OPERATOR` (the `formcheck admin` command, e.g. for the first therapist). The username is
        normalised (NFKC, trimmed; compared case-insensitively); the password must pass
        `accounts.password_problem` (NIST SP 800-63B). A first password is chosen by someone else, so the
        account is asked to change it (`Actor.must_change_password`) unless an operator made it."""
        if role not in ROLES:
            raise FormcheckError(f"unknown role '{role}': choose one of {', '.join(ROLES)}")
        if role == "patient":
            self._require(actor, "therapist", "admin")
            therapist_id = actor.id if actor.role == "therapist" else therapist_id
        else:
            self._require(actor, "admin")
        shown, key = accounts.check_username(username)
        with self._db() as db:
            if role == "patient":
                therapist = db.get(User, therapist_id) if isinstance(therapist_id, int) else None
                if therapist is None or therapist.role != "therapist" or therapist.disabled_at is not None:
                    raise FormcheckError("a patient needs an existing therapist")
            if db.scalar(select(User.id).where(User.username_key == key)) is not None:
                raise FormcheckError(f"the username '{shown}' is taken")
        password_hash = self._hasher.hash(accounts.check_password(password, shown))
        display_name = " ".join(str(display_name or "").split())[:120] or shown
        try:
            with self._db.begin() as db:
                user = User(username=shown, username_key=key, password_hash=password_hash, role=role,
                            display_name=display_name, therapist_id=therapist_id if role == "patient" else None,
                            created_at=self._now(), password_changed_at=self._now(), auth_epoch=0,
                            must_change_password=actor is not OPERATOR)
                db.add(user)
                db.flush()
                return user.id
        except IntegrityError:  # the same name created at the same moment by another request
            raise FormcheckError(f"the username '{shown}' is taken") from None

    def login(self, username: str, password: str, client: str | None = None) -> Actor | None:
        """The account's Actor, or None for every refusal alike (show `SIGN_IN_FAILED`): a wrong password, an
        unknown name (checked against a dummy hash: the same time), a disabled account, or a name or client
        locked by too many failures (`accounts.ACCOUNT`, `accounts.CLIENT`: even the right password waits).
        `client`: who is asking as the page sees it (the browser's address); failures are counted per client
        too, and every one is recorded for the admins (`sign_in_failures`)."""
        at = self._now()
        key = accounts.username_key(username)[:accounts.USERNAME_MAX] if isinstance(username, str) else ""
        client = accounts.client_id(client)
        keys = [f"account:{key}"] + ([f"client:{client}"] if client else [])
        with self._db() as db:
            user = db.scalar(select(User).where(User.username_key == key)) if key else None
            throttles = {t.key: t for t in db.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys)))}
            stored_hash = user.password_hash if user is not None else None
        locked = {k for k, t in throttles.items() if t.locked_until is not None and utc(t.locked_until) > at}
        right = self._password_matches(stored_hash, password)
        if right and not locked and user.disabled_at is None:
            with self._db.begin() as db:
                db.execute(delete(SignInThrottle).where(SignInThrottle.key == keys[0]))
                if self._hasher.check_needs_rehash(stored_hash):
                    db.execute(update(User).where(User.id == user.id).values(
                        password_hash=self._hasher.hash(accounts.normalize_password(password))))
            return _actor(user)
        reason = ("locked" if locked else "unknown_user" if user is None else
                  "disabled" if user.disabled_at is not None else "wrong_password")
        client_locked = len(keys) > 1 and keys[1] in locked
        counted = [k for k in keys if not client_locked and k not in locked]
        self._sign_in_failed(at, key, user.id if user is not None else None, client, reason, counted)
        return None

    def login_verified_email(self, email: str, issued_at: datetime) -> Actor | None:
        """Sign-in through the clinic's identity provider (Streamlit's `st.login`, OIDC): the account whose
        username is this e-mail address, which the provider has verified (`st.user.email`, with
        `st.user.email_verified`), `issued_at` its ID token's time (`iat`). The provider proves who it is; the role
        and the patients stay formcheck's. None for no such account, a disabled one, or an identity issued before
        the account's sign-ins last ended (sign out everywhere, a disable, a password reset): that browser signs
        in at the provider again. Call it only with what `st.user` says after `st.login`."""
        if not isinstance(email, str) or "@" not in email or not isinstance(issued_at, datetime):
            return None
        with self._db() as db:
            user = db.scalar(select(User).where(User.username_key == accounts.username_key(email)[:80]))
            if user is None or user.disabled_at is not None:
                return None
            if user.sign_ins_ended_at is not None and utc(issued_at) <= utc(user.sign_ins_ended_at):
                return None
            return _actor(user)

    def _password_matches(self, stored_hash: str | None, password) -> bool:
        """Always one Argon2 verification (against a dummy hash when there is no account, or the password is
        not usable text), so every answer takes as long."""
        usable = isinstance(password, str) and 0 < len(password) <= accounts.PASSWORD_MAX
        candidate = accounts.normalize_password(password) if usable else "-"
        try:
            ok = self._hasher.verify(stored_hash or _dummy_hash(self._hasher), candidate)
        except (VerificationError, InvalidHashError):
            ok = False
            if usable and stored_hash and candidate != password:  # a hash made before passwords were normalised
                try:
                    ok = self._hasher.verify(stored_hash, password)
                except (VerificationError, InvalidHashError):
                    ok = False
        return ok and usable and stored_hash is not None

    def _sign_in_failed(self, at: datetime, key: str, user_id: int | None, client: str | None, reason: str,
                        counted: list[str]) -> None:
        """Record one refused sign-in and count it against each of `counted` (the name's and the client's
        throttles not already locked), locking them as `accounts.ACCOUNT` / `accounts.CLIENT` say."""
        with self._db.begin() as db:
            db.add(SignInFailure(username=key[:80], user_id=user_id, client=client, reason=reason, created_at=at))
            for throttle_key in counted:
                rule = accounts.ACCOUNT if throttle_key.startswith("account:") else accounts.CLIENT
                self._count_failure(db, throttle_key, rule, at)
            db.execute(delete(SignInFailure).where(SignInFailure.created_at < at - FAILURES_KEPT))
            db.execute(delete(SignInThrottle).where(
                SignInThrottle.last_failure_at < at - timedelta(days=2),
                or_(SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until < at)))

    @staticmethod
    def _count_failure(db, key: str, rule: accounts.Throttle, at: datetime) -> None:
        row = db.scalar(select(SignInThrottle).where(SignInThrottle.key == key).with_for_update())
        if row is None:
            try:
                with db.begin_nested():
                    row = SignInThrottle(key=key, failures=0, last_failure_at=at)
                    db.add(row)
            except IntegrityError:  # counted at the same moment by another request
                row = db.scalar(select(SignInThrottle).where(SignInThrottle.key == key).with_for_update())
        if rule.forget_s is not None and utc(row.last_failure_at) < at - timedelta(seconds=rule.forget_s):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = at
        lock = rule.lock_for(row.failures)
        if lock is not None:
            row.locked_until = at + lock

    def _account(self, db, actor: Actor, user_id: int, *, passwords: bool) -> User:
        """The account `actor` manages: a therapist their own patients; an admin any other account, but for a
        password (`passwords`) only therapists' and admins' (a patient's password would open clinical data)."""
        self._current(db, actor)
        user = db.get(User, user_id) if isinstance(user_id, int) else None
        allowed = user is not None and user.id != actor.id and (
            (actor.role == "therapist" and user.role == "patient" and user.therapist_id == actor.id)
            or (actor.role == "admin" and (not passwords or user.role != "patient")))
        if not allowed:
            raise AccessDenied(f"no access to account {user_id}")
        return user

    def _end_sign_ins(self, db, user: User, at: datetime) -> None:
        """Every sign-in of `user` so far ends: Actors (the epoch moves on) and tokens."""
        user.auth_epoch, user.sign_ins_ended_at = (user.auth_epoch or 0) + 1, at
        db.execute(update(SignInToken).where(SignInToken.user_id == user.id, SignInToken.ended_at.is_(None))
                   .values(ended_at=at))

    def disable_user(self, actor: Actor, user_id: int) -> None:
        """The account can no longer sign in, and its existing sign-ins end at once (its data stays). An admin
        disables any other account; a therapist their own patients."""
        with self._db.begin() as db:
            user = self._account(db, actor, user_id, passwords=False)
            if user.disabled_at is None:
                user.disabled_at = self._now()
            self._end_sign_ins(db, user, self._now())

    def enable_user(self, actor: Actor, user_id: int) -> None:
        """A disabled account may sign in again (with a new sign-in: the old ones stay ended)."""
        with self._db.begin() as db:
            self._account(db, actor, user_id, passwords=False).disabled_at = None

    def reset_password(self, actor: Actor, user_id: int, new_password: str) -> None:
        """A forgotten password: a therapist sets a new one for their own patient, an admin for a therapist or an
        admin. Every sign-in of that account ends, its sign-in lock is lifted, and it is asked to choose its own
        password (`Actor.must_change_password`)."""
        with self._db() as db:
            username = self._account(db, actor, user_id, passwords=True).username
        password_hash = self._hasher.hash(accounts.check_password(new_password, username))
        with self._db.begin() as db:
            user = self._account(db, actor, user_id, passwords=True)
            user.password_hash, user.password_changed_at, user.must_change_password = password_hash, self._now(), True
            self._end_sign_ins(db, user, self._now())
            db.execute(delete(SignInThrottle).where(SignInThrottle.key == f"account:{user.username_key}"))

    def change_password(self, actor: Actor, old_password: str, new_password: str) -> Actor:
        """One's own password. The current one is checked (a wrong one counts as a failed sign-in); every other
        sign-in ends. Returns the new Actor to go on with (start a new token with `start_session`)."""
        at = self._now()
        with self._db() as db:
            user = self._current(db, actor)
            if user is None:
                raise AccessDenied("the operator has no password here")
            throttle = db.scalar(select(SignInThrottle).where(SignInThrottle.key == f"account:{user.username_key}"))
            key, stored_hash, username = user.username_key, user.password_hash, user.username
        right = self._password_matches(stored_hash, old_password)
        if throttle is not None and throttle.locked_until is not None and utc(throttle.locked_until) > at:
            raise FormcheckError("too many failed tries: wait a few minutes and try again")
        if not right:
            self._sign_in_failed(at, key, actor.id, None, "wrong_password", [f"account:{key}"])
            raise FormcheckError("the current password is not right")
        if accounts.normalize_password(new_password) == accounts.normalize_password(old_password):
            raise FormcheckError("the new password must differ from the current one")
        password_hash = self._hasher.hash(accounts.check_password(new_password, username))
        with self._db.begin() as db:
            user = self._current(db, actor)
            user.password_hash, user.password_changed_at, user.must_change_password = password_hash, at, False
            self._end_sign_ins(db, user, at)
            db.flush()
            return _actor(user)

    def assign_therapist(self, actor: Actor, patient_id: int, therapist_id: int) -> None:
        """An admin moves a patient to another therapist (e.g. when theirs leaves and is disabled)."""
        self._require(actor, "admin")
        with self._db.begin() as db:
            patient, therapist = db.get(User, patient_id), db.get(User, therapist_id)
            if patient is None or patient.role != "patient":
                raise AccessDenied(f"no access to account {patient_id}")
            if therapist is None or therapist.role != "therapist" or therapist.disabled_at is not None:
                raise FormcheckError("a patient needs an existing therapist")
            patient.therapist_id = therapist_id

    # --- sign-ins that survive a reload ------------------------------------------------------------
    def start_session(self, actor: Actor, client: str | None = None) -> str:
        """A new sign-in token for `actor` (just signed in): random, 256 bits; the store keeps only its SHA-256.
        It ends after `accounts.SESSION_HOURS`, or `accounts.IDLE_MINUTES` unused, or with `end_session`,
        `sign_out_everywhere`, a password change or reset, or the account's disabling."""
        token = accounts.new_token()
        at = self._now()
        with self._db.begin() as db:
            user = self._current(db, actor)
            if user is None:
                raise AccessDenied("the operator does not sign in")
            db.add(SignInToken(user_id=user.id, token_hash=accounts.token_hash(token), epoch=user.auth_epoch,
                               client=accounts.client_id(client), created_at=at, last_seen_at=at,
                               expires_at=at + timedelta(hours=accounts.SESSION_HOURS)))
            db.execute(delete(SignInToken).where(SignInToken.expires_at < at - timedelta(days=1)))
        return token

    def resume(self, token: str | None) -> Actor | None:
        """The Actor a token stands for, or None (unknown, ended, expired, idle too long, or its account disabled
        or signed in anew since): a reload that finds the cookie signs back in with this."""
        if not isinstance(token, str) or not 20 <= len(token) <= accounts.TOKEN_MAX:
            return None
        at = self._now()
        with self._db.begin() as db:
            found = db.execute(select(SignInToken, User).join(User, User.id == SignInToken.user_id)
                               .where(SignInToken.token_hash == accounts.token_hash(token))).first()
            if found is None:
                return None
            row, user = found
            if (row.ended_at is not None or utc(row.expires_at) <= at or user.disabled_at is not None
                    or row.epoch != user.auth_epoch
                    or utc(row.last_seen_at) <= at - timedelta(minutes=accounts.IDLE_MINUTES)):
                return None
            if at - utc(row.last_seen_at) > timedelta(minutes=1):  # no write on every page rerun
                row.last_seen_at = at
            return _actor(user)

    def end_session(self, token: str | None) -> None:
        """Sign out this browser: the token ends (an unknown one is ignored)."""
        if not isinstance(token, str) or len(token) > accounts.TOKEN_MAX:
            return
        with self._db.begin() as db:
            db.execute(update(SignInToken).where(SignInToken.token_hash == accounts.token_hash(token),
                                                 SignInToken.ended_at.is_(None)).values(ended_at=self._now()))

    def sign_out_everywhere(self, actor: Actor) -> None:
        """Every sign-in of the actor's account ends, on every device, this one included (sign in again)."""
        with self._db.begin() as db:
            user = self._current(db, actor)
            if user is not None:
                self._end_sign_ins(db, user, self._now())

    # --- what admins see of accounts ----------------------------------------------------------------
    def accounts(self, actor: Actor) -> list[dict]:
        """Every account (no clinical data): id, username, name, role, therapist, disabled, locked until."""
        self._require(actor, "admin")
        at = self._now()
        with self._db() as db:
            locks = {t.key: utc(t.locked_until) for t in db.scalars(select(SignInThrottle).where(
                SignInThrottle.key.like("account:%"), SignInThrottle.locked_until.is_not(None)))}
            return [{"id": u.id, "username": u.username, "name": u.display_name, "role": u.role,
                     "therapist_id": u.therapist_id, "disabled": u.disabled_at is not None,
                     "locked_until": lock if (lock := locks.get(f"account:{u.username_key}")) and lock > at else None}
                    for u in db.scalars(select(User).order_by(User.id))]

    def sign_in_failures(self, actor: Actor, limit: int = 200) -> list[dict]:
        """The latest refused sign-ins, newest first: the name tried, the client, why, when (kept 90 days)."""
        self._require(actor, "admin")
        with self._db() as db:
            rows = db.scalars(select(SignInFailure).order_by(SignInFailure.id.desc()).limit(max(1, int(limit))))
            return [{"username": f.username, "user_id": f.user_id, "client": f.client, "reason": f.reason,
                     "at": utc(f.created_at)} for f in rows]

    def sign_in_locks(self, actor: Actor) -> list[dict]:
        """Names and clients locked now: {"kind": "account" | "client", "name", "failures", "locked_until"}."""
        self._require(actor, "admin")
        at = self._now()
        with self._db() as db:
            rows = db.scalars(select(SignInThrottle).where(SignInThrottle.locked_until.is_not(None))
                              .order_by(SignInThrottle.locked_until.desc()))
            out = []
            for t in rows:
                if utc(t.locked_until) > at:
                    kind, _, name = t.key.partition(":")
                    out.append({"kind": kind, "name": name, "failures": t.failures,
                                "locked_until": utc(t.locked_until)})
            return out

    # --- who may see whom ----------------------------------------------------------------------
    def _current(self, db, actor: Actor) -> User | None:
        """The actor's account as it is now (None for the operator); SignInEnded when it was disabled, its role
        changed, or it signed in anew (password change or reset, sign out everywhere) since this Actor."""
        if actor is OPERATOR:
            return None
        user = db.get(User, actor.id) if isinstance(actor, Actor) and isinstance(actor.id, int) else None
        if (user is None or user.disabled_at is not None or user.role != actor.role
                or (user.auth_epoch or 0) != actor.epoch):
            raise SignInEnded("this sign-in has ended: please sign in again")
        return user

    def _require(self, actor: Actor, *roles: str) -> None:
        """The account is still what the actor says (`_current`) and has one of `roles`. Clinical operations
        name only "therapist" (and "patient" for their own): an admin manages accounts, not care."""
        with self._db() as db:
            self._current(db, actor)
        if actor.role not in roles:
            raise AccessDenied(f"a {actor.role} may not do this")

    def _patient(self, db, actor: Actor, patient_id: int) -> User:
        self._current(db, actor)
        patient = db.get(User, patient_id) if isinstance(patient_id, int) else None
        allowed = patient is not None and patient.role == "patient" and (
            (actor.role == "patient" and actor.id == patient_id)
            or (actor.role == "therapist" and patient.therapist_id == actor.id))
        if not allowed:  # the same answer whether the patient exists or not: ids leak nothing
            raise AccessDenied(f"no access to patient {patient_id}")
        return patient

    def _session(self, db, actor: Actor, session_id: int) -> ExerciseSession:
        self._current(db, actor)
        record = db.get(ExerciseSession, session_id) if isinstance(session_id, int) else None
        try:
            if record is None:
                raise AccessDenied("missing")
            self._patient(db, actor, record.patient_id)
        except AccessDenied:  # one answer for "missing" and "not yours", naming nothing else
            raise AccessDenied(f"no access to session {session_id}") from None
        return record

    # --- the access log ------------------------------------------------------------------------
    def _log_read(self, actor: Actor, patient_id: int, what: str) -> None:
        """Someone other than the patient read `what` of the patient's data (the same read by the same person
        within ACCESS_LOG_WINDOW is one entry)."""
        if actor is OPERATOR or actor.id == patient_id:
            return
        at = self._now()
        with self._db.begin() as db:
            seen = db.scalar(select(AccessLogEntry.id).where(
                AccessLogEntry.patient_id == patient_id, AccessLogEntry.actor_id == actor.id,
                AccessLogEntry.what == what, AccessLogEntry.created_at > at - ACCESS_LOG_WINDOW,
                AccessLogEntry.created_at <= at).limit(1))
            if seen is None:
                db.add(AccessLogEntry(patient_id=patient_id, actor_id=actor.id, actor_role=actor.role, what=what[:80],
                                      created_at=at))

    def access_log(self, actor: Actor, patient_id: int) -> list[dict]:
        """Who read the patient's data, what and when, oldest first: for the patient and their therapist."""
        with self._db() as db:
            self._patient(db, actor, patient_id)
            rows = db.execute(select(AccessLogEntry, User.display_name, User.username).join(
                User, User.id == AccessLogEntry.actor_id).where(AccessLogEntry.patient_id == patient_id)
                .order_by(AccessLogEntry.created_at, AccessLogEntry.id)).all()
            return [{"who": name or username, "username": username, "role": e.actor_role, "what": e.what,
                     "at": utc(e.created_at)} for e, name, username in rows]

    def patients(self, actor: Actor) -> list[dict]:
        self._require(actor, "therapist", "admin")
        with self._db() as db:
            query = select(User).where(User.role == "patient")
            if actor.role == "therapist":
                query = query.where(User.therapist_id == actor.id)
            return [{"id": u.id, "username": u.username, "name": u.display_name, "disabled": u.disabled_at is not None}
                    for u in db.scalars(query)]

    # --- prescriptions: doses ------------------------------------------------------------------
    def prescribe(self, actor: Actor, patient_id: int, exercise: str, sets: int | None = None,
                  reps: int | None = None, hold_s: float | tuple[float, float] | None = None,
                  per_week: int | None = None, settings: dict | None = None, *, hold_max_s: float | None = None,
                  per_day: int | None = None, days_per_week: int | tuple[int, int] | None = None,
                  as_often_as_possible: bool | None = None, rest_s: float | None = None, variant: str | None = None,
                  progress_after: int | None = None) -> int:
        """Prescribe an exercise (replacing the patient's current prescription of it). Whatever is not given
        comes from the article's dose (`dosing.ARTICLE_DOSES`): e.g. `prescribe(T, p, "calf_stretch")` is
        hold 20 s, 3 times a day (K ex. 4). `hold_s` may be a range, `(20, 30)`; `days_per_week` too, `(3, 5)`.
        `per_week` alone (the older form) means once a day on that many days, or above 7, every day as many
        times a day as it takes (14 → twice a day). `progress_after`: sessions in a row at target before a
        next step is suggested."""
        self._require(actor, "therapist")
        if not isinstance(exercise, str) or exercise not in CATALOGUE:
            raise FormcheckError(f"unknown exercise '{exercise}'")
        try:
            CATALOGUE[exercise].params(settings)  # unknown thresholds are refused now, not at exercise time
            settings = bounds.check_settings(settings)  # finite, inside the bounds its unit declares
        except ValueError as exc:
            raise FormcheckError(str(exc)) from None
        dose = self._dose(exercise, sets, reps, hold_s, hold_max_s, per_week, per_day, days_per_week,
                          as_often_as_possible, rest_s)
        try:
            dosing.check_variant(exercise, variant)
        except ValueError as exc:
            raise FormcheckError(str(exc)) from None
        if progress_after is not None and not isinstance(progress_after, bool) and progress_after < 1:
            raise FormcheckError("progression needs at least 1 session at target")
        try:
            progress_after = bounds.check_dose_value("progress_after", progress_after)
        except ValueError as exc:
            raise FormcheckError(str(exc)) from None
        with self._db.begin() as db:
            self._patient(db, actor, patient_id)
            return self._prescribe(db, actor, patient_id, exercise, dose, settings or {},
                                   variant or dosing.default_variant(exercise),
                                   progress_after or progression.DEFAULT_SESSIONS)

    @staticmethod
    def _dose(exercise, sets, reps, hold_s, hold_max_s, per_week, per_day, days_per_week, as_often_as_possible,
              rest_s) -> Dose:
        spec, base = CATALOGUE[exercise], dosing.article_dose(exercise)
        if reps is not None and spec.kind != "reps":
            raise FormcheckError(f"{exercise} is held, not counted: prescribe a hold, not reps")
        if (hold_s is not None or hold_max_s is not None) and spec.kind != "hold":
            raise FormcheckError(f"{exercise} is counted in reps, not held")
        if as_often_as_possible is not None and not isinstance(as_often_as_possible, bool):
            raise FormcheckError("as often as possible is yes or no")
        try:  # each value finite and sensible before it means anything (nan, -1e9, sets=-3, per_week=0)
            sets, reps, hold_max_s, per_day, per_week, rest_s = (
                bounds.check_dose_value(f, v) for f, v in (("sets", sets), ("reps", reps), ("hold_max_s", hold_max_s),
                                                           ("per_day", per_day), ("per_week", per_week),
                                                           ("rest_s", rest_s)))
            hold_s = _value_or_range("hold_s", hold_s, "a hold range is (shortest, longest)")
            days_per_week = _value_or_range("days_per_week", days_per_week,
                                            "days a week is a number or a range (fewest, most)")
        except ValueError as exc:
            raise FormcheckError(str(exc)) from None
        if isinstance(hold_s, (tuple, list)):
            hold_min, hold_max = (float(x) for x in hold_s)
        elif hold_s is not None:
            hold_min, hold_max = float(hold_s), hold_max_s
        else:
            hold_min, hold_max = base.hold_min_s, hold_max_s if hold_max_s is not None else base.hold_max_s
        aoap = base.as_often_as_possible if as_often_as_possible is None else bool(as_often_as_possible)
        legacy = per_week is not None and per_day is None and days_per_week is None and as_often_as_possible is None
        try:
            if legacy:
                per_day, days = dosing.legacy_frequency(per_week)
                days_min = days_max = days
                aoap = False
            else:
                if per_day is None:
                    per_day = base.per_day if (base.per_day is not None or aoap) else 1
                if days_per_week is None:
                    days_min, days_max = base.days_min, base.days_max
                elif isinstance(days_per_week, (tuple, list)):
                    days_min, days_max = (int(x) for x in days_per_week)
                else:
                    days_min = days_max = int(days_per_week)
            dose = Dose(sets=sets if sets is not None else base.sets,
                        reps=(reps if reps is not None else base.reps) if spec.kind == "reps" else None,
                        hold_min_s=hold_min if spec.kind == "hold" else None,
                        hold_max_s=hold_max if spec.kind == "hold" else None, per_day=per_day,
                        as_often_as_possible=aoap, days_min=days_min, days_max=days_max,
                        rest_s=base.rest_s if rest_s is None else float(rest_s), source=base.source)
        except ValueError as exc:
            raise FormcheckError(str(exc)) from None
        if per_week is not None and not legacy and per_week != dose.per_week:
            raise FormcheckError(f"{per_week} times a week does not match {dose.text()} ({dose.per_week} a week)")
        if dose.per_day is not None and dose.per_day > bounds.DOSE["per_day"].high:
            raise FormcheckError(f"at most {bounds.DOSE['per_day'].high:g} times a day")
        return dose

    def _prescribe(self, db, actor: Actor, patient_id: int, exercise: str, dose: Dose, settings: dict,
                   variant: str | None, progress_after: int) -> int:
        for old in db.scalars(select(Prescription).where(Prescription.patient_id == patient_id,
                                                         Prescription.exercise == exercise, Prescription.active)):
            old.active = False  # the new prescription replaces the old one
        p = Prescription(patient_id=patient_id, exercise=exercise, sets=dose.sets, reps=dose.reps,
                         hold_s=dose.hold_min_s, hold_max_s=dose.hold_max_s, per_day=dose.per_day,
                         as_often_as_possible=dose.as_often_as_possible, days_min=dose.days_min,
                         days_max=dose.days_max, per_week=dose.per_week, rest_s=dose.rest_s, variant=variant,
                         progress_after=progress_after, settings=settings, created_by=actor.id,
                         created_at=self._now())
        db.add(p)
        db.flush()
        return p.id

    @staticmethod
    def _dose_of(p: Prescription) -> Dose:
        """A stored prescription's dose (a row without per-day fields reads as its old "times a week")."""
        per_day, days_min, days_max, aoap = p.per_day, p.days_min, p.days_max, bool(p.as_often_as_possible)
        if days_min is None or (per_day is None and not aoap):
            per_day, days_min = dosing.legacy_frequency(p.per_week)
            days_max = days_min
        return Dose(sets=p.sets, reps=p.reps, hold_min_s=p.hold_s, hold_max_s=p.hold_max_s, per_day=per_day,
                    as_often_as_possible=aoap, days_min=days_min, days_max=days_max or days_min,
                    rest_s=p.rest_s if p.rest_s is not None else dosing.REST_S)

    def _prescription_dict(self, p: Prescription) -> dict:
        dose = self._dose_of(p)
        return {"id": p.id, "exercise": p.exercise, "sets": p.sets, "reps": p.reps, "hold_s": p.hold_s,
                "hold_min_s": dose.hold_min_s, "hold_max_s": dose.hold_max_s, "per_day": dose.per_day,
                "as_often_as_possible": dose.as_often_as_possible, "days_min": dose.days_min,
                "days_max": dose.days_max, "per_week": p.per_week, "rest_s": dose.rest_s, "variant": p.variant,
                "progress_after": p.progress_after or progression.DEFAULT_SESSIONS, "settings": p.settings,
                "dose": dose.text(), "created_at": utc(p.created_at)}

    def prescriptions(self, actor: Actor, patient_id: int) -> list[dict]:
        with self._db() as db:
            self._patient(db, actor, patient_id)
            rows = db.scalars(select(Prescription).where(Prescription.patient_id == patient_id, Prescription.active)
                              .order_by(Prescription.id))
            out = [self._prescription_dict(p) for p in rows]
        self._log_read(actor, patient_id, "prescriptions")
        return out

    def set_progress_after(self, actor: Actor, prescription_id: int, sessions: int) -> None:
        """How many sessions in a row at target before a next step is suggested (on the current prescription)."""
        self._require(actor, "therapist")
        if isinstance(sessions, bool) or not isinstance(sessions, int) or sessions < 1:
            raise FormcheckError("progression needs at least 1 session at target")
        try:
            sessions = bounds.check_dose_value("progress_after", sessions)
        except ValueError as exc:
            raise FormcheckError(str(exc)) from None
        with self._db.begin() as db:
            p = db.get(Prescription, prescription_id)
            try:
                if p is None or not p.active:
                    raise AccessDenied("missing")
                self._patient(db, actor, p.patient_id)
            except AccessDenied:
                raise AccessDenied(f"no access to prescription {prescription_id}") from None
            p.progress_after = sessions

    # exercise checker key(s) each prescription field goes to, first one the spec has (the checker's
    # own names differ: the balance hold is `target_hold_s`, the stretches' `hold_s`)
    CHECKER_KEYS = (("sets", ("sets",)), ("reps", ("reps",)), ("hold_min_s", ("hold_s", "target_hold_s")),
                    ("hold_max_s", ("hold_max_s",)), ("per_day", ("per_day",)), ("rest_s", ("rest_s",)),
                    ("variant", ("variant",)))

    @staticmethod
    def checker_settings(prescription: dict) -> dict:
        """A prescription as the exercise checker's settings (what the live page and the review follow): the
        thresholds, and each dose field under the name the exercise's spec gives it, where it has one."""
        spec = CATALOGUE[prescription["exercise"]]
        out = dict(prescription.get("settings") or {})
        for field, keys in Clinic.CHECKER_KEYS:
            value = prescription.get(field)
            if field == "hold_min_s" and value is None:
                value = prescription.get("hold_s")  # a prescription dict from before hold ranges
            key = next((k for k in keys if k in spec.defaults), None)
            if value is not None and key is not None:
                out[key] = value
        return {k: v for k, v in out.items() if v is not None}

    # --- safety screen, stops and today's verdict ----------------------------------------------
    def record_screen(self, actor: Actor, answers: dict[str, bool | None] | bool,
                      nerve_symptoms: bool | None = None) -> int:
        """Store one safety screen: every answer, keyed as `safety.QUESTIONS`. The symptom questions
        (`safety.SYMPTOMS`) must each be answered; a risk factor may be None (not asked this time).
        The older call `record_screen(actor, calf_red_flag, nerve_symptoms)` (calf pain together with swelling
        and redness; nerve symptoms) still works: a Yes to the first is a Yes to calf pain, swelling and redness."""
        self._require(actor, "patient")
        if isinstance(answers, bool):
            answers = safety.legacy_answers(answers, bool(nerve_symptoms))
        else:
            answers = dict(answers)
            try:
                safety.check_answers(answers)
            except ValueError as exc:
                raise FormcheckError(str(exc)) from None
            missing = safety.unanswered(answers, safety.SYMPTOMS)
            if missing:
                raise FormcheckError("every safety question needs a Yes or No: " + ", ".join(missing))
        answers = {k: v for k, v in answers.items() if v is not None}
        with self._db.begin() as db:
            screen = SafetyScreen(patient_id=actor.id, answers=answers, answered_at=self._now(),
                                  calf_red_flag=any(answers.get(k, False) for k in safety.THROMBOSIS_SIGNS),
                                  nerve_symptoms=bool(answers.get("nerve_symptoms")))
            db.add(screen)
            db.flush()
            return screen.id

    @staticmethod
    def _answers(s: SafetyScreen) -> dict:
        if s.answers is not None:
            return dict(s.answers)
        return safety.legacy_answers(s.calf_red_flag, bool(s.nerve_symptoms))  # a row no migration filled

    def _screen_dict(self, s: SafetyScreen) -> dict:
        answers = self._answers(s)
        return {"id": s.id, "answers": answers, "verdict": safety.screen(answers), "answered_at": utc(s.answered_at),
                "calf_red_flag": s.calf_red_flag, "nerve_symptoms": s.nerve_symptoms}

    def screens(self, actor: Actor, patient_id: int) -> list[dict]:
        """Every stored screen, oldest first: {"id", "answers", "verdict", "answered_at", ...}."""
        with self._db() as db:
            self._patient(db, actor, patient_id)
            rows = db.scalars(select(SafetyScreen).where(SafetyScreen.patient_id == patient_id)
                              .order_by(SafetyScreen.id))
            out = [self._screen_dict(s) for s in rows]
        self._log_read(actor, patient_id, "safety screens")
        return out

    def latest_screen(self, actor: Actor, patient_id: int) -> dict | None:
        with self._db() as db:
            self._patient(db, actor, patient_id)
            s = db.scalar(select(SafetyScreen).where(SafetyScreen.patient_id == patient_id)
                          .order_by(SafetyScreen.id.desc()).limit(1))
            out = None if s is None else self._screen_dict(s)
        self._log_read(actor, patient_id, "safety screens")
        return out

    def stop_during_set(self, actor: Actor, exercise: str, symptom: str = safety.STOP_DEFAULT,
                        at_s: float | None = None, session_id: int | None = None) -> int:
        """The patient pressed "Stop — tingling, numbness or sharp pain": recorded at once (whether or not the
        set is saved), the exercise is off for the rest of the day (`verdict_today`), the therapist is flagged
        until they acknowledge it. `session_id` links an already saved session; or pass the returned id to
        `save_session(..., stop_id=...)` when the stopped set is saved afterwards."""
        self._require(actor, "patient")
        try:
            safety.stop_during_set(exercise, symptom)
        except ValueError as exc:
            raise FormcheckError(str(exc)) from None
        with self._db.begin() as db:
            if session_id is not None:
                record = self._session(db, actor, session_id)
                if record.exercise != exercise:
                    raise FormcheckError(f"session {session_id} is {record.exercise}, not {exercise}")
            stop = SetStop(patient_id=actor.id, exercise=exercise, symptom=symptom, at_s=at_s, session_id=session_id,
                           created_at=self._now())
            db.add(stop)
            db.flush()
            return stop.id

    def stops(self, actor: Actor, patient_id: int) -> list[dict]:
        with self._db() as db:
            self._patient(db, actor, patient_id)
            rows = db.scalars(select(SetStop).where(SetStop.patient_id == patient_id).order_by(SetStop.id))
            out = [{"id": s.id, "exercise": s.exercise, "symptom": s.symptom, "at_s": s.at_s,
                    "session_id": s.session_id, "created_at": utc(s.created_at)} for s in rows]
        self._log_read(actor, patient_id, "stops during sets")
        return out

    def verdict_today(self, actor: Actor, patient_id: int, at: datetime | None = None) -> safety.Verdict:
        """What today's screens and stops mean together: blocked, the exercises off today, the advice. Every
        screen of the day counts (a Yes in the morning is not undone by a No at noon), and every stop."""
        today = day_of(at or self._now())
        verdicts = [s["verdict"] for s in self.screens(actor, patient_id) if day_of(s["answered_at"]) == today]
        verdicts += [safety.stop_during_set(s["exercise"], s["symptom"]) for s in self.stops(actor, patient_id)
                     if day_of(s["created_at"]) == today]
        return safety.combine(*verdicts)

    def excluded_today(self, actor: Actor, patient_id: int, at: datetime | None = None) -> frozenset[str]:
        return self.verdict_today(actor, patient_id, at).excluded

    # --- sessions --------------------------------------------------------------------------------
    def save_session(self, actor: Actor, report: dict, landmarks: bytes, source: str, pain_before: int | None = None,
                     pain_after: int | None = None, screen_id: int | None = None, video: bytes | None = None,
                     variant: str | None = None, stop_id: int | None = None) -> int:
        """Store one exercise session (one transaction: all of it or nothing). Video only by opt-in.
        `variant`: the balance variant chosen before the set (`dosing.VARIANTS`); it is also written into the
        stored report as "variant". `stop_id`: the stop (`stop_during_set`) that ended this set."""
        self._require(actor, "patient")
        try:  # the contract (report-schema.md): a report missing a part would break the patient's whole record
            check_report(report, CATALOGUE)
        except ReportError as exc:
            raise FormcheckError(f"not a valid report: {exc}") from None
        for pain in (pain_before, pain_after):
            if pain is not None and (isinstance(pain, bool) or not isinstance(pain, int) or not 0 <= pain <= 10):
                raise FormcheckError("pain is scored from 0 to 10")
        if source not in ("live", "upload"):
            raise FormcheckError("a session's source is 'live' or 'upload'")
        if not isinstance(landmarks, (bytes, bytearray)) or not isinstance(video, (bytes, bytearray, type(None))):
            raise FormcheckError("landmarks (and a kept video) are bytes")
        try:
            dosing.check_variant(report["exercise"], variant)
        except ValueError as exc:
            raise FormcheckError(str(exc)) from None
        # stored without the server's folders: the file's own name at most
        report = {**report, "video": {**report["video"], "path": file_name(report["video"]["path"])}}
        if variant is not None:
            report = {**report, "variant": variant}
        with self._db.begin() as db:
            if screen_id is not None:
                screen = db.get(SafetyScreen, screen_id) if isinstance(screen_id, int) else None
                if screen is None or screen.patient_id != actor.id:
                    raise AccessDenied(f"no access to screen {screen_id}")
            stop = None
            if stop_id is not None:
                stop = db.get(SetStop, stop_id)
                if stop is None or stop.patient_id != actor.id:
                    raise AccessDenied(f"no access to stop {stop_id}")
                if stop.session_id is not None or stop.exercise != report["exercise"]:
                    raise FormcheckError(f"stop {stop_id} belongs to another set")
            record = ExerciseSession(patient_id=actor.id, exercise=report["exercise"], source=source, report=report,
                                     landmarks=landmarks, video=video, pain_before=pain_before, pain_after=pain_after,
                                     screen_id=screen_id, variant=variant, created_at=self._now())
            db.add(record)
            db.flush()
            if stop is not None:
                stop.session_id = record.id
            return record.id

    def _stopped(self, db, patient_id: int) -> dict[int, str]:
        return dict(db.execute(select(SetStop.session_id, SetStop.symptom).where(
            SetStop.patient_id == patient_id, SetStop.session_id.is_not(None))).all())

    def sessions(self, actor: Actor, patient_id: int) -> list[dict]:
        with self._db() as db:
            self._patient(db, actor, patient_id)
            stopped = self._stopped(db, patient_id)
            rows = db.scalars(select(ExerciseSession).where(ExerciseSession.patient_id == patient_id)
                              .order_by(ExerciseSession.created_at, ExerciseSession.id))
            out = [self._summary(r, stopped.get(r.id)) for r in rows]
        self._log_read(actor, patient_id, "sessions")
        return out

    @staticmethod
    def _summary(r: ExerciseSession, stopped: str | None = None) -> dict:
        return {"id": r.id, "exercise": r.exercise, "source": r.source, "created_at": r.created_at,
                "pain_before": r.pain_before, "pain_after": r.pain_after, "report": r.report,
                "summary": r.report["summary"], "faults": sorted({f["code"] for f in r.report["faults"]}),
                "has_video": r.has_video, "variant": r.variant, "stopped": stopped, "screen_id": r.screen_id}

    def session(self, actor: Actor, session_id: int) -> dict:
        with self._db() as db:
            r = self._session(db, actor, session_id)
            stopped = self._stopped(db, r.patient_id).get(r.id)
            out = {**self._summary(r, stopped), "patient_id": r.patient_id, "landmarks": r.landmarks,
                   "video": r.video}
        self._log_read(actor, out["patient_id"], f"session {session_id}")
        return out

    def printable_report(self, actor: Actor, session_id: int, fault_images=(), angles: list[dict] | None = None) -> str:
        """The session's printable HTML report (`report.html_report`): the patient's name and the date, the
        prescription in force when it was done against what was done, the therapist's notes with their authors,
        the fault moments given as pictures (`fault_images`: (caption, PNG)), the angle plot."""
        from .report import html_report

        full = self.session(actor, session_id)  # checks access, logs the read
        notes = self.notes(actor, session_id)
        with self._db() as db:
            patient = db.get(User, full["patient_id"])
            p = db.scalar(select(Prescription).where(
                Prescription.patient_id == full["patient_id"], Prescription.exercise == full["exercise"],
                Prescription.created_at <= full["created_at"]).order_by(Prescription.created_at.desc(),
                                                                         Prescription.id.desc()).limit(1))
            prescription = self._prescription_dict(p) if p is not None else None
        return html_report(full["report"], fault_images, patient=patient.display_name or patient.username,
                           when=utc(full["created_at"]), prescription=prescription, notes=notes, angles=angles,
                           pain=(full["pain_before"], full["pain_after"]))

    # --- notes ---------------------------------------------------------------------------------
    def add_note(self, actor: Actor, session_id: int, text: str, at_s: float | None = None) -> int:
        """The therapist's note on a session (plain text: show it as text, never as Markdown or HTML)."""
        self._require(actor, "therapist")
        if not isinstance(text, str) or not text.strip():
            raise FormcheckError("a note needs some text")
        if len(text.strip()) > NOTE_MAX:
            raise FormcheckError(f"a note has at most {NOTE_MAX} characters")
        if at_s is not None:
            try:
                at_s = float(bounds.check_number("the moment", at_s, bounds.Bound(0, 36_000, what=" s")))
            except ValueError as exc:
                raise FormcheckError(str(exc)) from None
        with self._db.begin() as db:
            self._session(db, actor, session_id)
            note = Note(session_id=session_id, author_id=actor.id, text=text.strip(), at_s=at_s,
                        created_at=self._now())
            db.add(note)
            db.flush()
            return note.id

    def notes(self, actor: Actor, session_id: int) -> list[dict]:
        """The session's notes, oldest first, each with its author's name and role ("author", "author_role")."""
        with self._db() as db:
            record = self._session(db, actor, session_id)
            rows = db.execute(select(Note, User.display_name, User.username, User.role)
                              .join(User, User.id == Note.author_id).where(Note.session_id == session_id)
                              .order_by(Note.created_at, Note.id)).all()
            out = [{"id": n.id, "text": n.text, "at_s": n.at_s, "created_at": n.created_at,
                    "author": name or username, "author_role": role} for n, name, username, role in rows]
            patient_id = record.patient_id
        self._log_read(actor, patient_id, f"notes on session {session_id}")
        return out

    # --- the therapist's overview --------------------------------------------------------------
    def adherence(self, actor: Actor, patient_id: int, today: datetime | None = None) -> list[dict]:
        """Per prescribed exercise, this week (Monday on, UTC days) and each day of it: sessions done against
        the dose. Keys: "done" (this week) vs "prescribed" (a week), "today" vs "per_day" (None: as often as
        possible, just counted), "days_done" (days with any) and "days_complete" (days at the daily count) vs
        "days_min"–"days_max", and "by_day": [{"date", "done", "target"}] from Monday to today."""
        today_d = day_of(today or self._now())
        monday = today_d - timedelta(days=today_d.weekday())
        days = [monday + timedelta(days=i) for i in range(today_d.weekday() + 1)]
        counts: dict[tuple[str, date], int] = {}
        for s in self.sessions(actor, patient_id):
            d = day_of(s["created_at"])
            if monday <= d <= today_d:
                counts[(s["exercise"], d)] = counts.get((s["exercise"], d), 0) + 1
        out = []
        for p in self.prescriptions(actor, patient_id):
            daily = p["per_day"] or 1
            by_day = [{"date": d, "done": counts.get((p["exercise"], d), 0), "target": p["per_day"]} for d in days]
            out.append({"exercise": p["exercise"], "done": sum(d["done"] for d in by_day), "prescribed": p["per_week"],
                        "today": by_day[-1]["done"], "per_day": p["per_day"],
                        "as_often_as_possible": p["as_often_as_possible"],
                        "days_done": sum(d["done"] > 0 for d in by_day),
                        "days_complete": sum(d["done"] >= daily for d in by_day),
                        "days_min": p["days_min"], "days_max": p["days_max"], "by_day": by_day, "dose": p["dose"]})
        return out

    # --- flags: open until the therapist acknowledges them -------------------------------------
    def open_flags(self, actor: Actor, patient_id: int) -> list[dict]:
        """What a therapist should look at, each open until acknowledged: a Yes in the safety screen (a later No
        does not erase it; a risk factor, which stays true, is raised again only after a No), a stop during a
        set, pain up by 2+ in a session, a fault in each of the last 3 sessions (a balance touch-down is not a
        fault). Each: {"id" (for `acknowledge_flag`), "key", "kind", "text", "through", "raised_at"}."""
        sessions = self.sessions(actor, patient_id)  # checks access
        self._log_read(actor, patient_id, "flags")
        with self._db() as db:
            screens = db.scalars(select(SafetyScreen).where(SafetyScreen.patient_id == patient_id)
                                 .order_by(SafetyScreen.id)).all()
            stops = db.scalars(select(SetStop).where(SetStop.patient_id == patient_id).order_by(SetStop.id)).all()
            acked = dict(db.execute(select(FlagAck.key, func.max(FlagAck.through))
                                    .where(FlagAck.patient_id == patient_id).group_by(FlagAck.key)).all())
        out = []

        def raise_flag(kind: str, key: str, through: int, raised_at: datetime, text: str) -> None:
            out.append({"id": f"{key}@{through}", "key": key, "kind": kind, "text": text, "through": through,
                        "raised_at": utc(raised_at)})

        history = [(s, self._answers(s)) for s in screens]
        for key in safety.QUESTIONS:
            seen = acked.get(f"screen:{key}", 0)
            yes = [s for s, a in history if a.get(key)]
            if key in safety.RISK_FACTORS:  # a lasting condition: raised by a Yes after a No (or the first Yes)
                raising, before = [], None
                for s, a in history:
                    if a.get(key) is None:
                        continue
                    if a[key] and before is not True:
                        raising.append(s)
                    before = a[key]
            else:
                raising = yes
            pending = [s for s in raising if s.id > seen]
            if pending:
                count = sum(s.id > seen for s in yes)
                raise_flag("screen", f"screen:{key}", yes[-1].id, pending[0].answered_at,
                           f"safety screen: {safety.LABELS[key]}: Yes ({count}× since "
                           f"{utc(pending[0].answered_at):%d %b})")
        for exercise in dict.fromkeys(s.exercise for s in stops):
            pending = [s for s in stops if s.exercise == exercise and s.id > acked.get(f"stop:{exercise}", 0)]
            if pending:
                symptoms = ", ".join(dict.fromkeys(safety.STOP_SYMPTOMS[s.symptom][0].lower() for s in pending))
                raise_flag("stop", f"stop:{exercise}", pending[-1].id, pending[0].created_at,
                           f"stopped {CATALOGUE[exercise].title if exercise in CATALOGUE else exercise} during a set: "
                           f"{symptoms} ({len(pending)}×, last {utc(pending[-1].created_at):%d %b})")
        for s in sessions:
            if s["pain_before"] is not None and s["pain_after"] is not None and s["pain_after"] - s["pain_before"] >= 2:
                if s["id"] > acked.get(f"pain:{s['id']}", 0):
                    raise_flag("pain", f"pain:{s['id']}", s["id"], s["created_at"],
                               f"pain up {s['pain_before']}→{s['pain_after']} in session {s['id']}")
        recent = sessions[-3:]
        if len(recent) == 3:
            for code in sorted(set.intersection(*(progression.real_faults(s) for s in recent))):
                if recent[-1]["id"] > acked.get(f"fault:{code}", 0):
                    raise_flag("fault", f"fault:{code}", recent[-1]["id"], recent[-1]["created_at"],
                               f"recurring fault: {code} in the last 3 sessions")
        return out

    def flags(self, actor: Actor, patient_id: int) -> list[str]:
        """The open flags' texts (see `open_flags`)."""
        return [f["text"] for f in self.open_flags(actor, patient_id)]

    def acknowledge_flag(self, actor: Actor, patient_id: int, flag_id: str, note: str = "") -> int:
        """The therapist has seen a flag (its "id" from `open_flags`): it closes, and only what was in it — a Yes
        answered after the therapist looked raises it again."""
        self._require(actor, "therapist")
        key, _, through = str(flag_id).rpartition("@")
        current = {f["key"]: f for f in self.open_flags(actor, patient_id)}  # checks access
        if not through.isdigit() or key not in current or int(through) > current[key]["through"]:
            raise FormcheckError(f"no open flag '{flag_id}' for patient {patient_id}")
        with self._db.begin() as db:
            ack = FlagAck(patient_id=patient_id, key=key, through=int(through), acknowledged_by=actor.id,
                          note=note.strip(), created_at=self._now())
            db.add(ack)
            db.flush()
            return ack.id

    def acknowledged_flags(self, actor: Actor, patient_id: int) -> list[dict]:
        with self._db() as db:
            self._patient(db, actor, patient_id)
            rows = db.scalars(select(FlagAck).where(FlagAck.patient_id == patient_id).order_by(FlagAck.id))
            out = [{"id": a.id, "key": a.key, "through": a.through, "by": a.acknowledged_by, "note": a.note,
                    "at": utc(a.created_at)} for a in rows]
        self._log_read(actor, patient_id, "flags")
        return out

    # --- progression -----------------------------------------------------------------------------
    def next_steps(self, actor: Actor, patient_id: int) -> list[dict]:
        """The next steps suggested now (the therapist accepts or declines them; the patient sees them as
        "next step"): the rule (`progression.next_step`) over the stored sessions of each current prescription,
        counted from the prescription's start, its last declined step, or the last stop of that exercise,
        whichever is latest. A suggestion is stored once, so it keeps its id until decided."""
        prescriptions = self.prescriptions(actor, patient_id)  # checks access
        sessions = self.sessions(actor, patient_id)
        active = {p["exercise"] for p in prescriptions}
        for p in prescriptions:
            with self._db() as db:
                since = [p["created_at"]]
                since += [utc(t) for t in db.scalars(select(ProgressionStep.decided_at).where(
                    ProgressionStep.prescription_id == p["id"], ProgressionStep.status == "declined"))]
                since += [utc(t) for t in db.scalars(select(SetStop.created_at).where(
                    SetStop.patient_id == patient_id, SetStop.exercise == p["exercise"]))]
                step = progression.next_step(p, sessions, active, since=max(since))
                if step is None or db.scalar(select(ProgressionStep.id).where(
                        ProgressionStep.prescription_id == p["id"],
                        ProgressionStep.basis_last == step.basis[-1])) is not None:
                    continue
            try:
                with self._db.begin() as db:
                    db.add(ProgressionStep(patient_id=patient_id, prescription_id=p["id"], exercise=step.exercise,
                                           kind=step.kind, change=step.change, text=step.text, source=step.source,
                                           basis=list(step.basis), basis_last=step.basis[-1], status="suggested",
                                           created_at=self._now(), note=""))
            except IntegrityError:
                pass  # the same step, suggested at the same moment by another request
        return [s for s in self.steps(actor, patient_id) if s["status"] == "suggested" and s["current"]]

    def steps(self, actor: Actor, patient_id: int) -> list[dict]:
        """Every suggested step, decided or not, oldest first ("current": its prescription is still in force)."""
        with self._db() as db:
            self._patient(db, actor, patient_id)
            rows = db.execute(select(ProgressionStep, Prescription.active).join(
                Prescription, Prescription.id == ProgressionStep.prescription_id).where(
                ProgressionStep.patient_id == patient_id).order_by(ProgressionStep.id)).all()
            out = [self._step_dict(s, active) for s, active in rows]
        self._log_read(actor, patient_id, "progression steps")
        return out

    @staticmethod
    def _step_dict(s: ProgressionStep, current: bool) -> dict:
        return {"id": s.id, "exercise": s.exercise, "kind": s.kind, "change": s.change, "text": s.text,
                "source": s.source, "basis": s.basis, "status": s.status, "created_at": utc(s.created_at),
                "decided_at": utc(s.decided_at) if s.decided_at else None, "note": s.note, "result": s.result,
                "prescription_id": s.prescription_id, "current": bool(current)}

    def _open_step(self, db, actor: Actor, step_id: int) -> ProgressionStep:
        self._require(actor, "therapist")
        step = db.get(ProgressionStep, step_id)
        try:
            if step is None:
                raise AccessDenied("missing")
            self._patient(db, actor, step.patient_id)
        except AccessDenied:
            raise AccessDenied(f"no access to step {step_id}") from None
        if step.status != "suggested":
            raise FormcheckError(f"step {step_id} was already {step.status}")
        return step

    def accept_step(self, actor: Actor, step_id: int, note: str = "") -> list[int]:
        """The therapist agrees: the prescription moves on (a new one replaces it: more reps, the next balance
        variant), or the exercises to add are prescribed at their article dose. Returns the new prescriptions."""
        with self._db.begin() as db:
            step = self._open_step(db, actor, step_id)
            old = db.get(Prescription, step.prescription_id)
            if not old.active:
                raise FormcheckError(f"step {step_id} is out of date: the prescription changed since")
            made = []
            if step.kind in ("reps", "variant"):
                dose = self._dose_of(old)
                if step.kind == "reps":
                    dose = dosing.with_changes(dose, reps=int(step.change["reps"]))
                variant = step.change["variant"] if step.kind == "variant" else old.variant
                made.append(self._prescribe(db, actor, old.patient_id, old.exercise, dose, dict(old.settings or {}),
                                            variant, old.progress_after))
            elif step.kind == "add":
                for exercise in step.change["add"]:
                    current = db.scalar(select(Prescription.id).where(
                        Prescription.patient_id == old.patient_id, Prescription.exercise == exercise,
                        Prescription.active))
                    if current is None:
                        made.append(self._prescribe(db, actor, old.patient_id, exercise, dosing.article_dose(exercise),
                                                    {}, dosing.default_variant(exercise), old.progress_after))
            else:
                raise FormcheckError(f"unknown step kind '{step.kind}'")
            step.status, step.decided_by, step.decided_at = "accepted", actor.id, self._now()
            step.note, step.result = note.strip(), made
            return made

    def decline_step(self, actor: Actor, step_id: int, note: str = "") -> None:
        """The therapist says not yet: the step is suggested again only after as many new sessions at target."""
        with self._db.begin() as db:
            step = self._open_step(db, actor, step_id)
            step.status, step.decided_by, step.decided_at, step.note = "declined", actor.id, self._now(), note.strip()

    def export_patient(self, actor: Actor, patient_id: int) -> dict:
        """Everything stored about a patient (no landmark blobs or video), as JSON-ready data."""
        sessions = [{**s, "patient_id": patient_id, "notes": self.notes(actor, s["id"])}
                    for s in self.sessions(actor, patient_id)]
        self._log_read(actor, patient_id, "export")
        screens = [{k: v for k, v in s.items() if k != "verdict"} for s in self.screens(actor, patient_id)]
        return {"patient_id": patient_id, "prescriptions": self.prescriptions(actor, patient_id), "sessions": sessions,
                "screens": screens, "stops": self.stops(actor, patient_id), "steps": self.steps(actor, patient_id),
                "acknowledged_flags": self.acknowledged_flags(actor, patient_id),
                "access_log": self.access_log(actor, patient_id)}


def landmarks_blob(series) -> bytes:
    """A PoseSeries as compressed .npz bytes (what a session stores instead of video)."""
    buffer = io.BytesIO()
    series.save(buffer)
    return buffer.getvalue()
