"""The live workout: the camera with its overlay beside a large counter, the set, the cue and the rest timer.

Two ways to find the pose, one page (`live_section` chooses, FORMCHECK_LIVE_POSE = server | browser | auto):
- in the patient's browser (ui/live_browser.py): the model runs there and only landmarks reach the server,
  whose checkers judge them (formcheck/web); offered only where serve.py's Content-Security-Policy is in force;
- on the server (`server_section`, the fallback): live video goes browser → server → browser over WebRTC
  (streamlit-webrtc); each browser session gets its own coach (formcheck/coach_process.py). By default no
  STUN/TURN server is used (same machine or LAN); set FORMCHECK_ICE_SERVERS to a JSON list of ICE servers (e.g. a
  TURN server) for patients on other networks.
Either way a coach's `Workout` (formcheck/workout.py) counts the sets: this module only lays out what its
snapshots say.
"""

from __future__ import annotations

import logging
import os

import streamlit as st

from formcheck import safety
from formcheck.exercises import CATALOGUE
from formcheck.exercises.rules import REFUSAL_CUES
from formcheck.workout import COUNTDOWN, REST, SET, WorkoutPlan, set_rows, start_status
from ui import page_actions
from ui.common import clinic, offer_save, show_tables
from ui.state import LiveSummary, W, chosen_variant, page_state

log = logging.getLogger(__name__)

POSE_PATHS = ("server", "browser", "auto")
LIVE_POSE = os.environ.get("FORMCHECK_LIVE_POSE", "auto").strip().lower() or "auto"  # read once, at import


@st.cache_data(show_spinner=False, max_entries=32)
def demo_clip(exercise: str) -> bytes | None:
    """The exercise's looping stick-figure demo, an animated GIF (drawn once per server, formcheck/replay.py)."""
    from formcheck.replay import demo_gif

    return demo_gif(exercise)


def how_to(exercise: str, plan: WorkoutPlan) -> None:
    """Before START: the steps (from the exercise's spec) and the looping skeleton demo of the movement."""
    spec = CATALOGUE[exercise]
    st.markdown("**How to do it**")
    steps = list(spec.steps) or [s for s in (spec.position_cue, f"Camera: {spec.camera}") if s]
    st.markdown("\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1)))
    clip = demo_clip(exercise)
    if clip is not None:
        with st.container(key="how-to-demo"):
            st.image(clip, width="stretch", caption="A stick figure drawn from a recorded example of the movement.")
    st.caption(f"Your workout: {plan.describe()}. After START, a {plan.countdown_s:.0f}-s countdown gives you "
               "time to get into position; each set ends by itself, the next one starts after the rest.")
    with st.expander("Before you start: warm-up, breathing, easing the load on your knee"):
        st.markdown("\n".join(f"- {advice}" for advice in safety.advice_before(exercise)))


def status(coach, exercise: str, plan: WorkoutPlan, on: bool, voice: bool) -> None:
    """The counter (this set's reps or hold, never past its target), the set, what comes next (countdown,
    rest), the cue; refreshed every second while the camera is on."""
    spec = CATALOGUE[exercise]
    from formcheck.live import FEW_FRAMES_CUE, FEW_FRAMES_FPS, SET_LIMIT_CUE

    @st.fragment(run_every=1.0 if on else None)
    def show() -> None:
        s = page_state()
        snap = coach.snapshot()
        w = snap.workout or start_status(plan)
        with st.container(key="workout-counter"):
            st.metric("Reps" if spec.kind == "reps" else "Hold", w.counter)
        with st.container(key="workout-set"):
            st.metric("Set", w.set_text)
        if on and snap.frames and w.message:
            with st.container(key="workout-phase"):
                st.markdown(("⏱ " if w.phase in (COUNTDOWN, REST) else "✓ ") + w.message)
        if snap.limit_reached:
            st.info(SET_LIMIT_CUE)
        elif snap.frames and not snap.scoring and w.phase in (COUNTDOWN, SET):
            st.warning(f"Not scoring: {REFUSAL_CUES.get(snap.refusal) or snap.cue or 'get into position'}")
        if snap.cue:
            with st.container(key="workout-cue"):
                st.markdown(f"### {snap.cue}")
        if on:
            with st.container(key="workout-extra", horizontal=True):
                if spec.kind == "hold":
                    st.metric("Best hold", f"{snap.best_hold_s:.0f} s")
                st.metric("Frames/s", f"{snap.fps:.0f}")
            if snap.frames > 1 and snap.fps < FEW_FRAMES_FPS and w.phase == SET:
                st.info(FEW_FRAMES_CUE)
        if voice and snap.spoken and snap.spoken != s.spoken:
            s.spoken = snap.spoken
            page_actions.say(snap.spoken[1], snap.spoken[0])

    show()


def summary(result: LiveSummary) -> None:
    """After STOP: the table of all sets, then every rep or hold the camera saw, and saving the session."""
    from formcheck.report import live_report

    if result.stopped:
        st.error("**You stopped the set.** Stop this exercise for today and consult a professional (your "
                 "physiotherapist or doctor).\n\n" + "\n\n".join(result.stopped))
    st.subheader("Your sets")
    if result.sets:
        st.table([{k: f"{v:.1f}" if isinstance(v, float) else v for k, v in row.items()} for row in result.sets],
                 hide_index=True)
    analysis = result.analysis
    if analysis is None:
        st.info("No picture reached the coach, so there is nothing to show. Press START to begin again.")
        return
    found = analysis.result
    st.write(f"The camera saw {len(found.reps)} reps and {len(found.holds)} holds in all (rests included), "
             f"{len({f.code for f in found.faults})} kinds of fault.")
    with st.expander("Every rep and hold the camera saw"):
        show_tables(analysis)
    offer_save(analysis, live_report(analysis, result.sets, landmarks=result.landmarks), "live",
               variant=result.variant, stop_id=result.stop_id)


def finish_workout(coach, exercise: str, plan: WorkoutPlan, landmarks: dict | None = None) -> LiveSummary:
    """The end of a workout (STOP, or the stop button): the coach's analysis and the table of sets; `landmarks`:
    where they came from, when not from this server's own model."""
    from formcheck.coach_process import CoachGone

    snap = coach.snapshot()
    try:
        analysis = coach.finish()
    except CoachGone as exc:
        analysis = None
        st.error(f"This workout could not be summarised: {exc}. Press START to begin a new one.")
    records = snap.workout.records if snap.workout is not None else ()
    return LiveSummary(analysis, set_rows(records, plan, analysis), variant=chosen_variant(exercise),
                       landmarks=landmarks)


def stop_button() -> bool:
    """While the workout runs: the large "Stop — tingling, numbness or sharp pain"."""
    with st.container(key="workout-stop"):
        return st.button(safety.STOP_BUTTON, key=W.STOP, type="primary", icon=":material/front_hand:",
                         width="stretch")


def stop_for_symptom(coach, exercise: str, plan: WorkoutPlan, landmarks: dict | None = None) -> None:
    """The stop button: the symptom recorded first (a signed-in patient's with the clinic, which flags their
    therapist; a guest's in this browser session), then the set ends as at STOP; the exercise is off for today,
    so the page runs again without it (its camera goes with it)."""
    s = page_state()
    actor = s.actor
    stop_id = None
    if actor is not None and actor.role == "patient":
        stop_id = clinic().stop_during_set(actor, exercise)
    else:
        s.guest_stops.append(exercise)
    result = finish_workout(coach, exercise, plan, landmarks)
    result.stop_id, result.stopped = stop_id, safety.stop_during_set(exercise).advice
    s.summary, s.summary_shown, s.was_playing = result, False, False
    s.coach = s.coach_for = None
    st.rerun()


def live_place() -> bool:
    """This browser session's place among the server's live coaches (formcheck.limits.LIVE, ~300 MB each): taken
    with its first coach, kept while it has one (ui/review.py's end_unused_coach gives it back)."""
    from formcheck.limits import LIVE, Busy

    s = page_state()
    if s.live_slot is None or not s.live_slot.held:
        try:
            s.live_slot = LIVE.take()
        except Busy as exc:
            st.warning(f"{exc} A recorded video can be reviewed meanwhile.")
            return False
    return True


def pose_path() -> tuple[str, str | None]:
    """Where this page finds the pose, "browser" or "server", and why not in the browser when the page should
    say so. The browser only under serve.py's policy (formcheck.web.csp.installed: without it, the model
    library's usage log would leave for another host) and with its runtime prepared; with `auto`, not after this
    browser failed the capability or speed check."""
    from formcheck import models
    from formcheck.web import csp

    setting = LIVE_POSE
    if setting not in POSE_PATHS:
        log.warning("FORMCHECK_LIVE_POSE=%r is none of %s: auto", setting, ", ".join(POSE_PATHS))
        setting = "auto"
    if setting == "server":
        return "server", None
    forced = setting == "browser"
    if not csp.installed():
        return "server", ("The pose is found on the server: this server runs without formcheck's page policy "
                          "(start it with serve.py)." if forced else None)
    if not (models.web_runtime_dir() / "vision_bundle.mjs").exists():
        return "server", ("The pose is found on the server: the browser's pose runtime is not prepared "
                          "(formcheck models --browser)." if forced else None)
    refused = page_state().pose_refused
    if refused and not forced:
        return "server", f"Your browser cannot run the pose model ({refused}), so the server finds your pose."
    return "browser", None


def live_section(exercise: str, params: dict | None, plan: WorkoutPlan) -> bool:
    """The camera and the workout, with the pose found where `pose_path` says; returns whether the workout view
    is on (the camera started)."""
    path, why = pose_path()
    if path == "browser":
        from ui.live_browser import browser_section

        return browser_section(exercise, params, plan)
    if why:
        st.info(why)
    return server_section(exercise, params, plan)


def server_section(exercise: str, params: dict | None, plan: WorkoutPlan) -> bool:
    """The camera over WebRTC and the workout, the pose found on the server; returns whether the workout view is
    on (the camera started)."""
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    from formcheck.coach_process import CoachProcess
    from formcheck.webrtc import hold_up_under_load, rtc_configuration

    if not live_place():
        return False
    hold_up_under_load()  # video on its own loop, late frames dropped, slow consent answers not fatal
    s = page_state()
    wanted = (exercise, repr(params), plan)

    def new_coach() -> CoachProcess:
        """A coach for the next workout, its process started now, so that START finds it ready."""
        s.coach, s.coach_for = CoachProcess(exercise, params, plan=plan), wanted
        s.coach.start()
        return s.coach

    if s.coach is not None and s.coach_for != wanted and not s.coach.frames_sent:
        s.coach.finish()  # started ahead for another exercise and never used: its process ends now
    # The frame callback and the status read `coach` when they run: a new coach assigned to it below is theirs.
    coach: CoachProcess = s.coach if s.coach_for == wanted else new_coach()

    def callback(frame):
        return coach.process_video_frame(frame)

    top = st.container()  # the last workout's table of sets (after STOP), above the camera
    camera, side = st.columns([3, 2], gap="medium")
    with camera:
        ctx = webrtc_streamer(key=f"live-{exercise}", mode=WebRtcMode.SENDRECV, rtc_configuration=rtc_configuration(),
                              media_stream_constraints={"video": {"width": 640, "height": 480}, "audio": False},
                              video_frame_callback=callback, async_processing=True)
    playing = bool(ctx.state.playing)
    on = playing or bool(ctx.state.signalling)
    if on and not s.was_playing:
        s.summary = None  # a new workout: the last one's table goes
    if s.was_playing and not playing:  # the user pressed STOP: the workout's summary
        s.summary, s.summary_shown = finish_workout(coach, exercise, plan), False
        coach = new_coach()
    s.was_playing = playing
    with side:
        if not on:
            how_to(exercise, plan)
        status(coach, exercise, plan, on, st.session_state.get(W.VOICE, True))
        if on and stop_button():
            stop_for_symptom(coach, exercise, plan)
        st.toggle("Speak the cues", value=True, key=W.VOICE, persist_state="page")
    after_workout_view(top, on)
    return on


def after_workout_view(top, on: bool) -> None:
    """Once the workout view comes up, the page's top (where the camera is, even when START was pressed further
    down, on a phone); after STOP, the last workout's summary in `top`, scrolled to once."""
    s = page_state()
    if on and not s.scrolled:
        page_actions.scroll_top()
    s.scrolled = on
    if s.summary is not None and not on:
        with top, st.container(key="workout-summary"):
            summary(s.summary)
        if not s.summary_shown:  # once, right after STOP: the table, not the page's top
            page_actions.scroll_to(".st-key-workout-summary")
            s.summary_shown = True
