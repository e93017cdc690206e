import numpy as np
import pytest

from streamer.core.analyzer import Analyzer, Sampling
from streamer.media.video import file_frames

from tests.footage import side_by_side
from tests.core.encoder_spy import spy_on_encoder


def test_results_per_frame_on_a_real_clip(random_model, clip):
    analyzer = Analyzer(random_model)
    try:
        results = [analyzer.process(f) for f in file_frames(clip("single_face.mp4"))]
        tracks = analyzer.finish()
    finally:
        analyzer.close()
    window = random_model.manifest.window
    assert len(results) == 72 and all(len(r.faces) == 1 for r in results)
    assert {r.faces[0].track_id for r in results} == {1}
    assert all(r.faces[0].window_score is None for r in results[: window - 1])
    assert all(r.faces[0].window_score is not None for r in results[window - 1:])
    scores = np.array([r.faces[0].score for r in results])
    assert np.all((scores >= 0) & (scores <= 1))
    assert len(tracks) == 1 and tracks[0].frames == 72
    assert tracks[0].max_score == scores.max() and np.isclose(tracks[0].mean_score, scores.mean())


def test_two_faces_are_scored_in_one_batch(random_model, tmp_path):
    analyzer = Analyzer(random_model)
    calls = spy_on_encoder(analyzer, random_model)
    try:
        results = [analyzer.process(f) for f in file_frames(side_by_side(tmp_path / "two.mp4", 1.0))]
    finally:
        analyzer.close()
    assert len(calls) == len(results) and max(calls) == 2
    both = [r for r in results if len(r.faces) == 2]
    assert len(both) >= 0.9 * len(results)
    assert all(sorted(f.track_id for f in r.faces) == [1, 2] for r in both)


def test_no_faces_no_model_calls(random_model, clip):
    analyzer = Analyzer(random_model)
    try:
        results = [analyzer.process(f) for _, f in zip(range(40), file_frames(clip("no_face.mp4")))]
    finally:
        analyzer.close()
    assert all(not r.faces for r in results) and analyzer.finish() == []


def test_reset_forgets_tracks_but_keeps_the_detector(random_model, clip):
    analyzer = Analyzer(random_model)
    detector = analyzer.detector
    try:
        frames = list(file_frames(clip("single_face.mp4")))[:10]
        for f in frames:
            analyzer.process(f)
        analyzer.reset()
        assert analyzer.detector is detector and not analyzer.scorers and analyzer.finish() == []
        result = analyzer.process(frames[0])  # timestamps restart after a reconnect
        assert result.faces and result.faces[0].track_id == 1 and result.faces[0].window_score is None
    finally:
        analyzer.close()


def test_live_analyzers_keep_only_the_newest_track_summaries(random_model, clip):
    analyzer = Analyzer(random_model, keep_summaries=2)
    analyzer.tracker.max_missed = 0
    frames = list(file_frames(clip("single_face.mp4")))[:2]
    blank = type(frames[0])(frames[0].image * 0, 0.0, 0)
    try:
        for i in range(5):  # the face appears and vanishes: a new track each time
            analyzer.process(type(blank)(frames[i % 2].image, 2 * i * 0.04, 2 * i))
            analyzer.process(type(blank)(blank.image, (2 * i + 1) * 0.04, 2 * i + 1))
    finally:
        analyzer.close()
    assert sorted(analyzer.summaries) == [4, 5]


def test_sampled_analysis_encodes_only_the_frames_windows_need(random_model, clip):
    analyzer = Analyzer(random_model, sampling=Sampling(detect_every=5, encode_every=3))
    calls = spy_on_encoder(analyzer, random_model)
    try:
        results = [analyzer.process(f) for f in file_frames(clip("single_face.mp4"))]
        tracks = analyzer.finish()
    finally:
        analyzer.close()
    window = random_model.manifest.window
    faces = [r.faces[0] for r in results]
    assert len(faces) == 72 and {f.track_id for f in faces} == {1}
    carried = [f.carried for f in faces]
    assert carried == [False] + [True, True, False] * 23 + [True, True]  # one face encoded, two carried
    assert sum(f.new_window for f in faces) == (24 - window) // random_model.manifest.stride + 1
    assert sum(calls) == carried.count(False)  # the encoder saw only the frames that were not carried
    for before, face in zip(faces, faces[1:]):
        if face.carried:  # the track's last scores, carried as they were
            assert (face.score, face.frame_score, face.window_score) == (before.score, before.frame_score,
                                                                         before.window_score)
    scores = np.array([f.score for f in faces])
    assert tracks[0].frames == 72 and np.isclose(tracks[0].mean_score, scores.mean())
    assert analyzer.follower.detections <= 72 // 5 + 3
    assert faces[0].to_dict().get("carried") is None and faces[1].to_dict()["carried"] is True


@pytest.mark.parametrize("detect_every, encode_every", [(0, 1), (1, 0), (6, -2)])
def test_sampling_intervals_below_one_frame_are_refused(detect_every, encode_every):
    with pytest.raises(ValueError, match="at least 1 frame"):
        Sampling(detect_every=detect_every, encode_every=encode_every)
