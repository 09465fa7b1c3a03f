"""The live workout with the pose model in the patient's browser: the video never leaves the device.

One Streamlit component (st.components.v2) holds the camera, the model (in a worker), the overlay, the counter,
the set, the cue and the spoken cues: formcheck/web/static/live.js. Its landmarks go over the landmark socket
(formcheck/web/channel.py) to a `LandmarkCoach` whose token this page mints at START; the socket's replies, not
this script, keep the counter going, so the page reruns only on the component's rare events: "start", "stop",
"token" (its token expired: a new one for the same coach) and "capability" (the browser cannot run the model, or
too slowly: the page falls back to the server's pose, ui/live.py). The red stop button, STOP's table of sets and
saving work as on the server's path, and the stored report says where the landmarks came from.
"""

from __future__ import annotations

import os

import streamlit as st

from formcheck import models
from formcheck.exercises import CATALOGUE
from formcheck.exercises.rules import REFUSAL_CUES
from formcheck.live import SET_LIMIT_CUE
from formcheck.web.routes import ASSETS_PATH, DELEGATE, LIVE_PATH, REGISTRY, STATIC_DIR, STATIC_PATH, model_url, \
    provenance
from formcheck.workout import WorkoutPlan, start_status
from ui.live import after_workout_view, finish_workout, how_to, stop_button, stop_for_symptom
from ui.state import page_state

# Fewer model frames a second than this after the warm-up: the server finds the pose instead (a shared test
# machine may lower it: FORMCHECK_BROWSER_MIN_FPS)
MIN_FPS = float(os.environ.get("FORMCHECK_BROWSER_MIN_FPS", "8"))
WARMUP_S = 3.0  # the model's first seconds are slow (compiling, caches): not counted

# The component's own module is inline (a blob: URL): it only imports live.js from this origin.
LOADER = """export default async function (component) {
  const {mount} = await import(new URL(component.data.assets.live, location.href).href);
  return mount(component);
}"""
live_pose = st.components.v2.component("formcheck_live_pose", js=LOADER, css=(STATIC_DIR / "live.css").read_text())


def session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return get_script_run_ctx().session_id


def component_data(exercise: str, plan: WorkoutPlan, token: str | None) -> dict:
    spec = CATALOGUE[exercise]
    ahead = start_status(plan)
    return {
        "token": token,
        "exercise": {"name": exercise, "title": spec.title, "kind": plan.kind, "target": plan.target,
                     "sets": plan.sets, "counter": ahead.counter, "set": ahead.set_text},
        "needs_mask": spec.needs_mask,
        "assets": {"live": f"{STATIC_PATH}/live.js", "worker": f"{STATIC_PATH}/pose_worker.js",
                   "bundle": f"{ASSETS_PATH}/vision_bundle.mjs", "wasm": f"{ASSETS_PATH}/wasm",
                   "model": model_url(models.DEFAULT_VARIANT)},
        "delegate": DELEGATE,
        "socket": LIVE_PATH,
        "speed": {"min_fps": MIN_FPS, "warmup_s": WARMUP_S},
        "texts": {"refusals": REFUSAL_CUES, "limit": SET_LIMIT_CUE},
        "debug": bool(os.environ.get("FORMCHECK_DEBUG")),
    }


def end_browser_set() -> None:
    """This session's browser set ends: its token revoked (its socket closes), its coach left to whoever holds it."""
    s = page_state()
    if s.grant is not None:
        REGISTRY.revoke(s.grant.token)
    s.grant, s.grant_for, s.browser_on = None, None, False


def landmarks_of(grant) -> dict:
    """The provenance stored with the set (formcheck.web.routes.provenance)."""
    stats = REGISTRY.stats(grant.token)
    dropped = sum(stats.dropped.values()) if stats else 0
    return provenance(models.DEFAULT_VARIANT, grant.coach.snapshot().fps, dropped)


def on_event(event: dict, exercise: str, params: dict | None, plan: WorkoutPlan) -> None:
    """The component's rare events; the page runs again after each."""
    s = page_state()
    kind = event.get("kind")
    if kind == "start" and not s.browser_on:
        actor = s.actor.id if s.actor is not None else None
        s.grant = REGISTRY.mint(session_id(), actor, exercise, params, plan)
        s.grant_for, s.browser_on, s.summary = (exercise, repr(params), plan), True, None
    elif kind == "stop" and s.browser_on:
        grant = s.grant
        landmarks = landmarks_of(grant)
        end_browser_set()
        s.summary, s.summary_shown = finish_workout(grant.coach, exercise, plan, landmarks), False
    elif kind == "token" and s.browser_on and REGISTRY.get(s.grant.token) is None:
        s.grant = REGISTRY.reissue(s.grant)  # the same coach: the set goes on
    elif kind == "capability":
        s.pose_refused = str(event.get("reason") or "no reason given")[:200]
        end_browser_set()
    st.rerun()


def browser_section(exercise: str, params: dict | None, plan: WorkoutPlan) -> bool:
    """The component, then the stop button while the set runs (before it: how to do the exercise); returns
    whether the workout view is on."""
    s = page_state()
    if s.grant is not None and s.grant_for != (exercise, repr(params), plan):
        end_browser_set()  # made for another exercise or prescription
    on = s.browser_on
    top = st.container()  # the last workout's table of sets (after STOP), above the camera
    if s.pose_refused:  # FORMCHECK_LIVE_POSE=browser: no fallback, but the reason
        st.error(f"Your browser cannot run the pose model ({s.pose_refused}). A recorded video can be reviewed "
                 "instead.")
        after_workout_view(top, False)
        return False
    data = component_data(exercise, plan, s.grant.token if on else None)
    with st.container(key="live-pose"):
        result = live_pose(key=f"live-pose-{exercise}", data=data, on_event_change=lambda: None)
    if isinstance(result.event, dict):
        on_event(result.event, exercise, params, plan)
    if on:
        if stop_button():
            grant = s.grant
            landmarks = landmarks_of(grant)
            end_browser_set()
            stop_for_symptom(grant.coach, exercise, plan, landmarks)
    else:
        how_to(exercise, plan)
    after_workout_view(top, on)
    return on
