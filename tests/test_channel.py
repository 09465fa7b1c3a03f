"""The landmark socket (formcheck/web/channel.py) against the routes alone, without Streamlit or a browser: who
may open it (token, origin), what it answers (the same judging as LandmarkCoach), and that nothing a client
sends crashes it or reaches another patient's socket."""

import functools
import time

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from conftest import FIXTURES
from formcheck.live import LandmarkCoach
from formcheck.pose import N_LANDMARKS, PoseSeries
from formcheck.web import channel
from formcheck.web.channel import MAX_BAD_IN_A_ROW, TokenRegistry, same_origin
from formcheck.web.routes import LIVE_PATH, routes
from formcheck.web.wire import MAX_MESSAGE_BYTES, encode_frame, reply

SAME_ORIGIN = {"origin": "http://testserver"}  # TestClient's Host is "testserver"
W, H = 640, 480


@pytest.fixture
def registry():
    return TokenRegistry()


@pytest.fixture
def client(registry):
    with TestClient(Starlette(routes=routes(registry))) as client:  # one event loop for every socket
        client.sockets = []
        yield client
        for ws in client.sockets:  # each test socket's task ends before the loop does
            ws.__exit__(None, None, None)


def connect(client, headers=SAME_ORIGIN):
    ws = client.websocket_connect(LIVE_PATH, headers=dict(headers))
    client.sockets.append(ws)
    return ws


def opened(client, grant, **size):
    """An open socket with `grant`'s token sent (closed at the test's end)."""
    ws = connect(client).__enter__()
    ws.send_json({"token": grant.token, **size})
    return ws


def close_of(ws) -> tuple[int, str]:
    """The code and reason the server closed `ws` with (replies before it skipped)."""
    while True:
        try:
            ws.receive_text()
        except WebSocketDisconnect as closed:
            return closed.code, closed.reason


def person_frame(seq: int, t_ms: float, **change) -> bytes:
    rng = np.random.default_rng(seq)
    image = np.column_stack([rng.uniform(0.3, 0.7, (N_LANDMARKS, 2)), rng.uniform(-1, 1, N_LANDMARKS),
                             rng.uniform(0.5, 1, N_LANDMARKS)]).astype(np.float32)
    world = rng.uniform(-1, 1, (N_LANDMARKS, 3)).astype(np.float32)
    for name, edit in change.items():
        edit({"image": image, "world": world}[name])
    return encode_frame(seq, t_ms, image[None], world[None])


def nan(array):
    array[0, 0] = np.nan


def test_a_recorded_stream_is_judged_as_the_landmark_coach_judges_it(client, registry, monkeypatch):
    """A fixture's landmarks through the socket: every frame answered, each reply what LandmarkCoach says for the
    same pose (but the cue to say, which follows the wall clock), and the same reps at the end."""
    monkeypatch.setattr(channel, "FrameGate", functools.partial(channel.FrameGate, max_fps=100_000))  # no pacing
    series = PoseSeries.load(FIXTURES / "squat_side_formfit.full.npz")
    grant = registry.mint("session-1", 7, "squat")
    alone = LandmarkCoach("squat", series.width, series.height)
    with connect(client) as ws:
        ws.send_json({"token": grant.token, "width": series.width, "height": series.height})
        for i, t in enumerate(series.t_s):
            pose = series.pose(i)
            images = pose.image[None] if pose else np.zeros((0, N_LANDMARKS, 4))
            worlds = pose.world[None] if pose else np.zeros((0, N_LANDMARKS, 3))
            ws.send_bytes(encode_frame(i, float(t) * 1000, images, worlds))
            got = ws.receive_json()
            expected = reply(i, alone.add(pose, float(t)))
            assert {**got, "say": None} == {**expected, "say": None}
    assert got["counter"] == alone.snapshot().workout.counter
    assert grant.coach.snapshot().rep_count == alone.snapshot().rep_count == 3
    stats = registry.stats(grant.token)
    assert (stats.accepted, stats.dropped, stats.connections) == (len(series), {}, 1)
    assert stats.closed == (1000, "client left") and not stats.connected


def test_an_unknown_token_is_closed_with_4401(client, registry):
    registry.mint("session-1", None, "squat", width=W, height=H)
    for hello in ({"token": "not-a-token"}, {"token": 12}, {}):
        with connect(client) as ws:
            ws.send_json(hello)
            assert close_of(ws) == (4401, "unknown or expired token")


def test_a_page_of_another_origin_is_closed_with_4403(client, registry):
    grant = registry.mint("session-1", None, "squat", width=W, height=H)
    for headers in ({"origin": "http://evil.example"}, {"origin": "https://testserver.evil.example"}, {},
                    {"origin": "null"}):
        with connect(client, headers) as ws:
            assert close_of(ws) == (4403, "origin is not this server")
    assert registry.stats(grant.token).connections == 0  # the token was never read


def test_origin_matches_host_with_default_ports_and_case():
    assert same_origin("http://localhost:8501", "localhost:8501")
    assert same_origin("https://Clinic.example", "clinic.example:443")
    assert same_origin("http://[::1]:8501", "[::1]:8501")
    assert not same_origin("http://localhost:8502", "localhost:8501")
    assert not same_origin("https://clinic.example", "clinic.example:80")
    assert not same_origin("ws://localhost:8501", "localhost:8501")
    assert not same_origin("http://localhost:8501", "localhost:x")
    assert not same_origin(None, "localhost:8501")


def test_a_revoked_token_is_refused_and_its_open_socket_closes_at_once(client, registry):
    grant = registry.mint("session-1", 7, "squat", width=W, height=H)
    ws = opened(client, grant)
    ws.send_bytes(person_frame(1, 40.0))
    assert ws.receive_json()["seq"] == 1
    assert registry.revoke(grant.token)  # from this thread, as the page's script does at STOP
    assert close_of(ws) == (4401, "token revoked")  # without another frame from the client
    with connect(client) as again:
        again.send_json({"token": grant.token})
        assert close_of(again) == (4401, "unknown or expired token")
    assert not registry.revoke(grant.token) and registry.stats(grant.token) is None


def test_signing_out_revokes_every_token_of_the_session(client, registry):
    mine = [registry.mint("session-1", 7, "squat", width=W, height=H) for _ in range(2)]
    other = registry.mint("session-2", 8, "squat", width=W, height=H)
    assert registry.revoke_session("session-1") == 2
    assert [registry.get(g.token) for g in mine] == [None, None] and registry.get(other.token) is other


def test_one_socket_per_token_the_newer_wins(client, registry):
    grant = registry.mint("session-1", 7, "squat", width=W, height=H)
    first = opened(client, grant)
    first.send_bytes(person_frame(1, 40.0))
    assert first.receive_json()["seq"] == 1
    second = opened(client, grant)
    assert close_of(first) == (4409, "the same token connected again")
    second.send_bytes(person_frame(2, 80.0))
    assert second.receive_json()["seq"] == 2
    stats = registry.stats(grant.token)
    assert (stats.connected, stats.connections, stats.accepted) == (True, 2, 1)
    second.close()
    assert grant.coach.snapshot().frames == 2  # one coach across both sockets


def test_bad_frames_are_dropped_counted_and_the_stream_goes_on(client, registry):
    grant = registry.mint("session-1", None, "squat", width=W, height=H)
    ws = opened(client, grant)
    ws.send_bytes(person_frame(1, 100.0, image=nan))
    ws.send_bytes(person_frame(2, 100.0))
    ws.send_bytes(person_frame(3, 50.0))  # back in time
    ws.send_text("hello")
    ws.send_bytes(b"\x01\x00")
    ws.send_bytes(person_frame(4, 140.0))
    assert [ws.receive_json()["seq"], ws.receive_json()["seq"]] == [2, 4]  # the dropped ones unanswered
    stats = registry.stats(grant.token)
    assert stats.accepted == 2 and stats.connected
    assert stats.dropped == {"not_finite": 1, "time_order": 1, "not_binary": 1, "length": 1}
    assert grant.coach.snapshot().frames == 2


def test_a_stream_of_bad_frames_is_closed_with_its_reason(client, registry):
    grant = registry.mint("session-1", None, "squat", width=W, height=H)
    ws = opened(client, grant)
    for seq in range(MAX_BAD_IN_A_ROW + 1):
        ws.send_bytes(person_frame(seq, 40.0 * seq + 40, world=nan))
    assert close_of(ws) == (1008, f"{MAX_BAD_IN_A_ROW + 1} bad frames in a row (last: not_finite)")
    assert registry.stats(grant.token).dropped == {"not_finite": MAX_BAD_IN_A_ROW + 1}


def test_a_flood_of_frames_is_closed(client, registry, monkeypatch):
    """Frames sent far faster than a camera makes them: 60 judged in the second, then the rest dropped as too
    fast, until the socket closes."""
    monkeypatch.setattr(channel, "FrameGate", functools.partial(channel.FrameGate, clock=lambda: 0.0))  # 1 instant
    grant = registry.mint("session-1", None, "squat", width=W, height=H)
    ws = opened(client, grant)
    for seq in range(200):
        ws.send_bytes(person_frame(seq, 1.0 * seq + 1))
    code, reason = close_of(ws)
    assert (code, reason) == (1008, f"{MAX_BAD_IN_A_ROW + 1} bad frames in a row (last: too_fast)")
    stats = registry.stats(grant.token)
    assert stats.accepted == 60 and stats.dropped == {"too_fast": MAX_BAD_IN_A_ROW + 1}


def test_an_oversized_message_is_closed(client, registry):
    grant = registry.mint("session-1", None, "squat", width=W, height=H)
    ws = opened(client, grant)
    ws.send_bytes(person_frame(1, 40.0))
    assert ws.receive_json()["seq"] == 1
    ws.send_bytes(bytes(MAX_MESSAGE_BYTES + 1))
    assert close_of(ws) == (1008, "a message over 16 KB")


def test_an_error_while_judging_closes_only_that_socket(client, registry):
    broken = registry.mint("session-1", 7, "squat", width=W, height=H)
    fine = registry.mint("session-2", 8, "squat", width=W, height=H)

    def fail(pose, t_s):
        raise ZeroDivisionError("a bug in a checker")

    broken.coach.add = fail
    other = opened(client, fine)
    ws = opened(client, broken)
    ws.send_bytes(person_frame(1, 40.0))
    assert close_of(ws) == (1011, "server error while judging")
    other.send_bytes(person_frame(1, 40.0))
    assert other.receive_json()["seq"] == 1
    other.close()
    again = opened(client, fine)  # the server still opens sockets
    again.send_bytes(person_frame(2, 80.0))
    assert again.receive_json()["seq"] == 2
    assert registry.stats(broken.token).closed == (1011, "server error while judging")


@pytest.mark.parametrize("hello, minted, closed", [
    ({}, False, "the first message must give the camera's width and height"),
    ({"width": 640.5, "height": 480}, False, "width and height must be whole pixels, 1 to 8192"),
    ({"width": 0, "height": 480}, False, "width and height must be whole pixels, 1 to 8192"),
    ({"width": 480, "height": 640}, True, "this set's camera is 640×480, not 480×640"),
])
def test_the_first_message_must_give_a_frame_size_that_fits_the_set(client, registry, hello, minted, closed):
    grant = registry.mint("session-1", None, "squat", **({"width": W, "height": H} if minted else {}))
    ws = opened(client, grant, **hello)
    assert close_of(ws) == (1008, closed)


def test_the_size_in_the_first_message_is_the_sets_from_then_on(client, registry):
    grant = registry.mint("session-1", None, "squat")
    ws = opened(client, grant, width=W, height=H)
    ws.send_bytes(person_frame(1, 40.0))
    assert ws.receive_json()["seq"] == 1 and (grant.coach.width, grant.coach.height) == (W, H)
    ws.close()
    again = opened(client, grant, width=H, height=W)
    assert close_of(again) == (1008, "this set's camera is 640×480, not 480×640")


@pytest.mark.parametrize("first", [b'{"token": "x"}', "not json", '["a list"]', "x" * 2000])
def test_the_first_message_must_be_json_text(client, first):
    with connect(client) as ws:
        ws.send_bytes(first) if isinstance(first, bytes) else ws.send_text(first)
        assert close_of(ws) == (1008, "the first message must be the token, as JSON text")


def test_an_idle_token_expires_and_an_idle_socket_closes(client, registry):
    registry.idle_s = 0.3
    unused = registry.mint("session-1", None, "squat", width=W, height=H)
    grant = registry.mint("session-1", None, "squat", width=W, height=H)
    ws = opened(client, grant)
    ws.send_bytes(person_frame(1, 40.0))
    assert ws.receive_json()["seq"] == 1
    assert close_of(ws) == (4408, "no frame for 0.3 s")  # nothing sent for idle_s
    time.sleep(0.05)
    for token in (grant.token, unused.token):
        with connect(client) as again:
            again.send_json({"token": token})
            assert close_of(again) == (4401, "unknown or expired token")


def test_a_closed_pages_tokens_go_once_their_socket_is_closed():
    tabs = {"closing-tab": True, "open-tab": True}  # whether Streamlit still runs each page's session
    registry = TokenRegistry(session_alive=tabs.get)
    with TestClient(Starlette(routes=routes(registry))) as client:
        client.sockets = []
        closing = registry.mint("closing-tab", None, "squat", width=W, height=H)
        kept = registry.mint("open-tab", None, "squat")
        ws = opened(client, closing)
        ws.send_bytes(person_frame(1, 40.0))
        ws.receive_json()
        tabs["closing-tab"] = False
        assert registry.sweep() == 0  # its socket still open
        ws.close()
        deadline = time.monotonic() + 5
        while registry.stats(closing.token).connected and time.monotonic() < deadline:
            time.sleep(0.01)
        assert registry.sweep() == 1 and registry.get(closing.token) is None and registry.get(kept.token) is kept
        ws.__exit__(None, None, None)


def test_a_reissued_token_goes_on_with_the_same_coach(client, registry):
    grant = registry.mint("session-1", 7, "squat", width=W, height=H)
    ws = opened(client, grant)
    ws.send_bytes(person_frame(1, 40.0))
    ws.receive_json()
    renewed = registry.reissue(grant)
    assert renewed.token != grant.token and renewed.coach is grant.coach and registry.get(grant.token) is None
    assert (renewed.session_id, renewed.actor_id) == ("session-1", 7)
    ws = opened(client, renewed)
    ws.send_bytes(person_frame(2, 80.0))
    assert ws.receive_json()["seq"] == 2
    assert renewed.coach.snapshot().frames == 2


def test_tokens_are_256_bit_and_never_repeat(registry):
    tokens = {registry.mint("s", None, "squat").token for _ in range(50)}
    assert len(tokens) == 50 and all(len(t) == 43 for t in tokens)  # 32 random bytes, url-safe base64
