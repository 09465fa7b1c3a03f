"""How an upload's frames are shared between trackers (`analyze.Parts`): every frame time belongs to exactly one
part, also when an idle tracker takes over the rest of a busy one."""

from formcheck.analyze import Parts, split


def owners(parts, times):
    """Each tracker takes frames in time order, as `_track` does; which part took each time."""
    taken = {}
    for part in sorted(parts.all, key=lambda p: p.start):
        for t in times:
            if t >= part.start:
                if not parts.take(part, t):
                    break
                assert t not in taken
                taken[t] = part.start
    return taken


def test_the_first_parts_are_split_then_an_idle_tracker_takes_the_second_half_of_the_busiest():
    parts = Parts(split(20.0, 2), 20.0)
    first, second = parts.next(), parts.next()
    assert (first.start, second.start) == (0.0, 10.0)
    for t in (0.0, 5.0, 9.9):
        assert parts.take(first, t)
    assert not parts.take(first, 10.0)  # the second part's
    assert parts.take(second, 11.0)  # ... which has 9 s to go: the idle tracker takes 15.5 s on
    stolen = parts.next()
    assert (stolen.start, second.stop) == (15.5, 15.5)
    assert parts.take(second, 15.4) and not parts.take(second, 15.5)
    assert parts.take(stolen, 15.5) and parts.take(stolen, 19.9)
    assert parts.next() is None  # no part has MIN_PART_S or more to go


def test_every_frame_time_is_taken_once():
    times = [i / 24 for i in range(24 * 30)]
    parts = Parts(split(30.0, 3), 30.0)
    started = [parts.next() for _ in range(3)]
    for part, t in zip(started, (9.0, 19.0, 21.0)):
        parts.take(part, t)
    parts.next()  # takes 25.5 s on from the last part, the one with the most to go
    taken = owners(parts, times)
    assert sorted(taken) == times
    assert sorted({p.start for p in parts.all}) == [0.0, 10.0, 20.0, 25.5]
