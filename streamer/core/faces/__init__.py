"""Faces in a frame: the MediaPipe detector, its tiling, and the one crop rule (align)."""
from .align import align_crop, crop_transform
from .detector import Face, FaceDetector

__all__ = ["Face", "FaceDetector", "align_crop", "crop_transform"]
