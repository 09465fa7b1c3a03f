"""What an account's name and password must be, and the sign-in's moving parts: names normalised, passwords
checked as NIST SP 800-63B asks (length, a list of common passwords, no context words), the throttle's rule,
session tokens. The clinic (`clinic.py`) applies them; nothing here touches the database.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from .errors import FormcheckError

USERNAME_MAX = 80
PASSWORD_MIN = 8  # NIST SP 800-63B: at least 8 when every password is checked against a list, as here
PASSWORD_GOOD = 12  # what the messages suggest
PASSWORD_MAX = 256  # NIST: allow at least 64
USERNAME_CHECKED = 4  # a password may not contain a username this long (a shorter one is in words by chance)
COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common_passwords.txt"
CONTEXT_WORDS = ("formcheck", "physio", "physiotherapy", "therapist", "patient", "clinic", "exercise")


# --- usernames -----------------------------------------------------------------------------------------
def username_shown(username: str) -> str:
    """The name as stored and shown: NFKC, trimmed, inner runs of spaces made one."""
    return " ".join(unicodedata.normalize("NFKC", str(username)).split())


def username_key(username: str) -> str:
    """The name as compared: `username_shown`, case-folded (so "T2", "t2 " and "t2" are one account)."""
    return unicodedata.normalize("NFKC", username_shown(username).casefold())


def check_username(username: str) -> tuple[str, str]:
    """(shown, key) of a new account's name, or a FormcheckError saying what is wrong with it."""
    shown = username_shown(username)
    if not shown:
        raise FormcheckError("a username is needed")
    if len(shown) > USERNAME_MAX or len(username_key(shown)) > USERNAME_MAX:
        raise FormcheckError(f"a username has at most {USERNAME_MAX} characters")
    if any(unicodedata.category(c).startswith("C") for c in shown):
        raise FormcheckError("a username cannot contain control or invisible characters")
    if "#" in shown:
        raise FormcheckError("a username cannot contain '#'")
    return shown, username_key(shown)


# --- passwords ---------------------------------------------------------------------------------------------
def normalize_password(password: str) -> str:
    """NIST SP 800-63B 5.1.1.2: Unicode passwords are normalised (NFKC) before hashing, so the same password typed
    on another keyboard still matches."""
    return unicodedata.normalize("NFKC", password)


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


def _letters(text: str) -> str:
    return "".join(c for c in text if c.isalpha())


def _sequence(text: str) -> bool:
    """'abcdefgh', '87654321', 'aaaaaaaa', 'abababab': one or two characters, or a run up or down the alphabet."""
    if len(set(text)) <= 2:
        return True
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:])}
    return len(steps) == 1 and steps <= {1, -1}


def password_problem(password: str, username: str = "") -> str | None:
    """Why a new password is refused (one sentence for the person choosing it), or None when it is fine."""
    if not isinstance(password, str):
        return "a password is text"
    password = normalize_password(password)
    if not password.strip():
        return "a password cannot be only spaces"
    if len(password) < PASSWORD_MIN:
        return (f"a password needs at least {PASSWORD_MIN} characters ({PASSWORD_GOOD} or more is better: "
                "a few words you will remember)")
    if len(password) > PASSWORD_MAX:
        return f"a password has at most {PASSWORD_MAX} characters"
    folded = password.casefold()
    compact = "".join(folded.split())
    common = common_passwords()
    letters = _letters(folded)
    if folded in common or compact in common or (len(letters) >= 4 and letters in common):
        return "that password is one of the most common ones (attackers try those first): choose another"
    if letters in CONTEXT_WORDS or compact in CONTEXT_WORDS:
        return "a password cannot be just the name of the service or of a role: choose another"
    if _sequence(compact):
        return "a password cannot be one repeated character or a simple sequence: choose another"
    key = username_key(username) if username else ""
    if len(key) >= USERNAME_CHECKED and (key in folded or "".join(key.split()) in compact):
        return "a password cannot contain the username"
    return None


def check_password(password: str, username: str = "") -> str:
    """The password as it will be hashed (normalised), or a FormcheckError saying why it is refused."""
    problem = password_problem(password, username)
    if problem:
        raise FormcheckError(problem)
    return normalize_password(password)


# --- sign-in throttling ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Throttle:
    """After `free` failures in a row the name (or client) is locked for `first_s`, each further failure doubling
    the lock up to `max_s`; `forget_s` after the last failure the count starts again (an account's only with a
    successful sign-in)."""

    free: int
    first_s: float
    max_s: float
    forget_s: float | None

    def lock_for(self, failures: int) -> timedelta | None:
        if failures < self.free:
            return None
        return timedelta(seconds=min(self.max_s, self.first_s * 2 ** min(failures - self.free, 30)))


def _setting(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


# per account name (known or not, so the answers tell nothing about which names exist): 5 free tries, then
# 1 min, 2 min, 4 min ... at most 15 min — a guesser gets about 100 tries a day, the owner waits minutes.
ACCOUNT = Throttle(free=_setting("FORMCHECK_SIGN_IN_TRIES", 5), first_s=60.0, max_s=900.0, forget_s=None)
# per client (the browser's address as the page sees it): 20 failures within an hour, whatever the names
CLIENT = Throttle(free=_setting("FORMCHECK_CLIENT_SIGN_IN_TRIES", 20), first_s=60.0, max_s=3600.0, forget_s=3600.0)


# --- session tokens -----------------------------------------------------------------------------------------------
SESSION_HOURS = _setting("FORMCHECK_SIGN_IN_HOURS", 12)  # a sign-in ends this long after it began
IDLE_MINUTES = _setting("FORMCHECK_SIGN_IN_IDLE_MINUTES", 60)  # ... or this long after its last use
TOKEN_MAX = 200


def new_token() -> str:
    """256 random bits, URL-safe (a cookie value)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the store keeps of a token: its SHA-256 (a random 256-bit token needs no slow hash)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


_CLIENT_CHARS = re.compile(r"[^\w.:\-\[\]/@ ]")


def client_id(client: object) -> str | None:
    """A client as stored: text, at most 120 characters, nothing unprintable."""
    if client is None:
        return None
    text = _CLIENT_CHARS.sub("?", str(client))[:120]
    return text or None
