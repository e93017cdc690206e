"""468-point MediaPipe face mesh run with ai-edge-litert on a rotated crop around a detected face."""
from __future__ import annotations

import cv2
import numpy as np

from streamer.runtime.assets import MESH_MODEL, asset_path
from streamer.core.faces import Face

MESH_SIZE = 192
ROI_SCALE = 1.6  # side of the mesh crop relative to the detector box


class MeshModel:
    """Face mesh landmarks (468, 2) in image pixel coordinates."""

    def __init__(self, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        self._it = Interpreter(model_path=str(asset_path(MESH_MODEL)), num_threads=threads)
        self._it.allocate_tensors()
        self._in = self._it.get_input_details()[0]["index"]
        outs = {o["name"]: o["index"] for o in self._it.get_output_details()}
        self._pts = outs["conv2d_21"]
        self._flag = outs["conv2d_31"]

    def __call__(self, rgb: np.ndarray, face: Face) -> tuple[np.ndarray, float]:
        """Landmarks (468, 2) in pixels and the mesh's face-presence probability."""
        m = roi_transform(face)
        crop = cv2.warpAffine(rgb, m, (MESH_SIZE, MESH_SIZE), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT)
        self._it.set_tensor(self._in, (crop.astype(np.float32) / 255.0)[None])
        self._it.invoke()
        pts = self._it.get_tensor(self._pts).reshape(468, 3)[:, :2].astype(np.float64)
        flag = float(1.0 / (1.0 + np.exp(-self._it.get_tensor(self._flag).reshape(-1)[0])))
        inv = cv2.invertAffineTransform(m)
        back = pts @ inv[:, :2].T + inv[:, 2]
        return back.astype(np.float32), flag


def roi_transform(face: Face) -> np.ndarray:
    """2x3 matrix from image pixels to the 192x192 mesh input, eye line horizontal."""
    kp = face.keypoints
    dx, dy = kp[1] - kp[0]
    angle = np.degrees(np.arctan2(dy, dx))
    x0, y0, x1, y1 = face.box
    centre = ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
    side = max(x1 - x0, y1 - y0, 1.0) * ROI_SCALE
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), MESH_SIZE / side)
    m[0, 2] += MESH_SIZE / 2.0 - centre[0]
    m[1, 2] += MESH_SIZE / 2.0 - centre[1]
    return m
