"""Live streams in worker processes on this machine (no Ray): spread, scored, moved when a process dies."""
from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter

from streamer.cluster.processes import ProcessStreams
from streamer.live.manager import Monitor
from streamer.live.status import ResultEvent, StatusEvent
from streamer.live.supervisor import StreamConfig

from tests.loopback import wait_for
from tests.server.api import api_client

STREAMS = 4


async def test_streams_run_in_worker_processes_and_move_when_one_dies(rtsp_server, random_model, random_model_dir):
    events: list = []
    placer = ProcessStreams(2, random_model_dir)
    monitor = Monitor(random_model, events.append, placer=placer)
    handles = [w.handle for w in placer.workers.values()]

    def results() -> Counter:
        return Counter(e.stream for e in events if isinstance(e, ResultEvent))

    try:
        names = [f"s{i}" for i in range(STREAMS)]
        for name in names:
            monitor.add(StreamConfig(name, rtsp_server.url, fps=5.0, threshold=0.5))
        await wait_for(lambda: all(results()[n] >= 3 for n in names), timeout=120)
        nodes = {n: placer.streams[n].node for n in names}
        assert sorted(Counter(nodes.values()).values()) == [2, 2]  # two streams in each process
        assert len({h.process.pid for h in handles} | {os.getpid()}) == 3  # in processes of their own
        snapshot = {s["name"]: s for s in monitor.snapshot()}
        assert all(snapshot[n]["node"] == nodes[n] and snapshot[n]["frames_analysed"] > 0 for n in names)

        victim = placer.workers[nodes["s0"]]
        moved = [n for n in names if nodes[n] == victim.node]
        os.kill(victim.handle.process.pid, signal.SIGKILL)
        before = results()
        await wait_for(lambda: all(results()[n] >= before[n] + 3 for n in moved), timeout=60)
        assert all(placer.streams[n].node not in (None, victim.node) for n in moved)
        statuses = {(e.stream, str(e.status)) for e in events if isinstance(e, StatusEvent)}
        assert all((n, "reconnecting") in statuses for n in moved)
        await wait_for(lambda: len(placer.workers) == 2, timeout=20)  # a new process takes the dead one's place
        assert victim.node not in placer.workers
        handles = [w.handle for w in placer.workers.values()]
    finally:
        await monitor.close()
    for handle in handles:
        handle.process.join(10)
        assert not handle.process.is_alive()


async def test_serve_stream_workers_run_a_stream_in_a_worker_process(rtsp_server, random_model, tmp_path):
    async with api_client(random_model, tmp_path / "data", stream_workers=2) as client:
        resp = await client.post("/api/streams", json={"name": "door", "url": rtsp_server.url, "fps": 5})
        assert resp.status == 201, await resp.text()
        door: dict = {}
        for _ in range(600):
            door = (await (await client.get("/api/streams")).json())["streams"][0]
            if door["status"] == "live" and door.get("frames_analysed", 0) >= 3:
                break
            await asyncio.sleep(0.2)
        assert door["status"] == "live" and door["node"].startswith("local-") and door["latest"]
        assert door["decoding"] == "reference frames"  # the worker's reader, reported through the server
        assert (await client.delete("/api/streams/door")).status == 200
        assert (await (await client.get("/api/streams")).json())["streams"] == []
