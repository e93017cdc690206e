import asyncio

from streamer.live.handoff import LatestSlot


async def test_latest_item_wins_and_drops_are_counted():
    slot: LatestSlot[int] = LatestSlot()
    for i in range(5):
        slot.put(i)
    assert await slot.get() == 4
    assert slot.dropped == 4


async def test_get_waits_for_a_put_and_close_releases_it():
    slot: LatestSlot[int] = LatestSlot()
    waiter = asyncio.create_task(slot.get())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    slot.put(7)
    assert await waiter == 7
    closing = asyncio.create_task(slot.get())
    await asyncio.sleep(0.01)
    slot.close()
    assert await closing is None
    slot.put(8)
    assert await slot.get() is None  # a put after close is ignored


async def test_slow_consumer_never_sees_stale_frames():
    slot: LatestSlot[int] = LatestSlot()
    seen = []

    async def produce():
        for i in range(50):
            slot.put(i)
            await asyncio.sleep(0.001)
        slot.close()

    async def consume():
        while (item := await slot.get()) is not None:
            seen.append(item)
            await asyncio.sleep(0.01)

    await asyncio.gather(produce(), consume())
    assert seen == sorted(seen) and seen[-1] == 49
    assert len(seen) < 20 and slot.dropped == 50 - len(seen)
