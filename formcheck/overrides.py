"""Exercise settings given as text, NAME=VALUE: the CLI's `--set` and the therapist's prescription form."""

from __future__ import annotations

from .errors import FormcheckError


def parse_overrides(pairs: list[str] | str, what: str = "--set") -> dict[str, int | float]:
    """NAME=VALUE pairs (a list, or one comma-separated string) as settings: whole numbers stay ints.
    A malformed pair or a value that is not a number is a FormcheckError naming it (`what` says where from)."""
    if isinstance(pairs, str):
        pairs = [p for p in pairs.split(",") if p.strip()]
    out: dict[str, int | float] = {}
    for pair in pairs:
        key, sep, value = (part.strip() for part in pair.partition("="))
        if not sep or not key:
            raise FormcheckError(f"{what} takes NAME=VALUE, got '{pair.strip()}'")
        try:
            out[key] = int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            raise FormcheckError(f"{what} {key}: '{value}' is not a number") from None
    return out
