import pytest

from streamer.live.rate import AdaptiveRate


def test_stays_at_the_ceiling_with_headroom():
    rate = AdaptiveRate(ceiling=30, floor=5)
    for _ in range(50):
        rate.update(0.002)
    assert rate.target == 30


def test_backs_off_under_load_but_never_below_the_floor():
    rate = AdaptiveRate(ceiling=30, floor=5)
    targets = [rate.update(0.3) for _ in range(40)]  # each analysis takes 300 ms
    assert targets == sorted(targets, reverse=True)
    assert rate.target == 5


def test_settles_where_the_analysis_fits_and_recovers():
    rate = AdaptiveRate(ceiling=30, floor=2)
    for _ in range(200):
        rate.update(0.08)  # the machine can do about 12 per second
    assert 6 <= rate.target <= 12.5
    for _ in range(200):
        rate.update(0.005)
    assert rate.target == 30


def test_rejects_bad_bounds():
    with pytest.raises(ValueError):
        AdaptiveRate(ceiling=5, floor=10)
