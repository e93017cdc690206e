from streamer.cli.entry import build_parser
from streamer.core.analyzer import EVERY_FRAME, LIVE
from streamer.live.pipeline import live_analyzer, set_live_every_frame
from streamer.media.video import file_frames


def analyse(analyzer, frames):
    try:
        faces = [f for frame in frames for f in analyzer.process(frame).faces]
        return faces, analyzer.follower.detections
    finally:
        analyzer.close()


def test_live_streams_sample_unless_told_to_analyse_every_frame(random_model, clip):
    frames = list(file_frames(clip("single_face.mp4")))[:60]
    try:
        sampled = live_analyzer(random_model, "rtsp")
        assert sampled.sampling == LIVE
        faces, detections = analyse(sampled, frames)
        assert len(faces) == 60 and detections <= 60 // LIVE.detect_every + 2
        carried = [f for f in faces if f.carried]
        assert carried and all(f.score is not None for f in carried)

        set_live_every_frame(True)
        every = live_analyzer(random_model, "rtsp")
        assert every.sampling == EVERY_FRAME
        faces, _ = analyse(every, frames)
        assert len(faces) == 60 and not any(f.carried for f in faces)
    finally:
        set_live_every_frame(False)


def test_serve_and_monitor_take_live_every_frame():
    parser = build_parser()
    assert parser.parse_args(["serve", "--live-every-frame"]).live_every_frame
    assert not parser.parse_args(["serve"]).live_every_frame
    assert parser.parse_args(["monitor", "--live-every-frame", "rtsp://127.0.0.1/x"]).live_every_frame
