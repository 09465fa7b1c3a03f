"""Rules every checker applies: refuse rather than guess, the cue for the most important fault, rounding."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from ..kinematics import Kinematics
from .records import FrameState
from .spec import ExerciseSpec

REFUSAL_CUES = {
    "no_person": "Step into the picture",
    "two_people": "Only one person in the picture, please",
    "not_full_body": "Step back so your whole body, feet included, is in view",
    "low_visibility": "Move so the camera sees you clearly (light, nothing in the way)",
    "wrong_view": "Turn side-on to the camera",
}


def refusal_reason(k: Kinematics, views: tuple[str, ...], others_ratio: float = 0.6) -> str | None:
    """Why this frame cannot be judged, or None. The catalogue's rule: refuse rather than guess."""
    if not k.present:
        return "no_person"
    if k.people > 1 and k.others_height >= others_ratio:
        return "two_people"
    if not k.body_in_frame:
        return "not_full_body"
    if not k.body_visible:
        return "low_visibility"
    if k.view not in views:
        return "wrong_view"
    return None


def finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def with_cue(state: FrameState, spec: ExerciseSpec, faults: list[str]) -> FrameState:
    """The first active fault's cue, in the order the spec lists them (most important first)."""
    order = [f.code for f in spec.faults]
    ranked = sorted((f for f in faults if f in order), key=order.index)
    cue = spec.fault(ranked[0]).cue if ranked else state.cue
    return replace(state, faults=tuple(ranked), cue=cue)


def head_curled(k: Kinematics, params: dict[str, Any]) -> bool:
    """The head and upper back curling down towards the legs: the ear far in front of the upper back's line
    (silhouette.py). A neck in line with the back keeps it at ~25–35°, sitting, standing or hinged; a rounded
    reach with the head hanging takes it past `head_curl_max_deg`. Judged only leaning forward (at least
    `curl_lean_min_deg` from vertical): upright, a forward head posture is not a rounded back."""
    return (math.isfinite(k.head_curl_deg) and k.head_curl_deg >= params["head_curl_max_deg"]
            and math.isfinite(k.trunk_incline_deg) and k.trunk_incline_deg >= params["curl_lean_min_deg"])


def rounded_in_photo(k: Kinematics, params: dict[str, Any]) -> bool:
    """With no upright baseline (a still photo), rounding needs two kinds of evidence: the silhouette bowing
    (≥ `photo_bow_min` of the trunk) and the head and upper back curling over (ear–shoulder–hip under
    `photo_neck_max_deg`) — or the head curl over the upper back's line alone. It misses mild roundings
    rather than flag a flat back."""
    bowed = (math.isfinite(k.back_bow) and k.back_bow >= params["photo_bow_min"]
             and math.isfinite(k.neck_deg) and k.neck_deg < params["photo_neck_max_deg"])
    return bowed or head_curled(k, params)


def back_bowed(k: Kinematics, upright_bow: float, params: dict[str, Any]) -> bool:
    """The silhouette bowing: the back's bow beyond its upright bow (which counts at most `upright_bow_cap`;
    unseen, the cap itself, i.e. an absolute criterion)."""
    return (math.isfinite(k.back_bow)
            and k.back_bow - min(upright_bow, params["upright_bow_cap"]) >= params["back_bow_max"])


def rounded_back(k: Kinematics, upright_bow: float, params: dict[str, Any]) -> bool:
    """A held stretch's rounded back: the trunk's silhouette bowing, or the head and upper back curling over."""
    return back_bowed(k, upright_bow, params) or head_curled(k, params)
