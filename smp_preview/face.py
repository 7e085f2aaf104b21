"""Face geometry from MediaPipe landmarks: points, head pose and the physical scale (px/mm)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

IRIS_DIAMETER_MM = 11.7
"""Horizontal visible iris diameter of adults, nearly constant (SD about 0.5 mm)."""
INTERPUPILLARY_MM = 63.0
"""Adult interpupillary distance, the fallback scale when the irises are unreliable."""
HEAD_WIDTH_MM = 150.0
"""Adult head breadth, the last-resort scale for photos without a usable face."""

# MediaPipe face mesh indices (478-point model with irises).
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
IRIS_RIGHT = (468, 469, 470, 471, 472)  # centre, then 4 points on the rim (image left eye)
IRIS_LEFT = (473, 474, 475, 476, 477)
EYE_OUTER_RIGHT = 33
EYE_OUTER_LEFT = 263
GLABELLA = 9
BROW_RIGHT = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107)
BROW_LEFT = (276, 283, 282, 295, 285, 300, 293, 334, 296, 336)
FOREHEAD_TOP = 10
CHIN = 152
NOSE_TIP = 1


@dataclass(frozen=True, eq=False)
class FaceGeometry:
    """Where the face is and how large a millimetre is.

    Attributes
    ----------
    landmarks_px : (478, 3) float32
        x, y in pixels of the analysed image, z in the same pixel units (MediaPipe's relative depth).
    px_per_mm : float
        Pixels per millimetre at the face, from the iris diameter (or the fallback).
    scale_source : str
        ``"iris"``, ``"interpupillary"``, ``"user"`` or ``"head_width"``.
    yaw_deg, pitch_deg, roll_deg : float
        Head pose from the facial transformation matrix, degrees, 0 for a frontal face.
        Signs (checked on photos, see tests/test_face.py): ``yaw > 0`` the face is turned
        towards the image right (the subject's left; the image-left cheek comes nearer the
        camera); ``pitch > 0`` the head is tilted forward, chin down (forehead nearer the
        camera than the chin, more of the crown visible); ``roll > 0`` the head is tilted
        counter-clockwise in the image (its top towards the image left).
    iris_px : (float, float)
        Iris landmark diameters in px, image-left eye first.
    skull_ellipse : tuple or None
        Outline of the head (hair included) as ``((cx, cy), (width, height), angle_deg)`` in
        image pixels (the `cv2.ellipse` convention): centred on the glabella, axes along the
        face's right and up vectors, least-squares fitted by the analysis to the silhouette
        above the brows (below them it is an extrapolation); None when not fitted.

    Notes
    -----
    The iris scale was checked against the limbus measured in the photos
    (``bench/iris_scale.py``): the landmark diameter matches the visible iris edge (per-eye
    median ratio 0.979, bootstrap 95 % CI 0.949-1.012, 59 eyes; per-photo median 0.999), so no
    correction is applied.
    """

    landmarks_px: np.ndarray
    px_per_mm: float
    scale_source: str
    yaw_deg: float
    pitch_deg: float
    roll_deg: float
    iris_px: tuple[float, float]
    skull_ellipse: tuple | None = None

    def point(self, index: int) -> np.ndarray:
        return self.landmarks_px[index, :2]

    @property
    def glabella(self) -> np.ndarray:
        return self.point(GLABELLA)

    @property
    def eye_corners(self) -> tuple[np.ndarray, np.ndarray]:
        """Lateral (outer) eye corners, image-left first."""
        return self.point(EYE_OUTER_RIGHT), self.point(EYE_OUTER_LEFT)

    @property
    def face_oval(self) -> np.ndarray:
        return self.landmarks_px[list(FACE_OVAL), :2]

    @property
    def up(self) -> np.ndarray:
        """Unit vector in the image pointing from chin to forehead (follows the roll)."""
        v = self.point(FOREHEAD_TOP) - self.point(CHIN)
        return v / max(float(np.linalg.norm(v)), 1e-6)

    @property
    def right(self) -> np.ndarray:
        """Unit vector pointing from the image-left eye corner to the image-right one."""
        a, b = self.eye_corners
        v = b - a
        return v / max(float(np.linalg.norm(v)), 1e-6)


def _iris_diameter_px(lm: np.ndarray, idx: tuple[int, ...]) -> float:
    rim = lm[list(idx[1:]), :2]
    horizontal = np.linalg.norm(rim[0] - rim[2])
    vertical = np.linalg.norm(rim[1] - rim[3])
    return float(max(horizontal, vertical))


def pose_from_matrix(matrix: np.ndarray) -> tuple[float, float, float]:
    """Yaw, pitch, roll in degrees from MediaPipe's 4x4 facial transformation matrix."""
    r = np.asarray(matrix, dtype=np.float64)[:3, :3]
    sy = float(np.hypot(r[0, 0], r[1, 0]))
    pitch = np.degrees(np.arctan2(r[2, 1], r[2, 2]))
    yaw = np.degrees(np.arctan2(-r[2, 0], sy))
    roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
    return float(yaw), float(pitch), float(roll)


def scale_from_landmarks(lm: np.ndarray) -> tuple[float, str, tuple[float, float]]:
    """px/mm from both irises, discarding a foreshortened or occluded one.

    Falls back to the interpupillary distance (63 mm) when neither iris is plausible.
    """
    d_r = _iris_diameter_px(lm, IRIS_RIGHT)
    d_l = _iris_diameter_px(lm, IRIS_LEFT)
    ipd_px = float(np.linalg.norm(lm[IRIS_RIGHT[0], :2] - lm[IRIS_LEFT[0], :2]))
    # An iris is plausible when its size relative to the interpupillary distance is adult-like
    # (11.7/63 = 0.186, allow +-25 %).
    expected = ipd_px * IRIS_DIAMETER_MM / INTERPUPILLARY_MM
    good = [d for d in (d_r, d_l) if 0.75 * expected <= d <= 1.25 * expected]
    if len(good) == 2 and min(good) < 0.85 * max(good):
        good = [max(good)]  # the smaller one is foreshortened or partly closed
    if good:
        return float(np.mean(good)) / IRIS_DIAMETER_MM, "iris", (d_r, d_l)
    return ipd_px / INTERPUPILLARY_MM, "interpupillary", (d_r, d_l)


def faces_from_result(result, shape: tuple[int, int]) -> list[FaceGeometry]:
    """Convert a MediaPipe FaceLandmarker result into `FaceGeometry` objects, largest first."""
    h, w = shape
    faces = []
    for i, marks in enumerate(result.face_landmarks):
        lm = np.array([(p.x * w, p.y * h, p.z * w) for p in marks], dtype=np.float32)
        px_per_mm, source, iris = scale_from_landmarks(lm)
        if result.facial_transformation_matrixes:
            yaw, pitch, roll = pose_from_matrix(result.facial_transformation_matrixes[i])
        else:  # pragma: no cover - option is always on
            yaw = pitch = roll = 0.0
        if source == "interpupillary":
            # a turned face shows its interpupillary distance shortened by cos(yaw)
            px_per_mm /= max(float(np.cos(np.radians(min(abs(yaw), 60.0)))), 0.5)
        faces.append(FaceGeometry(lm, px_per_mm, source, yaw, pitch, roll, iris))
    faces.sort(key=lambda f: -np.ptp(f.face_oval[:, 0]) * np.ptp(f.face_oval[:, 1]))
    return faces
