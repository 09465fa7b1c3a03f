"""The live page's camera loop on its own, for benchmarks/bench_live.py: the same streamlit-webrtc
component, transport adjustments and 640×480 constraints as app.py, with either formcheck's coach (in its
own process, as on the page) in the frame callback (FORMCHECK_BENCH_CALLBACK=pose) or a callback that hands
the frame straight back (=trivial)."""

import os

import av
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from formcheck.webrtc import hold_up_under_load

hold_up_under_load()
MODE = os.environ.get("FORMCHECK_BENCH_CALLBACK", "pose")
if MODE == "pose":
    from formcheck.coach_process import CoachProcess

    if "coach" not in st.session_state:
        st.session_state.coach = CoachProcess("straight_leg_raise")
        st.session_state.coach.start()  # as the page does: loaded by START
    callback = st.session_state.coach.process_video_frame  # the app's frame callback
else:
    def callback(frame: av.VideoFrame) -> av.VideoFrame:
        return frame

st.write(f"callback: {MODE}")
webrtc_streamer(key="bench", mode=WebRtcMode.SENDRECV, rtc_configuration={"iceServers": []},
                media_stream_constraints={"video": {"width": 640, "height": 480}, "audio": False},
                video_frame_callback=callback, async_processing=True)
