import asyncio

from aiohttp import web

from streamer.live.alerts import Alert
from streamer.live.webhook import WebhookSender


async def test_alert_is_posted_with_retries_after_a_server_error():
    received, calls = [], []

    async def hook(request: web.Request) -> web.Response:
        calls.append(1)
        if len(calls) == 1:
            return web.Response(status=503)
        received.append(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    sender = WebhookSender(f"http://127.0.0.1:{port}/hook", backoff=0.05)
    sender.start()
    try:
        sender.send(Alert("cam", 4, 9.5, 0.93, snapshot=b"\xff\xd8abc", id=7))
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.02)
    finally:
        await sender.close()
        await runner.cleanup()
    assert len(calls) == 2 and sender.sent == 1
    assert received[0]["track_id"] == 4 and received[0]["stream"] == "cam" and received[0]["id"] == 7
    assert received[0]["snapshot_jpeg_base64"] == "/9hhYmM="


async def test_a_full_queue_drops_instead_of_blocking():
    sender = WebhookSender("http://127.0.0.1:9/unreachable", maxsize=2)
    for i in range(5):
        sender.send(Alert("cam", i, 0.0, 0.9))
    assert sender.dropped == 3
