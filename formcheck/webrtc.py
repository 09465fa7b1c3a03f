"""The live page's video transport (aiortc and aioice under streamlit-webrtc), made to hold up on a busy server.

Behaviours of the libraries seen with four live sessions and two uploads on two cores
(tests/test_several_patients.py), adjusted here process-wide and idempotently, by `hold_up_under_load`:

- Streamlit stalls the video. streamlit-webrtc runs every peer connection on Streamlit's event loop, which
  also serves the pages and waits for each status refresh's script thread to start. asyncio reads one
  datagram per socket per turn of its loop, so a slow loop lets the kernel queue the cameras' packets:
  ~450 KB per socket (seconds of video) and 15–40 s consent round trips were measured.
  `media_on_own_loop`: the peer connections get an event loop of their own, on a thread that does nothing
  else and runs at a raised CPU priority where the server may raise it (`MEDIA_NICE`).
- Late frames queue. aiortc decodes every camera frame into a queue, streamlit-webrtc's relay copies each
  into another unbounded one, and its processing track pulls one per frame it sends back, so when the
  server falls behind the camera the patient sees their movement later and later; and each frame sent
  back is encoded, even when it repeats the last drawn one. `newest_frames_only` and
  `processed_frames_only`: the camera's frames are drained as they come, the coach always gets the newest,
  and a frame is encoded and sent only when the coach has drawn a new one.
- Late frames wait behind a lost packet. aiortc's jitter buffer hands a frame to the decoder only when the
  one after it has started, one frame per incoming packet, and waits for a lost packet until 512 packets
  came after it. After a packet lost on an overflowing socket is sent again, the frames that piled up
  behind it are released one per new packet, so the backlog never drains (seen up to 187 frames, 12 s) and
  each loss adds to it. `draining_jitter_buffer`: every complete frame is decoded at once, and a lost
  packet holds the video back at most `MAX_HOLD_S`; then the frames it blocks are dropped and a key frame
  is asked for, as aiortc itself does when its buffer overflows.
- Slow answers end the session. aioice checks every ~5 s that the browser still consents to receive
  (RFC 7675) and closes the connection after 6 checks in a row got no answer within 0.5 s, a single try
  each. A loaded phone or server answers in 0.5–1.5 s (Chrome measured those round trips), so every live
  session was cut after about a minute. `patient_consent_checks`: each check is retried (0.5, 1, 2, 4 s), so
  only a browser silent for ~75 s loses its session, which still frees a vanished one's coach.

The coaching itself runs outside this process (formcheck/coach_process.py).
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
from fractions import Fraction

from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket
from aiortc.utils import uint16_add

_PATCHED = "_formcheck_patched"
MAX_HOLD_S = 0.5  # a lost packet holds the video back at most this much camera time
VIDEO_CLOCK_HZ = 90_000  # RTP timestamps of video count at 90 kHz (RFC 3551)
SEND_CLOCK = Fraction(1, VIDEO_CLOCK_HZ)
MEDIA_NICE = -10  # the media loop's CPU priority, where the server may raise it
CONSENT_RETRANSMISSIONS = 3  # a consent check waits 0.5 + 1 + 2 + 4 = 7.5 s for an answer


def newest_frames_only() -> None:
    """Make aiortc's incoming video tracks hand out only their newest decoded frame."""
    from aiortc.mediastreams import MediaStreamError
    from aiortc.rtcrtpreceiver import RemoteStreamTrack

    if getattr(RemoteStreamTrack.recv, _PATCHED, False):
        return

    async def recv(self):
        """The newest decoded frame: wait for one, then skip to the last one already waiting."""
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._queue.get()
        while frame is not None and self.kind == "video" and not self._queue.empty():
            frame = self._queue.get_nowait()  # a newer frame is waiting: this one is late, drop it
        if frame is None:  # the decoder's end-of-track mark
            self.stop()
            raise MediaStreamError
        return frame

    setattr(recv, _PATCHED, True)
    RemoteStreamTrack.recv = recv


class DrainingJitterBuffer(JitterBuffer):
    """aiortc's video jitter buffer, releasing every complete frame at once and giving up on a lost packet
    once the video behind it is `MAX_HOLD_S` old. `add` returns the oldest complete frame as before; the
    frames completed with it hang on it as `later`, for `FrameRunQueue` to pass on in order."""

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        ask_key_frame, frame = super().add(packet)
        if frame is None and self._held_too_long(packet):
            self._drop_through_hole()
            ask_key_frame, frame = True, self._remove_frame(packet.sequence_number)
        if frame is not None:
            frame.rtp_timestamp, frame.later = frame.timestamp, []  # the receiver maps .timestamp in place
            while (more := self._remove_frame(packet.sequence_number)) is not None:
                frame.later.append(more)
        return ask_key_frame, frame

    def _packet(self, offset: int) -> RtpPacket | None:
        return self._packets[uint16_add(self._origin, offset) % self._capacity]

    def _held_too_long(self, newest: RtpPacket) -> bool:
        """A packet is missing, packets after it arrived, and the oldest one waiting is MAX_HOLD_S older than
        the newest."""
        span = uint16_add(newest.sequence_number, -self._origin)
        if span >= self._capacity:
            return False
        waiting = [self._packet(i) for i in range(span + 1)]
        if None not in waiting:
            return False  # no hole: the frame at the front is still arriving
        oldest = next(p for p in waiting if p is not None)
        return (newest.timestamp - oldest.timestamp) % (1 << 32) > MAX_HOLD_S * VIDEO_CLOCK_HZ

    def _drop_through_hole(self) -> None:
        """Drop the incomplete frame before the first hole, the hole, and the frame after it (it may have lost
        its start), so the buffer starts at the next whole frame."""
        while self._packet(0) is not None:
            self.remove(1)
        while self._packet(0) is None:
            self.remove(1)
        first = self._packet(0).timestamp
        while (p := self._packet(0)) is not None and p.timestamp == first:
            self.remove(1)


class FrameRunQueue(queue.Queue):
    """The receiver's queue to its decoder thread: a frame from `DrainingJitterBuffer` goes in followed by the
    frames completed with it, their timestamps mapped as the receiver mapped the first one's."""

    def put(self, item, block=True, timeout=None):
        super().put(item, block, timeout)
        if item is None:
            return
        codec, frame = item
        for more in getattr(frame, "later", ()):
            more.timestamp = frame.timestamp + (more.timestamp - frame.rtp_timestamp) % (1 << 32)
            super().put((codec, more), block, timeout)


def processed_frames_only() -> None:
    """Make streamlit-webrtc's processed video track send a frame only when the coach has drawn a new one."""
    from aiortc.mediastreams import MediaStreamError
    from streamlit_webrtc.process import AsyncVideoProcessTrack

    if getattr(AsyncVideoProcessTrack.recv, _PATCHED, False):
        return

    async def recv(self):
        """Feed camera frames to the coach's thread until it has a new picture (a frame callback that returns
        None has none for that camera frame); send that one, stamped with the
        time it is sent (its camera frame's time is late by however long the coach took, which varies; the
        browser paces playback by the stamps)."""
        self._start()
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            with self._worker_exception_lock:
                if self._worker_exception:
                    raise self._worker_exception
            frame = await self.track.recv()
            self._in_queue.put(frame)
            with self._out_lock:
                drawn = self._out_deque.popleft() if self._out_deque else None
            if drawn is not None:
                drawn.pts, drawn.time_base = round(time.monotonic() * VIDEO_CLOCK_HZ), SEND_CLOCK
                return drawn

    setattr(recv, _PATCHED, True)
    AsyncVideoProcessTrack.recv = recv


def draining_jitter_buffer() -> None:
    """Give aiortc's video receivers a `DrainingJitterBuffer` and the `FrameRunQueue` that passes its frames on."""
    from aiortc.rtcrtpreceiver import RTCRtpReceiver

    original_init = RTCRtpReceiver.__init__
    if getattr(original_init, _PATCHED, False):
        return

    def __init__(self, kind, transport):
        original_init(self, kind, transport)
        if kind == "video":
            self._RTCRtpReceiver__jitter_buffer = DrainingJitterBuffer(capacity=512, is_video=True)
            self._RTCRtpReceiver__decoder_queue = FrameRunQueue()

    setattr(__init__, _PATCHED, True)
    RTCRtpReceiver.__init__ = __init__


_media_loop: asyncio.AbstractEventLoop | None = None
_media_loop_lock = threading.Lock()


def media_loop() -> asyncio.AbstractEventLoop:
    """The process's one event loop for live video, running on its own daemon thread."""
    global _media_loop
    with _media_loop_lock:
        if _media_loop is None:
            _media_loop = asyncio.new_event_loop()
            threading.Thread(target=_run_media_loop, args=(_media_loop,), name="formcheck-media-loop",
                             daemon=True).start()
        return _media_loop


def _run_media_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Run the loop at a higher CPU priority where the server may raise one (root or CAP_SYS_NICE).

    asyncio reads one datagram per socket per turn of its loop, so a loop thread that waits its turn for a
    core among busy ones falls behind the cameras and the kernel queues their packets instead: measured with
    four live pages and two uploads, ~450 KB (seconds of video) per socket, 30–40 s consent round trips. At
    nice MEDIA_NICE the queues stayed under 15 KB and the round trips under 0.3 s. Without the privilege the
    loop runs at the server's priority. Threads it starts inherit the priority (the decoders, the encoders,
    the hand-off of frames to the coach: short work per frame); the coach's own process sets its back."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), MEDIA_NICE)
    except OSError:
        pass
    loop.run_forever()


def media_on_own_loop() -> None:
    """Point streamlit-webrtc at `media_loop` instead of Streamlit's event loop, in every module that imported
    its loop getter (before the first peer connection, whose media relay is made on that loop)."""
    import streamlit_webrtc.eventloop as eventloop

    if getattr(eventloop.get_global_event_loop, _PATCHED, False):
        return

    def get_global_event_loop() -> asyncio.AbstractEventLoop:
        return media_loop()

    setattr(get_global_event_loop, _PATCHED, True)
    from streamlit_webrtc import factory, mix, native_webrtc, relay, webrtc

    for module in (eventloop, factory, mix, native_webrtc, relay, webrtc):
        module.get_global_event_loop = get_global_event_loop


def patient_consent_checks() -> None:
    """Give aioice's consent checks (its only single-try STUN requests) retransmissions."""
    from aioice.ice import StunProtocol

    single_try = StunProtocol.request
    if getattr(single_try, _PATCHED, False):
        return

    async def request(self, request, addr, integrity_key=None, retransmissions=None):
        if retransmissions == 0:
            retransmissions = CONSENT_RETRANSMISSIONS
        return await single_try(self, request, addr, integrity_key=integrity_key, retransmissions=retransmissions)

    setattr(request, _PATCHED, True)
    StunProtocol.request = request


def hold_up_under_load() -> None:
    media_on_own_loop()
    newest_frames_only()
    processed_frames_only()
    draining_jitter_buffer()
    patient_consent_checks()


def rtc_configuration() -> dict:
    """The ICE servers the live page's peer connections use: FORMCHECK_ICE_SERVERS (a JSON list, e.g. a TURN
    server for patients on other networks), or none at all (one machine or a LAN). Never `{}`, which would turn
    streamlit-webrtc's public STUN defaults back on."""
    import json

    servers = os.environ.get("FORMCHECK_ICE_SERVERS")
    return {"iceServers": json.loads(servers) if servers else []}
