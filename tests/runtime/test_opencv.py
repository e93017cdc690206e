import cv2

from streamer.runtime.opencv import one_opencv_thread


def test_one_opencv_thread_sets_one_and_says_what_it_was():
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(2)
        assert one_opencv_thread() == 2
        assert cv2.getNumThreads() == 1
        assert one_opencv_thread() == 1  # again: nothing changes
    finally:
        cv2.setNumThreads(before)
