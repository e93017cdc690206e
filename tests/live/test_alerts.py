import cv2
import numpy as np

from streamer.core.analyzer import FaceResult, FrameResult
from streamer.live.alerts import AlertRule
from streamer.media.images import snapshot
from streamer.media.video import Frame


def frame(pts, *scores):
    result = FrameResult(pts, int(pts * 10), 200, 100)
    for track_id, score in enumerate(scores, 1):
        if score is not False:
            result.faces.append(FaceResult(track_id, [50, 20, 90, 70], 0.9, 0.5, score, score or 0.0, "uncertain"))
    return result


IMAGE = Frame(np.zeros((100, 200, 3), np.uint8), 0.0, 0)


def test_alert_after_hold_time_once_per_episode():
    rule = AlertRule("cam", threshold=0.7, hold_seconds=1.0)
    fired = []
    for i in range(30):  # 3 s above the threshold
        fired += rule.check(frame(i / 10, 0.9), IMAGE)
    assert [(a.track_id, a.pts) for a in fired] == [(1, 1.0)]
    rule.check(frame(3.1, 0.2), IMAGE)  # drops below: the next episode may alert again
    later = [a for i in range(32, 50) for a in rule.check(frame(i / 10, 0.95), IMAGE)]
    assert len(later) == 1 and abs(later[0].pts - 4.2) < 1e-9 and later[0].score == 0.95


def test_no_alert_for_short_spikes_missing_windows_or_other_tracks():
    rule = AlertRule("cam", threshold=0.7, hold_seconds=1.0)
    fired = []
    for i in range(40):
        spike = 0.9 if i % 5 else 0.3  # never 1 s in a row
        fired += rule.check(frame(i / 10, spike, None), IMAGE)
    assert fired == []


def test_snapshot_is_a_jpeg_of_the_face_region():
    image = np.zeros((100, 200, 3), np.uint8)
    image[20:70, 50:90] = (255, 0, 0)
    data = snapshot(image, [50, 20, 90, 70], margin=0.0)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (50, 40, 3)
    assert decoded[25, 20, 2] > 200 and decoded[25, 20, 0] < 50  # red, in BGR
