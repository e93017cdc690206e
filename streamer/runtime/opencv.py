"""OpenCV on the calling thread alone: the parallelism is elsewhere (segment workers, a thread per live stream).

By default OpenCV splits each call (optical flow, colour conversion, resizing, warps) over every core. Beside
other analysis threads and processes that buys little time and costs CPU: following a face by optical flow took
1.32–1.38 ms of CPU a frame on two threads against 0.76–0.80 ms on one, for 0.67–0.70 against 0.76–0.80 ms of
wall time (the README, *Measured*).
"""
from __future__ import annotations

import cv2


def one_opencv_thread() -> int:
    """Run this process's OpenCV calls on their calling threads; returns the number of threads it used before."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    return before
