import random

import pytest

from streamer.live.manager import Monitor, MonitorError
from streamer.live.supervisor import StreamConfig, StreamSupervisor, backoff_delay
from streamer.live.status import Status
from streamer.live.urls import UrlError

from tests.loopback import wait_for


def config(name, url, **kw):
    defaults = dict(fps=10.0, connect_timeout=2.0, stall_seconds=2.0, backoff_initial=0.2, backoff_max=1.0,
                    max_failures=3)
    return StreamConfig(name, url, **{**defaults, **kw})


async def test_an_upper_case_scheme_is_normalised_and_plays(rtsp_server, random_model):
    url = rtsp_server.url.replace("rtsp://", "RTSP://")
    sup = StreamSupervisor(config("cam", url), random_model, lambda e: None)
    assert sup.cfg.url == rtsp_server.url
    sup.start()
    try:
        await wait_for(lambda: sup.stats.frames_analysed >= 3, timeout=20)
    finally:
        await sup.stop()


async def test_analyses_frames_from_a_real_rtsp_source(rtsp_server, random_model):
    events = []
    sup = StreamSupervisor(config("cam", rtsp_server.url), random_model, lambda e: events.append(e.to_dict()))
    sup.start()
    try:
        await wait_for(lambda: sup.stats.frames_analysed >= 15, timeout=20)
    finally:
        await sup.stop()
    statuses = [e["status"] for e in events if e["type"] == "status"]
    assert statuses[:2] == ["connecting", "live"] and statuses[-1] == "stopped"
    results = [e for e in events if e["type"] == "result"]
    assert sum(1 for r in results if len(r["faces"]) == 1) >= 0.8 * len(results)
    assert len({f["track_id"] for r in results for f in r["faces"]}) <= 2
    assert sup.stats.frames_in > sup.stats.frames_analysed  # 24 fps in, 10 fps analysed
    assert sup.snapshot()["decoding"] == "reference frames"  # half of the B-frames are never decoded
    assert not sup.running


async def test_a_stream_analysed_at_its_own_rate_decodes_every_frame(rtsp_server, random_model):
    sup = StreamSupervisor(config("cam", rtsp_server.url, fps=24.0), random_model, lambda e: None)
    sup.start()
    try:
        await wait_for(lambda: sup.stats.frames_in >= 30, timeout=20)
    finally:
        await sup.stop()
    assert sup.snapshot()["decoding"] == "all frames"


async def test_reconnects_after_the_server_is_killed_and_restarted(rtsp_server, random_model):
    events = []
    sup = StreamSupervisor(config("cam", rtsp_server.url), random_model, lambda e: events.append(e.to_dict()))
    sup.start()
    try:
        await wait_for(lambda: sup.status == Status.LIVE and sup.stats.frames_analysed > 5, timeout=20)
        rtsp_server.kill()
        await wait_for(lambda: sup.status != Status.LIVE, timeout=10)
        rtsp_server.start()
        before = sup.stats.frames_analysed
        took = await wait_for(lambda: sup.status == Status.LIVE and sup.stats.frames_analysed > before + 5, timeout=15)
    finally:
        await sup.stop()
    assert took < 10
    assert sup.source.reconnects >= 1
    statuses = [e["status"] for e in events if e["type"] == "status"]
    assert "reconnecting" in statuses and statuses.count("live") >= 2


async def test_silent_source_fails_with_a_reason_while_others_keep_working(rtsp_server, silent_port, random_model):
    events = []
    monitor = Monitor(random_model, lambda e: events.append(e.to_dict()))
    good = monitor.add(config("good", rtsp_server.url))
    bad = monitor.add(config("silent", f"rtsp://127.0.0.1:{silent_port}/x", connect_timeout=1.0, stall_seconds=1.0))
    try:
        await wait_for(lambda: bad.status == Status.FAILED, timeout=30)
        analysed = good.stats.frames_analysed
        await wait_for(lambda: good.stats.frames_analysed > analysed + 5, timeout=10)
        assert good.status == Status.LIVE
    finally:
        await monitor.close()
    assert bad.error and "no answer within the 1 s timeout" in bad.error
    assert bad.stats.frames_in == 0


async def test_refused_urls_and_duplicate_names(random_model):
    monitor = Monitor(random_model, lambda e: None)
    for url in ("file:///etc/passwd", "concat:/etc/passwd|/etc/hosts", "http://127.0.0.1/x.mp4", "rtsp://", ""):
        with pytest.raises(UrlError):
            monitor.add(config("x", url))
    assert not monitor.streams
    monitor.add(config("dup", "rtsp://127.0.0.1:9/none"))
    with pytest.raises(MonitorError, match="already exists"):
        monitor.add(config("dup", "rtsp://127.0.0.1:9/none"))
    await monitor.close()


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(1)
    delays = [backoff_delay(a, 0.5, 8.0, rng) for a in range(1, 9)]
    for attempt, delay in enumerate(delays, 1):
        base = min(8.0, 0.5 * 2 ** (attempt - 1))
        assert base / 2 <= delay <= base
    assert len({round(d, 6) for d in delays}) == len(delays)


async def test_monitor_trims_the_heap_while_it_has_streams(random_model):
    monitor = Monitor(random_model, lambda e: None, trim_every=0.05)
    assert not monitor.trimmer.running  # nothing to trim for before the first stream
    monitor.add(config("cam", "rtsp://127.0.0.1:9/none"))
    await wait_for(lambda: monitor.trimmer.trims >= 2, timeout=5)
    await monitor.close()
    assert not monitor.trimmer.running
