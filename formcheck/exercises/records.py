"""What a checker emits: reps, holds, fault and refusal episodes, and each frame's state for the overlay."""

from __future__ import annotations

from dataclasses import dataclass, field

@dataclass
class Rep:
    index: int
    start_s: float
    peak_s: float
    end_s: float
    side: str | None
    metrics: dict[str, float] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)


@dataclass
class Hold:
    start_s: float
    end_s: float
    side: str | None
    correct_s: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Episode:
    """A fault or refusal that lasted from start_s to end_s."""

    code: str
    start_s: float
    end_s: float
    rep: int | None = None


@dataclass(frozen=True, slots=True)
class FrameState:
    """What the live overlay and cue need after each frame."""

    t_s: float
    scoring: bool
    refusal: str | None = None  # why this frame is not scored
    rep_count: int = 0
    hold_s: float = 0.0  # current hold's length so far (0 when not holding)
    holding: bool = False
    cue: str | None = None  # the one thing to fix now
    faults: tuple[str, ...] = ()
    angles: dict[str, float] = field(default_factory=dict)


def tone(scoring: bool, faults) -> str:
    """How a frame is shown: "scoring" (green), "fault" (red) or "not_scoring" (grey); one rule for the overlay
    drawn here and the colours a browser draws from the server's reply."""
    return "not_scoring" if not scoring else "fault" if faults else "scoring"


@dataclass
class CheckResult:
    reps: list[Rep]
    holds: list[Hold]
    faults: list[Episode]
    refused: list[Episode]
    side: str | None
