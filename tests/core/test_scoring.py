import numpy as np
import pytest

from streamer.core.scoring import FAKE, REAL, UNCERTAIN, ScoringConfig, TrackScorer, verdict

CFG = ScoringConfig(window=4, stride=2, threshold=0.5, uncertain_margin=0.1, smoothing_seconds=0.5, min_frames=2)


def test_window_is_due_when_full_then_every_stride():
    scorer = TrackScorer(CFG)
    due = [scorer.add(np.full(3, i, np.float32), 0.5) for i in range(10)]
    assert due == [False, False, False, True, False, True, False, True, False, True]
    assert scorer.window()[:, 0].tolist() == [6, 7, 8, 9]


def test_frame_score_until_the_window_is_full_then_window_score():
    scorer = TrackScorer(CFG)
    scorer.add(np.zeros(3), 0.9)
    assert scorer.update(0.0, None) == pytest.approx(0.9)
    assert scorer.window_score is None
    for i in range(1, 4):
        scorer.add(np.zeros(3), 0.9)
        scorer.update(i * 0.04, None)
    scorer.update(10.0, 0.1)  # long after: smoothing has converged to the window score
    assert scorer.window_score == pytest.approx(0.1) and scorer.score == pytest.approx(0.1, abs=1e-6)


def test_smoothing_depends_on_time_not_frame_count():
    dense, sparse = TrackScorer(CFG), TrackScorer(CFG)
    for scorer in (dense, sparse):
        scorer.add(np.zeros(3), 0.0)
        scorer.update(0.0, None)
    for i in range(1, 11):  # 10 frames over 0.4 s
        dense.add(np.zeros(3), 1.0)
        dense.update(i * 0.04, None)
    sparse.add(np.zeros(3), 1.0)  # the same 0.4 s with skipped frames
    sparse.update(0.4, None)
    assert dense.score == pytest.approx(sparse.score, abs=1e-9)
    assert 0.5 < dense.score < 0.6  # 1 - exp(-0.4/0.5)


def test_verdicts():
    assert verdict(0.9, CFG, 5) == FAKE
    assert verdict(0.1, CFG, 5) == REAL
    assert verdict(0.45, CFG, 5) == UNCERTAIN  # just below the threshold
    assert verdict(0.5, CFG, 5) == verdict(0.55, CFG, 5) == FAKE  # at or above it: fake, so the
    # threshold alone sets the false-positive rate, even when it is chosen close to 1
    assert verdict(0.995, ScoringConfig(4, 2, 0.99, 0.1), 5) == FAKE
    assert verdict(0.9, CFG, 1) == UNCERTAIN
    assert verdict(None, CFG, 5) == UNCERTAIN


def test_summary_statistics_use_constant_memory():
    scorer = TrackScorer(CFG)
    for i in range(1000):
        scorer.add(np.zeros(3), (i % 10) / 10)
        scorer.update(i / 25, None)
    assert not hasattr(scorer, "scores")
    assert scorer.score_count == 1000 and 0 < scorer.mean_score < scorer.score_max <= 0.9


def test_encoding_every_third_frame_windows_span_the_encoded_faces():
    cfg = ScoringConfig(window=4, stride=2, threshold=0.5, uncertain_margin=0.1, every=3)
    scorer = TrackScorer(cfg)
    wanted, due = [], []
    for i in range(20):
        wanted.append(scorer.wants())
        if wanted[-1]:
            due.append(i) if scorer.add(np.full(3, i, np.float32), 0.2) else None
            scorer.update(i / 25, 0.8 if due and due[-1] == i else None)
        else:
            assert scorer.carry() == scorer.score
    assert wanted == [True, False, False] * 6 + [True, False]  # one frame encoded, two carried
    assert due == [9, 15]  # the 4th encoded face, then every 2nd (the stride)
    assert scorer.window()[:, 0].tolist() == [9, 12, 15, 18]  # the last 4 encoded faces, 3 frames apart
    assert scorer.frames == 7 and scorer.score_count == 20  # carried frames count in the track's mean


def test_a_face_refused_on_its_turn_is_tried_again_on_the_next_frame():
    scorer = TrackScorer(ScoringConfig(window=4, stride=2, threshold=0.5, uncertain_margin=0.1, every=3))
    scorer.add(np.zeros(3), 0.2)
    scorer.update(0.0, None)
    for _ in range(2):  # the two frames between encodings carry the score
        assert not scorer.wants() and scorer.carry() == scorer.score
    assert scorer.wants() and scorer.wants()  # its turn: wanted until it is encoded (the gate may refuse it)


def test_encoding_every_frame_wants_every_frame():
    scorer = TrackScorer(CFG)
    for i in range(12):
        assert scorer.wants()
        scorer.add(np.zeros(3), 0.5)
        scorer.update(i / 25, None)
