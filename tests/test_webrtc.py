"""The live transport's adjustments (formcheck/webrtc.py), on the real aiortc and aioice objects, real VP8
video and real UDP sockets on loopback: a late camera frame is dropped rather than queued, a lost camera packet
does not leave the video behind for good, and a consent check answered slowly (as a loaded browser or server
does) is still answered rather than counted as lost."""

import asyncio
import os
import statistics
import threading
import time
from fractions import Fraction

import av
import numpy as np
import pytest
from aioice import stun
from aioice.ice import StunProtocol
from aiortc import RTCCertificate, RTCDtlsTransport, RTCIceGatherer, RTCIceTransport
from aiortc.codecs import get_encoder
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpDecodingParameters, RTCRtpReceiveParameters
from aiortc.rtcrtpreceiver import RemoteStreamTrack, RTCRtpReceiver
from aiortc.rtp import RtpPacket
from streamlit_webrtc.process import AsyncVideoProcessTrack

from conftest import stat_fields
from formcheck.webrtc import MAX_HOLD_S, MEDIA_NICE, VIDEO_CLOCK_HZ, hold_up_under_load, media_loop

hold_up_under_load()


def frame(index: int) -> av.VideoFrame:
    out = av.VideoFrame(16, 16, "yuv420p")
    out.pts, out.time_base = index, Fraction(1, 30)
    return out


def test_a_video_track_hands_out_its_newest_frame_and_drops_the_late_ones():
    async def run():
        track = RemoteStreamTrack("video")
        for i in range(5):  # five decoded frames waiting: the server fell behind the camera
            await track._queue.put(frame(i))
        newest = await track.recv()
        later = asyncio.create_task(track.recv())  # nothing waits now: the next pull waits for the next frame
        await asyncio.sleep(0.05)
        assert not later.done()
        await track._queue.put(frame(5))
        return newest.pts, (await later).pts, track._queue.qsize()

    assert asyncio.run(run()) == (4, 5, 0)


def test_a_video_track_still_ends_at_the_decoders_end_mark():
    async def run():
        track = RemoteStreamTrack("video")
        await track._queue.put(frame(0))
        await track._queue.put(None)  # the decoder stopped: the track ends, even with a frame before the mark
        with pytest.raises(MediaStreamError):
            await track.recv()
        return track.readyState

    assert asyncio.run(run()) == "ended"


class Camera(MediaStreamTrack):
    """A camera track as aiortc's receiver makes one: frame i is shot at i/`fps` s and waits until taken."""

    kind = "video"

    def __init__(self, fps: float):
        super().__init__()
        self.fps, self.taken, self.t0 = fps, 0, time.monotonic()

    def shot(self) -> int:
        return int((time.monotonic() - self.t0) * self.fps) + 1

    async def recv(self):
        while self.taken >= self.shot():
            await asyncio.sleep(0.002)
        self.taken += 1
        return frame(self.taken - 1)


class SlowCoach:
    """Draws a frame in `cost_s` (a loaded server's coach), noting how many frames behind the camera it was and
    every picture it drew."""

    def __init__(self, camera: Camera, cost_s: float):
        self.camera, self.cost_s, self.behind, self.drawn = camera, cost_s, [], []

    def recv(self, camera_frame):
        self.behind.append(self.camera.shot() - 1 - camera_frame.pts)
        time.sleep(self.cost_s)
        self.drawn.append(av.VideoFrame(16, 16, "yuv420p"))
        return self.drawn[-1]


HANG_GUARD_S = 120  # ends a stuck run only; each of these takes a few seconds


def test_only_frames_the_coach_drew_are_sent_each_from_the_newest_camera_frame():
    """A 30 frames/s camera and a coach that takes 0.2 s a frame: only the pictures the coach drew go back, each
    once (streamlit-webrtc alone sent 30 a second, most repeating the last drawn one, each encoded), each drawn
    from the newest camera frame, and stamped with the time it is sent."""

    async def run():
        camera = Camera(30)
        coach = SlowCoach(camera, 0.2)
        track = AsyncVideoProcessTrack(camera, coach)
        sent, guard = [], time.monotonic() + HANG_GUARD_S
        try:
            while len(sent) < 10:
                assert time.monotonic() < guard, "no frames came back (hang guard)"
                before = time.monotonic()
                out = await track.recv()
                sent.append((before, out, time.monotonic()))
        finally:
            track.stop()
        return sent, coach

    sent, coach = asyncio.run(run())
    frames = [out for _, out, _ in sent]
    assert all(any(out is drawn for drawn in coach.drawn) for out in frames)  # drawn by the coach ...
    assert len({id(out) for out in frames}) == len(frames)  # ... and each sent once
    # the newest camera frame, not a queued one: a queue would fall ~25 frames further behind every second
    assert statistics.median(coach.behind[1:]) <= 2, coach.behind
    tick = 1 / VIDEO_CLOCK_HZ  # the stamp's resolution
    for before, out, after in sent:  # stamped when it is sent
        assert before - tick <= float(out.pts * out.time_base) <= after + tick


class StartingCoach:
    """A coach still loading its model: it sends the camera back for one frame in five, nothing (None) for the
    others, as formcheck.coach_process.CoachProcess does while its child starts."""

    def __init__(self):
        self.seen = 0

    def recv(self, camera_frame):
        self.seen += 1
        return camera_frame if self.seen % 5 == 1 else None


def test_a_frame_callback_with_nothing_new_sends_nothing():
    async def run():
        camera = Camera(30)
        coach = StartingCoach()
        track = AsyncVideoProcessTrack(camera, coach)
        sent, guard = [], time.monotonic() + HANG_GUARD_S
        try:
            while coach.seen < 40:
                assert time.monotonic() < guard, "the coach saw no frames (hang guard)"
                sent.append((await track.recv()).pts)
        finally:
            track.stop()
        return sent, coach.seen

    sent, seen = asyncio.run(run())
    assert len(sent) <= seen / 5 + 1, (len(sent), seen)  # only the frames passed back were sent


def may_raise_priority() -> bool:
    """Whether this process may raise a thread's CPU priority (root or CAP_SYS_NICE), tried on a thread."""
    allowed = []

    def attempt():
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), -1)
            allowed.append(True)
        except OSError:
            allowed.append(False)

    probe = threading.Thread(target=attempt)
    probe.start()
    probe.join()
    return allowed[0]


def test_live_video_has_its_own_event_loop_at_the_media_priority():
    import streamlit_webrtc.eventloop
    import streamlit_webrtc.webrtc

    loop = media_loop()
    assert streamlit_webrtc.webrtc.get_global_event_loop() is loop is streamlit_webrtc.eventloop.get_global_event_loop()
    assert asyncio.run_coroutine_threadsafe(asyncio.sleep(0, "ran"), loop).result(5) == "ran"
    thread = next(t for t in threading.enumerate() if t.name == "formcheck-media-loop")
    nice = int(stat_fields(f"/proc/self/task/{thread.native_id}/stat")[16])  # field 19 of proc(5)
    assert nice == (MEDIA_NICE if may_raise_priority() else os.getpriority(os.PRIO_PROCESS, 0))


FPS = 30
VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=VIDEO_CLOCK_HZ, payloadType=96)
SSRC = 4242


def camera_packets(count: int, key_frames=(0,)) -> list[list[RtpPacket]]:
    """`count` frames of a moving 64×64 picture, VP8-encoded by aiortc's own encoder, as RTP packets per frame
    (the camera side of a live session; frame i has RTP timestamp i × 3000)."""
    encoder, seq, frames = get_encoder(VP8), 0, []
    for i in range(count):
        picture = np.zeros((64, 64, 3), np.uint8)
        picture[:, (2 * i) % 64] = 255
        video = av.VideoFrame.from_ndarray(picture, format="rgb24")
        video.pts, video.time_base = i * VIDEO_CLOCK_HZ // FPS, Fraction(1, VIDEO_CLOCK_HZ)
        payloads, timestamp = encoder.encode(video, i in key_frames)
        packets = []
        for j, payload in enumerate(payloads):
            packets.append(RtpPacket(payload_type=VP8.payloadType, marker=int(j == len(payloads) - 1),
                                     sequence_number=seq, timestamp=timestamp, ssrc=SSRC, payload=payload))
            seq += 1
        frames.append(packets)
    return frames


def receive(order: list[list[RtpPacket]]):
    """Feed the packets, in this order, to a real aiortc video receiver (real VP8 decoder thread). Returns the
    frame index of the newest decoded frame the track hands out, and the packet counts at which the receiver
    asked the camera for a key frame."""

    async def run():
        transport = RTCDtlsTransport(RTCIceTransport(RTCIceGatherer()), [RTCCertificate.generateCertificate()])
        receiver = RTCRtpReceiver("video", transport)
        receiver._track = RemoteStreamTrack("video")
        await receiver.receive(RTCRtpReceiveParameters(
            codecs=[VP8], encodings=[RTCRtpDecodingParameters(ssrc=SSRC, payloadType=VP8.payloadType)]))
        asked, fed = [], 0
        send_pli = receiver._send_rtcp_pli

        async def note_pli(ssrc):
            asked.append(fed)
            await send_pli(ssrc)

        receiver._send_rtcp_pli = note_pli
        try:
            for packets in order:
                for packet in packets:
                    fed += 1
                    await receiver._handle_rtp_packet(packet, arrival_time_ms=0)
            await asyncio.sleep(0.5)  # the decoder thread catches up
            newest = await asyncio.wait_for(receiver.track.recv(), 5)
            return round(newest.pts * FPS / VIDEO_CLOCK_HZ), asked
        finally:
            await receiver.stop()

    return asyncio.run(run())


def test_a_lost_packet_sent_again_does_not_leave_the_video_behind():
    """Frame 5's packet is lost (a loaded server's socket overflowed) and arrives again after frames 6–11, as a
    retransmission does. aiortc alone then released one frame per new packet: frame 5 now and the rest one by
    one later, a backlog that never drained. Every frame completed is decoded at once instead: the newest
    frame out is 11 (12 is complete only when 13 starts)."""
    frames = camera_packets(13)
    newest, asked = receive(frames[:5] + frames[6:] + [frames[5]])
    assert newest == 11
    assert asked == []


def test_a_packet_never_sent_again_holds_the_video_back_at_most_max_hold():
    """Frame 5 never arrives. aiortc alone waited for it until 512 packets came after it (17 s of this camera).
    The frames behind it are dropped once they are MAX_HOLD_S old, the camera is asked for a key frame, and
    the video goes on from the key frame it sends."""
    frames = camera_packets(50, key_frames=(0, 40))
    newest, asked = receive(frames[:5] + frames[6:])
    assert asked, "no key frame was asked for"
    held = asked[0] - 5  # packets (one a frame here) fed after the lost one when the receiver gave up
    assert held <= MAX_HOLD_S * FPS + 2, f"gave up only {held} frames after the lost packet"
    assert newest == 48


class SlowPeer(asyncio.DatagramProtocol):
    """A STUN peer that answers each binding request `delay_s` late and counts what it received."""

    def __init__(self, delay_s: float):
        self.delay_s, self.received = delay_s, 0

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.received += 1
        request = stun.parse_message(data)
        if self.received == 1:  # answer the first copy only, late
            response = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE, transaction_id=request.transaction_id)
            asyncio.get_running_loop().call_later(self.delay_s, self.transport.sendto, bytes(response), addr)


def consent_check(delay_s: float):
    """aioice's consent check (a binding request sent with retransmissions=0) to a peer answering late."""

    async def run():
        loop = asyncio.get_running_loop()
        peer_transport, peer = await loop.create_datagram_endpoint(
            lambda: SlowPeer(delay_s), local_addr=("127.0.0.1", 0))
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: StunProtocol(None), local_addr=("127.0.0.1", 0))
        try:
            request = stun.Message(stun.Method.BINDING, stun.Class.REQUEST)
            response, _ = await protocol.request(request, peer_transport.get_extra_info("sockname"), retransmissions=0)
            return response.message_class, peer.received
        finally:
            transport.close()
            peer_transport.close()

    return asyncio.run(run())


def test_a_consent_check_waits_for_a_slow_answer():
    """Answered after 1.2 s (Chrome measured 0.5–1.6 s round trips on a loaded machine): aioice alone gave up
    after 0.5 s and, after six such checks in a row, closed the patient's session."""
    answer, copies = consent_check(1.2)
    assert answer == stun.Class.RESPONSE
    assert copies >= 2  # the check was sent again while waiting


def test_a_consent_check_to_a_silent_peer_still_fails():
    with pytest.raises(stun.TransactionTimeout):
        consent_check(60.0)
