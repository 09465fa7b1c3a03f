"""An exercise as the catalogue describes it: camera, faults with their cues, defaults a prescription may override."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

@dataclass(frozen=True)
class FaultSpec:
    code: str
    cue: str  # what the patient hears (catalogue text)
    min_duration_s: float = 0.25  # shorter flickers are landmark noise, not a fault


@dataclass(frozen=True)
class ExerciseSpec:
    name: str
    title: str
    kind: str  # "reps" | "hold"
    views: tuple[str, ...]  # camera views the checker can judge
    camera: str  # how to set up the camera
    measures: str
    faults: tuple[FaultSpec, ...]
    defaults: dict[str, Any]  # sets, reps, targets, thresholds (a prescription may override)
    source: str  # where in the catalogue / seeds each rule comes from
    needs_mask: bool = False  # the checker reads the back's silhouette (segmentation masks cost time)
    position_cue: str | None = None  # what to say while the person is not yet in the position (holds)
    steps: tuple[str, ...] = ()  # how to do it, step by step (shown before a live set)

    def fault(self, code: str) -> FaultSpec:
        return next(f for f in self.faults if f.code == code)

    def target_text(self, params: dict[str, Any]) -> str:
        """" / 10" or " / 30 s": what the counter or timer is working towards, from the settings in force."""
        if self.kind == "reps":
            return f" / {params['reps']}" if params.get("reps") else ""
        target = params.get("hold_s") or params.get("target_hold_s")
        return f" / {target:.0f} s" if target else ""

    def params(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        unknown = set(overrides or {}) - set(self.defaults)
        if unknown:
            raise ValueError(f"unknown setting(s) for {self.name}: {', '.join(sorted(unknown))}")
        return {**self.defaults, **(overrides or {})}
