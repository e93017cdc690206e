import sys

from streamer.runtime.switching import LIVE_SWITCH_INTERVAL, live_switching


def test_live_switching_sets_the_interval_and_says_what_it_was():
    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        assert live_switching() == 0.005
        assert abs(sys.getswitchinterval() - LIVE_SWITCH_INTERVAL) < 1e-9
        assert abs(live_switching(0.002) - LIVE_SWITCH_INTERVAL) < 1e-9 and abs(sys.getswitchinterval() - 0.002) < 1e-9
    finally:
        sys.setswitchinterval(before)
