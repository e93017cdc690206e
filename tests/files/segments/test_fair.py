"""The fair queue between scans: a free worker goes to the scan with the fewest segments running."""
from __future__ import annotations

from streamer.files.segments.fair import FairQueue


def test_a_later_scan_gets_the_next_free_worker_not_the_long_scans_next_segment():
    queue: FairQueue[str] = FairQueue()
    queue.put(1, ["a1", "a2", "a3", "a4", "a5", "a6"])
    assert [queue.pop(), queue.pop()] == [(1, "a1"), (1, "a2")]  # two workers, one scan: both busy with it
    queue.put(2, ["b1", "b2"])
    queue.done(1)  # a worker frees
    assert queue.pop() == (2, "b1")  # scan 2 runs nothing yet: it goes first
    queue.done(1)
    assert queue.pop() == (1, "a3")  # one each running: the scan queued first
    queue.done(2)
    assert queue.pop() == (2, "b2")
    assert len(queue) == 3


def test_three_scans_share_out_in_turn():
    queue: FairQueue[int] = FairQueue()
    for job in (1, 2, 3):
        queue.put(job, [job * 10 + i for i in range(3)])
    order = [queue.pop()[0] for _ in range(6)]
    assert order == [1, 2, 3, 1, 2, 3]


def test_a_called_off_scan_leaves_the_queue():
    queue: FairQueue[str] = FairQueue()
    queue.put(1, ["a1", "a2"])
    queue.put(2, ["b1"])
    assert queue.drop(1) == ["a1", "a2"]
    assert queue.pop() == (2, "b1") and queue.pop() is None and len(queue) == 0
