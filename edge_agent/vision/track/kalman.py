"""Constant-velocity Kalman filter on a box (centre, width, height), driven by real time steps.

Noise is scaled by the box height so near and far people are tracked alike, and by dt so a
camera that drops frames (or a replay at full speed with the file's own timestamps) keeps the
motion model honest: the filter always works in seconds, never in frames.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]

_H = np.hstack([np.eye(4), np.zeros((4, 4))])
_POS_NOISE = 0.4  # box heights per sqrt(second): how far a person strays from straight lines
_VEL_NOISE = 0.8  # box heights per second per sqrt(second): how quickly walkers change pace
_MEAS_NOISE = 0.06  # box heights: detector jitter


def xyxy_to_z(box: Array) -> Array:
    w = box[2] - box[0]
    h = box[3] - box[1]
    return np.array([box[0] + w / 2, box[1] + h / 2, w, h], dtype=np.float64)


def z_to_xyxy(z: Array) -> Array:
    w, h = max(float(z[2]), 1e-3), max(float(z[3]), 1e-3)
    return np.array([z[0] - w / 2, z[1] - h / 2, z[0] + w / 2, z[1] + h / 2], dtype=np.float64)


class BoxKalman:
    """One track's state x = [cx, cy, w, h, vcx, vcy, vw, vh] in pixels and pixels per second."""

    __slots__ = ("p", "x")

    def __init__(self, box: Array) -> None:
        z = xyxy_to_z(box)
        h = max(float(z[3]), 1.0)
        self.x: Array = np.concatenate([z, np.zeros(4)])
        std = np.array([0.1 * h, 0.1 * h, 0.1 * h, 0.1 * h, 1.0 * h, 1.0 * h, 0.2 * h, 0.2 * h])
        self.p: Array = np.diag(std**2)

    def predict(self, dt: float) -> None:
        dt = max(dt, 1e-3)
        f = np.eye(8)
        f[0:4, 4:8] = np.eye(4) * dt
        h = max(float(self.x[3]), 1.0)
        q_pos = (_POS_NOISE * h) ** 2 * dt
        q_vel = (_VEL_NOISE * h) ** 2 * dt
        q = np.diag(
            [q_pos, q_pos, q_pos * 0.25, q_pos * 0.25, q_vel, q_vel, q_vel * 0.1, q_vel * 0.1]
        )
        self.x = f @ self.x
        self.p = f @ self.p @ f.T + q

    def update(self, box: Array) -> None:
        z = xyxy_to_z(box)
        h = max(float(z[3]), 1.0)
        r = np.diag(np.full(4, (_MEAS_NOISE * h) ** 2))
        s = _H @ self.p @ _H.T + r
        k = np.linalg.solve(s, _H @ self.p).T
        self.x = self.x + k @ (z - _H @ self.x)
        self.p = (np.eye(8) - k @ _H) @ self.p

    def box(self) -> Array:
        return z_to_xyxy(self.x[:4])

    def damp_velocity(self, factor: float) -> None:
        """Slow a lost track down so its prediction does not run off while the person is hidden."""
        self.x[4:8] *= factor
