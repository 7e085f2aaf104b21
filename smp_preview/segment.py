"""Label map of the head: background, other skin, scalp skin, head hair, everything else.

Label values (the ``segment`` contract):
0 background, 1 other skin (face inside the landmark outline, ears, neck), 2 scalp skin,
3 head hair, 4 everything else of the person (clothes, beard, glasses, hats).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .face import FaceGeometry, FOREHEAD_TOP, CHIN, GLABELLA

BACKGROUND, SKIN, SCALP, HAIR, OTHER = 0, 1, 2, 3, 4
LABEL_NAMES = {BACKGROUND: "background", SKIN: "other skin", SCALP: "scalp skin", HAIR: "head hair", OTHER: "other"}

# Landmark polygons that are reliably bare skin: cheeks and the lower forehead.
_CHEEK_RIGHT = (117, 118, 101, 36, 206, 207, 187, 123)
_CHEEK_LEFT = (346, 347, 330, 266, 426, 427, 411, 352)
_FOREHEAD = (109, 10, 338, 337, 336, 9, 107, 108)


@dataclass(frozen=True, eq=False)
class Segmentation:
    """Per-pixel labels (uint8, HxW) and hair coverage (float32 0-1, HxW)."""

    labels: np.ndarray
    hair_coverage: np.ndarray
    head_mask: np.ndarray  # bool, the skull region above and beside the face


def _poly_mask(shape, pts) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
    return m.astype(bool)


def head_region(shape: tuple[int, int], face: FaceGeometry) -> np.ndarray:
    """The skull above and beside the face: an ellipse in the face's own frame, in mm."""
    h, w = shape
    up, right = face.up, face.right
    s = face.px_per_mm
    glabella = face.glabella
    # Skull modelled as an ellipse 160 mm wide, reaching 125 mm above the glabella and
    # centred 20 mm above it (frontal view); follows the roll via the face axes.
    centre = glabella + up * 20 * s
    half_w, half_up, half_down = 80 * s, 105 * s, 70 * s
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xs - centre[0], ys - centre[1]
    u = dx * right[0] + dy * right[1]
    v = -(dx * up[0] + dy * up[1])  # positive downwards in the face frame
    half_v = np.where(v < 0, half_up, half_down)
    inside = (u / half_w) ** 2 + (v / half_v) ** 2 <= 1.0
    # Only above the eye line: below it, skin is face, ears and neck.
    eye_line = -(((face.eye_corners[0] + face.eye_corners[1]) / 2 - centre) @ up)
    return inside & (v < eye_line)


def _skin_model(lab: np.ndarray, samples: np.ndarray):
    pix = lab[samples].astype(np.float64)
    if len(pix) < 20:
        pix = lab.reshape(-1, 3).astype(np.float64)
    mean = pix.mean(axis=0)
    cov = np.cov(pix.T) + np.diag([4.0, 1.0, 1.0])
    return mean, np.linalg.inv(cov)


def _mahalanobis(lab: np.ndarray, mean, icov) -> np.ndarray:
    d = lab.reshape(-1, 3).astype(np.float32) - mean.astype(np.float32)
    m = np.einsum("ni,ij,nj->n", d, icov.astype(np.float32), d)
    return m.reshape(lab.shape[:2])


def segment_head(rgb: np.ndarray, face: FaceGeometry | None, person_prob: np.ndarray) -> Segmentation:
    """Label every pixel of the photo (see module doc for the values)."""
    h, w = rgb.shape[:2]
    person = person_prob > 0.5
    labels = np.where(person, OTHER, BACKGROUND).astype(np.uint8)
    if face is None:
        return Segmentation(labels, np.zeros((h, w), np.float32), np.zeros((h, w), bool))

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    lm = face.landmarks_px[:, :2]
    samples = (
        _poly_mask((h, w), lm[list(_CHEEK_RIGHT)])
        | _poly_mask((h, w), lm[list(_CHEEK_LEFT)])
        | _poly_mask((h, w), lm[list(_FOREHEAD)])
    )
    mean, icov = _skin_model(lab, samples)
    dist = _mahalanobis(lab, mean, icov)
    skin_like = dist < 12.0

    face_mask = _poly_mask((h, w), face.face_oval)
    head = head_region((h, w), face) & person & ~face_mask

    labels[person & skin_like] = SKIN
    labels[face_mask & person] = SKIN
    # Below the nose inside the face, dark non-skin is beard or moustache.
    nose_tip = face.point(1)
    ys = np.arange(h, dtype=np.float32)[:, None]
    below_nose = np.broadcast_to(ys > nose_tip[1], (h, w))
    labels[face_mask & ~skin_like & below_nose & person] = OTHER
    labels[head & skin_like] = SCALP
    labels[head & ~skin_like] = HAIR
    # The upper forehead inside the landmark outline is scalp-side skin too (contract: upper
    # forehead counts as scalp skin): above the brows by more than 25 mm.
    glab = face.glabella
    up = face.up
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    height_mm = ((xx - glab[0]) * up[0] + (yy - glab[1]) * up[1]) / face.px_per_mm
    upper_forehead = face_mask & skin_like & (height_mm > 25.0)
    labels[upper_forehead] = SCALP

    labels = cv2.medianBlur(labels, 5)
    hair = (labels == HAIR).astype(np.float32)
    coverage = cv2.GaussianBlur(hair, (0, 0), max(1.0, 0.5 * face.px_per_mm))
    coverage[labels != HAIR] *= (labels[labels != HAIR] == SCALP)
    return Segmentation(labels, coverage.astype(np.float32), head | upper_forehead)
