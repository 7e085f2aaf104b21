"""Per-photo analysis: face geometry, scale and label map. Expensive; cached by callers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

from .errors import NoHeadFound, SeveralFaces, TooDark
from .face import HEAD_WIDTH_MM, FaceGeometry, faces_from_result
from .models import Models, get_models
from .photo import Photo
from .segment import SCALP, Segmentation, segment_head

MODEL_MAX_SIDE = 1280
"""The models run on the photo reduced to at most this many pixels on its long side."""


@dataclass(frozen=True, eq=False)
class HeadAnalysis:
    """Everything the later stages need to know about one photo."""

    photo: Photo
    face: FaceGeometry | None
    segmentation: Segmentation
    px_per_mm: float
    scale_source: str
    timings_ms: dict = field(default_factory=dict)

    @property
    def rgb(self) -> np.ndarray:
        return self.photo.rgb

    @property
    def labels(self) -> np.ndarray:
        return self.segmentation.labels


def _reduced(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    h, w = rgb.shape[:2]
    f = min(1.0, max_side / max(h, w))
    if f >= 1.0:
        return rgb, 1.0
    small = cv2.resize(rgb, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    return small, f


def analyse(
    photo: Photo,
    models: Models | None = None,
    *,
    px_per_mm: float | None = None,
    allow_several_faces: bool = False,
) -> HeadAnalysis:
    """Find the face, the scale and the label map of ``photo``.

    Parameters
    ----------
    photo : Photo
    models : Models, optional
        Defaults to the process-wide models.
    px_per_mm : float, optional
        A scale the user measured; overrides the iris scale (``scale_source`` "user").
    allow_several_faces : bool
        If false, a photo with two or more faces of similar size raises `SeveralFaces`.
    """
    models = models or get_models()
    rgb = photo.rgb
    t0 = time.perf_counter()
    timings = {}
    if float(np.mean(rgb)) < 18.0:
        raise TooDark(
            "The photo is too dark to see the head.",
            "Take it again in better light, facing a window or a lamp.",
            source=photo.name,
        )
    small, f = _reduced(rgb, MODEL_MAX_SIDE)
    result = models.landmarks(small)
    faces = faces_from_result(result, small.shape[:2])
    timings["landmarks"] = (time.perf_counter() - t0) * 1e3
    t1 = time.perf_counter()
    prob_small = models.person_probability(small)
    prob = cv2.resize(prob_small, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    timings["person_mask"] = (time.perf_counter() - t1) * 1e3

    face = None
    if faces:
        if len(faces) > 1 and not allow_several_faces:
            a0 = np.ptp(faces[0].face_oval[:, 0])
            a1 = np.ptp(faces[1].face_oval[:, 0])
            if a1 > 0.6 * a0:
                raise SeveralFaces(
                    f"The photo shows {len(faces)} faces.",
                    "Use a photo of the client alone, or crop it to one head.",
                    source=photo.name,
                )
        big = faces[0]
        lm = big.landmarks_px.copy()
        lm /= f
        face = FaceGeometry(
            lm, big.px_per_mm / f, big.scale_source, big.yaw_deg, big.pitch_deg, big.roll_deg,
            (big.iris_px[0] / f, big.iris_px[1] / f),
        )
    elif float((prob > 0.5).mean()) < 0.02:
        raise NoHeadFound(
            "No head or face was found in the photo.",
            "Use a photo that shows the client's head clearly, ideally from the front.",
            source=photo.name,
        )

    t2 = time.perf_counter()
    seg = segment_head(rgb, face, prob)
    timings["segment"] = (time.perf_counter() - t2) * 1e3

    if px_per_mm is not None:
        scale, source = float(px_per_mm), "user"
    elif face is not None:
        scale, source = face.px_per_mm, face.scale_source
    else:
        person_cols = np.flatnonzero((prob > 0.5).any(axis=0))
        width_px = float(person_cols.ptp() + 1) if person_cols.size else rgb.shape[1]
        scale, source = width_px / HEAD_WIDTH_MM, "head_width"
    timings["total"] = (time.perf_counter() - t0) * 1e3
    return HeadAnalysis(photo, face, seg, scale, source, timings)


def scalp_fraction(analysis: HeadAnalysis) -> float:
    """Fraction of the photo labelled as scalp skin (for quick checks)."""
    return float((analysis.labels == SCALP).mean())
