"""Per-photo analysis: face geometry, scale and label map. Expensive; cached by callers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from .errors import NoHeadFound, SeveralFaces, TooDark
from .face import CHIN, HEAD_WIDTH_MM, NOSE_TIP, FaceGeometry, faces_from_result
from .models import Models, get_models
from .photo import Photo
from .segment import HAIR, SCALP, Segmentation, _mask_edge, segment_head

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
    scale_lower_bound: bool = False
    """The assumed-head-width scale of a head cut off at both sides of the frame whose width
    no arc of its outline gave (`_head_width_px`): the head is wider than the photo shows, so the
    true scale is larger (about twice, on close-ups of the labelled heads); a measured scale is
    needed for true dot sizes and areas."""
    monochrome: bool = False
    """A black-and-white or toned (sepia) photo (`is_monochrome`): hair is then told from skin
    by lightness and texture alone, and grey or white hair may be taken for scalp."""

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


_ARC_SIDE = 400  # px: the head's outline is fitted on its mask reduced to this long side
_ARC_DEPTH = 0.6  # ... over its top this many (visible) head widths deep
_ARC_RESIDUAL = 0.05  # ... a circle whose rms residual is under this share of its radius
_ARC_ANGLE = 60.0  # ... spanning at least this many degrees of it


def _outline_arc_diameter(head: np.ndarray) -> float | None:
    """Diameter (px) of the circle through the visible outline of the head's top, or None.

    On whole heads cut above the brows this circle's diameter is the head's width (median
    149 mm on the labelled heads with the iris scale, 10-90 % 133-168 mm), so it stands in for
    the width where a close-up cuts the head off at the sides. The outline is the largest
    region's edge inside the frame (not along its edges), over the top `_ARC_DEPTH` widths; the
    circle is a least-squares (Kasa) fit, kept when it fits (`_ARC_RESIDUAL`) over a long enough
    arc (`_ARC_ANGLE`).
    """
    h, w = head.shape
    g = min(1.0, _ARC_SIDE / max(h, w))
    m = head.astype(np.uint8)
    if g < 1.0:
        m = cv2.resize(m, (max(8, round(w * g)), max(8, round(h * g))), interpolation=cv2.INTER_NEAREST)
    n, comp, stats, _ = cv2.connectedComponentsWithStats(m)
    if n < 2:
        return None
    m = (comp == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    edge = _mask_edge(m)
    edge[:2] = edge[-2:] = False
    edge[:, :2] = edge[:, -2:] = False
    ys, xs = np.nonzero(edge)
    top = int(np.flatnonzero(m.any(axis=1))[0])
    keep = ys < top + _ARC_DEPTH * max(1, int(m.sum(axis=1).max()))
    xs, ys = xs[keep].astype(np.float64), ys[keep].astype(np.float64)
    if xs.size < 20:
        return None
    a = np.column_stack([xs, ys, np.ones_like(xs)])
    (d, e, c), *_ = np.linalg.lstsq(a, -(xs * xs + ys * ys), rcond=None)
    cx, cy = -d / 2.0, -e / 2.0
    r2 = cx * cx + cy * cy - c
    if r2 <= 0:
        return None
    r = float(np.sqrt(r2))
    resid = float(np.sqrt(np.mean((np.hypot(xs - cx, ys - cy) - r) ** 2)))
    angle = float(np.degrees(np.ptp(np.arctan2(ys - cy, xs - cx))))
    if resid > _ARC_RESIDUAL * r or angle < _ARC_ANGLE:
        return None
    return 2.0 * r / g


def _head_width_px(seg: Segmentation, prob_small: np.ndarray, f: float, width: int) -> tuple[float, bool]:
    """Width of the head in px for the assumed-head-width scale (photos without a face), and
    whether it is only a lower bound (the head reaches both sides and no arc fits: it is wider
    than the frame shows).

    The head is the part of the silhouette labelled scalp or hair; without either, the widest
    row of the person mask's top third (a top or back view fills the frame with the head). A
    head that reaches both sides of the frame (a close-up of the crown) is wider than the frame
    shows: the circle through the visible part of its outline gives its width
    (`_outline_arc_diameter`), where it fits.
    """
    head = np.isin(seg.labels, (SCALP, HAIR))
    if head.sum() > 0.01 * head.size:
        widths = head.sum(axis=1)
        w90 = float(np.percentile(widths[widths > 0], 90))
        if head[:, :2].any() and head[:, -2:].any():
            arc = _outline_arc_diameter(head)
            if arc is not None and arc > w90:
                return arc, False
            return w90, True
        return w90, False
    person = prob_small > 0.5
    rows = np.flatnonzero(person.any(axis=1))
    if rows.size == 0:
        return float(width), True
    top = person[rows[0]: rows[0] + max(1, (rows[-1] - rows[0]) // 3 + 1)]
    return float(top.sum(axis=1).max()) / f, bool(top[:, 0].any() and top[:, -1].any())


_SKIN_SOLIDITY = 0.88  # a scalp: the largest skin region fills this share of its convex hull
_SKIN_SHARE = 0.3  # ... and is at least this share of the head
_SEED_SHARE = 0.12  # ... of which the smooth skin-coloured seed is at least this share (measured >= 0.23 on heads)
_HEAD_SOLIDITY = 0.85  # skin and hair of the head together, likewise
_COMPACT_SKIN_SOLIDITY = 0.78  # ... with its largest skin region (scalp, forehead or nape) this solid
_CAP_SOLIDITY = 0.95  # ... and this much for a head recognised by its outline alone
_CAP_RESIDUAL = 0.045  # rms distance of the silhouette top from a parabola, in head widths
_PERSON_CAP_RESIDUAL = 0.06  # ... at most this for a head the person segmenter confirms
_MAX_SKIN_CHROMA = 60.0  # skin is never this saturated (an orange, a retina, a red cup are)
_TOP_CUT = 0.2  # a head cut off by the top of the frame on more than this share of its width
_CAP_TEX_REL = 0.6  # ... and its skin at most this rough against the rest (hair) of it


def _shows_head(ev: dict | None) -> bool:
    """Whether a photo without a face shows a head, from `segment._head_evidence`.

    It needs some smooth skin of a skin colour (scalp, neck or ears) and one of: a solid patch
    of scalp skin that is a good part of the head, a good part of it the smooth skin-coloured seed
    it grew from (bald or thinning heads from any side; a colour wheel's skin grows from a speck
    of orange over yellows and reds); a
    compact silhouette of skin and hair inside the frame, with a round top, that the person
    segmenter sees as a person (haired back and side views) or that is the clean skull cap of a
    head against the background, whose skin is smoother than the rest (its hair: a colour wheel
    is smooth all over); in both, the skin shown (scalp, forehead or nape) is one solid
    patch. Fur, food (a cup and saucer on a wooden table), coins and textures are ragged or lack
    a skin-coloured smooth region.
    """
    if ev is None:
        return True  # a face was found: the face decides
    if ev["seed_px"] < 30 or ev["skin_chroma"] > _MAX_SKIN_CHROMA:
        return False
    scalp = (ev["skin_solidity"] >= _SKIN_SOLIDITY and ev["skin_share"] >= _SKIN_SHARE
             and ev["seed_share"] >= _SEED_SHARE)
    compact = (ev["head_solidity"] >= _HEAD_SOLIDITY and ev["top_cut"] <= _TOP_CUT
               and ev["skin_solidity"] >= _COMPACT_SKIN_SOLIDITY)
    person = compact and ev["selfie"] >= 0.5 and ev["cap_residual"] <= _PERSON_CAP_RESIDUAL
    cap = (compact and ev["head_solidity"] >= _CAP_SOLIDITY and ev["cap_residual"] <= _CAP_RESIDUAL
           and ev["tex_rel"] <= _CAP_TEX_REL)
    return bool(scalp or person or cap)

PERSON_CROP_SHARE = 0.5
"""The person segmenter runs again on a head-and-shoulders crop around the face when that crop
covers less than this share of the photo."""


def _person_around_face(models: Models, small: np.ndarray, face: FaceGeometry, prob: np.ndarray) -> np.ndarray:
    """The person probability, from a head-and-shoulders crop around the face where the person
    is small in the photo.

    The selfie segmenter is made for selfies: a person who fills the frame. Where the person is
    small in a wide scene (a press photo), it takes objects around the head (a white cup, lamps,
    a saucer) for the person. On a crop framed like a portrait (the face box widened by 1.5 face
    widths on each side, one face height above and 2.5 below) it sees what it was made for;
    outside the crop its first answer is kept where it joins the person in the crop.
    """
    h, w = small.shape[:2]
    x0, y0 = face.face_oval.min(axis=0)
    x1, y1 = face.face_oval.max(axis=0)
    fw, fh = x1 - x0, y1 - y0
    cx0, cx1 = int(max(0, np.floor(x0 - 1.5 * fw))), int(min(w, np.ceil(x1 + 1.5 * fw)))
    cy0, cy1 = int(max(0, np.floor(y0 - 1.0 * fh))), int(min(h, np.ceil(y1 + 2.5 * fh)))
    if (cx1 - cx0) * (cy1 - cy0) >= PERSON_CROP_SHARE * h * w or min(cx1 - cx0, cy1 - cy0) < 16:
        return prob
    out = prob.astype(np.float32, copy=True)
    out[cy0:cy1, cx0:cx1] = models.person_probability(np.ascontiguousarray(small[cy0:cy1, cx0:cx1]))
    # outside the crop only what joins the person in it (the body below) stays person
    n, comp = cv2.connectedComponents((out > 0.5).astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(comp[cy0:cy1, cx0:cx1])] = True
    keep[0] = True
    return np.where(keep[comp], out, np.minimum(out, 0.2)).astype(np.float32)


_OTHER_MIN_SHARE = 0.05  # a separate person region smaller than this share of the face is a speck
_REGIONS_SIDE = 480  # px: the person mask's regions are told apart on it reduced to this long side
_HEAD_REACH_MM = 60.0  # the head (hair, ears) reaches this far beside the face's outline: 8-25 mm
# measured above the nose on the labelled heads, so a fuller head of hair fits too
_HEAD_REACH_YAW_MM = 110.0  # ... plus this times sin(yaw): the back of a turned head shows beside
_BESIDE_MM = 30.0  # person beside the face further than this (above the nose) may be someone else ...
_BESIDE_HEAD = 0.25  # ... when it covers (this many face widths)^2: the landmarker looks there again


FACE_OVERLAP = 0.2
"""A face whose box overlaps a larger one's by more than this (intersection over union) is the
same face found twice, not a second person. With a bystander close behind the client's
shoulder the landmarker gives such a ghost, about the client's size and shifted towards the
bystander: 0.22-0.48 on the crowd copies of the labelled photos (the client overlapping 40-50 %
of the bystander's width), where the bystanders' own faces overlap the client's 0.12 at most."""


def _box_iou(a: FaceGeometry, b: FaceGeometry) -> float:
    (ax0, ay0), (ax1, ay1) = a.face_oval.min(axis=0), a.face_oval.max(axis=0)
    (bx0, by0), (bx1, by1) = b.face_oval.min(axis=0), b.face_oval.max(axis=0)
    iw, ih = max(0.0, min(ax1, bx1) - max(ax0, bx0)), max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = iw * ih
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return float(inter / union) if union > 0 else 0.0


def _distinct(faces: list[FaceGeometry]) -> list[FaceGeometry]:
    """The faces (largest first) without the ghosts of larger ones (`FACE_OVERLAP`)."""
    kept: list[FaceGeometry] = []
    for fc in faces:
        if all(_box_iou(fc, k) <= FACE_OVERLAP for k in kept):
            kept.append(fc)
    return kept


def _beside_head(prob: np.ndarray, client: FaceGeometry, reach_mm: float) -> np.ndarray:
    """Person pixels higher in the photo than the client's nose tip and further than
    ``reach_mm`` beside their face (its outline widened by that much on both sides, across the
    face's axes; the height is the photo's, so that the shoulders under a tilted head stay)."""
    h, w = prob.shape
    r = client.right.astype(np.float64)
    n = np.array([r[1], -r[0]])  # perpendicular to ``right``, pointing up the face
    s = client.px_per_mm
    o = client.glabella.astype(np.float64)
    a = (client.face_oval - o) @ r
    big = 4.0 * (h + w)
    region = np.zeros((h, w), np.uint8)
    for a0, a1 in ((-big, float(a.min()) - reach_mm * s), (float(a.max()) + reach_mm * s, big)):
        if a1 <= a0:
            continue
        quad = [o + a0 * r - big * n, o + a1 * r - big * n, o + a1 * r + big * n, o + a0 * r + big * n]
        cv2.fillConvexPoly(region, np.round(quad).astype(np.int32), 1)
    region[max(0, int(np.ceil(client.point(NOSE_TIP)[1]))):] = 0
    return (region > 0) & (prob > 0.5)


def _faces_beside(models: Models, small: np.ndarray, prob: np.ndarray, client: FaceGeometry) -> list[FaceGeometry]:
    """Faces of people beside the client that the landmarker missed on the whole photo.

    Its face detector looks at the whole photo at a low resolution, where a bystander further
    back has a face of a few pixels. Where the person segmenter sees a head-sized region beside
    the client's head (above their nose, further than their own hair reaches), the landmarker
    looks again at a crop around it, on each side.
    """
    beside = _beside_head(prob, client, _BESIDE_MM)
    w0 = float(np.ptp(client.face_oval[:, 0]))
    if beside.sum() < (_BESIDE_HEAD * w0) ** 2:
        return []
    h, w = prob.shape
    cx = int(client.face_oval[:, 0].mean())
    found = []
    for a, b in ((0, cx), (cx, w)):  # each side of the client
        ys, xs = np.nonzero(beside[:, a:b])
        if ys.size < (_BESIDE_HEAD * w0) ** 2:
            continue
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min() + a, xs.max() + 1 + a
        pad = 0.5 * max(y1 - y0, x1 - x0)
        y0, y1 = int(max(0, y0 - pad)), int(min(h, y1 + pad))
        x0, x1 = int(max(0, x0 - pad)), int(min(w, x1 + pad))
        crop = np.ascontiguousarray(small[y0:y1, x0:x1])
        for fc in faces_from_result(models.landmarks(crop), crop.shape[:2]):
            lm = fc.landmarks_px.copy()
            lm[:, :2] += (x0, y0)
            fc = replace(fc, landmarks_px=lm)
            if _box_iou(fc, client) == 0.0:  # not the client again (a part of their face at the crop's edge)
                found.append(fc)
    return found


def _client_only(prob: np.ndarray, faces: list[FaceGeometry]) -> tuple[np.ndarray, np.ndarray | None]:
    """The person probability of the client alone (``faces[0]``, in ``prob``'s pixels).

    The selfie segmenter marks every person in the photo, and the head analysis would take a
    bystander's head beside the client's for more of the client's skull: scalp and hair on
    someone else (a press photo of a speaker with people behind). Person regions that do not
    join the client's face are someone else; so is what lies higher in the photo than the
    client's nose further beside their face than a head reaches, and, at the height of the
    client's head (higher than their chin), what lies nearer to another face the landmarker
    found than to the client's, in units of each face's width (a smaller face further back
    keeps only its own head). Those are given a probability of at most 0.2 and returned as a
    mask of other people (``None`` where there are none), which the head analysis labels
    background whatever their colours.
    """
    mask = prob > 0.5
    h, w = prob.shape
    client = faces[0]
    # the regions of the person mask, found on it reduced (a third of the time at 2 MP)
    g = min(1.0, _REGIONS_SIDE / max(h, w))
    sw, sh = max(1, round(w * g)), max(1, round(h * g))
    m = mask.astype(np.uint8)
    if g < 1.0:
        m = cv2.resize(m, (sw, sh), interpolation=cv2.INTER_NEAREST)
    oval = np.zeros((sh, sw), np.uint8)
    cv2.fillPoly(oval, [np.round(client.face_oval * (sw / w, sh / h)).astype(np.int32)], 1)
    _, comp, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    ids = np.unique(comp[oval > 0])
    ids = ids[ids > 0]
    if ids.size == 0:
        return prob, None
    # specks are left alone (the person segmenter's noise; nobody's head)
    keep = stats[:, cv2.CC_STAT_AREA] < _OTHER_MIN_SHARE * float(oval.sum())
    keep[0] = True
    keep[ids] = True
    apart = ~keep[comp]
    if not apart.any():
        theirs = np.zeros((h, w), bool)
    elif g < 1.0:
        theirs = mask & (cv2.resize(apart.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0)
    else:
        theirs = mask & apart
    c0 = client.face_oval.mean(axis=0)
    w0 = max(float(np.ptp(client.face_oval[:, 0])), 1.0)
    chin_y = float(client.point(CHIN)[1])
    # beside the client's head, higher than their nose, further from the face than a head reaches
    reach = _HEAD_REACH_MM + _HEAD_REACH_YAW_MM * abs(float(np.sin(np.radians(client.yaw_deg))))
    theirs |= _beside_head(prob, client, reach)
    for fc in faces[1:]:
        ci = fc.face_oval.mean(axis=0)
        if ci[1] >= chin_y:  # lower in the photo than the client's chin: no head beside theirs
            continue
        # their head and what is around it (not only the person mask: their skin has the
        # client's colours, and the colour models would take it where the segmenter hesitates)
        wi = max(float(np.ptp(fc.face_oval[:, 0])), 1.0)
        x0, x1 = int(max(0, ci[0] - 1.5 * wi)), int(min(w, ci[0] + 1.5 * wi + 1))
        y0, y1 = int(max(0, ci[1] - 1.5 * wi)), int(min(h, ci[1] + 1.5 * wi + 1))
        if x1 <= x0 or y1 <= y0:
            continue
        gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        nearer = np.hypot(gx - ci[0], gy - ci[1]) / wi < np.hypot(gx - c0[0], gy - c0[1]) / w0
        theirs[y0:y1, x0:x1] |= nearer & (gy < chin_y)
    if not theirs.any():
        return prob, None
    return np.where(theirs, np.minimum(prob, 0.2), prob).astype(np.float32), theirs


MONOCHROME_SPREAD = 12.0
"""Colour that varies with lightness alone: the 99th percentile of the pixels' distance in Lab
(a*, b*) from the mean colour of their lightness, around the face, under this is a
black-and-white or toned photo (a photo without a face: `MONOCHROME_CHROMA`). Measured on the labelled heads: colour photos 54
or more, their small compressed copies on busy backgrounds 20.5 or more, at 30 % of their
saturation 16.4 or more; grey 0, sepia saved as JPEG at quality 40 at most 8.6."""


MONOCHROME_CHROMA = 6.0
"""A photo without a face is grey when the 99th percentile of its chroma (Lab) is under this:
grey copies saved at JPEG quality 40 measure 0.1; 196 colour crops of the labelled heads
without their faces (on the studio and busy backdrops) 27 or more, a close-up inside the bald
sample's scalp 27.9."""


def is_monochrome(rgb: np.ndarray, face: FaceGeometry | None = None) -> bool:
    """Whether ``rgb`` is black and white or toned (its colour a function of its lightness).

    Measured around the face (the face box widened by a face width on each side and a face
    height above), reduced to 160 px: where skin meets hair, eyes and background at one
    lightness a colour photo shows several colours, a toned one one. Without a face only a
    grey photo is (`MONOCHROME_CHROMA`): a close-up of the scalp is one material, whose colour
    varies with its lightness alone, as a toned photo's does.
    """
    h, w = rgb.shape[:2]
    y0, y1, x0, x1 = 0, h, 0, w
    if face is not None:
        (fx0, fy0), (fx1, fy1) = face.face_oval.min(axis=0), face.face_oval.max(axis=0)
        fw, fh = fx1 - fx0, fy1 - fy0
        y0, y1 = int(max(0, fy0 - fh)), int(min(h, np.ceil(fy1 + 0.3 * fh)))
        x0, x1 = int(max(0, fx0 - fw)), int(min(w, np.ceil(fx1 + fw)))
        if y1 - y0 < 4 or x1 - x0 < 4:
            y0, y1, x0, x1 = 0, h, 0, w
    box = rgb[y0:y1, x0:x1]
    k = min(1.0, 160.0 / max(box.shape[:2]))
    if k < 1.0:
        box = cv2.resize(box, (max(1, round(box.shape[1] * k)), max(1, round(box.shape[0] * k))),
                         interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(box.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    if face is None:
        return bool(np.percentile(np.hypot(lab[:, 1], lab[:, 2]), 99) < MONOCHROME_CHROMA)
    bins = np.clip((lab[:, 0] * 0.32).astype(np.int64), 0, 31)  # 32 bins of lightness
    n = np.maximum(np.bincount(bins, minlength=32), 1)
    ma = np.bincount(bins, lab[:, 1], 32) / n
    mb = np.bincount(bins, lab[:, 2], 32) / n
    spread = np.hypot(lab[:, 1] - ma[bins], lab[:, 2] - mb[bins])
    return bool(np.percentile(spread, 99) < MONOCHROME_SPREAD)


FACE_MIN_PERSON = 0.5
"""A face found by the landmarker is kept when the person segmenter's mean probability over its
oval is at least this (measured: 0.98 or more on every real face of the labelled set and its
degraded variants; 0.0 on the false faces of a cat and a colour wheel)."""


def _person_share(prob: np.ndarray, face: FaceGeometry) -> float:
    mask = np.zeros(prob.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(face.face_oval).astype(np.int32)], 1)
    sel = mask.astype(bool)
    return float(prob[sel].mean()) if sel.any() else 0.0


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
    if float(np.mean(cv2.mean(rgb)[:3])) < 18.0:  # np.mean of a 12 MP photo is ~10x slower
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
    timings["person_mask"] = (time.perf_counter() - t1) * 1e3

    # the landmarker sees faces in a cat, a colour wheel or a pattern; the person segmenter does
    # not see a person over their oval (`FACE_MIN_PERSON`), on the whole photo nor, where a face
    # is small in it, on a portrait-framed crop around it (run once per face, kept for the first)
    around = {}

    def person_near(fc):
        if id(fc) not in around:
            around[id(fc)] = _person_around_face(models, small, fc, prob_small)
        return around[id(fc)]

    faces = [fc for fc in faces if _person_share(prob_small, fc) >= FACE_MIN_PERSON
             or _person_share(person_near(fc), fc) >= FACE_MIN_PERSON]
    faces = _distinct(faces)
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

    others = None
    if faces:
        prob_small = person_near(faces[0])
        faces = faces + _faces_beside(models, small, prob_small, faces[0])
        prob_small, others = _client_only(prob_small, faces)
    t2 = time.perf_counter()
    seg = segment_head(rgb, face, prob_small, others)
    timings["segment"] = (time.perf_counter() - t2) * 1e3
    # Without a face, a head is only taken as found where some skin of the scalp shows: colour and
    # texture alone call grass or fur "hair", but nothing else looks like bare scalp beside it.
    if face is None and (float(np.isin(seg.labels, (SCALP, HAIR)).mean()) < 0.02
                         or float((seg.labels == SCALP).mean()) < 0.01
                         or not _shows_head(seg.head_evidence)):
        colour = " in colour" if is_monochrome(small) else ""  # faces are found less often in grey
        raise NoHeadFound(
            "No head or face was found in the photo.",
            f"Use a photo{colour} that shows the client's head clearly, ideally from the front.",
            source=photo.name,
        )
    if face is not None and seg.head_outline is not None:
        face = replace(face, skull_ellipse=seg.head_outline)

    lower_bound = False
    if px_per_mm is not None:
        scale, source = float(px_per_mm), "user"
    elif face is not None:
        scale, source = face.px_per_mm, face.scale_source
    else:
        head_px, lower_bound = _head_width_px(seg, prob_small, f, rgb.shape[1])
        scale, source = head_px / HEAD_WIDTH_MM, "head_width"
    mono = is_monochrome(small, faces[0] if faces else None)  # about 1 ms
    timings["total"] = (time.perf_counter() - t0) * 1e3
    return HeadAnalysis(photo, face, seg, scale, source, timings, lower_bound, mono)


def scalp_fraction(analysis: HeadAnalysis) -> float:
    """Fraction of the photo labelled as scalp skin (for quick checks)."""
    return float((analysis.labels == SCALP).mean())
