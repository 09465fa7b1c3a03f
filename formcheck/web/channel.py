"""The landmark socket (`/formcheck/live` on Streamlit's own server) and the tokens that open it.

The page's script mints a token for one live set (its Streamlit session, the patient or a guest, the exercise
and plan) and hands it to the browser. The browser opens the socket, sends the token in its first message (never
in the URL, which proxies log), then one binary frame per camera frame (wire.py). Each accepted frame is judged
by the token's `LandmarkCoach`, the same object the page's script reads for STOP and the summary, and answered
with one compact JSON reply.

What a client sends must never crash the server or reach another patient: a frame that fails wire.py or the
FrameGate is dropped and counted; a stream of them, or one oversized message, closes that socket with a short
reason; an error while judging closes only its own socket (1011). Close codes the page acts on: 4401 (no such
token: expired, revoked, or the server restarted: rerun for a new one), 4403 (the page's origin is not this
server's), 4409 (the same token connected again elsewhere: the newer socket wins).

Judging runs inline on the event loop: ~0.7 ms a frame, so ~0.4 of the loop at 30 patients × 20 frames/s, shared
with Streamlit's own socket. A worker thread would add no core (judging is mostly Python, holding the GIL), only
shorter stalls of the loop; whether that is worth a thread hop per frame is for the 30-patient benchmark to say.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from ..live import LandmarkCoach
from ..workout import WorkoutPlan
from .gate import FrameGate
from .wire import MAX_MESSAGE_BYTES, reply

log = logging.getLogger(__name__)

TOKEN_IDLE_S = 120.0  # a token with no socket open and no frame for this long expires; an open socket is closed
HELLO_TIMEOUT_S = 10.0  # the first message must come this soon after the socket opens
MAX_HELLO_BYTES = 1024
MAX_SIDE_PX = 8192  # a camera frame's width or height
MAX_BAD_IN_A_ROW = 30  # more dropped frames than this with none accepted between: a bad stream, closed
GUEST = None  # the actor of a token minted for someone not signed in

NORMAL, POLICY, SERVER_ERROR = 1000, 1008, 1011
BAD_TOKEN, BAD_ORIGIN, IDLE, REPLACED = 4401, 4403, 4408, 4409


@dataclass(frozen=True)
class StreamStats:
    """A token's socket as the page sees it: the open (or last) connection's frames, and how it ended."""

    connected: bool
    connections: int  # sockets opened with this token so far
    accepted: int
    dropped: dict[str, int] = field(default_factory=dict)  # reason → frames
    closed: tuple[int, str] | None = None  # the last connection's close code and reason


class Grant:
    """What one token opens: one live set's coach, for one page session and one patient (or a guest)."""

    def __init__(self, token: str, session_id: str, actor_id: int | None, coach: LandmarkCoach, now: float):
        self.token, self.session_id, self.actor_id, self.coach = token, session_id, actor_id, coach
        self.last_seen = now
        self.link: Link | None = None  # the open socket
        self.connections = 0
        self.last_stats = StreamStats(False, 0, 0)


class Link:
    """One open socket of a grant: its frame gate, its drops, and a way to close it from any thread."""

    def __init__(self, width: int, height: int):
        self.gate = FrameGate(width, height)
        self.dropped: Counter[str] = Counter()  # what never reached the gate
        self.bad_in_a_row = 0
        self.closing: tuple[int, str] | None = None
        self._loop = asyncio.get_running_loop()
        self._waiting: anyio.CancelScope | None = None  # set while the socket waits for a message

    def close_soon(self, code: int, reason: str) -> None:
        """Ask the socket to close (from the page's thread or the loop): at once if it waits for a message,
        else after the frame in hand."""
        self.closing = self.closing or (code, reason)
        try:
            self._loop.call_soon_threadsafe(lambda: self._waiting and self._waiting.cancel())
        except RuntimeError:  # the server has stopped: the socket is gone already
            pass

    async def receive(self, websocket: WebSocket, timeout_s: float) -> dict | None:
        """The next message; None when it was asked to close or nothing came for `timeout_s`."""
        if self.closing:
            return None
        with anyio.CancelScope() as scope, anyio.move_on_after(timeout_s):
            self._waiting = scope
            try:
                return await websocket.receive()
            finally:
                self._waiting = None
        return None

    def stats(self, connections: int, closed: tuple[int, str] | None = None) -> StreamStats:
        """Read from the page's thread while the loop counts: each counter copied whole first (one C call)."""
        dropped = Counter(dict(self.gate.dropped))
        dropped.update(dict(self.dropped))
        return StreamStats(closed is None, connections, self.gate.accepted, dict(dropped), closed)


class TokenRegistry:
    """The live sets' tokens of this server process: minted and revoked by the pages' scripts (any thread),
    claimed by the socket (the event loop). `session_alive(session_id)`: whether a Streamlit session still runs,
    so a closed tab's tokens go before their idle time."""

    def __init__(self, idle_s: float = TOKEN_IDLE_S, clock=time.monotonic,
                 session_alive: Callable[[str], bool] | None = None):
        self.idle_s, self._clock, self._session_alive = idle_s, clock, session_alive
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def mint(self, session_id: str, actor_id: int | None, exercise: str, params: dict | None = None,
             plan: WorkoutPlan | None = None, width: int | None = None, height: int | None = None) -> Grant:
        """A new token and its coach; `width` × `height` (the camera's) may instead come in the first message."""
        return self._add(session_id, actor_id, LandmarkCoach(exercise, width, height, params, plan=plan))

    def reissue(self, grant: Grant) -> Grant:
        """A new token for `grant`'s coach (the old one revoked): the set goes on after its token expired."""
        self.revoke(grant.token)
        return self._add(grant.session_id, grant.actor_id, grant.coach)

    def _add(self, session_id: str, actor_id: int | None, coach: LandmarkCoach) -> Grant:
        self.sweep()
        grant = Grant(secrets.token_urlsafe(32), session_id, actor_id, coach, self._clock())
        with self._lock:
            self._grants[grant.token] = grant
        return grant

    def revoke(self, token: str) -> bool:
        """End the token (STOP, sign-out): its socket, if open, closes with 4401."""
        with self._lock:
            grant = self._grants.pop(token, None)
        if grant and grant.link:
            grant.link.close_soon(BAD_TOKEN, "token revoked")
        return grant is not None

    def revoke_session(self, session_id: str) -> int:
        """End every token of a Streamlit session (sign-out, session end); how many there were."""
        with self._lock:
            tokens = [g.token for g in self._grants.values() if g.session_id == session_id]
        return sum(self.revoke(token) for token in tokens)

    def sweep(self) -> int:
        """Expire the tokens idle for `idle_s` and those of ended sessions, where no socket is open; how many."""
        now = self._clock()
        with self._lock:
            idle = [g for g in self._grants.values() if g.link is None and now - g.last_seen > self.idle_s]
            unclaimed = [g for g in self._grants.values() if g.link is None and g not in idle]
        if self._session_alive:
            idle += [g for g in unclaimed if not self._alive(g.session_id)]
        return sum(self.revoke(g.token) for g in idle)

    def _alive(self, session_id: str) -> bool:
        try:
            return self._session_alive(session_id)
        except Exception:  # Streamlit's semi-internal API changed: the idle time still ends the token
            log.exception("could not ask Streamlit whether session %s runs", session_id)
            return True

    def get(self, token: str) -> Grant | None:
        with self._lock:
            return self._grants.get(token)

    def stats(self, token: str) -> StreamStats | None:
        """The token's socket now (None: no such token)."""
        with self._lock:
            grant = self._grants.get(token)
            if grant is None:
                return None
            link = grant.link
            return link.stats(grant.connections) if link else grant.last_stats

    def claim(self, token: object, link: Link) -> Grant | None:
        """The token's grant with `link` as its one socket (a socket already open on it is closed: the newest
        wins, so a reconnecting browser never waits for its old socket to time out); None if no such token."""
        self.sweep()
        with self._lock:
            grant = self._grants.get(token) if isinstance(token, str) else None
            if grant is None:
                return None
            previous, grant.link = grant.link, link
            grant.connections += 1
            grant.last_seen = self._clock()
        if previous:
            previous.close_soon(REPLACED, "the same token connected again")
        return grant

    def release(self, grant: Grant, link: Link, closed: tuple[int, str]) -> None:
        """`link` closed: its stats kept for the page. The token's idle time runs from its last frame, so a socket
        closed for idleness leaves an expired token."""
        with self._lock:
            if grant.link is link:
                grant.link = None
            if grant.link is None:
                grant.last_stats = link.stats(grant.connections, closed)

    def touch(self, grant: Grant) -> None:
        grant.last_seen = self._clock()


def same_origin(origin: str | None, host: str | None) -> bool:
    """Whether the page that opened the socket (`Origin`) is served by this server (`Host`): what stops another
    site's page from opening a socket with a stolen token (cross-site WebSocket hijacking)."""
    if not origin or not host:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    default = 443 if parts.scheme == "https" else 80
    try:
        served = urlsplit(f"//{host}")
        return (parts.hostname, parts.port or default) == (served.hostname, served.port or default)
    except ValueError:  # a port that is not a number
        return False


class LiveChannel:
    """The `/formcheck/live` WebSocket endpoint over a TokenRegistry: `serve` is the route's endpoint."""

    def __init__(self, registry: TokenRegistry):
        self.registry = registry

    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            closed = await self._serve(websocket)
        except WebSocketDisconnect:
            return
        except Exception:  # a bug: this socket ends, the server and every other socket go on
            log.exception("landmark socket failed")
            closed = (SERVER_ERROR, "server error")
        await _close(websocket, *closed)

    async def _serve(self, websocket: WebSocket) -> tuple[int, str]:
        if not same_origin(websocket.headers.get("origin"), websocket.headers.get("host")):
            return BAD_ORIGIN, "origin is not this server"
        hello, refusal = await _hello(websocket)
        if refusal:
            return refusal
        grant = self.registry.get(hello.get("token")) if isinstance(hello.get("token"), str) else None
        if grant is None:
            return BAD_TOKEN, "unknown or expired token"
        size, refusal = _frame_size(hello, grant.coach)
        if refusal:
            return refusal
        link = Link(*size)
        grant = self.registry.claim(grant.token, link)
        if grant is None:  # revoked in the meantime
            return BAD_TOKEN, "unknown or expired token"
        closed = (SERVER_ERROR, "server error")
        try:
            closed = await self._stream(websocket, grant, link)
            return closed
        except WebSocketDisconnect:
            closed = (NORMAL, "client left")
            raise
        finally:
            self.registry.release(grant, link, closed)

    async def _stream(self, websocket: WebSocket, grant: Grant, link: Link) -> tuple[int, str]:
        """Frames in, replies out, until the client leaves or the stream is closed; the close code and reason."""
        while True:
            message = await link.receive(websocket, self.registry.idle_s)
            if link.closing:
                return link.closing
            if message is None:
                return IDLE, f"no frame for {self.registry.idle_s:g} s"
            if message["type"] == "websocket.disconnect":
                return NORMAL, "client left"
            self.registry.touch(grant)
            data = message.get("bytes")
            if data is None:
                link.dropped["not_binary"] += 1
                frame = None
            elif len(data) > MAX_MESSAGE_BYTES:
                return POLICY, f"a message over {MAX_MESSAGE_BYTES // 1024} KB"
            else:
                frame = link.gate.admit(data)
            if frame is None:
                link.bad_in_a_row += 1
                if link.bad_in_a_row > MAX_BAD_IN_A_ROW:
                    last = link.gate.last_drop.reason if data is not None and link.gate.last_drop else "not_binary"
                    return POLICY, f"{link.bad_in_a_row} bad frames in a row (last: {last})"
                continue
            link.bad_in_a_row = 0
            try:
                answer = json.dumps(reply(frame.seq, grant.coach.add(frame.pose, frame.t_s)), separators=(",", ":"))
            except Exception:
                log.exception("judging a landmark frame failed")
                return SERVER_ERROR, "server error while judging"
            await websocket.send_text(answer)


async def _hello(websocket: WebSocket) -> tuple[dict, tuple[int, str] | None]:
    """The first message as a dict, or why it is refused."""
    with anyio.move_on_after(HELLO_TIMEOUT_S):
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", NORMAL))
        text = message.get("text")
        if text is None or len(text) > MAX_HELLO_BYTES:
            return {}, (POLICY, "the first message must be the token, as JSON text")
        try:
            hello = json.loads(text)
        except ValueError:
            hello = None
        if not isinstance(hello, dict):
            return {}, (POLICY, "the first message must be the token, as JSON text")
        return hello, None
    return {}, (POLICY, f"no token within {HELLO_TIMEOUT_S:g} s")


def _frame_size(hello: dict, coach: LandmarkCoach) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """The camera frame's size for this socket: from the token, else from the first message (then kept for the
    token's coach, whose judging measures in pixels); a change of size mid-set is refused."""
    size = hello.get("width"), hello.get("height")
    given = all(isinstance(v, int) and not isinstance(v, bool) for v in size)
    if given and not all(0 < v <= MAX_SIDE_PX for v in size) or not given and size != (None, None):
        return (0, 0), (POLICY, f"width and height must be whole pixels, 1 to {MAX_SIDE_PX}")
    if coach.width is None:
        if not given:
            return (0, 0), (POLICY, "the first message must give the camera's width and height")
        coach.width, coach.height = size
    elif given and size != (coach.width, coach.height):
        return (0, 0), (POLICY, f"this set's camera is {coach.width}×{coach.height}, not {size[0]}×{size[1]}")
    return (coach.width, coach.height), None


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        try:
            await websocket.close(code, reason)
        except Exception:  # the client is already gone
            pass
