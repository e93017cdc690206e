"""Live streams on Ray actors across a local two-node cluster: spread, scored, re-placed when a node dies."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

from streamer.cli import DEFAULT_MODEL_DIR
from streamer.cluster.placement import RayStreams
from streamer.live.manager import Monitor
from streamer.live.supervisor import StreamConfig
from streamer.live.status import ResultEvent, Status, StatusEvent

from tests.loopback import wait_for
from tests.server.api import api_client

STREAMS = 4


def test_monitor_ray_runs_the_streams_on_the_cluster(cluster, rtsp_server):
    env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    proc = subprocess.run([sys.executable, "-m", "streamer.cli", "monitor", rtsp_server.url, rtsp_server.url,
                           "--ray", cluster.address, "--fps", "4", "--duration", "25", "--results"],
                          capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    streams = {e["stream"] for e in events if e["type"] == "result"}
    assert len(streams) == 2
    assert any(e["type"] == "status" and e["status"] == "live" for e in events)


async def test_serve_ray_results_come_back_and_alerts_are_stored_by_the_server(cluster, rtsp_server,
                                                                              random_model, tmp_path):
    async with api_client(random_model, tmp_path / "data", ray=cluster.address) as client:
        resp = await client.post("/api/streams", json={"name": "door", "url": rtsp_server.url, "fps": 5,
                                                       "threshold": 0.0, "alert_seconds": 0.5})
        assert resp.status == 201, await resp.text()
        door: dict = {}
        alerts: list = []

        async def live_with_alerts() -> bool:
            door.update((await (await client.get("/api/streams")).json())["streams"][0])
            alerts[:] = (await (await client.get("/api/alerts?stream=door")).json())["alerts"]
            return door["status"] == "live" and door.get("frames_analysed", 0) >= 5 and bool(alerts)

        for _ in range(600):
            if await live_with_alerts():
                break
            await asyncio.sleep(0.2)
        assert door["status"] == "live" and door["node"] and door["latest"]["faces"]
        assert alerts and alerts[0]["stream"] == "door" and alerts[0]["id"]  # an id: stored in the server's SQLite
        snapshot = await client.get(f"/api/alerts/{alerts[0]['id']}/snapshot.jpg")
        assert snapshot.status == 200 and (await snapshot.read())[:2] == b"\xff\xd8"
        assert (await client.delete("/api/streams/door")).status == 200
        assert (await (await client.get("/api/streams")).json())["streams"] == []


async def test_streams_spread_over_both_nodes_score_and_move_when_a_node_is_lost(cluster, rtsp_server):
    events: list[tuple[float, object]] = []
    placer = RayStreams(cluster.address, DEFAULT_MODEL_DIR)
    monitor = Monitor(None, lambda e: events.append((time.monotonic(), e)), placer=placer)
    names = [f"cam{i}" for i in range(STREAMS)]
    try:
        for name in names:
            monitor.add(StreamConfig(name, rtsp_server.url, fps=4.0, threshold=0.5))

        def scored_since(t: float, name: str) -> bool:
            return any(at >= t and isinstance(e, ResultEvent) and e.stream == name for at, e in events)

        await wait_for(lambda: all(scored_since(0, n) for n in names), timeout=150)
        nodes = {placer.streams[n].node for n in names}
        assert len(nodes) == 2 and len(placer.workers) == 2, (nodes, placer.workers)
        assert all(s["status"] == "live" and s["node"] for s in monitor.snapshot())

        lost = cluster.workers[0]
        moved = [n for n in names if placer.streams[n].node == cluster.node_id(lost)]
        assert len(moved) == STREAMS // 2, (moved, cluster.node_id(lost), {n: placer.streams[n].node for n in names})
        killed = time.monotonic()
        cluster.kill(lost)
        # Results already on their way from the lost node may still arrive: recovered means the loss was seen,
        # the streams were placed again, and they scored since.
        recovered = await wait_for(lambda: len(placer.workers) == 1 and all(placer.streams[n].recoveries for n in moved)
                                   and all(scored_since(killed + 0.5, n) for n in moved), timeout=90)
        statuses = [(e.stream, str(e.status), e.error) for _, e in events if isinstance(e, StatusEvent)]
        assert {placer.streams[n].node for n in names} == {w.node for w in placer.workers.values()}, statuses
        assert len(placer.workers) == 1, statuses
        reasons = [e for _, e in events if isinstance(e, StatusEvent) and e.stream in moved
                   and e.status == Status.RECONNECTING and "cluster node lost" in (e.error or "")]
        assert len(reasons) == len(moved), statuses
        assert all(placer.streams[n].recoveries for n in moved)
        print(f"recovered {recovered:.1f} s after the node was killed; "
              f"live again {[round(placer.streams[n].recoveries[0], 1) for n in moved]} s after loss was detected")
        assert recovered < 60
    finally:
        await monitor.close()
    assert all(s.status == Status.STOPPED for s in placer.streams.values()) and not placer.workers
