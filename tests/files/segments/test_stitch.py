from __future__ import annotations

from streamer.core.analyzer import FaceResult, FrameResult
from streamer.files.segments.stitch import join_tracks, summaries
from streamer.files.segments.worker import SegmentResult
from streamer.core.scoring import ScoringConfig


def frame(pts: float, *faces: tuple[int, float]) -> FrameResult:
    """Faces as (track id, x position): 50 px boxes in a row."""
    return FrameResult(pts, int(pts * 10), 640, 360, [
        FaceResult(tid, [x, 10.0, x + 50, 60.0], 0.9, 0.5, None, 0.5, "uncertain") for tid, x in faces])


def test_tracks_keep_their_ids_across_a_border_and_new_ones_are_numbered_in_order():
    first = SegmentResult(0, [frame(0.0, (1, 0)), frame(0.1, (1, 0), (2, 300)), frame(0.2, (1, 0), (2, 300))])
    # the second segment's tracker numbered the same two faces the other way round, and found a third
    second = SegmentResult(1, [frame(0.3, (1, 300), (2, 0)), frame(0.4, (2, 0), (3, 500))],
                           overlap=[frame(0.1, (1, 300), (2, 0)), frame(0.2, (1, 300), (2, 0))])
    frames = join_tracks([second, first])
    ids = [[(f.track_id, f.box[0]) for f in fr.faces] for fr in frames]
    assert ids == [[(1, 0)], [(1, 0), (2, 300)], [(1, 0), (2, 300)], [(2, 300), (1, 0)], [(1, 0), (3, 500)]]


def test_a_face_gone_at_the_border_starts_a_new_track():
    first = SegmentResult(0, [frame(0.0, (1, 0)), frame(0.1, (1, 0))])
    second = SegmentResult(1, [frame(0.2, (1, 400))], overlap=[frame(0.1)])
    assert [f.track_id for fr in join_tracks([first, second]) for f in fr.faces] == [1, 1, 2]


def test_summaries_follow_the_analyzer_rules():
    frames = [frame(0.0, (1, 0)), frame(0.1, (1, 0))]
    frames[1].faces[0].score = 0.9
    cfg = ScoringConfig(8, 4, 0.6, 0.1)
    (s,) = summaries(frames, cfg)
    assert (s.first_pts, s.last_pts, s.frames, s.max_score) == (0.0, 0.1, 2, 0.9)
    assert abs(s.mean_score - 0.7) < 1e-9 and s.verdict == "uncertain"  # fewer than min_frames
