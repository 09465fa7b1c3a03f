"""The live page's video transport (aiortc and aioice under streamlit-webrtc), made to hold up on a busy server.

Two behaviours of the libraries, seen with four live sessions and two uploads on two cores
(benchmarks/load_concurrency.py), are adjusted here, process-wide and idempotently:

- Late frames queue. aiortc decodes every incoming camera frame into an unbounded queue, and the outgoing
  video pulls from it at the pace the server can process and send; when that pace falls below the camera's,
  the patient sees their own movement later and later. `newest_frames_only`: each pull takes the newest
  decoded frame and drops the older ones (fewer frames per second back, never a growing delay).
- Slow answers end the session. aioice checks every ~5 s that the browser still consents to receive
  (RFC 7675) and closes the connection after 6 checks in a row got no answer within 0.5 s, a single try
  each. A loaded phone or server answers in 0.5–1.5 s (Chrome measured those round trips), so every live
  session was cut after about a minute. `patient_consent_checks`: each check is retried (0.5, 1, 2, 4 s), so
  only a browser silent for ~75 s loses its session, which still frees a vanished one's landmarker.
"""

from __future__ import annotations

_PATCHED = "_formcheck_patched"
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
    newest_frames_only()
    patient_consent_checks()

