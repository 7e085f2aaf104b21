"""Label map of the head: background, other skin, scalp skin, head hair, everything else.

Label values (the ``segment`` contract):
0 background, 1 other skin (face inside the landmark outline, ears, neck), 2 scalp skin,
3 head hair, 4 everything else of the person (clothes, beard, glasses, hats).

Method (no learned hair model exists for us, so this is built from the person's own colours):

1. Work on a crop around the head, reduced so that the face is about `WORK_FACE_PX` wide.
2. Colour models in CIE Lab, as smoothed 3-D histograms: *skin* from the person's own cheeks,
   forehead and nose, augmented with the same skin under other shading and with specular
   highlights (dichromatic reflection: a shiny bald head is skin plus white light, not hair);
   *hair* from person pixels of the skull region that the skin model rejects; *clothes* from
   person pixels below the chin; *background* from pixels the person segmenter rejects.
3. Texture (local high-frequency energy of L): hair is fibrous, skin and scalp are smooth.
4. Priors from the geometry: the person probability for background, the landmark face outline
   (inside it above the nose everything is skin, brows and eyes included, unless glasses are
   found), hair only on the skull above about ear level, beard below the nose, clothes below the
   chin.
5. The class scores are smoothed edge-aware (guided filter, a mean-field-like step), upsampled
   to the full resolution and filtered again with the full-resolution image as guide, so the
   edges follow the photo's own edges; then each pixel takes its best class.

Photos without a usable face (top, back and side views) get the same colour/texture treatment,
with the skin model fitted on the head's own smooth region of a skin colour (a generic prior from
light to dark skin picks it) instead of the cheeks; the person mask joins the selfie segmenter's
with what the border colours do not explain, and the head is turned upright from the frame edge
it leaves by (see `_scores_without_face`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage

from .face import BROW_LEFT, BROW_RIGHT, CHIN, FACE_OVAL, IRIS_LEFT, IRIS_RIGHT, FaceGeometry

BACKGROUND, SKIN, SCALP, HAIR, OTHER = 0, 1, 2, 3, 4
LABEL_NAMES = {BACKGROUND: "background", SKIN: "other skin", SCALP: "scalp skin", HAIR: "head hair", OTHER: "other"}

WORK_FACE_PX = 150.0
"""The colour and texture models run on a crop reduced so that the face is about this wide."""
WORK_MAX_SIDE = 480
"""Upper bound on the long side of the working crop (photos without a face, huge crops)."""
UPPER_FOREHEAD_MM = 25.0
"""Skin inside the face outline this far above the glabella counts as scalp skin."""

# Landmark polygons (MediaPipe face mesh indices).
_CHEEK_RIGHT = (117, 118, 101, 36, 206, 207, 187, 123)
_CHEEK_LEFT = (346, 347, 330, 266, 426, 427, 411, 352)
_FOREHEAD = (109, 10, 338, 337, 336, 9, 107, 108)
_NOSE = (168, 417, 351, 419, 248, 281, 5, 51, 3, 196, 122, 193)
_LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
_EYE_RIGHT = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
_EYE_LEFT = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
_NOSE_TIP = 1
_NOSE_LOW = (64, 98, 97, 2, 326, 327, 294, 278, 344, 440, 275, 4, 45, 220, 115, 48)  # tip, alae, nostrils
_NOSE_BRIDGE = 168

# Colour histograms over CIE Lab (L 0-100, a and b -64..80).
_NL, _NA = 16, 24
_AB_LO, _AB_HI = -64.0, 80.0

_CLS_BG, _CLS_SKIN, _CLS_HAIR, _CLS_OTHER = 0, 1, 2, 3
_DEBUG: dict | None = None  # set to {} to keep the intermediate arrays of the last call
# Method constants (chosen on the dev set; see bench/segmentation.py).
_GC_WEIGHT = 1.5  # weight of the GrabCut skin decision in the skin score
_GC_SIDE = 220  # GrabCut runs on the crop reduced to this long side
_EM_ROUNDS = 2  # refits of the skin and hair models on the skull
_EM_MARGIN = 3.0  # score margin for a scalp pixel to count as sure skin in a refit
_HAIR_MIN_SHARE = 0.01  # fewer hair samples than this share of the skull: no hair model (bald)
_NONSKIN_D2 = 9.0  # hair samples lie this far from the face's skin model (`_SkinModel.d2`, 3 sigma) ...
_NONSKIN_D2_FEW = 6.25  # ... or this far (2.5 sigma) when too few lie 3 sigma away ...
_NONSKIN_D2_FIBROUS = 4.0  # ... or, when still too few, this far (2 sigma) and fibrous:
_FIBROUS_FEW = 2.0  # ... this many times the face skin's texture
_MORE_PIGMENT = 3.0  # a chroma above the face skin's counts this many times less
_SPILL_X = 0.6  # least skin share of a silhouette pixel explained as darkened skin plus backdrop
_SPILL_Y = 0.2
_SPILL_MM = 4.0
_SPILL_SIGMA_MM = 3.0
_SPILL_WS = 0.02
_SPILL_RESID = 0.06
_SPILL_HAIR_IN_MM = 2.0  # hair this far inside the hair region gives the hair colour
_SPILL_HAIR_MARGIN = 1.5  # skin must fit this many times better than hair
_SHADOW_CHROMA = 1.0  # exponent of the chroma falloff of skin in shadow (0: none)
_BEARD_BONUS = 2.5  # and then beat the skin by this much (log-odds)
_SMOOTH_MM = 2.5  # radius of the edge-aware smoothing of the class scores
_SIDEBURN_MM = -30.0  # hair reaches down to this height (mm, negative: below the glabella) beside the face
_STUBBLE_PENALTY = 6.0  # log-odds taken from 'hair' that keeps the local scalp's colour
_STUB_C = 0.7  # ... i.e. that keeps over this share of the local scalp's chroma
_STUB_L = 10.0  # ... and is less than this much darker (L)
_HAIR_BONUS = 5.0  # log-odds given to 'scalp' that is far greyer or darker than the scalp beside it
_HAIR_C = 0.75  # ... i.e. keeps under this share of the local scalp's chroma (not lighter)
_HAIR_L = 10.0  # ... or is this much darker (L)
_GLINT_MM2 = 100.0  # skin patches up to this area enclosed by hair on the skull become hair
_BEARD_TEXTURE = 3.0  # extra weight of texture (fibrous against smooth) in the beard zone
_BLEND_RESID = 0.15  # a silhouette pixel this close to a skin/backdrop blend is one
_TEMPLE_MARGIN_MM = 15.0  # the face outline this far beside the outer eye corners is temple
_TEMPLE_LOW_MM = -10.0  # ... down to this height (mm from the glabella, about ear level)
_TEX_WEIGHT = 3.0  # weight of the texture ratio (log) in the hair score
_TEX_OFFSET = 0.5  # added to both textures (L units): noise floor of the ratio
_TEX_CLIP = 1.5  # the log ratio is clipped to +-this
_RIM_HAIR_MM = 1.5  # hair along the silhouette thinner than twice this is a skin/backdrop blend
_RIM_BAND_MM = 4.5  # hair patches along the silhouette thinner than twice this are judged as a whole
_RIM_SMOOTH = 1.0  # ... skin when smoother than this share of the face skin's texture
_RIM_CHROMA = 1.1  # ... or more saturated than this share of the skin beside them
_FOREHEAD_SURE_MM = 20.0  # inside the face outline up to this height (mm above the glabella) is sure skin
_UPSAMPLE_CLIP = 2.0  # class scores are clipped this far below the best before upsampling
_NO_HAIR_LL = 1.0  # log-density bonus of the broad "not skin" model used when bald
# Photos without a face (`_scores_without_face`, `_person_from_border`)
_FIBROUS = 1.3  # hair samples have this many times the scalp seed's texture
_BORDER_DE = 12.0  # a border piece this close (Lab) to the photo's centre colour is no background
_BORDER_SHARE_DE = 18.0  # border pieces this close share a colour (an unevenly lit backdrop drifts in tone)
_BORDER_SUPPORT = 0.3  # a backdrop colour is shared by this share of the border pieces
_PERSON_GC_SIDE = 128  # px: GrabCut for the head of a photo without a face runs at this size
_PERSON_GC_MARGIN = 0.08  # ... with this share of the shorter side along the top, left and right as background
_PERSON_GC_ITERS = 3
_PERSON_GC_SURE = 0.95  # ... whose head is person with this probability (its outside background likewise)
_PERSON_AGREE = 0.9  # IoU of the two heads over which the border colours' softer outline is kept
_FILL_SKIN = 0.95  # a head fills the frame: this share of its border skin-coloured (close-ups 0.96-1, busy backdrops 0.94 at most) ...
_FILL_NEAR = 0.8  # ... this share of it near the centre's colour ...
_FILL_TEX = (0.7, 1.6)  # ... and its texture this many times the centre's
_FILL_PROB = 0.9  # ... is person with this probability everywhere
_FILL_SKIN_ALL = 0.98  # ... or skin-coloured on this share of it (busy backdrops 0.94 at most) ...
_FILL_NEAR_ALL = 0.5  # ... this share near the centre's colour ...
_FILL_TEX_ALL = 2.0  # ... and its texture up to this many times the centre's
_FILL_SKIN_EMPTY = 0.8  # a frame GrabCut finds no head in, with no margin colour no head has, is the head when this share of its border is skin-coloured (the stained tissue: 0.43)
_OUTLINE_WEAK = 3.0  # a face-less head's outline less sharp than this (`_outline_contrast`) may run through the head
_OUTLINE_GAIN = 1.1  # ... and the cut from the colours no head has (see `_person_by_grabcut`) is kept when this many times sharper
_OUTLINE_SURE = 2.7  # ... or, where the first cut found no head, this sharp
_REACHES_FRAME = 0.9  # ... or when it covers this share of the frame, whose border is skin-coloured (`_FILL_SKIN_EMPTY`), under `_OUTLINE_REAL`
_OUTLINE_REAL = 4.0  # the least sharpness of real outlines: under it, a skin-coloured border whose margins have no colour no head has, or that the second cut takes in (`_REACHES_FRAME`), is the head's
_UNLIKE_PCT = 2.0  # margin pixels of a colour rarer in the photo's centre than this percentile of the centre's own ...
_UNLIKE_MIN = 0.02  # ... and no skin colour are background; at least this share of the margins for a cut
# The head's outline with a face (`_head_edge_grabcut`)
_HEAD_EDGE_OUT_MM = 12.0  # GrabCut decides from this far outside the person segmenter's outline
_HEAD_EDGE_IN_MM = 0.5  # ... to this far inside it
_HEAD_EDGE_V = -10.0  # ... above this height (mm above the glabella: from about the eyes up)
_HEAD_EDGE_SIDE = 256  # px: on the band's box reduced to this size
_HEAD_EDGE_ITERS = 3
_HEAD_EDGE_CLIP = 0.05  # the person probability it gives stays within this of 0 and 1
_ADDED_NOT_SKIN = 4.0  # log-odds against skin where GrabCut added to the segmenter's head
_TURN_COVER = 1.0 / 6.0  # a head leaves the frame over at least this share of an edge (where it is cut off)
# (not more: on wood the border colours find only 0.25 of a turned head's edge; a cup's rim at the
# top edge covers 0.19 and still turns one coffee photo upside down)
_TURN_BOTTOM = 0.05  # a head that covers more of the bottom edge than this is taken as upright
_HEAD_DEPTH = 1.3  # the head reaches this many head widths below its top
_SCALP_DEPTH = 0.9  # ... and its scalp (down to about the brows and the ear tops) this many
_DETACH_MM = 8.0  # skin/hair joined to the head by a bridge thinner than twice this is not the head
_ROUND_R = 0.25  # head widths: radius of the disc that sweeps a head's round outline (see `_off_the_round_head`)
_ROUND_CLOSE_MM = 8.0  # ... after closing gaps narrower than twice this
_ROUND_MARGIN_MM = 2.0  # ... what lies this far beyond the swept area stays (hair tips)
_ROUND_MIN = 0.1  # ... and parts narrower and shorter than this many head widths (a tuft) stay
_ROUND_DEPTH = 0.6  # ... in the head's cap: down to this many head widths below its top
_ROUND_MAX_SHARE = 0.4  # ... unless that is more than this share of the silhouette
_ROUGH_SIGMA_MM = 1.5  # texture over this reach tells a rough background from smooth skin
_ROUGH_RATIO = 3.0  # ... 'skin' this many times rougher than the scalp seed ...
_ROUGH_LL = 1.0  # ... whose colour the background fits at most this much worse (log) ...
_ROUGH_COMMON = 25.0  # ... and as well as this percentile of its own pixels (a colour it has) is background
_STRAND_MM = 2.0  # skin in a strand of the outline thinner than twice this is no skin
_EDGE_BAND_MM = 4.0  # face-less 'hair' this near the silhouette's edge ...
_EDGE_BG_NEARER = 1.5  # ... this many times nearer to the background's colour beside it than to the hair's is background
_FRINGE_ALPHA = 0.4  # scalp beside dark hair this far (linear RGB) from the scalp's colour to the dense hair's is hair
# (0.4, not 0.5: the dense hair's own colour still has scalp between its strands; on the labelled set and on
# every degraded copy of it 0.4 gains about twice what 0.5 does and adds no hair to the bald heads)
_FRINGE_DARK = 0.5  # ... where the hair's luminance is under this share of the scalp's
_FRINGE_REACH_MM = 3.0  # ... within this distance of the hair
_GLINT_L = 5.0  # smooth 'hair' this much lighter than the scalp beside it is a highlight
_GLINT_TEX = 1.8  # ... smooth: under this many times the scalp seed's texture
_GREY_SHARE = 0.15  # light grey hair is at least this share of a face-less head's skin-coloured pixels (and the skin too)
_GREY_CHROMA = 0.56  # ... under this share of the skin's chroma
_GREY_DARKER = 5.0  # ... and at most this much darker (L)
_GREY_RIM = 0.2  # a light smooth patch with this share of its edge on the background is hair, no highlight
_BAND_CHROMA = 0.6  # a light object hugging the head: under this share of the face skin's chroma, lighter ...
_BAND_OPEN_MM = 1.5  # ... after an opening by this ...
_BAND_MIN_CM2 = 2.0  # ... at least this large ...
_BAND_THICK_MM = 4.0  # ... and thick (twice the area over the perimeter) ...
_BAND_BG_SHARE = 0.1  # ... with this share of its edge on the background (see `_light_band_beside_scalp`)


@dataclass(frozen=True, eq=False)
class Segmentation:
    """Per-pixel labels (uint8, HxW) and hair coverage (float32 0-1, HxW).

    ``head_mask`` (bool, HxW) is the skull region above and beside the face (scalp or hair).
    ``head_outline`` is the outline of the head above the ears as an ellipse in image pixels,
    ``((cx, cy), (width, height), angle_deg)`` in the convention of `cv2.fitEllipse`, fitted to
    the person silhouette above the eyes (hair included); None when no head was found.
    ``head_evidence`` (photos without a face only, else None): the measures that tell a head
    from other things, see `_head_evidence`.
    """

    labels: np.ndarray
    hair_coverage: np.ndarray
    head_mask: np.ndarray
    head_outline: tuple | None = None
    head_evidence: dict | None = None


# --------------------------------------------------------------------------- helpers


def _poly_mask(shape, pts) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(np.asarray(pts)).astype(np.int32)], 1)
    return m.astype(bool)


def _to_lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_RGB2LAB)


def _bin_index(lab: np.ndarray) -> np.ndarray:
    lq = np.clip((lab[..., 0] * (_NL / 100.0)).astype(np.int32), 0, _NL - 1)
    sc = _NA / (_AB_HI - _AB_LO)
    aq = np.clip(((lab[..., 1] - _AB_LO) * sc).astype(np.int32), 0, _NA - 1)
    bq = np.clip(((lab[..., 2] - _AB_LO) * sc).astype(np.int32), 0, _NA - 1)
    return (lq * _NA + aq) * _NA + bq


def _log_density(samples_lab: np.ndarray, *, sigma_bins: float = 1.0, floor: float = 1e-3) -> np.ndarray:
    """Smoothed log density over the Lab bins (a flat table) from (N, 3) Lab samples."""
    n_bins = _NL * _NA * _NA
    if len(samples_lab) == 0:
        return np.full(n_bins, np.log(1.0 / n_bins), np.float32)
    hist = np.bincount(_bin_index(samples_lab), minlength=n_bins).astype(np.float32)
    hist = ndimage.gaussian_filter(hist.reshape(_NL, _NA, _NA), sigma_bins, mode="constant").ravel()
    hist /= max(float(hist.sum()), 1e-9)
    return np.log((1.0 - floor) * hist + floor / n_bins).astype(np.float32)


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def _augment_skin(rgb_samples: np.ndarray) -> np.ndarray:
    """The same skin under other light: shaded, brighter and with specular highlights.

    Dichromatic reflection model: a pixel is body (skin) colour times shading plus a white
    surface reflection. A bald head shows the whole range, the cheeks only a part of it.
    """
    lin = _srgb_to_linear(rgb_samples.astype(np.float32) / 255.0)
    out = [lin]
    for k in (0.6, 0.8, 1.25):
        out.append(lin * k)
    for t in (0.1, 0.2, 0.3):
        out.append(lin * (1.0 - t) + t * lin.max(axis=1, keepdims=True).clip(0.6, 1.0))
    srgb = _linear_to_srgb(np.concatenate(out, axis=0))
    return cv2.cvtColor(srgb.reshape(-1, 1, 3).astype(np.float32), cv2.COLOR_RGB2LAB).reshape(-1, 3)


_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)  # Rec. 709 luminance of linear RGB
_BIN_VOLUME = (100.0 / _NL) * ((_AB_HI - _AB_LO) / _NA) ** 2


@dataclass
class _SkinModel:
    """A Gaussian skin colour model in Lab: chroma (a, b) tight, lightness loose.

    Highlights on skin (specular reflection) raise L and pull the chroma towards neutral, so
    above the brightest face skin (the 90th percentile of L) the expected chroma shrinks in
    proportion; shadow is allowed twice the lightness spread of light. Grey and white hair at
    the lightness of the skin keeps a low chroma and stays far from the model.
    """

    mean_ab: np.ndarray
    icov_ab: np.ndarray
    logdet_ab: float
    L_mean: float
    L_std: float
    L_hi: float

    @classmethod
    def fit(cls, lab_px: np.ndarray) -> _SkinModel:
        ab = lab_px[:, 1:].astype(np.float64)
        # chroma noise of JPEG and sensor: at least 2 units of a and b
        cov = np.cov(ab.T) + np.diag([4.0, 4.0]) if len(ab) > 3 else np.diag([40.0, 40.0])
        L = lab_px[:, 0]
        return cls(ab.mean(axis=0), np.linalg.inv(cov), float(np.log(np.linalg.det(cov))),
                   float(np.mean(L)), float(max(np.std(L), 4.0)), float(np.percentile(L, 90)))

    def d2(self, lab: np.ndarray, *, shadow: float = 0.0) -> np.ndarray:
        """Squared normalised distance from the model (about chi-square with 3 dof for skin).

        ``shadow`` > 0 lets the expected chroma fall with the lightness below the mean, as the
        same skin's does in shadow (exponent of L / L_mean); used on the face and neck only,
        where dark hair cannot pass for shaded skin.
        """
        # the same float32 (then float64) arithmetic as the plain expressions in the comments,
        # in place: a few 2-D temporaries instead of one per operation
        L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
        # g = 1 - clip((L - L_hi) / max(100 - L_hi, 5), 0, 0.8)
        g = L - self.L_hi
        g /= max(100.0 - self.L_hi, 5.0)
        np.clip(g, 0.0, 0.8, out=g)
        np.subtract(1.0, g, out=g)
        if shadow > 0:
            g = np.where(L < self.L_mean, np.clip(L / max(self.L_mean, 1.0), 0.3, 1.0) ** shadow, g)
        # da = a - g * mean_a, db = b - g * mean_b
        da = g * float(self.mean_ab[0])
        np.subtract(a, da, out=da)
        db = g * float(self.mean_ab[1])
        np.subtract(b, db, out=db)
        if _MORE_PIGMENT > 1.0:
            # more saturated than the face along the skin's own hue is more pigment (tan, a
            # sunburnt or freckled crown), not another material: count it at a fraction
            e = self.mean_ab / max(float(np.linalg.norm(self.mean_ab)), 1e-3)
            e0, e1 = float(e[0]), float(e[1])
            # r = max(da e0 + db e1, 0) (1 - 1 / _MORE_PIGMENT); da -= r e0; db -= r e1
            r = da * e0
            r += db * e1
            np.maximum(r, 0.0, out=r)
            r *= 1.0 - 1.0 / _MORE_PIGMENT
            da -= r * e0
            db -= r * e1
        ic = self.icov_ab.astype(np.float32)
        # q = (ic00 da da + 2 ic01 da db + ic11 db db) / (0.5 + 0.5 g) ** 2
        q = ic[0, 0] * da
        q *= da
        t = 2 * ic[0, 1] * da
        t *= db
        q += t
        np.multiply(ic[1, 1], db, out=t)
        t *= db
        q += t
        np.multiply(0.5, g, out=t)
        t += 0.5
        t *= t
        q /= t
        # + ((L - L_mean) / sl) ** 2 in float64, sl = 2 or 1 times the spread below / above the
        # mean (halving after the division is exact)
        u = (L - self.L_mean).astype(np.float64)
        u /= self._l_spread()
        np.multiply(u, 0.5, out=u, where=L < self.L_mean)
        u *= u
        u += q
        return u

    def _l_spread(self) -> float:
        # a black-and-white photo has no chroma to tell hair from skin: lightness must do it
        if float(np.linalg.norm(self.mean_ab)) < 4.0:
            return 0.75 * self.L_std + 3.0
        return 1.5 * self.L_std + 6.0

    def log_density(self, lab: np.ndarray, *, shadow: float = 0.0) -> np.ndarray:
        """Log probability per Lab histogram bin, comparable with `_log_density` tables."""
        d = self.d2(lab, shadow=shadow)
        d *= -0.5
        d += self._log_norm()
        return d.astype(np.float32)

    def log_density_from_d2(self, d2: np.ndarray) -> np.ndarray:
        """`log_density` from the `d2` of the same pixels (and ``shadow``), without computing it again."""
        return (-0.5 * d2 + self._log_norm()).astype(np.float32)

    def _log_norm(self) -> float:
        sl = self._l_spread()
        return -0.5 * (3 * np.log(2 * np.pi) + self.logdet_ab + 2 * np.log(sl)) + np.log(_BIN_VOLUME)


def _texture(lab: np.ndarray, sigma_px: float, mask: np.ndarray | None = None) -> np.ndarray:
    """Local high-frequency energy of lightness: hair is fibrous, skin is smooth.

    With ``mask`` (the person), the local means are taken over the mask only (normalised
    convolution), so the step from the head to the background does not read as texture.
    """
    L = lab[..., 0]
    if mask is None:
        hp = np.abs(L - cv2.GaussianBlur(L, (0, 0), max(0.6, sigma_px)))
        return cv2.GaussianBlur(hp, (0, 0), max(1.0, 2.0 * sigma_px))
    m = mask.astype(np.float32)
    sig = max(0.6, sigma_px)
    mean = cv2.GaussianBlur(L * m, (0, 0), sig) / np.maximum(cv2.GaussianBlur(m, (0, 0), sig), 1e-3)
    hp = np.abs(L - mean) * m
    sig2 = max(1.0, 2.0 * sigma_px)
    return cv2.GaussianBlur(hp, (0, 0), sig2) / np.maximum(cv2.GaussianBlur(m, (0, 0), sig2), 1e-3)


def _grabcut_skin(work: np.ndarray, gc: np.ndarray, max_side: int, iters: int = 2) -> np.ndarray:
    """GrabCut foreground (skin) share per pixel, run on the crop reduced to ``max_side``."""
    h, w = gc.shape
    g = min(1.0, max_side / max(h, w))
    if g < 1.0:
        size = (max(8, round(w * g)), max(8, round(h * g)))
        img = cv2.resize(work, size, interpolation=cv2.INTER_AREA)
        m = cv2.resize(gc, size, interpolation=cv2.INTER_NEAREST)
    else:
        img, m = work, gc.copy()
    if not (np.isin(m, (cv2.GC_FGD, cv2.GC_PR_FGD)).any() and np.isin(m, (cv2.GC_BGD, cv2.GC_PR_BGD)).any()):
        return np.isin(gc, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # GrabCut's GMM initialisation draws from OpenCV's per-thread RNG: seed it so that the same
    # photo gives the same labels in any thread (app sessions, batch workers).
    cv2.setRNGSeed(0)
    cv2.grabCut(img, m, None, bgd, fgd, iters, cv2.GC_INIT_WITH_MASK)
    fg = np.isin(m, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    if g < 1.0:
        fg = cv2.resize(fg, (w, h), interpolation=cv2.INTER_LINEAR)
    return fg


def _guided_coefficient_planes(guide_low: np.ndarray, src_low: np.ndarray, *, radius: int,
                               eps: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The guided filter's smoothed linear coefficients (a, b) on the reduced image, as one (h, w)
    plane per class each (a box filter treats each channel alone: contiguous planes are about
    twice as fast as the (h, w, C) stack)."""
    I = guide_low.astype(np.float32)
    k = (2 * radius + 1, 2 * radius + 1)
    mean_I = cv2.boxFilter(I, -1, k)
    var_I = cv2.boxFilter(I * I, -1, k) - mean_I * mean_I
    den = var_I + eps
    a_planes, b_planes = [], []
    for c in range(src_low.shape[2]):
        p = np.ascontiguousarray(src_low[..., c], dtype=np.float32)
        mean_p = cv2.boxFilter(p, -1, k)
        cov = cv2.boxFilter(p * I, -1, k) - mean_p * mean_I
        a = cov / den
        b = mean_p - a * mean_I
        a_planes.append(cv2.boxFilter(a, -1, k))
        b_planes.append(cv2.boxFilter(b, -1, k))
    return a_planes, b_planes


_DENSE_UPSAMPLE_PX = 2_500_000
"""Below this many pixels the class edges are upsampled densely (it is cheap there)."""


def _upsample_argmax_planes(guide_full: np.ndarray, a: list[np.ndarray], b: list[np.ndarray]) -> np.ndarray:
    """The winning class of the upsampled scores ``a_k * I + b_k`` (a, b resized bilinearly to
    the full-size guide I), from the coefficients as (h, w) planes, one class plane at a time.

    ``cv2.resize`` gives each plane of a multi-channel image the same values as the plane alone,
    and ``a_k * I + b_k`` is the same float32 arithmetic, so the classes are bitwise those; but
    contiguous planes and no (H, W, C) stacks make it about twice as fast.
    """
    H, W = guide_full.shape[:2]
    I = guide_full.astype(np.float32)

    def plane(k: int) -> np.ndarray:
        v = cv2.resize(a[k], (W, H), interpolation=cv2.INTER_LINEAR)
        v *= I
        v += cv2.resize(b[k], (W, H), interpolation=cv2.INTER_LINEAR)
        return v

    best = plane(0)
    out = np.zeros((H, W), np.uint8)
    for k in range(1, len(a)):
        v = plane(k)
        m = v > best
        np.copyto(best, v, where=m)
        np.copyto(out, np.uint8(k), where=m)
    return out


def _guided_upsample_argmax(guide_full: np.ndarray, guide_low: np.ndarray, src_low: np.ndarray, *,
                            radius: int, eps: float) -> np.ndarray:
    """Fast guided filter (He & Sun 2015) fitted on the reduced image, applied to the full-size
    guide, then the winning class (uint8, H x W) without the full-size score stack.

    The upsampled score of class k at a pixel is ``a_k * I + b_k`` with (a, b) interpolated
    bilinearly from the reduced image's nodes and I in 0-255. Where one class c beats every
    other at all the nodes around a pixel for any I (``b_c - b_k > 0`` and
    ``255 (a_c - a_k) + b_c - b_k > 0``), it beats them at the pixel too (a convex mix of the
    nodes): the pixel is c. Only the other pixels, along the class edges, are computed, with
    the same bilinear weights as ``cv2.resize``.
    """
    a, b = _guided_coefficient_planes(guide_low, src_low, radius=radius, eps=eps)
    H, W = guide_full.shape[:2]
    h, w = a[0].shape
    if H * W < _DENSE_UPSAMPLE_PX or H < h or W < w:
        return _upsample_argmax_planes(guide_full, a, b)
    a, b = np.stack(a, axis=2), np.stack(b, axis=2)
    C = a.shape[2]
    # each pixel's nearest node (as cv2.resize INTER_NEAREST): its bilinear support lies within
    # one node of it; the range of I near a node: over the pixels of it and its 8 neighbours
    ny = np.minimum((np.arange(H) * (h / H)).astype(np.int64), h - 1)
    nx = np.minimum((np.arange(W) * (w / W)).astype(np.int64), w - 1)
    sy, sx = np.searchsorted(ny, np.arange(h)), np.searchsorted(nx, np.arange(w))
    g = guide_full
    lo = np.minimum.reduceat(np.minimum.reduceat(g, sy, axis=0), sx, axis=1)
    hi = np.maximum.reduceat(np.maximum.reduceat(g, sy, axis=0), sx, axis=1)
    k3 = np.ones((3, 3), np.uint8)
    lo = cv2.erode(lo, k3, borderType=cv2.BORDER_REPLICATE).astype(np.float32)[..., None]
    hi = cv2.dilate(hi, k3, borderType=cv2.BORDER_REPLICATE).astype(np.float32)[..., None]
    # the same class wins at both ends of the range, by a margin (then also at every I between)
    win = []
    for v in (a * lo + b, a * hi + b):
        c = _argmax_channels(v)
        best = np.take_along_axis(v, c[..., None].astype(np.intp), axis=2)[..., 0]
        second = np.full(c.shape, -np.inf, np.float32)
        for k in range(C):
            np.maximum(second, np.where(c == k, -np.inf, v[..., k]), out=second)
        win.append((c, best - second > 1e-3))
    (c0, ok0), (c1, ok1) = win
    sure = np.where(ok0 & ok1 & (c0 == c1), c0, 255).astype(np.uint8)
    # a pixel is sure when all the nodes around its nearest node agree
    same = cv2.erode(sure, k3, borderType=cv2.BORDER_REPLICATE) == cv2.dilate(sure, k3, borderType=cv2.BORDER_REPLICATE)
    sure = np.where(same, sure, 255).astype(np.uint8)
    cls = np.take(np.take(sure, ny, axis=0), nx, axis=1)
    ys, xs = np.nonzero(cls == 255)
    if ys.size:
        def axis(n_dst, n_src):  # cv2.resize's bilinear nodes and weights along one axis
            f = (np.arange(n_dst, dtype=np.float64) + 0.5) * (n_src / n_dst) - 0.5
            i0 = np.floor(f)
            t = np.where(i0 < 0, 0.0, f - i0).astype(np.float32)
            i0 = np.clip(i0.astype(np.int64), 0, n_src - 1)
            return i0, np.minimum(i0 + 1, n_src - 1), t

        y0, y1, ty = axis(H, h)
        x0, x1, tx = axis(W, w)
        ab = np.concatenate([a, b], axis=2)
        first = ys[np.r_[True, ys[1:] != ys[:-1]]]  # the rows with unsure pixels (ys is sorted)
        rows = np.unique(np.concatenate([y0[first], y1[first]]))
        # horizontal pass on the node rows in use, then the vertical one at the unsure pixels
        horiz = np.zeros((h, W, 2 * C), np.float32)
        t = tx[:, None]
        horiz[rows] = ab[rows][:, x0] * (1.0 - t) + ab[rows][:, x1] * t
        t = ty[ys][:, None]
        v = horiz[y0[ys], xs] * (1.0 - t) + horiz[y1[ys], xs] * t
        up = v[:, :C] * guide_full[ys, xs].astype(np.float32)[:, None] + v[:, C:]
        cls[ys, xs] = _argmax_channels(up[:, None, :])[:, 0]
    return cls


def _guided(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    return cv2.ximgproc.guidedFilter(guide, src, int(max(1, radius)), eps)


def _subsample(a: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    if len(a) <= n:
        return a
    return a[rng.choice(len(a), n, replace=False)]


def _robust_inliers(lab_px: np.ndarray, z: float = 2.5) -> np.ndarray:
    """Boolean mask of the samples within ``z`` robust standard deviations on every channel."""
    med = np.median(lab_px, axis=0)
    mad = np.median(np.abs(lab_px - med), axis=0) * 1.4826 + np.array([2.0, 1.0, 1.0])
    return (np.abs(lab_px - med) <= z * mad).all(axis=1)


def _ellipse_from_mask(top_mask: np.ndarray):
    """Ellipse through the silhouette of the head: fitted to the outline pixels of ``top_mask``
    that border the background (not to the straight cut where the region ends), so the skull
    curve is extrapolated where the region was cut off."""
    m = top_mask.astype(np.uint8)
    if m.sum() < 20:
        return None
    padded = np.pad(m, 1)
    edge = m.astype(bool) & ~cv2.erode(padded, np.ones((3, 3), np.uint8))[1:-1, 1:-1].astype(bool)
    # the cut line at the bottom of the region is not silhouette: drop the lowest rows of edge
    ys, xs = np.nonzero(edge)
    if ys.size < 20:
        return None
    keep = ys < ys.max() - 1
    pts = np.stack([xs[keep], ys[keep]], axis=1).astype(np.float32)
    if len(pts) < 6:
        return None
    return cv2.fitEllipse(pts)


# --------------------------------------------------------------------------- geometry priors


@dataclass
class _Frame:
    """The face's frame on the working crop: u mm to the image right, v mm up from the glabella."""

    u: np.ndarray
    v: np.ndarray
    s: float  # px per mm on the working crop


def _face_frame(face: FaceGeometry, shape, offset, f) -> _Frame:
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    g = (face.glabella - offset) * f
    s = face.px_per_mm * f
    dx, dy = xs - g[0], ys - g[1]
    up, right = face.up.astype(np.float32), face.right.astype(np.float32)
    return _Frame((dx * right[0] + dy * right[1]) / s, (dx * up[0] + dy * up[1]) / s, s)


def _crop_box(shape, face: FaceGeometry | None, person: np.ndarray) -> tuple[int, int, int, int]:
    h, w = shape
    if face is not None:
        oval = face.face_oval
        x0, y0 = oval.min(axis=0)
        x1, y1 = oval.max(axis=0)
        fw, fh = x1 - x0, y1 - y0
        # the skull, the hair and the shoulders around the face
        bx0, bx1 = x0 - 1.2 * fw, x1 + 1.2 * fw
        by0, by1 = y0 - 1.1 * fh, y1 + 1.3 * fh
    else:
        ys = np.flatnonzero(person.any(axis=1))
        xs = np.flatnonzero(person.any(axis=0))
        if ys.size == 0:
            return 0, h, 0, w
        by0, by1, bx0, bx1 = ys[0] - 8, ys[-1] + 8, xs[0] - 8, xs[-1] + 8
    return (int(max(0, np.floor(by0))), int(min(h, np.ceil(by1))),
            int(max(0, np.floor(bx0))), int(min(w, np.ceil(bx1))))


# Glasses: a rim traced around each eye, a bridge over the nose (see `_glasses_mask`).
_BROW_LOW_RIGHT = (46, 53, 52, 65, 55)  # lower edge of each brow (face mesh)
_BROW_LOW_LEFT = (276, 283, 282, 295, 285)
_RIM_ANGLES = 72  # rays around each eye
_RIM_STEP_MM = 0.5  # sampling step along a ray
_RIM_REACH_MM = 42.0  # farthest a rim may lie from the eye centre (large lenses, turned heads)
_RIM_WIDTHS_MM = (1.0, 2.0, 3.0, 4.0)  # widths of the rims looked for (wire to thick acetate)
_RIM_FLANK_MM = 2.0  # skin/lens compared on each side of a rim
_RIM_TOP_OFF_MM = 3.0  # least distance of the top rim from the upper lid
_RIM_OVER_BROW_MM = 1.0  # farthest the top rim may reach above the lower edge of the brow
_RIM_MIN = 6.0  # least median bar contrast (Lab units) along the rim below and beside the eye
_RIM_GAP_MM = 9.0  # least mean distance of the rim from the eye outline (lid creases lie nearer)
_BRIDGE_MIN = 7.0  # least bar contrast of the bridge across the nose
_BRIDGE_REACH_MM = 8.0  # farthest the bridge may lie above or below the eye centres
_SUN_DARK = 0.5  # lenses darker than this share of the cheeks' lightness are sunglasses
_SUN_STEP = 12.0  # least median rise in lightness (L) from a dark lens to the skin around it


def _bar_contrast(profiles: np.ndarray, step_mm: float, *, with_width: bool = False):
    """Contrast of a thin bar (a rim) across each profile, at the sample just past the bar.

    ``profiles`` is (n, m, C): n profiles of m samples of C channels (Lab), ``step_mm`` apart.
    A bar of width w at samples [j - w, j) differs from both flanks ([j - w - f, j - w) and
    [j, j + f)) in the same direction; its contrast is the smaller of the two differences
    (Euclidean, Lab units), so a single step (a shadow edge, the edge of the brow or of the
    face) scores nothing. The largest contrast over the widths `_RIM_WIDTHS_MM` is returned,
    and with ``with_width`` also the width of the best bar (in samples).
    """
    n, m, _ = profiles.shape
    cs = np.concatenate([np.zeros_like(profiles[:, :1]), np.cumsum(profiles, axis=1)], axis=1).astype(np.float32)
    f = max(1, round(_RIM_FLANK_MM / step_mm))

    def trailing(k: int) -> np.ndarray:  # mean over [j - k, j) at j = k..m, shape (n, m - k + 1, C)
        return (cs[:, k:] - cs[:, :-k]) * (1.0 / k)

    tf = trailing(f)
    best = np.zeros((n, m), np.float32)
    width = np.ones((n, m), np.int32)
    for w_mm in _RIM_WIDTHS_MM:
        w = max(1, round(w_mm / step_mm))
        j0, j1 = w + f, m - f + 1  # j with both flanks inside the profile
        if j1 <= j0:
            continue
        bar = trailing(w)[:, j0 - w:j1 - w]  # [j - w, j)
        d_in = bar - tf[:, j0 - w - f:j1 - w - f]  # [j - w - f, j - w)
        d_out = bar - tf[:, j0:j1]  # [j, j + f)
        same = (d_in * d_out).sum(axis=2) > 0
        c = np.sqrt(np.minimum((d_in * d_in).sum(axis=2), (d_out * d_out).sum(axis=2)))
        c = np.where(same, c, 0.0)
        part = best[:, j0:j1]
        width[:, j0:j1] = np.where(c > part, w, width[:, j0:j1])
        best[:, j0:j1] = np.maximum(part, c)
    return (best, width) if with_width else best


def _step_out(profiles: np.ndarray, step_mm: float) -> np.ndarray:
    """Rise in lightness from the `_RIM_FLANK_MM` before each sample to the same length after it.

    The outline of a dark lens (sunglasses) seen from its centre: dark inside, skin outside.
    ``profiles`` is (n, m, C) Lab with L first; returns (n, m), zero where the light falls.
    """
    n, m, _ = profiles.shape
    f = max(1, round(_RIM_FLANK_MM / step_mm))
    cs = np.concatenate([np.zeros((n, 1), np.float32), np.cumsum(profiles[..., 0], axis=1, dtype=np.float32)], axis=1)
    out = np.zeros((n, m), np.float32)
    j = np.arange(f, m - f + 1)
    out[:, f:m - f + 1] = np.maximum((cs[:, j + f] - cs[:, j]) - (cs[:, j] - cs[:, j - f]), 0.0) / f
    return out


def _clip_pt(p, shape) -> tuple[int, int]:
    """(row, col) index of point ``p`` = (x, y), clipped into an image of ``shape``."""
    return (int(np.clip(round(float(p[1])), 0, shape[0] - 1)), int(np.clip(round(float(p[0])), 0, shape[1] - 1)))


def _dark_lenses(lab: np.ndarray, lm: np.ndarray, frame: _Frame) -> bool:
    """Whether both eyes sit behind dark lenses (sunglasses).

    Below and beside each eye, from 3 to 8 mm off its outline, bare faces show skin (cheek,
    temple; make-up and shadows lie mostly above the eye or nearer it); behind sunglasses
    nearly all of that band is dark: lightness under `_SUN_DARK` times the cheeks' median.
    """
    shape = lab.shape[:2]
    s = frame.s
    cheeks = _poly_mask(shape, lm[list(_CHEEK_RIGHT)]) | _poly_mask(shape, lm[list(_CHEEK_LEFT)])
    if cheeks.sum() < 10:
        return False
    L_cheek = float(np.median(lab[..., 0][cheeks]))
    for eye in (_EYE_RIGHT, _EYE_LEFT):
        e = _poly_mask(shape, lm[list(eye)]).astype(np.uint8)
        near = cv2.dilate(e, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * round(3 * s) + 1,) * 2)) > 0
        far = cv2.dilate(e, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * round(8 * s) + 1,) * 2)) > 0
        c = lm[list(eye)].mean(axis=0)
        v_eye = float(frame.v[int(np.clip(round(c[1]), 0, shape[0] - 1)), int(np.clip(round(c[0]), 0, shape[1] - 1))])
        band = far & ~near & (frame.v < v_eye)
        if band.sum() < 10:
            return False
        if float((lab[..., 0][band] < _SUN_DARK * L_cheek).mean()) < 0.8:
            return False
    return True


def _closed_path(cost: np.ndarray, lo: np.ndarray, hi: np.ndarray, max_step: int = 3,
                 step_penalty: float = 0.5) -> np.ndarray:
    """The closed path j(k) through an (n angles, m radii) cost table with the largest total.

    Dynamic programming over three laps of the angles (the middle lap is returned, which
    makes the path closed in all but rare cases); j may change by at most ``max_step`` between
    neighbouring angles, at ``step_penalty`` per sample, and stays within ``lo..hi`` per angle.
    """
    n, m = cost.shape
    jj = np.arange(m)
    c = np.where((jj[None] >= lo[:, None]) & (jj[None] <= hi[:, None]), cost, -1e9)
    shifts = np.arange(-max_step, max_step + 1)
    src = jj[:, None] - shifts[None, :]  # (m, 2s+1): the previous j for each step
    ok = (src >= 0) & (src < m)
    src_c = np.clip(src, 0, m - 1)
    pen = np.where(ok, -step_penalty * np.abs(shifts)[None, :], -1e18)
    acc = c[0].astype(np.float64)
    back = np.zeros((3 * n, m), np.int32)
    for k in range(1, 3 * n):
        cand = acc[src_c] + pen
        arg = np.argmax(cand, axis=1)
        acc = cand[jj, arg] + c[k % n]
        back[k] = src_c[jj, arg]
    j = int(np.argmax(acc))
    path = np.empty(3 * n, np.int32)
    for k in range(3 * n - 1, -1, -1):
        path[k] = j
        j = back[k, j]
    return path[n:2 * n]


def _sample(img: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Bilinear samples of every channel of ``img`` at the points (px, py), shape px.shape + (C,)."""
    mx, my = px.astype(np.float32), py.astype(np.float32)
    return np.stack([cv2.remap(np.ascontiguousarray(img[..., k]), mx, my, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE) for k in range(img.shape[2])], axis=-1)


def _rim_around_eye(sm: np.ndarray, lm: np.ndarray, eye, brow, side: int, right, up, s: float, *,
                    dark_lens: bool = False) -> dict:
    """Trace the most rim-like closed curve around one eye (see `_glasses_mask`).

    Rays leave the eye centre at `_RIM_ANGLES` angles (0 towards the temple, mirrored for the
    image-left eye, so both eyes share the angles); the cost is `_bar_contrast` along each ray.
    The curve stays a few mm off the eye outline (lids and lashes), on this side of the nose
    line, and at most 1 mm above the lower edge of the brow (brows are bars as well).
    With ``dark_lens`` (sunglasses) the cost is instead the step from the dark lens and frame
    to the brighter skin outside (`_step_out`).
    """
    pts = lm[list(eye)]
    c = pts.mean(axis=0)
    th = np.arange(_RIM_ANGLES) * (2 * np.pi / _RIM_ANGLES)
    r = np.arange(0.0, _RIM_REACH_MM + 1e-6, _RIM_STEP_MM)
    dx, dy = side * np.cos(th)[:, None], np.sin(th)[:, None]
    px = c[0] + s * r[None, :] * (dx * right[0] + dy * up[0])
    py = c[1] + s * r[None, :] * (dx * right[1] + dy * up[1])
    prof = _sample(sm, px, py)
    cost = _step_out(prof, _RIM_STEP_MM) if dark_lens else _bar_contrast(prof, _RIM_STEP_MM)

    def polar(q):  # radius (mm) and angle of points in this eye's frame
        rel = q - c
        x, y = (rel @ right) * side / s, (rel @ up) / s
        return np.hypot(x, y), np.mod(np.arctan2(y, x), 2 * np.pi)

    re, te = polar(pts)
    o = np.argsort(te)
    r_eye = np.interp(th, te[o], re[o], period=2 * np.pi)
    toward_nose = -np.cos(th)
    top = (th > np.radians(30)) & (th < np.radians(150))
    lo = r_eye + np.where(toward_nose > 0.5, 2.0, np.where(top, _RIM_TOP_OFF_MM, 4.0))
    d_mid = abs(float((c - lm[_NOSE_BRIDGE]) @ right)) / s
    hi = np.where(toward_nose > 0.05, np.minimum(_RIM_REACH_MM, (d_mid - 0.5) / np.maximum(toward_nose, 0.05)),
                  _RIM_REACH_MM)
    rb, tb = polar(lm[list(brow)])
    o = np.argsort(tb)
    hi = np.where(top, np.minimum(hi, np.interp(th, tb[o], rb[o]) + _RIM_OVER_BROW_MM), hi)
    lo_j = np.ceil(lo / _RIM_STEP_MM).astype(int)
    hi_j = np.maximum(np.floor(hi / _RIM_STEP_MM).astype(int), lo_j)
    path = _closed_path(cost, lo_j, hi_j)
    k = np.arange(_RIM_ANGLES)
    contrast = cost[k, path]
    not_top = ~((th > np.radians(40)) & (th < np.radians(140)))  # the brows may hide the top rim
    return {"centre": c, "outline": np.stack([px[k, path], py[k, path]], axis=1), "side": side,
            "lateral_mm": float(np.max(path * _RIM_STEP_MM * np.cos(th))),
            "contrast": float(np.median(contrast[not_top])),
            "gap_mm": float(np.mean(path * _RIM_STEP_MM - r_eye))}


def _bridge(sm: np.ndarray, lm: np.ndarray, centres, right, up, s: float) -> tuple[float, float, float]:
    """Contrast, height (mm above the eye centres) and width (mm) of a bar across the nose.

    The bridge of glasses crosses the nose between the eyes, about level with them; bare skin
    there is smooth. Vertical profiles in a 9 mm wide band around the nose line (through face
    mesh point 168) are scored with `_bar_contrast`; the bar must be at one height across the band
    (median over the profiles) and within `_BRIDGE_REACH_MM` of the eye centres' height.
    """
    base = lm[_NOSE_BRIDGE]
    v_eyes = float((0.5 * (centres[0] + centres[1]) - base) @ up) / s
    du = np.arange(-4.0, 4.01, 1.0)
    dv = v_eyes + np.arange(16.0, -14.01, -_RIM_STEP_MM)  # top to bottom
    uu, vv = np.meshgrid(du, dv, indexing="ij")
    px = base[0] + s * (uu * right[0] + vv * up[0])
    py = base[1] + s * (uu * right[1] + vv * up[1])
    resp, width = _bar_contrast(_sample(sm, px, py), _RIM_STEP_MM, with_width=True)
    # an arched or tilted bridge: each profile may place the bar up to 1.5 mm off the common height
    resp = ndimage.maximum_filter1d(resp, 2 * round(1.5 / _RIM_STEP_MM) + 1, axis=1)
    prof = np.median(resp, axis=0)
    rel = dv - v_eyes
    prof = np.where(np.abs(rel) < _BRIDGE_REACH_MM, prof, 0.0)
    j = int(np.argmax(prof))
    # the response sits just past the bar (below it): the bar covers samples j - w .. j - 1
    w = int(np.median(width[:, j]))
    return float(prof[j]), float(rel[j]) + 0.5 * (w + 1) * _RIM_STEP_MM, w * _RIM_STEP_MM


def _temple_arm(sm: np.ndarray, rim: dict, right, up, s: float, limit_mm: float) -> np.ndarray | None:
    """The temple arm from a lens towards the ear as a polygon (image px), or None.

    Columns step outwards from the lens's lateral edge; in each, a vertical profile from 8 mm
    below to 20 mm above the eye centre is scored with `_bar_contrast`, and a path with a slope
    of at most 45 degrees is traced through the columns by dynamic programming. The arm ends
    where the contrast along it first stays under half of `_RIM_MIN` for 3 mm (at the hair,
    the ear or the edge of the head), at most ``limit_mm`` from the eye centre; its width in
    each column is the width of the bar found there (arms thicken at the hinge).
    """
    c, side = rim["centre"], rim["side"]
    x = np.arange(rim["lateral_mm"], limit_mm, _RIM_STEP_MM)
    if x.size < 8:
        return None
    y = np.arange(20.0, -8.01, -_RIM_STEP_MM)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    px = c[0] + s * (side * xx * right[0] + yy * up[0])
    py = c[1] + s * (side * xx * right[1] + yy * up[1])
    cost, width = _bar_contrast(_sample(sm, px, py), _RIM_STEP_MM, with_width=True)
    n, m = cost.shape
    jj = np.arange(m)
    src = np.clip(jj[:, None] + np.array([-1, 0, 1])[None, :], 0, m - 1)
    acc = cost[0].astype(np.float64)
    back = np.zeros((n, m), np.int32)
    for k in range(1, n):
        cand = acc[src] - np.array([0.3, 0.0, 0.3])
        arg = np.argmax(cand, axis=1)
        acc = cand[jj, arg] + cost[k]
        back[k] = src[jj, arg]
    # the arm must be clear over its first 10 mm, next to the lens
    k_end = min(n - 1, round(10.0 / _RIM_STEP_MM))
    path = np.empty(n, np.int32)
    j = int(np.argmax(acc))
    for k in range(n - 1, -1, -1):
        path[k] = j
        j = back[k, j]
    contrast = cost[np.arange(n), path]
    if np.median(contrast[:k_end]) < 0.5 * _RIM_MIN:
        return None
    run = max(1, round(3.0 / _RIM_STEP_MM))
    weak = np.convolve(contrast < 0.5 * _RIM_MIN, np.ones(run), "valid") >= run
    stop = int(np.argmax(weak)) if weak.any() else n
    if stop < 2:
        return None
    k = np.arange(stop)
    # the bar covers samples path - w .. path - 1 (the profiles run downwards)
    top = np.interp(path[:stop] - width[k, path[:stop]] - 0.5, jj, y)
    bottom = np.interp(path[:stop] - 0.5, jj, y)
    xs = np.concatenate([x[k], x[k][::-1]])
    ys = np.concatenate([top, bottom[::-1]])
    return np.stack([c[0] + s * (side * xs * right[0] + ys * up[0]),
                     c[1] + s * (side * xs * right[1] + ys * up[1])], axis=1)


def _glasses_mask(lab, skin_ll, frame: _Frame, lm, shape) -> np.ndarray:
    """The area of glasses (rims, lenses, bridge, temple arms), or an empty mask when none are found.

    Glasses are found from their frame, whatever its colour: a thin bar (a rim) that runs
    round each eye, away from the lids and under the brows, plus a bar across the nose
    between the eyes (the bridge); bare faces have neither (wrinkles and lid creases are
    short, near the eye or single steps). For each eye the most rim-like closed curve is traced
    by dynamic programming over rays from the eye centre (`_rim_around_eye`); the glasses
    are taken as found when both curves have a clear contrast below and beside the eye
    (`_RIM_MIN`), lie well away from the eye outline (`_RIM_GAP_MM`), and a bridge is seen
    (`_BRIDGE_MIN`). Sunglasses (`_dark_lenses`) are traced by the step from the dark lens to
    the skin instead, and need no bridge. The mask is the inside of both curves (which follow
    the outer edge of the rim), the bridge and the temple arms as far as they are seen
    (`_temple_arm`).

    Runs on the working crop (``lab``, the face about `WORK_FACE_PX` wide), in a few ms.
    Measured on the dev photos (``bench/segmentation.py``): found on all 5 with glasses, on
    none of the 23 without. Thin wire and semi-rimless frames are lost below about 0.7 px/mm
    (faces under about 100 px wide) and in blurred photos; truly rimless glasses have no rim to
    find; the top rim is not looked for above the brows. ``skin_ll`` is not used.
    """
    out = np.zeros(shape, bool)
    s = frame.s
    if s < 0.5:  # under half a pixel per mm a rim is lost in the blur
        return out
    right = lm[263] - lm[33]
    right = right / max(float(np.linalg.norm(right)), 1e-6)
    up = lm[10] - lm[CHIN]
    up = up / max(float(np.linalg.norm(up)), 1e-6)
    sm = cv2.GaussianBlur(lab, (0, 0), 0.6)
    dark = _dark_lenses(lab, lm, frame)
    rims = [_rim_around_eye(sm, lm, _EYE_RIGHT, _BROW_LOW_RIGHT, -1, right, up, s, dark_lens=dark),
            _rim_around_eye(sm, lm, _EYE_LEFT, _BROW_LOW_LEFT, 1, right, up, s, dark_lens=dark)]
    bridge, bridge_v, bridge_w = _bridge(sm, lm, [r["centre"] for r in rims], right, up, s)
    if _DEBUG is not None:
        _DEBUG.update(glasses_rims=rims, glasses_bridge=(bridge, bridge_v), sunglasses=dark)
    rim_min = _SUN_STEP if dark else _RIM_MIN
    if not all(r["contrast"] >= rim_min and r["gap_mm"] >= _RIM_GAP_MM for r in rims):
        return out
    if bridge < _BRIDGE_MIN and not dark:  # dark lenses may reach the nose: no bar between them
        return out
    m = np.zeros(shape, np.uint8)
    for r in rims:
        cv2.fillPoly(m, [np.round(r["outline"]).astype(np.int32)], 1)
    if bridge >= _BRIDGE_MIN:  # the bridge: a band at its height from one lens to the other
        a, b = (rims[0]["centre"] + bridge_v * s * up), (rims[1]["centre"] + bridge_v * s * up)
        cv2.line(m, tuple(int(x) for x in np.round(a)), tuple(int(x) for x in np.round(b)), 1,
                 thickness=max(1, round(bridge_w * s)))
    # the temple arms, as far as they are seen (not beyond the face's width plus 2 cm)
    half_face = 0.5 * float(np.ptp(lm[list(FACE_OVAL)] @ right)) / s
    for r in rims:
        limit = half_face + 20.0 - r["side"] * float((r["centre"] - lm[_NOSE_BRIDGE]) @ right) / s
        arm = _temple_arm(sm, r, right, up, s, limit)
        if arm is not None:
            cv2.fillPoly(m, [np.round(arm).astype(np.int32)], 1)
    return m.astype(bool)


def _label_table() -> np.ndarray:
    """Label for each code ``cls + 4 * (scalp_zone + 2 * hair_zone + 4 * force_other)`` (uint8 LUT)."""
    lut = np.zeros(256, np.uint8)
    for code in range(32):
        c, scalp, hair, force = code & 3, code >> 2 & 1, code >> 3 & 1, code >> 4 & 1
        lab = {_CLS_BG: BACKGROUND, _CLS_SKIN: SCALP if scalp else SKIN,
               _CLS_HAIR: HAIR if hair else OTHER, _CLS_OTHER: OTHER}[c]
        if force and c != _CLS_BG:
            lab = OTHER
        lut[code] = lab
    return lut


_LABEL_LUT = _label_table()


# --------------------------------------------------------------------------- main entry


def segment_head(rgb: np.ndarray, face: FaceGeometry | None, person_prob: np.ndarray,
                 others: np.ndarray | None = None) -> Segmentation:
    """Label every pixel of the photo (see the module doc for the values and the method).

    Parameters
    ----------
    rgb : (H, W, 3) uint8
        The photo.
    face : FaceGeometry or None
        Landmarks in the photo's pixels; None for photos without a usable face.
    person_prob : (h, w) float32
        Probability of the person class from the selfie segmenter, at any size (resized here).
    others : (h, w) bool, optional
        Where, at ``person_prob``'s size, other people than the client are (background here,
        whatever their colours: another face's skin is the client's skin colour).

    Returns
    -------
    Segmentation
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be an (H, W, 3) uint8 image, got {rgb.dtype} {rgb.shape}")
    H, W = rgb.shape[:2]
    if person_prob.shape != (H, W):
        person_prob = cv2.resize(person_prob.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR)
    if face is None:
        # The person segmenter misses close-ups of the scalp (top and back views) or a part of
        # them: join it with what the colours of the photo's border do not explain.
        selfie_prob = person_prob
        person_prob, turns = _person_without_face(rgb, person_prob)
    person_full = person_prob > 0.5
    labels = person_full.astype(np.uint8) * np.uint8(OTHER)  # BACKGROUND elsewhere (0)
    coverage = np.zeros((H, W), np.float32)
    head_full = np.zeros((H, W), bool)

    y0, y1, x0, x1 = _crop_box((H, W), face, person_full)
    if y1 - y0 < 8 or x1 - x0 < 8:
        return Segmentation(labels, coverage, head_full, None)
    crop = rgb[y0:y1, x0:x1]
    ch, cw = crop.shape[:2]
    if face is not None:
        face_w = float(np.ptp(face.face_oval[:, 0]))
        f = min(1.0, WORK_FACE_PX / max(face_w, 1.0), WORK_MAX_SIDE * 1.6 / max(ch, cw))
    else:
        f = min(1.0, WORK_MAX_SIDE / max(ch, cw))
    ww, wh = max(8, round(cw * f)), max(8, round(ch * f))
    fx, fy = ww / cw, wh / ch
    f = 0.5 * (fx + fy)
    work = cv2.resize(crop, (ww, wh), interpolation=cv2.INTER_AREA) if f < 1.0 else crop
    prob = cv2.resize(person_prob[y0:y1, x0:x1], (ww, wh), interpolation=cv2.INTER_AREA) if f < 1.0 \
        else person_prob[y0:y1, x0:x1]

    if _DEBUG is not None:
        _DEBUG["crop_box"] = (y0, y1, x0, x1)
    if face is not None:
        scores, zones = _scores_with_face(work, prob, face, (x0, y0), f)
        if others is not None and others.any():
            sh, sw = others.shape
            ky, kx = sh / H, sw / W
            sub = others[int(y0 * ky):max(int(y0 * ky) + 1, round(y1 * ky)),
                         int(x0 * kx):max(int(x0 * kx) + 1, round(x1 * kx))]
            theirs = cv2.resize(sub.astype(np.uint8), (ww, wh), interpolation=cv2.INTER_NEAREST) > 0
            scores = _force_class(scores, theirs, _CLS_BG, margin=2.0 * _UPSAMPLE_CLIP)
    else:
        selfie = cv2.resize(selfie_prob[y0:y1, x0:x1], (ww, wh), interpolation=cv2.INTER_AREA) if f < 1.0 \
            else selfie_prob[y0:y1, x0:x1]
        scores, zones = _scores_without_face(work, prob, f, selfie, turns)

    # Full-resolution edges: upsample the class scores and filter them with the photo as guide.
    if f < 1.0:
        # as bounded log-odds against the best class: a class with huge scores (the face's sure
        # skin) must not bleed over its neighbours' edges in the filtering
        best = _max_channels(scores)[..., None]
        bounded = np.maximum(scores - best, -_UPSAMPLE_CLIP) if _UPSAMPLE_CLIP > 0 else scores
        cls = _guided_upsample_argmax(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY),
                                      cv2.cvtColor(work, cv2.COLOR_RGB2GRAY), bounded, radius=2, eps=(0.04 * 255) ** 2)
    else:
        cls = _argmax_channels(scores)
    # the zones as bits of one code per pixel (upsampled once), the labels by table lookup
    zcode = (zones["scalp_zone"].astype(np.uint8) | (zones["hair_zone"].astype(np.uint8) << 1)
             | (zones["force_other"].astype(np.uint8) << 2))
    if f < 1.0:
        zcode = cv2.resize(zcode, (cw, ch), interpolation=cv2.INTER_NEAREST)
    lab_crop = cv2.LUT(cls + (zcode << 2), _LABEL_LUT)
    hair_zone_full = (zcode & 2).astype(bool)
    lab_crop = _clean(lab_crop)
    lab_crop = _drop_rim_hair(lab_crop, zones.get("px_per_mm_full", 3.0))
    labels[y0:y1, x0:x1] = lab_crop

    # Hair coverage: the soft share of hair against scalp skin on the skull, blurred over ~1 mm
    # (computed on the reduced crop, where the models ran, and upsampled).
    d = np.clip(scores[..., _CLS_SKIN] - scores[..., _CLS_HAIR], -30, 30)
    hair_share = (1.0 / (1.0 + np.exp(d))).astype(np.float32)
    if f < 1.0:
        hair_share = cv2.resize(hair_share, (cw, ch), interpolation=cv2.INTER_LINEAR)
    head_zone = hair_zone_full & ((lab_crop == SCALP) | (lab_crop == HAIR))
    s_full = zones.get("px_per_mm_full", 3.0)
    cov = np.zeros((ch, cw), np.float32)
    rows = np.flatnonzero(head_zone.any(axis=1))
    if rows.size:
        # blurred in the head zone's box plus the kernel's reach (zero beyond it): the same values
        sigma = max(0.8, 0.7 * s_full)
        reach = (round(sigma * 8 + 1) | 1) // 2 + 2
        cols = np.flatnonzero(head_zone[rows[0]:rows[-1] + 1].any(axis=0))
        box = (slice(max(0, rows[0] - reach), min(ch, rows[-1] + 1 + reach)),
               slice(max(0, cols[0] - reach), min(cw, cols[-1] + 1 + reach)))
        hz = head_zone[box]
        bh, bw = hz.shape
        # a blur over millimetres needs no full resolution: on a large photo it is taken on the
        # box reduced so that the kernel spans about 3 px (a sixth of the time at 2 MP)
        g = min(1.0, 3.0 / sigma)
        small = (max(2, round(bw * g)), max(2, round(bh * g)))

        def blur(x: np.ndarray) -> np.ndarray:
            if g >= 0.5:
                return cv2.GaussianBlur(x, (0, 0), sigma)
            gs = 0.5 * (small[0] / bw + small[1] / bh)
            x = cv2.GaussianBlur(cv2.resize(x, small, interpolation=cv2.INTER_AREA), (0, 0), sigma * gs)
            return cv2.resize(x, (bw, bh), interpolation=cv2.INTER_LINEAR)

        num = blur(np.where(hz, hair_share[box], 0).astype(np.float32))
        norm = blur(hz.astype(np.float32))
        inner = np.where(hz, num / np.maximum(norm, 1e-3), 0.0)
        cov[box] = np.maximum(np.minimum(inner, 1.0), 0.0)  # np.clip, faster
    hair_px = lab_crop == HAIR
    cov[hair_px] = np.maximum(cov[hair_px], 0.5)  # in 0-1 everywhere now
    coverage[y0:y1, x0:x1] = cov
    head_full[y0:y1, x0:x1] = hair_zone_full & (lab_crop != BACKGROUND)

    outline = zones.get("skull_ellipse")
    top = zones.get("outline_mask")
    if outline is None and top is not None:
        e = _ellipse_from_mask(top)
        if e is not None:
            (cx, cy), (ew, eh), ang = e
            outline = ((cx / f + x0, cy / f + y0), (ew / f, eh / f), ang)
    return Segmentation(labels, coverage, head_full, outline, zones.get("evidence"))


def _max_except(x: np.ndarray, k: int) -> np.ndarray:
    """``np.delete(x, k, axis=2).max(axis=2)`` without the copy (a short last axis is slow)."""
    rest = [x[..., i] for i in range(x.shape[2]) if i != k]
    out = rest[0].copy()
    for r in rest[1:]:
        np.maximum(out, r, out=out)
    return out


def _max_channels(x: np.ndarray) -> np.ndarray:
    """``x.max(axis=-1)`` channel by channel (the same values, ~10x faster on a short last axis)."""
    out = x[..., 0].copy()
    for k in range(1, x.shape[-1]):
        np.maximum(out, x[..., k], out=out)
    return out


def _sum3(x: np.ndarray) -> np.ndarray:
    """``x.sum(axis=2)`` of an (H, W, 3) array, channel by channel (the same sum, faster)."""
    return x[..., 0] + x[..., 1] + x[..., 2]


def _argmax_channels(x: np.ndarray) -> np.ndarray:
    """``np.argmax(x, axis=2)`` as uint8, faster on large (H, W, C) arrays."""
    best = x[..., 0].copy()
    out = np.zeros(x.shape[:2], np.uint8)
    for k in range(1, x.shape[2]):
        xk = x[..., k]
        m = xk > best
        np.copyto(best, xk, where=m)
        np.copyto(out, np.uint8(k), where=m)
    return out


class _Disc:
    """OpenCV's elliptic structuring element of radius r, for exact morphology in linear time.

    ``cv2.getStructuringElement(MORPH_ELLIPSE, (2r+1, 2r+1))`` holds every offset closer than
    ``r_in`` and none farther than ``r_out`` (r_in <= r <= r_out, a fraction of a pixel apart).
    So a pixel whose nearest source pixel (exact Euclidean distance transform) is closer than
    r_in is in the dilation, one farther than r_out is not, and only the pixels in between are
    checked against the few offsets of the element's rim: the same result as `cv2.dilate`.
    """

    def __init__(self, r: int) -> None:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)).astype(bool)
        yy, xx = np.mgrid[-r - 1:r + 2, -r - 1:r + 2]
        d = np.hypot(xx, yy)
        inside = np.pad(k, 1)
        self.r = r
        self.r_in = float(d[~inside].min())
        self.r_out = float(d[inside].max())
        rim = inside & (d >= self.r_in - 1e-6)
        self.dy, self.dx = yy[rim], xx[rim]

    def dilate(self, src: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        """``cv2.dilate(src, element)`` as bool (exact at the pixels of ``where``, all when None)."""
        if not src.any():
            return np.zeros(src.shape, bool)
        dist = cv2.distanceTransform((~src).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        out = dist < self.r_in - 1e-3
        amb = (dist >= self.r_in - 1e-3) & (dist <= self.r_out + 1e-3)
        if where is not None:
            amb &= where
        ys, xs = np.nonzero(amb)
        if ys.size:
            m = self.r + 1
            padded = np.pad(src, m)  # beyond the border: no source (cv2.dilate's default)
            ys, xs = ys + m, xs + m
            hit = np.zeros(ys.size, bool)
            for dy, dx in zip(self.dy, self.dx):
                hit |= padded[ys + dy, xs + dx]
            out[ys - m, xs - m] = hit
        return out

    def erode(self, src: np.ndarray) -> np.ndarray:
        """``cv2.erode(src, element)`` as bool (beyond the border counts as set, as in OpenCV)."""
        return ~self.dilate(~src)


def _drop_rim_hair(labels: np.ndarray, px_per_mm: float) -> np.ndarray:
    """Hair only a pixel or two thick along the silhouette is the blend of skin and background.

    Hair that does not survive an opening by a disc of about 2.5 mm (the darkened limb of a bald
    head seen edge-on, blended with the background) and lies next to the
    background is given to the skin beside it (or to the background where no skin is near).

    The morphology (OpenCV's elliptic element, exactly) runs through distance transforms on the
    box of the hair: linear in the pixels whatever the disc's size.
    """
    hair_all = labels == HAIR
    rows = np.flatnonzero(hair_all.any(axis=1))
    if rows.size == 0:
        return labels
    cols = np.flatnonzero(hair_all[rows[0]:rows[-1] + 1].any(axis=0))
    disc = _Disc(max(1, round(_RIM_HAIR_MM * px_per_mm)))
    H, W = labels.shape
    m = disc.r + 2  # every pixel within the disc of a hair pixel lies in the box
    y0, y1 = max(0, rows[0] - m), min(H, rows[-1] + 1 + m)
    x0, x1 = max(0, cols[0] - m), min(W, cols[-1] + 1 + m)
    sub = labels[y0:y1, x0:x1]
    hair = hair_all[y0:y1, x0:x1]
    bg = sub == BACKGROUND
    cand = hair & disc.dilate(bg, hair)
    if not cand.any():
        return labels
    thin = cand & ~disc.dilate(disc.erode(hair), cand)
    if not thin.any():
        return labels
    skin_near = disc.dilate((sub == SKIN) | (sub == SCALP), thin)
    out = labels.copy()
    o = out[y0:y1, x0:x1]
    o[thin & skin_near] = SCALP
    o[thin & ~skin_near] = BACKGROUND
    return out


def _clean(labels: np.ndarray) -> np.ndarray:
    """Remove specks: a 3x3 median keeps edges and drops isolated pixels."""
    return cv2.medianBlur(labels, 3)


def _against_local_scalp(scores: np.ndarray, lab: np.ndarray, s: float, person: np.ndarray,
                     skull: np.ndarray) -> np.ndarray:
    """Hair needs to differ from the scalp beside it: a clear loss of chroma or a darker tone.

    Both ways: 'hair' that keeps the local scalp colour becomes skin, 'skin' that has lost a
    third of the scalp's chroma (without being lighter, as a highlight is) or is far darker
    becomes hair.

    Against the local scalp colour (the mean of the sure skin within about 6 mm), a pixel that
    keeps over 70 % of the scalp's chroma and is less than 10 L darker is stubble or shading,
    which the label convention counts as skin ("hair where the hair fraction is over a half").
    """
    cls = _argmax_channels(scores)
    others = _max_except(scores, _CLS_SKIN)
    sure = ((scores[..., _CLS_SKIN] - others) > _EM_MARGIN) & person
    sig = max(2.0, 6.0 * s)
    out = scores.copy()
    # only hair and skin on the skull with sure skin within the blur's reach can change
    r = _reach(sig)
    site = skull & ((cls == _CLS_HAIR) | (cls == _CLS_SKIN)) & _near(sure, r)
    for box, own in _site_boxes(site, r):
        lb, c = lab[box], cls[box]
        loc, wsum = _local_mean(lb, sure[box], sig)
        C = np.hypot(lb[..., 1], lb[..., 2])
        C_loc = np.hypot(loc[..., 1], loc[..., 2])
        keeps_colour = (C > _STUB_C * C_loc) & (lb[..., 0] > loc[..., 0] - _STUB_L)
        cand = own & (c == _CLS_HAIR) & (wsum > 0.05) & keeps_colour
        o = out[box]
        o[..., _CLS_HAIR] -= np.where(cand, _STUBBLE_PENALTY, 0.0).astype(np.float32)
        if _HAIR_BONUS > 0:
            # and the other way: 'scalp' far greyer or darker than the scalp beside it is hair
            loses = (((C < _HAIR_C * C_loc) & (lb[..., 0] <= loc[..., 0] + 3.0))
                     | (lb[..., 0] < loc[..., 0] - _HAIR_L))
            cand2 = own & (c == _CLS_SKIN) & (wsum > 0.05) & loses
            o[..., _CLS_HAIR] += np.where(cand2, _HAIR_BONUS, 0.0).astype(np.float32)
    return out


def _local_mean(img: np.ndarray, mask: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-weighted mean colour of the ``mask`` pixels around each pixel, and the weight."""
    m = mask.astype(np.float32)
    wsum = cv2.GaussianBlur(m, (0, 0), sigma)
    mean = cv2.GaussianBlur(img * m[..., None], (0, 0), sigma) / np.maximum(wsum, 1e-4)[..., None]
    return mean, wsum


def _reach(sigma: float) -> int:
    """Pixels beyond which ``cv2.GaussianBlur(float image, (0, 0), sigma)`` reads nothing, plus a
    margin (its kernel has ``round(8 sigma + 1) | 1`` taps; a blur of a mask is exactly 0 farther
    than the half of that from every mask pixel)."""
    return (round(sigma * 8 + 1) | 1) // 2 + 4


def _box(mask: np.ndarray, grow: int) -> tuple[slice, slice] | None:
    """The bounding box of ``mask`` grown by ``grow`` pixels (clipped to the image), None if empty.

    OpenCV's filters give the very same values on such a box as on the whole image wherever
    the kernel stays inside the box (or meets the image border, which is reflected the same
    way) but for a few pixels of the SIMD tail at the end of each row: a box that reaches the
    right image border starts at a multiple of 64 columns, so its rows end in the same tail.
    Blurs on the box of the pixels that matter plus the kernel's reach are then exact.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0]:rows[-1] + 1].any(axis=0))
    H, W = mask.shape
    y0, y1 = max(0, rows[0] - grow), min(H, rows[-1] + 1 + grow)
    x0, x1 = max(0, cols[0] - grow), min(W, cols[-1] + 1 + grow)
    if x1 == W:
        x0 -= x0 % 64
    return slice(y0, y1), slice(x0, x1)


_BOX_CELL = 16  # grid cell (px) of the grouping in `_site_boxes`


def _site_boxes(site: np.ndarray, grow: int):
    """Split the pixels of ``site`` into groups far apart and yield ``(box, own)`` per group: its
    `_box` grown by ``grow`` and the group's pixels in it (bool, the box's shape).

    Each ``site`` pixel belongs to exactly one group. Groups are the connected parts of the
    ``site`` cells of a coarse grid, joined where they lie within about ``grow`` of each other
    (their grown boxes would overlap by half): a speck far from the head costs a small box of
    its own instead of stretching the head's.
    """
    H, W = site.shape
    g = _BOX_CELL
    hg, wg = -(-H // g), -(-W // g)
    cells = np.zeros((hg * g, wg * g), bool)
    cells[:H, :W] = site
    cells = cells.reshape(hg, g, wg, g).any(axis=(1, 3))
    if not cells.any():
        return
    k = 2 * (-(-grow // (2 * g))) + 1
    joined = cv2.dilate(cells.astype(np.uint8), np.ones((k, k), np.uint8))
    n, comp = cv2.connectedComponents(joined, connectivity=8)
    if n == 2:
        box = _box(site, grow)
        yield box, site[box]
        return
    comp = np.where(cells, comp, 0)
    for i in range(1, n):
        ys, xs = np.nonzero(comp == i)
        if ys.size == 0:
            continue
        # the group's cells, then its pixels, in the box of those cells
        cy0, cy1 = ys.min() * g, min(H, (ys.max() + 1) * g)
        cx0, cx1 = xs.min() * g, min(W, (xs.max() + 1) * g)
        mine = np.zeros((H, W), bool)
        cell_px = np.repeat(np.repeat(comp[ys.min():ys.max() + 1, xs.min():xs.max() + 1] == i, g, axis=0), g, axis=1)
        mine[cy0:cy1, cx0:cx1] = site[cy0:cy1, cx0:cx1] & cell_px[:cy1 - cy0, :cx1 - cx0]
        box = _box(mine, grow)
        yield box, mine[box]


def _near(mask: np.ndarray, r: int) -> np.ndarray:
    """Pixels with a ``mask`` pixel within ``r`` along both axes (dilation by a square, bool)."""
    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)).astype(bool)


def _explain_blends(scores: np.ndarray, work: np.ndarray, s: float) -> np.ndarray:
    """Silhouette pixels that are a mix of the nearby skin and background are not hair.

    At the outline of a bald head the photo mixes skin with the backdrop over a few pixels
    (focus, JPEG, the darkened limb); such a colour fits neither the skin nor the background
    model and would read as hair. Where a pixel is explained as ``alpha * skin + (1 - alpha) *
    background`` with the local skin and background colours (in linear RGB), it goes to the
    skin when alpha > 0.5 and to the background otherwise.
    """
    cls = _argmax_channels(scores)
    sig = max(1.5, 3.0 * s)
    out = scores.copy()
    # skin colour from skin pixels a little inside, not the boundary pixels themselves
    skin_in = cv2.erode((cls == _CLS_SKIN).astype(np.uint8), np.ones((3, 3), np.uint8),
                        iterations=max(1, round(1.0 * s)))
    bg = cls == _CLS_BG
    # only hair and other pixels with both skin and background within the blur's reach can change
    r = _reach(sig)
    site = ((cls == _CLS_HAIR) | (cls == _CLS_OTHER)) & _near(bg, r) & _near(skin_in, r)
    for box, own in _site_boxes(site, r):
        lin = _srgb_to_linear(work[box].astype(np.float32) / 255.0).astype(np.float32)
        S, ws = _local_mean(lin, skin_in[box], sig)
        B, wb = _local_mean(lin, bg[box], sig)
        # the rest at the site's pixels only
        ys, xs = np.nonzero(own)
        S, ws, B, wb, lin = S[ys, xs], ws[ys, xs], B[ys, xs], wb[ys, xs], lin[ys, xs]
        d = S - B
        dd = np.maximum(_sum3(d * d), 1e-6)
        alpha = np.clip(_sum3((lin - B) * d) / dd, 0.0, 1.0)
        resid = np.sqrt(_sum3((lin - B - alpha[..., None] * d) ** 2) / dd)
        cand = (ws > 0.02) & (wb > 0.02) & (resid < 0.15)
        ys, xs, alpha, resid = ys[cand] + box[0].start, xs[cand] + box[1].start, alpha[cand], resid[cand]
        o = out[ys, xs]
        strength = (8.0 * (1.0 - resid / 0.15)).astype(np.float32)
        o[:, _CLS_HAIR] -= strength
        o[:, _CLS_OTHER] -= strength
        o[:, _CLS_SKIN] += strength * (alpha > 0.5)
        o[:, _CLS_BG] += strength * (alpha <= 0.5)
        # a close fit is decisive: the pixel is the blend, whatever the colour models said
        close = resid < _BLEND_RESID
        top = _max_channels(o) + 1.0
        o[:, _CLS_SKIN] = np.where(close & (alpha > 0.5), top, o[:, _CLS_SKIN])
        o[:, _CLS_BG] = np.where(close & (alpha <= 0.5), top, o[:, _CLS_BG])
        out[ys, xs] = o
    return out


def _fit_two(img: np.ndarray, S: np.ndarray, B: np.ndarray):
    """Least squares ``img ~ x * S + y * B`` per pixel: (x, y, relative residual, solvable)."""
    ss, bb, sb = _sum3(S * S), _sum3(B * B), _sum3(S * B)
    sc, bc = _sum3(S * img), _sum3(B * img)
    det = ss * bb - sb * sb
    ok = det > 1e-6
    det = np.where(ok, det, 1.0)
    x = (bb * sc - sb * bc) / det
    y = (ss * bc - sb * sc) / det
    fit = x[..., None] * S + y[..., None] * B
    resid = np.sqrt(_sum3((img - fit) ** 2)) / np.maximum(np.sqrt(_sum3(img * img)), 1e-3)
    return x, y, np.where(ok, resid, np.inf), ok


def _explain_spill(scores: np.ndarray, work: np.ndarray, s: float) -> np.ndarray:
    """Silhouette pixels that are the nearby skin, darkened, plus backdrop light, are skin.

    At the outline of a head the skin turns away from the light (it darkens) and picks up light
    from the backdrop. A pixel explained as ``x * S + y * B`` (least squares, local skin colour S
    and background colour B) with ``x >= _SPILL_X`` (not much darker than the skin beside it),
    ``0 <= y <= _SPILL_Y`` and a small residual is skin, unless the hair beside it, under the
    same backdrop light (``x' * H + y' * B``), explains it as well: hair at the outline picks up
    the backdrop's light too, so the test is which of the two bases fits, not whether one does.
    """
    cls = _argmax_channels(scores)
    sig = max(1.5, _SPILL_SIGMA_MM * s)
    sig_hair = max(3.0, 10.0 * s)
    out = scores.copy()
    # only hair near the background can change: the local colours are needed on its box alone
    near_bg = cv2.distanceTransform((cls != _CLS_BG).astype(np.uint8), cv2.DIST_L2, 3) < _SPILL_MM * s
    site = near_bg & (cls == _CLS_HAIR)
    bg = cls == _CLS_BG

    def img(where):  # the photo in 0-1 (float32) at some pixels or on a box
        return work[where].astype(np.float32) / 255.0

    skin_in = None
    for box, own in _site_boxes(site, _reach(sig)):
        if skin_in is None:
            skin_in = cv2.erode((cls == _CLS_SKIN).astype(np.uint8), np.ones((3, 3), np.uint8),
                                iterations=max(1, round(1.5 * s)))
            # the hair's own colour: hair pixels away from the outline, locally (wide) or over the head
            hair_in = cv2.erode((cls == _CLS_HAIR).astype(np.uint8), np.ones((3, 3), np.uint8),
                                iterations=max(1, round(_SPILL_HAIR_IN_MM * s))).astype(bool)
            glob = np.median(img(hair_in), axis=0) if hair_in.sum() >= 10 else None
        img_box = img(box)
        S, ws = _local_mean(img_box, skin_in[box], sig)
        B, wb = _local_mean(img_box, bg[box], sig)
        # the fits at the site's pixels only
        ys, xs = np.nonzero(own)
        S, ws, B, wb, px = S[ys, xs], ws[ys, xs], B[ys, xs], wb[ys, xs], img_box[ys, xs]
        ys, xs = ys + box[0].start, xs + box[1].start
        x, y, resid, ok = _fit_two(px, S, B)
        cand = (ok & (ws > _SPILL_WS) & (wb > 0.02) & (x >= _SPILL_X) & (y >= -0.02) & (y <= _SPILL_Y)
                & (resid < _SPILL_RESID))
        if glob is not None and cand.any():
            # the hair basis (a wide blur) only where the skin basis fits
            ys, xs, px, B, resid = ys[cand], xs[cand], px[cand], B[cand], resid[cand]
            at = np.zeros(cls.shape, bool)
            at[ys, xs] = True
            box2 = _box(at, _reach(sig_hair))
            Hc, wh = _local_mean(img(box2), hair_in[box2], sig_hair)
            iy, ix = ys - box2[0].start, xs - box2[1].start
            Hc = np.where((wh[iy, ix] > 1e-3)[..., None], Hc[iy, ix], glob)
            _, _, resid_h, _ = _fit_two(px, Hc.astype(np.float32), B)
            keep = ~(resid_h * _SPILL_HAIR_MARGIN <= resid)
            ys, xs = ys[keep], xs[keep]
        else:
            ys, xs = ys[cand], xs[cand]
        out[ys, xs, _CLS_HAIR] -= np.float32(8.0)
        out[ys, xs, _CLS_SKIN] += np.float32(8.0)
    return out


def _islands(scores: np.ndarray, s: float, src: int, dst: int, max_area_mm2: float,
             zone: np.ndarray | None = None) -> np.ndarray:
    """Small patches of class ``src`` enclosed by class ``dst`` become ``dst``.

    A patch is enclosed when ``dst`` makes up over 90 % of the 1 mm ring around it; only patches
    under ``max_area_mm2`` (and, with ``zone``, lying in it) change. Used both ways on the skull:
    a dark mark on a bald scalp (freckle, age spot) is skin, a light glint inside dense hair is
    hair.
    """
    cls = _argmax_channels(scores)
    patch = (cls == src).astype(np.uint8)
    n, comp, stats, _ = cv2.connectedComponentsWithStats(patch, connectivity=8)
    if n <= 1:
        return scores
    other = cls == dst
    k = np.ones((3, 3), np.uint8)
    r = max(1, round(1.0 * s))
    max_area = max_area_mm2 * s * s
    out = scores
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_AREA] > max_area:
            continue
        x, y, w, h = stats[i, :4]
        y0, y1, x0, x1 = max(0, y - r - 1), y + h + r + 1, max(0, x - r - 1), x + w + r + 1
        m = (comp[y0:y1, x0:x1] == i).astype(np.uint8)
        sel = m.astype(bool)
        if zone is not None and not zone[y0:y1, x0:x1][sel].mean() > 0.5:
            continue
        ring = cv2.dilate(m, k, iterations=r).astype(bool) & ~sel
        if ring.sum() and other[y0:y1, x0:x1][ring].mean() > 0.9:
            if out is scores:
                out = scores.copy()
            sub = out[y0:y1, x0:x1]
            sub[sel, dst] = sub[sel, src] + 1.0
    return out


def _smooth_rim_hair(scores: np.ndarray, lab: np.ndarray, tex: np.ndarray, tex_skin: float, s: float,
                     zone: np.ndarray) -> np.ndarray:
    """Thin 'hair' along the silhouette that is smoother than the face skin is shaded skin.

    The edge of a bald head turns away from the light and picks up the backdrop's colour, so
    the colour models call a band of it hair; but hair, even close-cropped or white, is fibrous
    and never smoother than the face's own skin. Each thin hair patch next to the background
    (one that does not survive an opening by a disc of ``_RIM_BAND_MM``) is judged as a whole:
    its median texture against the face skin's, and its chroma against the skin beside it
    (hair is greyer than the scalp it grows on; a patch more saturated than that skin is the
    skin itself, e.g. a shaded ear rim).
    """
    cls = _argmax_channels(scores)
    hair = ((cls == _CLS_HAIR) & zone).astype(np.uint8)
    if not hair.any():
        return scores
    r = max(1, round(_RIM_BAND_MM * s))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    thick = cv2.dilate(cv2.erode(hair, disc), disc).astype(bool)
    near_bg = cv2.dilate((cls == _CLS_BG).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=r).astype(bool)
    thin = hair.astype(bool) & ~thick
    n, comp = cv2.connectedComponents(thin.astype(np.uint8), connectivity=8)
    if n <= 1:
        return scores
    # pixels and pixels near the background per patch (counted over the thin pixels: patch 0,
    # the rest, is never judged)
    cnt = np.bincount(comp[thin], minlength=n).astype(np.float64)
    touch = np.bincount(comp[thin & near_bg], minlength=n) / np.maximum(cnt, 1)
    judged = (cnt >= 3) & (touch >= 0.3)
    judged[0] = False
    if not judged.any():
        return scores
    # texture and the local skin colour are needed on the judged patches only: on their boxes
    # plus the blurs' reach (both of the texture's blurs, one after the other)
    sig = max(2.0, 6.0 * s)
    site = judged[comp]
    skin_in = cv2.erode((cls == _CLS_SKIN).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(1, round(1.5 * s)))
    out = scores
    for box, own in _site_boxes(site, max(_reach(sig), _reach(0.8) + _reach(1.6))):
        lb = lab[box]
        # texture within the head as now outlined: the person segmenter's looser outline would
        # count the step to the backdrop as texture
        tex = _texture(lb, 0.8, cls[box] != _CLS_BG)
        loc, w = _local_mean(lb, skin_in[box], sig)
        C = np.hypot(lb[..., 1], lb[..., 2])
        C_loc = np.hypot(loc[..., 1], loc[..., 2])
        cb = comp[box]
        for i in np.unique(cb[own]):
            m = cb == i
            t_ratio = float(np.median(tex[m])) / max(tex_skin, 1e-3)
            ok = w[m] > 0.01
            c_ratio = float(np.median(C[m][ok] / np.maximum(C_loc[m][ok], 1.0))) if ok.any() else 0.0
            if t_ratio < _RIM_SMOOTH or c_ratio > _RIM_CHROMA:
                if out is scores:
                    out = scores.copy()
                o = out[box]
                o[m, _CLS_SKIN] = o[m, _CLS_HAIR] + 1.0
    return out


def _skin_grabcut(work: np.ndarray, prob: np.ndarray, probable: np.ndarray, sure: np.ndarray, s: float,
                  not_skin: np.ndarray | None = None) -> np.ndarray:
    """GrabCut for skin against everything else, started from the geometry: ``probable`` skin,
    ``sure`` skin (eroded by about 2 mm), sure non-skin in the background and in ``not_skin``.
    Returns its skin map (0/1 float) on the working image."""
    gc = np.full(prob.shape, cv2.GC_PR_BGD, np.uint8)
    gc[probable] = cv2.GC_PR_FGD
    gc[prob < 0.2] = cv2.GC_BGD
    if not_skin is not None:
        gc[not_skin] = cv2.GC_BGD
    sure = cv2.erode(sure.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=max(1, round(2 * s))).astype(bool)
    gc[sure] = cv2.GC_FGD
    return _grabcut_skin(work, gc, _GC_SIDE)


def _em_refits(scores, lab, idx, rng, *, ll_skin, ll_hair, tex_term, skin_seeds, skin_region, sure_person,
               hair_source, head_area, hair_zone, skin_zone=None, nonskin_d2=_NONSKIN_D2, fibrous=None):
    """`_EM_ROUNDS` refits of the skin and hair colour models from the current scores.

    Skin: ``skin_seeds`` and the pixels of ``skin_region`` where skin wins by `_EM_MARGIN` (a
    bald scalp is often tanner or redder than the face), ``sure_person`` only. Hair: the pixels of
    ``hair_source`` now called hair and far from the new skin model (``nonskin_d2``; or, where
    ``fibrous``, `_NONSKIN_D2_FIBROUS`: as far as the first hair samples were looked for), or
    the bald fallback of `_hair_log_density`, plus the texture term. The scores change by the new minus the old
    log-likelihoods, skin in ``skin_zone`` (everywhere when None), hair in ``hair_zone``.
    Returns (scores, skin and hair log-likelihoods now in use).
    """
    for _ in range(_EM_ROUNDS):
        cls1 = _argmax_channels(scores)
        sure1 = scores[..., _CLS_SKIN] - _max_except(scores, _CLS_SKIN) > _EM_MARGIN
        sel = ((sure1 & skin_region) | skin_seeds) & sure_person
        if sel.sum() <= 50:
            break
        px = lab[sel]
        skin2 = _SkinModel.fit(px[_robust_inliers(px, 3.0)])
        d2 = skin2.d2(lab)
        ll_s2 = skin2.log_density_from_d2(d2)
        d_skin = ll_s2 - ll_skin
        scores[..., _CLS_SKIN] += d_skin if skin_zone is None else np.where(skin_zone, d_skin, 0.0)
        far = d2 > nonskin_d2
        if fibrous is not None:
            far |= fibrous & (d2 > _NONSKIN_D2_FIBROUS)
        hs2 = (cls1 == _CLS_HAIR) & hair_source & far
        ll_h2 = _hair_log_density(lab, hs2, head_area, idx, rng) + tex_term
        scores[..., _CLS_HAIR] += np.where(hair_zone, ll_h2 - ll_hair, 0.0)
        ll_skin, ll_hair = ll_s2, ll_h2
    return scores, ll_skin, ll_hair


def _head_steps(scores, work, lab, tex, tex_skin, s, person, skull, rim_zone, *, highlights: bool = False,
                grey_hair: bool = False):
    """The steps after the colour models, shared by the paths with and without a face: edge-aware
    smoothing; hair against the local scalp colour (`_against_local_scalp`); with ``highlights``,
    smooth light 'hair' on the scalp is skin (`_highlights_are_skin`; with ``grey_hair``, not
    along the head's outline); skin/background blends and
    backdrop light at the silhouette (`_explain_blends`, `_explain_spill`); thin smooth rim 'hair'
    in ``rim_zone`` (`_smooth_rim_hair`); small islands of hair in scalp and of scalp in hair."""
    scores = _softmax_smooth(scores, work, max(1, round(_SMOOTH_MM * s)), iters=1)
    scores = _against_local_scalp(scores, lab, s, person, skull)
    if highlights:
        scores = _highlights_are_skin(scores, lab, tex, tex_skin, s, skull, grey_hair=grey_hair)
    scores = _explain_blends(scores, work, s)
    scores = _explain_spill(scores, work, s)
    scores = _smooth_rim_hair(scores, lab, tex, tex_skin, s, rim_zone)
    scores = _islands(scores, s, _CLS_HAIR, _CLS_SKIN, 200.0, zone=skull)
    scores = _islands(scores, s, _CLS_SKIN, _CLS_HAIR, _GLINT_MM2, zone=skull)
    return _thin_fringe(scores, work, s, skull)



def _thin_fringe(scores: np.ndarray, work: np.ndarray, s: float, skull: np.ndarray) -> np.ndarray:
    """Scalp beside dark hair that is more hair than scalp is hair (the label convention: hair
    where its share of a pixel is over a half).

    Where hair thins out into the scalp (the inner edge of a fringe, a receding hairline), a
    pixel is a mix of the hair beside it and the scalp beside it: in linear RGB ``lin ~ S +
    alpha (H - S)`` with ``H`` the local mean of the dense hair (hair pixels 1.5 mm inside the
    hair) and ``S`` that of the scalp (likewise). Scalp within `_FRINGE_REACH_MM` of the hair
    with ``alpha`` over `_FRINGE_ALPHA` becomes hair, where the hair is dark (its luminance under
    `_FRINGE_DARK` of the scalp's: light hair on pale skin mixes along the chroma, which shading
    changes as much).
    """
    cls = _argmax_channels(scores)
    hair = cls == _CLS_HAIR
    skin = (cls == _CLS_SKIN) & skull
    if hair.sum() < 20 or skin.sum() < 20:
        return scores
    k = np.ones((3, 3), np.uint8)
    near = cv2.dilate(hair.astype(np.uint8), k, iterations=max(1, round(_FRINGE_REACH_MM * s))).astype(bool) & skin
    sig = max(1.5, 6.0 * s)
    box = _box(near, _reach(sig))
    if box is None:
        return scores
    it = max(1, round(1.5 * s))
    lin = _srgb_to_linear(work[box].astype(np.float32) / 255.0).astype(np.float32)
    H, wh = _local_mean(lin, cv2.erode(hair[box].astype(np.uint8), k, iterations=it), sig)
    S, ws = _local_mean(lin, cv2.erode(skin[box].astype(np.uint8), k, iterations=it), sig)
    d = H - S
    alpha = _sum3((lin - S) * d) / np.maximum(_sum3(d * d), 1e-6)
    dark = (H @ _LUMA) < _FRINGE_DARK * (S @ _LUMA)
    grow = near[box] & (wh > 0.02) & (ws > 0.02) & dark & (alpha > _FRINGE_ALPHA)
    if not grow.any():
        return scores
    out = scores.copy()
    out[box] = _force_class(scores[box], grow, _CLS_HAIR)
    return out


def _enough_for_hair(samples: np.ndarray, head_area: int) -> bool:
    """Whether the hair samples (a mask) are enough for a hair model: more than 15 and than
    `_HAIR_MIN_SHARE` of the head; fewer, and the head is taken as bald."""
    return int(samples.sum()) > max(15, _HAIR_MIN_SHARE * head_area)


def _hair_log_density(lab: np.ndarray, hair_px: np.ndarray, head_area: int, idx: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """Per-pixel log density of the hair colour model from the ``hair_px`` samples, or the broad
    "not skin" model when they are too few for a hair model (a bald head)."""
    if _enough_for_hair(hair_px, head_area):
        return _log_density(_subsample(lab[hair_px], 4000, rng), sigma_bins=1.0)[idx]
    return np.full(hair_px.shape, np.log(1.0 / (_NL * _NA * _NA)) + _NO_HAIR_LL, np.float32)


def _softmax_smooth(scores: np.ndarray, guide: np.ndarray, radius: int, iters: int = 2) -> np.ndarray:
    """Mean-field-like smoothing: average the class log-probabilities edge-aware."""
    for _ in range(iters):
        scores = _guided(guide, np.asarray(scores, np.float32), radius, (0.03 * 255) ** 2)  # no copy: not changed
    return scores


SKIN_HUE_DEG = (30.0, 65.0)
"""Range of the face skin's median CIE Lab hue angle (degrees) under neutral light, all skin tones."""
_BLOWN_BONUS = 4.0  # log-odds for skin on the face where a channel is clipped and the pixel is smooth
_BLOWN_TEX = 2.0  # ... i.e. under this many times the face skin's texture
_WB_INSIDE = 10.0  # a cast is undone up to this far inside SKIN_HUE_DEG (to 40 or 55 degrees)
_WB_MAX = 1.8  # largest red/blue gain ratio of the white balance correction
_SCLERA_MIN_PX = 30  # eye-white pixels needed to judge the light's colour from them
_SCLERA_WARM = 22.0  # the whites of the eyes more yellow than this (Lab b*) show a warm cast
_SCLERA_B = 12.0  # ... which is undone to this, their usual tint in the labelled portraits


def _sclera_mask(shape, lm: np.ndarray) -> np.ndarray:
    """The eye openings (landmark outlines) without the irises (their circles grown by 15 %)."""
    eyes = _poly_mask(shape, lm[list(_EYE_RIGHT)]) | _poly_mask(shape, lm[list(_EYE_LEFT)])
    iris = np.zeros(shape, np.uint8)
    for ring in (IRIS_RIGHT, IRIS_LEFT):
        c = lm[ring[0], :2]
        rad = float(np.mean(np.linalg.norm(lm[list(ring[1:]), :2] - c, axis=1)))
        cv2.circle(iris, (int(round(c[0])), int(round(c[1]))), int(np.ceil(1.15 * rad)), 1, -1)
    return eyes & ~iris.astype(bool)


def _sclera_gain(work: np.ndarray, sclera: np.ndarray) -> float | None:
    """The red/blue gain ratio (see `_normalise_white_balance`) that brings the whites of the
    eyes back to their usual tint, or None when they show no cast (or too little of them shows).

    The sclera is near-white under neutral light (the brightest two fifths of the eye opening
    outside the iris: median b* 12, range -2..20 on the labelled portraits, the lids and lashes
    mixed in at that size); an uncorrected tungsten lamp turns it orange (b* 18-35), which a
    skin hue cannot show: the light turns warm skin further towards yellow, still inside the
    range skin has. Only a clear cast, b* over `_SCLERA_WARM`, is undone, to `_SCLERA_B`.
    """
    px = work[sclera]
    px = px[px.max(axis=1) < 250]
    if len(px) < _SCLERA_MIN_PX:
        return None
    lab = _to_lab(px.reshape(-1, 1, 3)).reshape(-1, 3)
    bright = lab[:, 0] >= np.percentile(lab[:, 0], 60)
    if float(np.median(lab[bright, 2])) <= _SCLERA_WARM:
        return None
    lin = _srgb_to_linear(px[bright].astype(np.float32) / 255.0)

    def b_star(r):
        return float(np.median(_lab_under_gain(lin, r)[:, 2]))

    # a cooler gain lowers b*: bisect for the usual tint
    return _bisect_gain(lambda r: b_star(r) <= _SCLERA_B, 1.0 / _WB_MAX, 1.0)


def _wb_gains(r: float) -> np.ndarray:
    """The von Kries gains (r, 1, 1/r) in linear RGB, scaled to keep the luminance."""
    g = np.array([r, 1.0, 1.0 / r], np.float32)
    return g / float(g @ _LUMA)


def _with_gain(work: np.ndarray, r: float) -> np.ndarray:
    """``work`` (uint8 sRGB) with the white balance gain ratio ``r`` applied."""
    lin = _srgb_to_linear(work.astype(np.float32) / 255.0) * _wb_gains(r)
    return np.round(_linear_to_srgb(lin) * 255.0).astype(np.uint8)


def _lab_under_gain(lin: np.ndarray, r: float) -> np.ndarray:
    """Lab (OpenCV float scale) of the linear-RGB pixels ``lin`` (n x 3) under the gain ratio ``r``."""
    srgb = _linear_to_srgb(lin * _wb_gains(r)).astype(np.float32)
    return cv2.cvtColor(srgb.reshape(-1, 1, 3), cv2.COLOR_RGB2LAB).reshape(-1, 3)


def _bisect_gain(too_low, r_lo: float, r_hi: float) -> float:
    """The gain ratio in [r_lo, r_hi] (geometric bisection, 10 steps) at which ``too_low`` (ratio
    -> bool: the ratio must rise) turns false."""
    for _ in range(10):
        mid = float(np.sqrt(r_lo * r_hi))
        if too_low(mid):
            r_lo = mid
        else:
            r_hi = mid
    return float(np.sqrt(r_lo * r_hi))


def _normalise_white_balance(work: np.ndarray, face_mask: np.ndarray, sclera: np.ndarray | None = None) -> np.ndarray:
    """Undo a strong colour cast (blue shade, orange tungsten) that puts the face skin's hue
    outside `SKIN_HUE_DEG`, bringing it back to `_WB_INSIDE` inside the range's edge (the wide
    range holds every skin tone; most faces lie well inside it: 32-55 degrees on the labelled
    set, median 45. Back only to the edge, a blue-shaded photo kept its skin greyish: hair IoU
    0.559 on the 'cool' copies of the labelled set, 0.597 so).

    Skin of every tone keeps a hue between orange-red and yellow under neutral light; melanin
    and blood change its lightness and chroma, not that. A cast of the light turns it along the
    blue-yellow axis: blue shade greys the skin towards the colour of brown or grey hair, which
    the colour models then cannot tell apart. The correction is a von Kries gain (r, 1, 1/r) in
    linear RGB, r found by bisection, the luminance kept. Returns ``work`` unchanged when the
    hue is in range, the face has too little chroma to have a hue (a black-and-white photo) or
    half of it is clipped.

    With ``sclera`` (`_sclera_mask`), a warm cast that the whites of the eyes show is undone
    first (`_sclera_gain`): warm light keeps the skin's hue inside the range (52-60 degrees on
    the labelled set under a tungsten lamp), so the skin alone cannot show it.
    """
    if sclera is not None:
        r = _sclera_gain(work, sclera)
        if r is not None:
            work = _with_gain(work, r)
    face_px = work[face_mask]
    unclipped = face_px.max(axis=1) < 250  # a clipped channel has lost the pixel's hue
    if unclipped.sum() < max(20, len(face_px) // 2):
        return work
    lab = _to_lab(face_px[unclipped].reshape(-1, 1, 3)).reshape(-1, 3)
    a, b = float(np.median(lab[:, 1])), float(np.median(lab[:, 2]))
    if np.hypot(a, b) < 4.0:
        return work
    lo, hi = SKIN_HUE_DEG
    hue = float(np.degrees(np.arctan2(b, a)))
    if lo <= hue <= hi:
        return work
    goal = lo + _WB_INSIDE if hue < lo else hi - _WB_INSIDE
    px = _srgb_to_linear(face_px[unclipped].astype(np.float32) / 255.0)

    def skin_hue(r):
        lab_r = _lab_under_gain(px, r)
        return float(np.degrees(np.arctan2(np.median(lab_r[:, 2]), np.median(lab_r[:, 1]))))

    # a warmer gain (r > 1: more red, less blue) turns the skin's hue from blue-grey towards
    # yellow (the angle rises), a cooler one back: bisect for the goal hue
    r_lo, r_hi = (1.0, _WB_MAX) if hue < goal else (1.0 / _WB_MAX, 1.0)
    return _with_gain(work, _bisect_gain(lambda r: skin_hue(r) < goal, r_lo, r_hi))


def _normalise_exposure(work: np.ndarray, face_mask: np.ndarray, sclera: np.ndarray | None = None) -> np.ndarray:
    """Scale the light (linear RGB gain) so the face's median lightness is about L 65.

    Under- and over-exposed photos squeeze skin and hair into a narrow range of lightness and
    chroma; one gain, set on the face, brings them back to where the models work. Returns the
    image unchanged when the face is already within L 50-80. A strong colour cast is undone
    first (`_normalise_white_balance`).
    """
    if face_mask.sum() < 20:
        return work
    work = _normalise_white_balance(work, face_mask, sclera)
    L = cv2.cvtColor(work, cv2.COLOR_RGB2LAB)[..., 0][face_mask].astype(np.float32) * (100.0 / 255.0)
    med = float(np.median(L))
    if 50.0 <= med <= 80.0 or med < 3.0:
        return work
    # L ~ 116 Y^(1/3) - 16: the gain in Y that moves the median lightness to 65
    y_now = ((med + 16.0) / 116.0) ** 3
    y_goal = ((65.0 + 16.0) / 116.0) ** 3
    gain = float(np.clip(y_goal / y_now, 0.25, 6.0))
    lin = _srgb_to_linear(work.astype(np.float32) / 255.0) * gain
    return np.round(_linear_to_srgb(lin) * 255.0).astype(np.uint8)


_BEARD_GATE_CHIN = 0.82  # beard evidence of the chin below the lip (see _beard_region) that says: a beard grows there
# (on the labelled set, light stubble scores up to 0.75 and the lightest short beard 0.90 at any working scale)
_BEARD_GATE_LIP = 2.5  # the same for the upper lip alone (shaded by the nose, thin and edged: far less reliable)
_BEARD_GATE_LIP_WITH_CHIN = 1.0  # ... or this once the chin passed (a moustache with the beard)
_BEARD_SMOOTH_MM = 1.5  # the beard's evidence is pooled over this radius: a beard is a region, not specks
_BEARD_MIN_MM2 = 40.0  # beard regions smaller than this are stubble or shadow, not beard
_BEARD_TEXTURE_W = 4.5  # weight of the texture log-ratio (beyond 0.3, stubble's) against the colour ratio
_BEARD_REACH_MM = 12.0  # a beard reaches this far beyond the face outline (under the jaw)
_BEARD_LLR_MIN = 0.0  # least pooled log-likelihood ratio of beard against skin
_NO_BEARD_PENALTY = 6.0  # log-odds taken from hair/beard in the lower face outside the beard found
_NECK_RESID = 0.08  # a neck pixel this close to the face skin (shaded) plus backdrop light is skin
_NECK_BRIDGE_MM = 2.0  # a skin-coloured patch joined to the neck by a band narrower than twice this is not neck
_NECK_TEX = 5.0  # the neck is smooth: texture under this many times the cheeks'
_NECK_A_MIN = 0.4  # least redness (Lab a*) of the neck skin in deep shade, as a share of the cheeks'
_NECK_HALF_MM = 60.0  # the neck lies within this distance of the face's midline
_NECK_BONUS = 8.0  # log-odds given to neck skin so found (and taken from skin that is no such blend)


_BUSY_SPREAD = 0.25  # a backdrop whose colours spread this far (median distance / norm) is busy, not plain
_SKINLIKE_DEG = 40.0  # a backdrop whose colour is this close to the skin's (angle in linear RGB) is skin-like


def _backdrop_lights(bg_lin: np.ndarray, skin_lin: np.ndarray) -> list[np.ndarray]:
    """The colours of the light the backdrop may throw on the person (linear RGB, float32).

    A plain studio backdrop lights the shaded neck and the silhouette with its own colour: its
    median, the only candidate. A busy background (a street, a room, foliage: colours that
    spread over more than `_BUSY_SPREAD` of their norm) has no one such colour, and light from
    a skin-like one (wood, a warm wall: within `_SKINLIKE_DEG` of the skin's colour) cannot be
    told from the skin's own shading; neutral ambient light of the background's mean brightness
    is then a second candidate.
    """
    B = np.median(bg_lin, axis=0).astype(np.float32)
    norm = float(np.linalg.norm(B))
    if norm < 1e-6:
        return [B]
    busy = float(np.median(np.linalg.norm(bg_lin - B, axis=1))) > _BUSY_SPREAD * norm
    cos = float(B @ skin_lin) / max(norm * float(np.linalg.norm(skin_lin)), 1e-9)
    if not busy and cos < np.cos(np.radians(_SKINLIKE_DEG)):
        return [B]
    return [B, np.full(3, max(float(np.mean(bg_lin)), 1e-3), np.float32)]

def _unclipped_skin(skin_lin: np.ndarray) -> np.ndarray:
    """The face skin's colour (linear RGB, float32) from the samples that keep it: an overexposed
    face clips its lit parts towards white (a channel at the image's top value), the shade does
    not. The median of the samples below the top value when a quarter of them is at it."""
    top = skin_lin.max(axis=1)
    clipped = top >= float(top.max()) - 1e-3
    if clipped.mean() > 0.25 and (~clipped).sum() >= 20:
        skin_lin = skin_lin[~clipped]
    return np.median(skin_lin, axis=0).astype(np.float32)

def _skin_light_fit(lin: np.ndarray, S: np.ndarray, lights: list[np.ndarray]):
    """Per pixel ``lin ~ x * S + y * B`` (least squares) for the candidate light B that fits best:
    (x, y, residual relative to the pixel's norm)."""
    best = None
    ss = float(S @ S)
    sc = lin @ S
    norm = np.maximum(np.sqrt(_sum3(lin * lin)), 1e-3)
    for B in lights:
        bb, sb = float(B @ B), float(S @ B)
        det = ss * bb - sb * sb
        if det < 1e-3 * ss * bb:
            continue
        bc = lin @ B
        x = (bb * sc - sb * bc) / det
        y = (ss * bc - sb * sc) / det
        fit = x[..., None] * S + y[..., None] * B
        resid = np.sqrt(_sum3((lin - fit) ** 2)) / norm
        if best is None:
            best = [x, y, resid]
        else:
            better = resid < best[2]
            for k, arr in enumerate((x, y, resid)):
                best[k] = np.where(better, arr, best[k])
    return tuple(best)

def _neck_skin(work, lab, prob, samples, oval, beard, tex, tex_skin, frame: _Frame,
               v_chin: float) -> tuple[np.ndarray, np.ndarray]:
    """The skin of the neck below the face, and what below the face is surely not skin.

    The neck is the face's skin in shade: in linear RGB a neck pixel is ``x * S + y * B`` with
    ``S`` the cheeks' colour, ``x`` its shading (0.03-1.3) and ``y`` (under 0.3 and about under
    ``x``) light from the backdrop ``B`` (the bluish tint of the shaded neck in studio photos),
    with a residual under `_NECK_RESID` of the pixel's norm (up to twice that in deep shade,
    ``x`` under 0.3, where the pixel must stay reddish as skin does, Lab a* over `_NECK_A_MIN`
    of the cheeks'), and smooth (texture under `_NECK_TEX` times the cheeks'). Clothes rarely
    fit: a white shirt needs much backdrop light, a dark suit is neutral or leaves a large
    residual. Only blends connected to the face outline (the neck hangs from the jaw) through
    more than a thin bridge (`_NECK_BRIDGE_MM`), within `_NECK_HALF_MM` of the face's midline
    and down to 80 mm below the chin, count. Returns (skin, not_skin): the connected blends,
    and the pixels of the same zone that fit far worse (residual over twice the bound, or much
    backdrop light).
    """
    shape = oval.shape
    skin_out, not_out = np.zeros(shape, bool), np.zeros(shape, bool)
    u, v, s = frame.u, frame.v, frame.s
    zone = (prob > 0.5) & ~oval & (np.abs(u) < _NECK_HALF_MM) & (v < v_chin + 25.0) & (v > v_chin - 80.0) & ~beard
    bg = prob < 0.2
    if zone.sum() < 20 or samples.sum() < 20 or bg.sum() < 20:
        return skin_out, not_out
    S = _unclipped_skin(_srgb_to_linear(work[samples] / 255.0))
    lights = _backdrop_lights(_srgb_to_linear(_subsample(work[bg], 4000, np.random.default_rng(0)) / 255.0), S)
    B = lights[0]
    ss, bb, sb = float(S @ S), float(B @ B), float(S @ B)
    det = ss * bb - sb * sb
    if det < 1e-3 * ss * bb:  # a backdrop of the skin's own colour: no blend to tell apart
        return skin_out, not_out
    # the zone's box, with room for the face outline above it
    ys, xs = np.nonzero(zone)
    m = max(2, round(3.0 * s))
    box = (slice(max(0, ys.min() - m), ys.max() + 1 + m), slice(max(0, xs.min() - m), xs.max() + 1 + m))
    zone_b = zone[box]
    lin = _srgb_to_linear(work[box].astype(np.float32) / 255.0).astype(np.float32)
    x, y, resid = _skin_light_fit(lin, S, lights)
    # deep shade (x under 0.3) takes ambient light of other colours and noise: a looser fit
    # then, as long as the pixel stays reddish as skin does (clothes and hair are about neutral)
    dark = np.clip(1.0 - x / 0.3, 0.0, 1.0)
    a_skin = float(cv2.cvtColor(S.reshape(1, 1, 3) ** (1 / 2.4), cv2.COLOR_RGB2LAB)[0, 0, 1])
    lab_b = lab[box]
    reddish = lab_b[..., 1] > np.maximum(max(3.0, _NECK_A_MIN * a_skin), -0.5 * lab_b[..., 2])
    blend = zone_b & (resid < _NECK_RESID * (1.0 + dark)) & (x > 0.03) & (x < 1.3) & (y < 0.3) \
        & (y < x + 0.05) & (reddish | (dark == 0)) & (tex[box] < _NECK_TEX * tex_skin)
    # thin bridges (a skin-coloured tie knot touching the neck at the collar) do not connect
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * max(1, round(_NECK_BRIDGE_MM * s)) + 1,) * 2)
    core = cv2.morphologyEx(blend.astype(np.uint8), cv2.MORPH_OPEN, disc)
    rim = cv2.dilate(oval[box].astype(np.uint8), np.ones((3, 3), np.uint8),
                     iterations=max(1, round(1.5 * s))).astype(bool)
    n, comp = cv2.connectedComponents(core, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(comp[(core > 0) & rim])] = True
    keep[0] = False
    skin = blend & cv2.dilate(keep[comp].astype(np.uint8), disc).astype(bool)
    skin_out[box] = skin
    not_out[box] = zone_b & ~skin & ((resid > 2.0 * _NECK_RESID) | (y > 0.4))
    if _DEBUG is not None:
        for name, arr in (("neck_resid", resid), ("neck_x", x), ("neck_y", y)):
            _DEBUG[name] = np.zeros(shape, np.float32)
            _DEBUG[name][box] = arr
        _DEBUG.update(neck_skin=skin_out, neck_not=not_out)
    return skin_out, not_out


def _force_class(scores: np.ndarray, where: np.ndarray, k: int, margin: float = 1.0) -> np.ndarray:
    """Class ``k`` wins by ``margin`` at the pixels of ``where`` (the other scores are kept)."""
    if not where.any():
        return scores
    out = scores.copy()
    out[..., k] = np.where(where, np.maximum(scores[..., k], _max_except(scores, k) + margin), scores[..., k])
    return out


def _lm_v(frame: _Frame, lm: np.ndarray, i: int) -> float:
    """The height v (mm above the glabella) of landmark ``i`` (working-crop pixels)."""
    h, w = frame.v.shape
    x = int(np.clip(round(float(lm[i, 0])), 0, w - 1))
    y = int(np.clip(round(float(lm[i, 1])), 0, h - 1))
    return float(frame.v[y, x])


def _beard_region(work, lab, tex, tex_skin, skin: _SkinModel, samples, frame: _Frame, lm, zone, lips,
                  oval) -> np.ndarray:
    """The dense beard and moustache (label 4) as a coherent region; empty when there is none.

    A beard grows from the chin below the lower lip and from the upper lip: those two core
    patches decide whether there is one. A core is beard when it is rougher than the cheek skin
    and darker or greyer: its median texture log-ratio plus its darkening beyond 10 L / 20 plus
    its loss of chroma beyond 4 / 8 reaches `_BEARD_GATE_CHIN`. The upper lip is a thin strip
    shaded by the nose between the edges of the nostrils and the lip (at low resolution those
    edges alone read as texture): it needs `_BEARD_GATE_LIP` on its own, or
    `_BEARD_GATE_LIP_WITH_CHIN` once the chin passed. Stubble where the skin shows through stays close to
    the skin on all counts and is skin by the label convention.

    When a core passes, a beard colour model (a Lab histogram) is learned from the half of it
    least like the cheek skin, and set against a histogram of the cheek skin (lit and shaded,
    as `_augment_skin`, and in deeper shade); a pixel of ``zone`` within `_BEARD_REACH_MM` of
    the face outline is beard where that colour log-likelihood ratio plus the texture, pooled
    over `_BEARD_SMOOTH_MM`, exceeds `_BEARD_LLR_MIN`. Only regions of at least
    `_BEARD_MIN_MM2` connected to a passing core count; holes in them smaller than that (and
    the mouth) are filled.
    """
    shape = zone.shape
    out = np.zeros(shape, bool)
    s = frame.s
    u, v = frame.u, frame.v
    tr = np.log((tex + 0.5) / (tex_skin + 0.5))
    cores = [((np.abs(u) < 12.0) & (v < _lm_v(frame, lm, 17) - 4.0) & (v > _lm_v(frame, lm, CHIN) + 4.0),
              _BEARD_GATE_CHIN),
             ((np.abs(u) < 14.0) & (v < _lm_v(frame, lm, 2) - 2.0) & (v > _lm_v(frame, lm, 0) + 1.0),
              _BEARD_GATE_LIP)]
    seeds = np.zeros(shape, bool)
    passed = False
    for core, gate in cores:
        core = core & zone
        if core.sum() < 10:
            continue
        m = lab[core].mean(axis=0)
        dL = float(m[0] - skin.L_mean)
        dC = float(np.hypot(m[1], m[2]) - np.hypot(*skin.mean_ab))
        score = float(np.median(tr[core])) + max(0.0, -dL - 10.0) / 20.0 + max(0.0, -dC - 4.0) / 8.0
        if _DEBUG is not None:
            _DEBUG.setdefault("beard_cores", []).append((float(np.median(tr[core])), dL, dC, score))
        if score >= (gate if not passed else _BEARD_GATE_LIP_WITH_CHIN):
            seeds |= core
            passed = True
    if not seeds.any() or not samples.any():
        return out
    idx = _bin_index(lab)
    rng = np.random.default_rng(0)
    rgb_px = _subsample(work[samples], 3000, rng)
    # the same skin in deeper shade too (the folds beside the mouth, under the jaw)
    shade_px = _linear_to_srgb(_srgb_to_linear(rgb_px.astype(np.float32) / 255.0) * 0.45) * 255.0
    ll_cheek = _log_density(np.concatenate([lab[samples], _augment_skin(rgb_px), _augment_skin(shade_px)]),
                            sigma_bins=1.0)[idx]
    # the beard's colours: the half of the core least like the cheek skin (a core is seldom all beard)
    seeds &= ll_cheek <= np.median(ll_cheek[seeds])
    ll_beard = _log_density(lab[seeds], sigma_bins=1.0)[idx]
    llr = np.clip(ll_beard - ll_cheek, -8.0, 8.0) + _BEARD_TEXTURE_W * np.clip(tr - 0.3, -1.0, 1.5)
    llr = cv2.GaussianBlur(llr.astype(np.float32), (0, 0), max(0.7, _BEARD_SMOOTH_MM * s))
    near = cv2.dilate(oval.astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (2 * round(_BEARD_REACH_MM * s) + 1,) * 2)).astype(bool)
    cand = ((llr > _BEARD_LLR_MIN) & zone & near).astype(np.uint8)
    if _DEBUG is not None:
        _DEBUG.update(beard_llr=llr, beard_seeds=seeds)
    n, comp, stats, _ = cv2.connectedComponentsWithStats(cand, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(comp[seeds & (cand > 0)])] = True
    keep[0] = False
    keep &= stats[:, cv2.CC_STAT_AREA] >= _BEARD_MIN_MM2 * s * s
    out = keep[comp]
    holes = (ndimage.binary_fill_holes(out | lips) & ~out & ~lips).astype(np.uint8)
    n, comp, stats, _ = cv2.connectedComponentsWithStats(holes, connectivity=4)
    small = stats[:, cv2.CC_STAT_AREA] < _BEARD_MIN_MM2 * s * s
    small[0] = False
    return (out | small[comp]) & zone


_HAT_CHROMA = 45.0  # a region on the skull more colourful than this (Lab chroma) is headwear ...
_HAT_OVER_SKIN = 1.5  # ... or than this many times the face skin's median chroma, whichever is more


def _headwear_chroma(skin_lab: np.ndarray) -> float:
    """Least Lab chroma of headwear on the skull, relative to the person's own face skin.

    Under warm light (tungsten, sunset) or on strongly pigmented skin the face itself reaches a
    chroma of 40-50: a fixed bound would call a bald scalp in that light a cap.
    """
    if len(skin_lab) == 0:
        return _HAT_CHROMA
    skin_c = float(np.median(np.hypot(skin_lab[:, 1], skin_lab[:, 2])))
    return max(_HAT_CHROMA, _HAT_OVER_SKIN * skin_c)


def _scores_with_face(work, prob, face: FaceGeometry, offset, f):
    h, w = work.shape[:2]
    shape = (h, w)
    rng = np.random.default_rng(0)
    lm = (face.landmarks_px[:, :2] - np.asarray(offset, np.float32)) * f
    clipped = work.max(axis=2) >= 250  # before any exposure change: a channel at the top has lost the hue
    work = _normalise_exposure(work, _poly_mask(shape, lm[list(FACE_OVAL)]), _sclera_mask(shape, lm))
    lab = _to_lab(work)
    fr = _face_frame(face, shape, offset, f)
    s = fr.s
    u, v = fr.u, fr.v
    selfie_person = prob > 0.5
    prob = _head_edge_grabcut(work, prob, v, s)
    person = prob > 0.5
    sure_person = prob > 0.8

    oval = _poly_mask(shape, lm[list(FACE_OVAL)])
    v_nose = float(np.dot(face.point(_NOSE_TIP) - face.glabella, face.up) / face.px_per_mm)
    v_chin = float(np.dot(face.point(CHIN) - face.glabella, face.up) / face.px_per_mm)
    v_mouth = float(np.dot(lm[list(_LIPS)].mean(axis=0) / f + np.asarray(offset) - face.glabella, face.up)
                    / face.px_per_mm)
    brows_eyes = _poly_mask(shape, lm[list(_EYE_RIGHT)]) | _poly_mask(shape, lm[list(_EYE_LEFT)])
    for brow in (BROW_RIGHT, BROW_LEFT):  # the brows are skin by the label convention
        brows_eyes |= _poly_mask(shape, cv2.convexHull(lm[list(brow)].astype(np.float32))[:, 0])
    lips = _poly_mask(shape, lm[list(_LIPS)])

    # --- skin model from the person's own face
    samples = (_poly_mask(shape, lm[list(_CHEEK_RIGHT)]) | _poly_mask(shape, lm[list(_CHEEK_LEFT)])
               | _poly_mask(shape, lm[list(_FOREHEAD)]) | _poly_mask(shape, lm[list(_NOSE)]))
    skin_px = lab[samples]
    rgb_px = work[samples]
    if len(skin_px) < 30:
        skin_px, rgb_px = lab[oval], work[oval]
    keep = _robust_inliers(skin_px)
    skin_px, rgb_px = skin_px[keep], rgb_px[keep]
    skin = _SkinModel.fit(skin_px)
    idx = _bin_index(lab)
    skin_d2 = skin.d2(lab)
    ll_skin = skin.log_density_from_d2(skin_d2)
    face_neck = person & (fr.v <= -40.0)  # the lower face and the neck, not the skull
    ll_skin[face_neck] = skin.log_density(lab[face_neck], shadow=_SHADOW_CHROMA)
    skin_ll_rel = -0.5 * skin_d2 + 2.0  # ~0 at the edge of typical skin, negative beyond

    # --- texture
    tex = _texture(lab, 0.8, person)
    tex_skin = float(np.median(tex[samples])) if samples.any() else 2.0

    # --- zones from the geometry
    # The landmark face outline runs over the temples, where the side hair and sideburns grow:
    # beside the outer eye corners it is no sure skin but part of the head's hair zone.
    u_eye = float(np.mean(np.abs([u[_clip_pt(lm[i], shape)] for i in (33, 263)])))
    temples = oval & (np.abs(u) > u_eye + _TEMPLE_MARGIN_MM) & (v > _TEMPLE_LOW_MM)
    face_outline, oval = oval, oval & ~temples
    hair_zone = person & ~oval & (v > -40.0)
    # the skull above the face: hair or scalp, never clothes
    skull = hair_zone & (v > -5.0)
    below_chin = v < v_chin - 5.0
    beard_zone = (v < v_nose - 3.0) & (v > v_chin - 60.0) & (np.abs(u) < 85.0) & ~lips
    # the landmark outline's top reaches the hairline of a full head of hair: only its lower
    # forehead is sure skin, above that the colour models decide between skin and hair
    high_forehead = oval & (v > _FOREHEAD_SURE_MM)
    hair_zone |= high_forehead & person
    upper_face = oval & (v >= v_nose - 3.0) & ~high_forehead
    glasses = _glasses_mask(lab, skin_ll_rel, fr, lm, shape)

    # --- samples for hair, clothes and background
    inner = cv2.erode(sure_person.astype(np.uint8), np.ones((3, 3), np.uint8),
                      iterations=max(1, round(3.0 * s))).astype(bool)
    # Too few samples for a hair model (a bald head, see `_hair_log_density`)? The hair's colour
    # may lie near the skin's: a grey fringe or ginger buzz cut lit warm by the scene, with no
    # blue backdrop light on it. Look further into the skin model's tail, then for fibrous pixels
    # nearer still; the refits below look as far.
    head_area = max(1, int(skull.sum()))
    hair_d2, fibrous = _NONSKIN_D2, None
    hair_samples = skull & inner & (skin_d2 > hair_d2) & ~glasses
    if not _enough_for_hair(hair_samples, head_area):
        hair_d2 = _NONSKIN_D2_FEW
        hair_samples = skull & inner & (skin_d2 > hair_d2) & ~glasses
        if not _enough_for_hair(hair_samples, head_area):
            fibrous = tex > _FIBROUS_FEW * tex_skin
            hair_samples = skull & inner & (skin_d2 > _NONSKIN_D2_FIBROUS) & fibrous & ~glasses
    hair_px = lab[hair_samples]
    neck = (np.abs(u) < 45.0) & (v > v_chin - 75.0)
    other_samples = sure_person & below_chin & ~beard_zone & ~neck
    other_px = _subsample(lab[other_samples], 4000, rng)
    bg_px = _subsample(lab[prob < 0.2], 4000, rng)
    has_hair = _enough_for_hair(hair_samples, head_area)
    ll_hair_tab = _log_density(_subsample(hair_px, 4000, rng), sigma_bins=1.0) if has_hair else None
    ll_other_tab = _log_density(other_px, sigma_bins=1.0)
    ll_bg_tab = _log_density(bg_px, sigma_bins=1.0)

    ll_other = ll_other_tab[idx]
    ll_bg = ll_bg_tab[idx]
    if ll_hair_tab is not None:
        ll_hair = ll_hair_tab[idx]
    else:  # bald: a broad "not skin" model
        ll_hair = np.full(shape, np.log(1.0 / (_NL * _NA * _NA)) + _NO_HAIR_LL, np.float32)

    # texture evidence: fibrous favours hair, smooth favours skin
    tex_ratio = np.log((tex + _TEX_OFFSET) / (tex_skin + _TEX_OFFSET))
    tex_w = np.where(hair_zone, _TEX_WEIGHT, 2.0).astype(np.float32)
    tex_term = tex_w * np.clip(tex_ratio, -_TEX_CLIP, _TEX_CLIP)
    ll_hair = ll_hair + tex_term
    ll_hair = ll_hair + np.where(beard_zone, _BEARD_TEXTURE * np.clip(tex_ratio - 1.0, -1.0, 1.0), 0.0)
    # a dense beard or moustache of the lower face: a coherent region grown from the chin and the lip
    beard = beard_like = _beard_region(work, lab, tex, tex_skin, skin, samples, fr, lm, beard_zone & person, lips, oval)
    ll_hair = np.where(beard_like, np.maximum(ll_hair, ll_skin + _BEARD_BONUS), ll_hair)

    # --- priors
    p = np.clip(prob, 1e-3, 1 - 1e-3)
    lp_person = np.log(p)
    lp_bg = np.log(1 - p)
    scores = np.empty((h, w, 4), np.float32)
    scores[..., _CLS_BG] = 1.0 * lp_bg + 1.0 * ll_bg
    scores[..., _CLS_SKIN] = 1.0 * lp_person + ll_skin
    scores[..., _CLS_HAIR] = 1.0 * lp_person + ll_hair + np.where(hair_zone | beard_zone, 0.0, -4.0)
    scores[..., _CLS_OTHER] = 1.0 * lp_person + ll_other + np.where(skull, -2.5, 0.0)
    # what GrabCut added to the person segmenter's head is the outer hair it cut off, not skin:
    # the segmenter does not miss bare skin (a bald head's edge) but fur beside it can join
    scores[..., _CLS_SKIN] -= np.where(person & ~selfie_person, _ADDED_NOT_SKIN, 0.0)
    # Hats and caps: a clearly coloured region on the skull whose hue no hair or skin has
    # (hair is black, grey, white or an orange-yellow brown) is headwear, never hair or scalp.
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))
    hat_c = _headwear_chroma(skin_px)
    unnatural = ((chroma > hat_c) | ((chroma > 22.0) & ((hue < 20.0) | (hue > 100.0)))) & (hair_zone | skull) & person
    k = np.ones((3, 3), np.uint8)
    unnatural = cv2.morphologyEx(unnatural.astype(np.uint8), cv2.MORPH_OPEN, k,
                                 iterations=max(1, round(1.0 * s))).astype(bool)
    scores[..., _CLS_OTHER] += np.where(unnatural, 6.0, 0.0)
    scores[..., _CLS_HAIR] -= np.where(unnatural, 6.0, 0.0)
    # inside the face above the nose everything is skin (brows, eyes), glasses aside
    scores[..., _CLS_SKIN] += np.where(upper_face & ~glasses, 8.0, 0.0)
    scores[..., _CLS_SKIN] += np.where(lips | brows_eyes, 8.0, 0.0)
    scores[..., _CLS_OTHER] += np.where(glasses, 6.0, np.where(oval, -20.0, 0.0))  # no clothes on the face
    scores[..., _CLS_SKIN] += np.where(neck & ~oval & below_chin, 1.5, 0.0)
    # light blown out on the face (an overexposed photo) has lost the skin's colour: after the
    # exposure gain it is a flat grey that the clothes or hair models take; smooth, it is skin.
    # (Not on the skull: white hair clips the same way there.)
    blown = clipped & person & oval & (tex < _BLOWN_TEX * tex_skin)
    if blown.any():
        for k, sign in ((_CLS_SKIN, 1.0), (_CLS_HAIR, -1.0), (_CLS_OTHER, -1.0)):
            scores[..., k] += np.where(blown, sign * _BLOWN_BONUS, 0.0)
    # GrabCut (colour GMMs + contrast-sensitive graph cut) for skin against everything else
    fg = _skin_grabcut(work, prob, (skin_d2 < 9.0) & person & ~beard_like, upper_face & ~glasses & ~brows_eyes, s,
                       not_skin=below_chin & ~neck & sure_person)
    scores[..., _CLS_SKIN] += _GC_WEIGHT * (2.0 * fg - 1.0)
    scores, ll_skin_cur, ll_hair_cur = _em_refits(
        scores, lab, idx, rng, ll_skin=ll_skin, ll_hair=ll_hair, tex_term=tex_term, skin_seeds=samples,
        skin_region=skull, sure_person=sure_person, hair_source=skull & inner & ~glasses, head_area=head_area,
        hair_zone=hair_zone, skin_zone=hair_zone, nonskin_d2=hair_d2, fibrous=fibrous)
    neck_skin, neck_not = _neck_skin(work, lab, prob, samples, oval, beard, tex, tex_skin, fr, v_chin)
    scores[..., _CLS_SKIN] += np.where(neck_skin, _NECK_BONUS, np.where(neck_not, -_NECK_BONUS, 0.0))
    scores[..., _CLS_HAIR] -= np.where(beard_zone & oval & ~beard, _NO_BEARD_PENALTY, 0.0)  # no beard: skin
    scores = _head_steps(scores, work, lab, tex, tex_skin, s, person, skull, hair_zone)
    # lips and eyes are skin by the label convention, whatever their colour (lipstick, lashes)
    fixed = (lips | brows_eyes) & ~glasses
    fixed |= _poly_mask(shape, lm[list(_NOSE_LOW)]) & ~glasses  # the nostrils are skin too
    best_other = _max_except(scores, _CLS_SKIN)
    scores[..., _CLS_SKIN] = np.where(fixed, np.maximum(scores[..., _CLS_SKIN], best_other + 1.0),
                                      scores[..., _CLS_SKIN])
    scores = _force_class(scores, beard & ~fixed, _CLS_OTHER)
    scores = _force_class(scores, neck_skin & ~beard, _CLS_SKIN)

    scalp_zone = (~face_outline & (v > 0.0)) | (face_outline & (v > UPPER_FOREHEAD_MM))
    band = _light_band_beside_scalp(scores, lab, skin_px, s, scalp_zone)
    if band.any():
        scores = _force_class(scores, band, _CLS_BG, margin=2.0 * _UPSAMPLE_CLIP)
        person = person & ~band
    hz = hair_zone & (v > _SIDEBURN_MM) & ~(beard_zone & (v < v_mouth))
    # head outline: the person silhouette above the eyes
    outline_mask = person & (v > -10.0) & (np.abs(u) < 140.0)
    skull_ellipse = _fit_skull(person, u, v, face)
    if _DEBUG is not None:
        _DEBUG.update(beard_like=beard_like, beard_zone=beard_zone, upper_face=upper_face)
        _DEBUG.update(ll_skin_cur=ll_skin_cur, ll_hair_cur=ll_hair_cur, ll_other=ll_other, ll_bg=ll_bg)
        _DEBUG.update(skin_ll_rel=skin_ll_rel, tex=tex, tex_skin=tex_skin, lab=lab, hair_samples=hair_samples,
                  skull=skull, has_hair=has_hair, skin=skin, rgb_px=rgb_px, work=work, skin_d2=skin_d2, scores=scores, v=v, u=u)
    zones = {"scalp_zone": scalp_zone, "hair_zone": hz, "force_other": (glasses & ~hz) | unnatural,
             "outline_mask": outline_mask, "px_per_mm_full": face.px_per_mm, "skull_ellipse": skull_ellipse}
    return scores, zones


def _light_band_beside_scalp(scores: np.ndarray, lab: np.ndarray, skin_px: np.ndarray, s: float,
                             scalp_zone: np.ndarray) -> np.ndarray:
    """'Scalp' that is a light object hugging the head, not skin: the pixels to make background.

    The skin model takes skin plus white light (a shiny bald head's highlights), and so a white
    or cream object right behind the head that the person segmenter joins to it (a cup's rim
    around a bald head, a lamp) comes out as bare scalp, and gets dots. A highlight on skin lies
    on the skin; such an object lies around it, along the outline. A region of 'scalp' lighter
    than the face skin and under `_BAND_CHROMA` of its chroma, after an opening by
    `_BAND_OPEN_MM`, of at least `_BAND_MIN_CM2` and `_BAND_THICK_MM` thick (twice its area over
    its perimeter), with at least `_BAND_BG_SHARE` of its edge on the background, is the object.
    Measured (label maps of the labelled portraits and their variants): every such region found
    on the coffee-cup backdrop (2.6-45 cm², 5-11 mm thick, edge share 0.11-0.48) is the cup; on
    the studio photos, their exposure, colour, JPEG, scale and busy-backdrop variants the largest
    light region touching the background is 1.0 cm² (the 0.35x copy of M000312, 0.30 of its
    edge) and the others at most 0.4 cm² or 3 mm thick.
    """
    cls = _argmax_channels(scores)
    skin_c = float(np.median(np.hypot(skin_px[:, 1], skin_px[:, 2])))
    skin_l = float(np.median(skin_px[:, 0]))
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    light = (cls == _CLS_SKIN) & scalp_zone & (chroma < _BAND_CHROMA * skin_c) & (lab[..., 0] > skin_l)
    k = max(3, round(_BAND_OPEN_MM * s) | 1)
    kernel = np.ones((k, k), np.uint8)
    opened = cv2.morphologyEx(light.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    n, comp, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    out = np.zeros(light.shape, bool)
    if n <= 1:
        return out
    bg_near = cv2.dilate((cls == _CLS_BG).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    edge = opened.astype(bool) & ~cv2.erode(opened, np.ones((3, 3), np.uint8)).astype(bool)
    area_px = stats[1:, cv2.CC_STAT_AREA].astype(np.float64)
    perim = np.bincount(comp[edge], minlength=n)[1:].astype(np.float64)
    on_bg = np.bincount(comp[edge & bg_near], minlength=n)[1:].astype(np.float64)
    thick_mm = 2.0 * area_px / np.maximum(perim, 1.0) / s
    keep = ((area_px >= _BAND_MIN_CM2 * 100.0 * s * s) & (thick_mm >= _BAND_THICK_MM)
            & (on_bg >= _BAND_BG_SHARE * perim))
    if not keep.any():
        return out
    out = np.isin(comp, 1 + np.flatnonzero(keep))
    return cv2.dilate(out.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & light


def _head_edge_grabcut(work: np.ndarray, prob: np.ndarray, v: np.ndarray, s: float) -> np.ndarray:
    """The person segmenter's outline of the head, decided again by GrabCut from the colours.

    On a busy background (fur, stained tissue, a room) the selfie segmenter cuts off the outer
    hair of the head, above all a grey or white fringe, a seventh of the hair of the labelled
    portraits pasted on a cat or on tissue (against under 1 % on the studio backdrop). Above
    the eyes (``v`` > `_HEAD_EDGE_V` mm), in a band from a pixel inside its outline to
    `_HEAD_EDGE_OUT_MM` outside it, GrabCut decides head against background with colour models
    learned from the person and the background beside them and a contrast-sensitive cut; the
    person probability there is GrabCut's answer (kept off 0 and 1 so that the colour models
    of the labels still have a say).
    """
    person = prob > 0.5
    k = np.ones((3, 3), np.uint8)
    p8 = person.astype(np.uint8)
    grown = cv2.dilate(p8, k, iterations=max(1, round(_HEAD_EDGE_OUT_MM * s))).astype(bool)
    shrunk = cv2.erode(p8, k, iterations=max(1, round(_HEAD_EDGE_IN_MM * s))).astype(bool)
    up = v > _HEAD_EDGE_V
    band = grown & ~shrunk & up
    box = _box(grown & up, 4)
    if box is None or band.sum() < 20:
        return prob
    gc = np.where(person, cv2.GC_FGD, cv2.GC_BGD).astype(np.uint8)
    gc[band & person] = cv2.GC_PR_FGD
    gc[band & ~person] = cv2.GC_PR_BGD
    fg = _grabcut_skin(np.ascontiguousarray(work[box]), gc[box], _HEAD_EDGE_SIDE, iters=_HEAD_EDGE_ITERS)
    out = prob.copy()
    b = band[box]
    out[box][b] = np.clip(fg[b], _HEAD_EDGE_CLIP, 1.0 - _HEAD_EDGE_CLIP)
    return out


def _fit_skull(person: np.ndarray, u: np.ndarray, v: np.ndarray, face: FaceGeometry):
    """The head outline as an ellipse centred on the glabella in the face's frame.

    The silhouette above the brows (hair included) gives points (u, v) in mm; the semi-axes a
    (sideways) and b (upwards) solve ``u^2 / a^2 + v^2 / b^2 = 1`` in least squares. Below the
    brows, where the ears, hair or background hide the skull, the ellipse is the extrapolation.
    Returns ``((cx, cy), (2a, 2b), angle_deg)`` in photo pixels, or None.
    """
    m = person.astype(np.uint8)
    edge = m.astype(bool) & ~cv2.erode(np.pad(m, 1), np.ones((3, 3), np.uint8))[1:-1, 1:-1].astype(bool)
    edge[0, :] = edge[-1, :] = False
    edge[:, 0] = edge[:, -1] = False  # the frame of the photo is not the head's outline
    sel = edge & (v > 5.0) & (np.abs(u) < 120.0)
    if sel.sum() < 10:
        return None
    uu, vv = u[sel].astype(np.float64), v[sel].astype(np.float64)
    A = np.stack([uu * uu, vv * vv], axis=1)
    coef, *_ = np.linalg.lstsq(A, np.ones(len(uu)), rcond=None)
    if (coef <= 0).any():
        return None
    a_mm, b_mm = 1.0 / np.sqrt(coef)
    if not (40.0 < a_mm < 150.0 and 50.0 < b_mm < 200.0):
        return None
    s = face.px_per_mm
    g = face.glabella
    angle = float(np.degrees(np.arctan2(face.right[1], face.right[0])))
    return ((float(g[0]), float(g[1])), (float(2 * a_mm * s), float(2 * b_mm * s)), angle)


def _ring(h: int, w: int, b: int) -> np.ndarray:
    """The frame's border strip, ``b`` px wide, of an ``h`` x ``w`` image (bool)."""
    ring = np.zeros((h, w), bool)
    ring[:b] = ring[-b:] = True
    ring[:, :b] = ring[:, -b:] = True
    return ring


def _mask_edge(mask: np.ndarray) -> np.ndarray:
    """The pixels of ``mask`` (bool or uint8) with a pixel outside it among their 8 neighbours."""
    m = mask.astype(np.uint8)
    return m.astype(bool) & ~cv2.erode(m, np.ones((3, 3), np.uint8)).astype(bool)


def _border_view(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """The photo reduced to at most 256 px, in Lab, and the width (px) of its border strip: what
    `_person_from_border` and `_fills_the_frame` judge the border on."""
    H, W = rgb.shape[:2]
    f = min(1.0, 256.0 / max(H, W))
    small = cv2.resize(rgb, (max(8, round(W * f)), max(8, round(H * f))), interpolation=cv2.INTER_AREA)
    lab = _to_lab(small)
    return lab, max(2, int(0.04 * min(lab.shape[:2])))


def _centre(h: int, w: int) -> tuple[slice, slice]:
    """The photo's centre, whose colour a head that reaches the frame has."""
    return slice(h // 3, h - h // 6), slice(w // 3, w - w // 3)


def _person_from_border(rgb: np.ndarray, view: tuple[np.ndarray, int] | None = None) -> np.ndarray:
    """Probability that a pixel is not background, where the background is the border colours.

    The border is cut into short pieces along all four edges. A piece whose colour is the colour
    of the photo's centre (a head that reaches the frame) is not taken as background, nor one of
    a colour that few other pieces share when some colour is widely shared; nor a piece of the
    lower half (often the neck, the shoulders or the clothes) unless its colour is
    that of a piece of the upper half (the same backdrop). The largest region that fits none of
    the background colours is the person.
    """
    lab, b = view if view is not None else _border_view(rgb)
    H, W = rgb.shape[:2]
    h, w = lab.shape[:2]
    sx, sy = max(b, w // 8), max(b, h // 8)
    pieces = []  # (y-slice, x-slice, in the upper half)
    for x in range(0, w, sx):
        pieces += [(slice(0, b), slice(x, x + sx), True), (slice(h - b, h), slice(x, x + sx), False)]
    for y in range(b, h - b, sy):
        up = y + sy / 2 < h / 2
        pieces += [(slice(y, min(h - b, y + sy)), slice(0, b), up), (slice(y, min(h - b, y + sy)), slice(w - b, w), up)]
    c_med = np.median(lab[_centre(h, w)].reshape(-1, 3), axis=0)
    med = [np.median(lab[ys, xs].reshape(-1, 3), axis=0) for ys, xs, _ in pieces]
    far = [np.linalg.norm(m - c_med) > _BORDER_DE for m in med]
    # a backdrop is shared by many pieces: a piece of a colour that few others have (hair or
    # skin at the frame, a collar) is no background, unless no colour is shared that widely
    support = np.array([sum(np.linalg.norm(m - q) < _BORDER_SHARE_DE for q in med) for m in med]) / len(med)
    if (support >= _BORDER_SUPPORT).any():
        far = [fr and sp >= _BORDER_SUPPORT for fr, sp in zip(far, support)]
    upper = [m for m, fr, (_, _, u) in zip(med, far, pieces) if fr and u]
    border = np.zeros((h, w), bool)
    for m, fr, (ys, xs, u) in zip(med, far, pieces):
        if fr and (u or len(upper) < 2 or min(np.linalg.norm(m - q) for q in upper) < _BORDER_SHARE_DE):
            border[ys, xs] = True
    if border.sum() < 4 * b * b:  # the centre colour fills the whole border: use the upper border
        for ys, xs, u in pieces:
            border[ys, xs] |= u
    ll = _log_density(lab[border], sigma_bins=1.0)[_bin_index(lab)]
    thr = float(np.percentile(ll[border], 5))
    prob = 1.0 / (1.0 + np.exp(np.clip(ll - thr + 1.0, -30, 30)))
    prob = cv2.GaussianBlur(prob.astype(np.float32), (0, 0), 1.0)
    # keep the largest component (the head), drop scattered specks
    n, comp, stats, _ = cv2.connectedComponentsWithStats((prob > 0.5).astype(np.uint8))
    if n > 1:
        keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        prob = np.where(comp == keep, prob, np.minimum(prob, 0.3))
    return cv2.resize(prob, (W, H), interpolation=cv2.INTER_LINEAR)


def _upright_turns(person: np.ndarray) -> int:
    """Quarter turns (``np.rot90``'s k) that bring the head of a face-less photo upright.

    A head leaves the frame on the side of the neck and shoulders (or where the photo cuts it
    off), and its crown is the far side: the frame edge the person covers most is turned to the
    bottom. 0 when the person covers less than `_TURN_COVER` of every edge (a whole head in view) or
    reaches the bottom edge at all (then the head may well be upright: on a busy background the
    person mask touches other edges where it spills into the background).
    """
    if not person.any():
        return 0
    # np.rot90 turns counter-clockwise: k = 1 brings the left edge to the bottom, 2 the top, 3 the right
    cover = {0: person[-1].mean(), 1: person[:, 0].mean(), 2: person[0].mean(), 3: person[:, -1].mean()}
    k, most = max(cover.items(), key=lambda kv: kv[1])
    if most < _TURN_COVER or cover[0] > _TURN_BOTTOM:
        return 0
    return int(k)


def _person_without_face(rgb: np.ndarray, person_prob: np.ndarray) -> tuple[np.ndarray, int]:
    """The person probability for a photo without a face, and the quarter turns that bring its
    head upright (`_upright_turns`).

    The selfie segmenter often misses close-ups of the scalp (top and back views) or finds only a
    part of them; where it does find the head it also holds on busy backgrounds, so each pixel
    takes the larger of it and `_person_by_grabcut`. The turns come from the selfie segmenter
    joined with what the border colours do not explain (`_person_from_border`). A head that
    fills the frame (`_fills_the_frame`) is person everywhere; one that reaches most of it, with
    background in the corners, is found by a second GrabCut when the first one's outline is no
    edge of the photo (`_outline_contrast`). Where that outline is less sharp than real ones
    (`_OUTLINE_REAL`), the border is skin-coloured, and the second cut finds no colour in the
    margins that no head has or takes in nearly the whole frame, the head fills the frame (or all
    of it but the corners).
    """
    view = _border_view(rgb)
    if _fills_the_frame(view):
        return np.maximum(person_prob, np.float32(_FILL_PROB)), 0
    border = _person_from_border(rgb, view)
    turns = _upright_turns(np.maximum(person_prob, border) > 0.5)
    gc_view = _grabcut_view(rgb, turns)  # both cuts below start from it
    cut = _person_by_grabcut(rgb, turns, small=gc_view)
    # a close-up whose head reaches the frame on most sides, with background only in the corners:
    # the margins taken as background were head, and the cut ran through the head where nothing
    # in the photo marks an edge. Cut again from the margins' colours that no head has; keep that
    # cut where its outline is clearly the sharper (a real outline, not one through the head)
    grad = _view_gradient(view)
    weak = _outline_contrast(grad, cut)
    if weak < _OUTLINE_REAL:  # (above `_OUTLINE_WEAK`)
        cut2 = _person_by_grabcut(rgb, turns, reaches_frame=True, small=gc_view)
        # the first cut's outline less sharp than real ones (a forehead's highlights and furrows
        # can give a cut through it 3-4), or no head in it, and no colour in the margins that no
        # head has: where the border is skin's all round, the head fills the frame
        skin_round = _ring_skin_share(view) >= _FILL_SKIN_EMPTY
        if cut2 is None and skin_round:
            return np.maximum(person_prob, np.float32(_FILL_PROB)), 0
        # (no head at all in the first cut: the second needs an outline that is no doubt one)
        need = _OUTLINE_GAIN * weak if weak > 0 else _OUTLINE_SURE
        # a second cut that takes in nearly all of a skin-bordered frame: the head reaches all
        # its edges, its outline shows in the corners only (a weak edge there, as the first's)
        reaches = cut2 is not None and weak > 0 and skin_round and float((cut2 > 0.5).mean()) >= _REACHES_FRAME
        if cut2 is not None and (reaches or (weak < _OUTLINE_WEAK and _outline_contrast(grad, cut2) >= need)):
            soft = (1.0 - _PERSON_GC_SURE) + (2.0 * _PERSON_GC_SURE - 1.0) * cut2
            return np.maximum(person_prob, soft), turns
    a, b = border > 0.5, cut > 0.5
    agree = float((a & b).sum()) / max(1, int((a | b).sum()))
    # GrabCut's cut is hard: its inside is person with at most `_PERSON_GC_SURE` (and its outside
    # background likewise), so that the colour models can give back to the background what
    # plainly looks like it (a red saucer that GrabCut took in with a dark-skinned head)
    soft = (1.0 - _PERSON_GC_SURE) + (2.0 * _PERSON_GC_SURE - 1.0) * cut
    return np.maximum(person_prob, border if agree >= _PERSON_AGREE else soft), turns


def _fills_the_frame(view: tuple[np.ndarray, int]) -> bool:
    """Whether the head fills the whole frame (a close-up of the crown or the scalp).

    Its border is then the head too: skin-coloured all round (`_skin_prior` on at least
    `_FILL_SKIN` of it), mostly of the centre's colour (Lab distance under 20 on at least
    `_FILL_NEAR` of it) and as textured as the centre (the ratio of their median textures within
    `_FILL_TEX`): the scalp's pores, stubble and hair reach the frame. A border skin-coloured
    all but everywhere (`_FILL_SKIN_ALL`) may stray further from the centre's colour and
    texture (`_FILL_NEAR_ALL`, `_FILL_TEX_ALL`): a forehead's shading and furrows. A plain skin-coloured wall
    around a head is far smoother than the scalp; fur, wood or tissue are rougher or of other
    colours.
    """
    skin = _ring_skin_share(view)
    if skin < _FILL_SKIN:
        return False
    lab, b = view
    h, w = lab.shape[:2]
    ring = _ring(h, w, b)
    centre = np.zeros((h, w), bool)
    centre[_centre(h, w)] = True
    near = float((np.linalg.norm(lab[ring] - np.median(lab[centre], axis=0), axis=1) < 20.0).mean())
    tex = _texture(lab, 0.8, None)
    ratio = float(np.median(tex[ring])) / max(1e-3, float(np.median(tex[centre])))
    if near >= _FILL_NEAR and _FILL_TEX[0] <= ratio <= _FILL_TEX[1]:
        return True
    # skin-coloured all round, the head's own shading and furrows may vary more (a forehead)
    return bool(skin >= _FILL_SKIN_ALL and near >= _FILL_NEAR_ALL and _FILL_TEX[0] <= ratio <= _FILL_TEX_ALL)


def _ring_skin_share(view: tuple[np.ndarray, int]) -> float:
    """Share of the border strip of `_border_view` that has a skin colour (`_skin_prior`)."""
    lab, b = view
    return float(_skin_prior(lab)[_ring(*lab.shape[:2], b)].mean())


def _view_gradient(view: tuple[np.ndarray, int]) -> np.ndarray:
    """Squared colour gradient (Lab) of `_border_view`'s reduced photo blurred by a pixel."""
    lab = cv2.GaussianBlur(view[0], (0, 0), 1.0)
    g = np.zeros(lab.shape[:2], np.float32)
    for k in range(3):
        g += cv2.Sobel(lab[..., k], cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(lab[..., k], cv2.CV_32F, 0, 1) ** 2
    return g


def _outline_contrast(g: np.ndarray, cut: np.ndarray) -> float:
    """How sharp a head's outline is: the strongest colour gradient (``g``, `_view_gradient`)
    within 2 px of each outline pixel of ``cut`` inside the frame, their median over the median
    gradient inside the head. A head's outline against its background is an edge: 4.0 to 23 on
    the labelled heads cut above the brows on the studio backdrop and on six busy ones, 2.9 to
    5.9 on the top of the Oval Office photo (curtains and a window). A cut through the middle of
    a head, where the photo shows no edge, is not: 1.5 to 2.9 on crown close-ups. Infinite when the cut has no outline inside the frame (it fills it),
    0 when it has no inside (no head).
    """
    h, w = g.shape
    c = (cv2.resize(cut, (w, h), interpolation=cv2.INTER_LINEAR) > 0.5).astype(np.uint8)
    edge = _mask_edge(c)
    edge[:3] = edge[-3:] = False
    edge[:, :3] = edge[:, -3:] = False
    inner = cv2.erode(c, np.ones((3, 3), np.uint8), iterations=4).astype(bool)
    if inner.sum() < 5:
        return 0.0  # no head: no outline either
    if edge.sum() < 5:
        return float("inf")
    near = cv2.dilate(g, np.ones((5, 5), np.uint8))  # the strongest gradient within 2 px of the outline
    return float(np.sqrt(np.median(near[edge]) / max(1e-6, float(np.median(g[inner])))))


def _grabcut_view(rgb: np.ndarray, turns: int) -> np.ndarray:
    """The photo turned upright and reduced to `_PERSON_GC_SIDE` (what `_person_by_grabcut` cuts)."""
    up = np.rot90(rgb, turns) if turns % 4 else rgb
    H, W = up.shape[:2]
    g = min(1.0, _PERSON_GC_SIDE / max(H, W))
    size = (max(8, round(W * g)), max(8, round(H * g)))
    return cv2.resize(np.ascontiguousarray(up), size, interpolation=cv2.INTER_AREA)


def _person_by_grabcut(rgb: np.ndarray, turns: int, reaches_frame: bool = False,
                       small: np.ndarray | None = None) -> np.ndarray | None:
    """The head of a photo without a face by GrabCut: the frame's top, left and right margins
    (of `_PERSON_GC_MARGIN` of the shorter side, in the upright frame) are background, a band as
    wide inside them probably background, and the rest may be the head, on the photo reduced to
    `_PERSON_GC_SIDE`.

    A head seen without its face is the photo's subject: it fills the middle and leaves the
    frame at the bottom (the neck, or where the photo cuts it). GrabCut learns the background's
    colours from the margins and the head's from the middle, and gives back to the background
    the parts of the middle that its colours explain (a window or curtains beside the head, a
    cat's fur, a wood grain): a busy background, whose colours the border alone does not give
    (see `_person_from_border`), is found this way. The band of probable background lets a
    uniform area that touches no margin (a dusk sky between a gantry and the head) start as
    background: started as head, GrabCut would keep it there, its colour being likely in both.

    ``reaches_frame``: the head may reach the margins (a close-up of the crown with background
    only in the corners). Only margin pixels of a colour that no head has are then background:
    no skin colour (`_skin_prior`) and rarer in the photo's centre than its rarest `_UNLIKE_PCT`
    per cent (hair and scalp of the head's own colours stay), 2 px (of the reduced photo) away
    from other pixels; they and such pixels elsewhere outside the centre start as background, the
    rest as head. None when under `_UNLIKE_MIN` of the margins are such pixels.

    ``small``: `_grabcut_view` of the photo, where the caller has it already.
    """
    small = _grabcut_view(rgb, turns) if small is None else small
    H, W = (rgb.shape[1], rgb.shape[0]) if turns % 2 else rgb.shape[:2]
    h, w = small.shape[:2]
    m = max(1, round(_PERSON_GC_MARGIN * min(h, w)))
    gc = np.full((h, w), cv2.GC_PR_FGD, np.uint8)
    if reaches_frame:
        L = _to_lab(small)
        cm = np.zeros((h, w), bool)
        cm[_centre(h, w)] = True
        ll = _log_density(L[cm], sigma_bins=1.0)[_bin_index(L)]
        unlike = (ll < float(np.percentile(ll[cm], _UNLIKE_PCT)) - 1.0) & ~_skin_prior(L)
        ring = _ring(h, w, m)
        if (unlike & ring).sum() < _UNLIKE_MIN * ring.sum():
            return None
        # not the 2 px next to the head: there the backdrop blends with the skin's rim and
        # its light, and seeding that blend would teach the background the scalp's edge
        unlike = cv2.erode(unlike.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2).astype(bool)
        gc[unlike & ~cm] = cv2.GC_PR_BGD
        gc[unlike & ring] = cv2.GC_BGD
    else:
        for k, lab in ((2 * m, cv2.GC_PR_BGD), (m, cv2.GC_BGD)):  # probable, then sure background
            gc[:k] = lab
            gc[:, :k] = lab
            gc[:, w - k:] = lab
    fg = _grabcut_skin(small, gc, max(h, w), iters=_PERSON_GC_ITERS)
    # an outline found on the reduced photo is only as sharp as a pixel of it: a ramp that wide,
    # so that only the inside of the head is sure person (the colour models learn from there)
    fg = cv2.resize(cv2.GaussianBlur(fg, (0, 0), 1.0), (W, H), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(np.rot90(fg, -turns)) if turns % 4 else fg


def _skin_prior(lab: np.ndarray) -> np.ndarray:
    """Colours that human skin can have, light to dark (bool per pixel).

    Skin is warm (hue angle 15-85 degrees in the a*b* plane) and moderately saturated; its
    individual typology angle ``ITA = atan((L - 50) / b)`` runs from about +75 degrees (very
    light) to about -70 degrees (very dark), so dark skin keeps a yellow component b* that black
    or dark-brown hair of the same lightness lacks. Highlights (shiny scalp) lower the chroma
    but keep the hue.

    References: Chardon et al. (1991), Int J Cosmet Sci 13:191 (ITA skin colour typology);
    Del Bino & Bernerd (2013), Br J Dermatol 169:33.
    """
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    hue = np.degrees(np.arctan2(b, a))
    chroma = np.hypot(a, b)
    ita = np.degrees(np.arctan2(L - 50.0, np.maximum(b, 1e-3)))
    return ((hue > 15.0) & (hue < 85.0) & (chroma > 5.0) & (chroma < 55.0) & (L > 12.0)
            & (b > 3.0) & (ita > -72.0) & (ita < 80.0))


def _head_rows(person: np.ndarray) -> tuple[int, float]:
    """Top row of the person silhouette and the head width (px): the 60th percentile of the
    silhouette's width over its upper part (as deep as about a head is wide)."""
    h, w = person.shape
    ys = np.flatnonzero(person.sum(axis=1) > 2)
    if ys.size == 0:
        return 0, float(w)
    top = int(ys[0])
    widths = person[top: top + max(4, h // 3)].sum(axis=1)
    head_w = float(np.percentile(widths, 60)) if widths.size else float(w)
    widths = person[top: top + max(4, int(1.0 * head_w))].sum(axis=1)
    return top, max(float(np.percentile(widths, 60)), 8.0)


def _light_grey_hair(lab: np.ndarray, cand: np.ndarray) -> np.ndarray | None:
    """The light grey or white hair among the skin-coloured pixels ``cand`` of a head, or None.

    Grey and white hair lit warm has a skin hue at a low chroma, and it is often smoother than
    the scalp on a photo: it passes for skin. Split by chroma (Otsu's threshold), it is the
    paler part, when that is `_GREY_SHARE` to 1 - `_GREY_SHARE` of them, under `_GREY_CHROMA`
    times the other part's chroma and not darker than it by over `_GREY_DARKER` (L); a dark
    head's shaded skin and dark hair are darker.
    """
    px = lab[cand]
    cc = np.hypot(px[:, 1], px[:, 2])
    top = max(1e-3, float(cc.max()))
    t8, _ = cv2.threshold(np.clip(cc * (255.0 / top), 0, 255).astype(np.uint8).reshape(-1, 1), 0, 255,
                          cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    t = float(t8) * top / 255.0
    pale = cc < t
    if not (_GREY_SHARE <= pale.mean() <= 1.0 - _GREY_SHARE):
        return None
    L = px[:, 0]
    if cc[pale].mean() >= _GREY_CHROMA * cc[~pale].mean() or L[pale].mean() < L[~pale].mean() - _GREY_DARKER:
        return None
    grey = np.zeros(cand.shape, bool)
    grey[cand] = pale
    return grey


def _scalp_seed(lab: np.ndarray, tex: np.ndarray, person: np.ndarray, head: np.ndarray,
                s: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Sure skin without a face: smooth skin-coloured pixels well inside the head silhouette, and
    the light grey or white hair taken out of them (`_light_grey_hair`; None if none).

    The smoothest skin-coloured part of the head (texture under the median of the skin-coloured
    head pixels, light grey hair aside) in connected regions of at least a tenth of the largest
    one: the scalp of a bald or thinning head, the forehead or the neck of a haired one.
    """
    inner = cv2.erode(person.astype(np.uint8), np.ones((3, 3), np.uint8),
                      iterations=max(1, round(2.0 * s))).astype(bool)
    cand = _skin_prior(lab) & inner & head
    if cand.sum() < 30:
        return cand, None
    grey = _light_grey_hair(lab, cand)
    if grey is not None:
        cand &= ~grey
    smooth = tex < np.percentile(tex[cand], 50)
    seed = (cand & smooth).astype(np.uint8)
    seed = cv2.morphologyEx(seed, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, comp, stats, _ = cv2.connectedComponentsWithStats(seed)
    if n <= 1:
        return seed.astype(bool), grey
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= 0.1 * areas.max()) + 1
    return np.isin(comp, keep), grey


def _scores_without_face(work, prob, f: float = 1.0, selfie=None, turns: int = 0):
    """Skin, hair, other and background from colour and texture alone (top, back and side views).

    ``turns``: quarter turns (`_upright_turns`) that bring the head upright; the scores and zones
    are computed on the turned image and turned back.
    """
    if turns % 4 == 0:
        return _scores_upright(work, prob, f, selfie)
    def turn(a, k):
        return np.ascontiguousarray(np.rot90(a, k)) if isinstance(a, np.ndarray) else a

    scores, zones = _scores_upright(turn(work, turns), turn(prob, turns), f, turn(selfie, turns))
    return turn(scores, -turns), {k: turn(v, -turns) for k, v in zones.items()}


def _scores_upright(work, prob, f: float = 1.0, selfie=None):
    """`_scores_without_face` on an image whose head is upright.

    The head is the top of the person silhouette, about as deep as it is wide; its scale is the
    assumed head width. Skin is modelled from the head's own smooth skin-coloured region (see
    `_scalp_seed`), then the same steps as with a face: hair from the head pixels far from that
    skin, texture, GrabCut for skin against the rest, EM refits, hair against the local scalp
    colour, and skin/background blends at the silhouette.

    A busy background (fur, wood, a gantry, a cup) that the silhouette took in beside the head
    is given back to the background by what a head is: round (`_off_the_round_head`, on the
    silhouette before the colour models learn from it and on the skin and hair after them),
    its skin smooth (`_rough_skin_is_background`) and never a thin strand, its hair at the
    edge like its hair further in (`_rim_hair_like_background`), and the person segmenter's
    word counting only where it overlaps the head (`_selfie_on_head`).
    """
    from .face import HEAD_WIDTH_MM

    h, w = work.shape[:2]
    shape = (h, w)
    rng = np.random.default_rng(0)
    person = prob > 0.5
    sure_person = prob > 0.8
    # the head's geometry from the largest part of the person (not from things beside it that a
    # busy background adds to the mask)
    n, comp, stats, _ = cv2.connectedComponentsWithStats(person.astype(np.uint8))
    main = comp == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) if n > 1 else person
    top, head_w = _head_rows(main)
    s = head_w / HEAD_WIDTH_MM  # px per mm on the working image
    # things beside the head that a busy background adds to the silhouette (a cat's eyes, a
    # gantry, a bulge of wood grain) stick out of the head's round outline: background
    off = _off_the_round_head(main, top, head_w, s)
    if selfie is not None:
        off &= selfie < 0.8
    if off.any():
        prob = np.where(off, np.minimum(prob, 0.05), prob).astype(np.float32)
        person = prob > 0.5
        sure_person = prob > 0.8
    rows = np.arange(h)[:, None]
    head = np.broadcast_to(rows < top + _HEAD_DEPTH * head_w, shape)
    lab = _to_lab(work)
    tex = _texture(lab, 0.8, person)
    seed, grey = _scalp_seed(lab, tex, person, head, s)
    grey_hair = grey is not None
    clipped = work.min(axis=2) >= 245  # before any exposure change
    if seed.sum() >= 30:
        work = _normalise_exposure(work, seed)
        lab = _to_lab(work)
        tex = _texture(lab, 0.8, person)
    idx = _bin_index(lab)
    if seed.sum() >= 30:
        px = lab[seed]
        skin = _SkinModel.fit(px[_robust_inliers(px, 3.0)])
    else:  # no skin-coloured smooth region: a generic light-to-dark skin
        skin = _SkinModel(np.array([12.0, 16.0]), np.linalg.inv(np.diag([40.0, 60.0])),
                          float(np.log(2400.0)), 55.0, 15.0, 75.0)
    skin_d2 = skin.d2(lab)
    ll_skin = skin.log_density_from_d2(skin_d2)
    tex_skin = float(np.median(tex[seed])) if seed.sum() >= 30 else float(np.percentile(tex[person], 25)) \
        if person.any() else 1.0

    inner = cv2.erode(sure_person.astype(np.uint8), np.ones((3, 3), np.uint8),
                      iterations=max(1, round(3.0 * s))).astype(bool)
    # a clear colour that no hair or skin has: headwear, or a busy background's red cup, blue
    # sky or green leaves the silhouette took in
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))
    unnatural = ((chroma > 45.0) | ((chroma > 22.0) & ((hue < 20.0) | (hue > 100.0)))) & person
    unnatural = cv2.morphologyEx(unnatural.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8),
                                 iterations=max(1, round(1.0 * s))).astype(bool)
    # hair samples are fibrous: a smooth region far from the skin colour is a highlight or a
    # blown-out part of the scalp (or a smooth hat), not hair; nor is a colour no hair has
    fibrous = tex > _FIBROUS * tex_skin
    if grey is not None:  # light grey hair can be as smooth as the scalp on a photo
        fibrous = fibrous | grey
    hair_samples = head & inner & (skin_d2 > 9.0) & fibrous & ~unnatural
    head_area = max(1, int((head & person).sum()))
    has_hair = _enough_for_hair(hair_samples, head_area)
    if has_hair:
        ll_hair = _log_density(_subsample(lab[hair_samples], 4000, rng), sigma_bins=1.0)[idx]
    else:
        ll_hair = np.full(shape, np.log(1.0 / (_NL * _NA * _NA)) + _NO_HAIR_LL, np.float32)
    below = sure_person & ~head
    has_other = below.sum() > 50
    ll_other = _log_density(_subsample(lab[below], 4000, rng), sigma_bins=1.0)[idx] if has_other \
        else np.full(shape, -30.0, np.float32)
    ll_bg = _log_density(_subsample(lab[prob < 0.2], 4000, rng), sigma_bins=1.0)[idx]
    tex_ratio = np.log((tex + _TEX_OFFSET) / (tex_skin + _TEX_OFFSET))
    tex_term = _TEX_WEIGHT * np.clip(tex_ratio, -_TEX_CLIP, _TEX_CLIP)
    ll_hair = ll_hair + tex_term

    p = np.clip(prob, 1e-3, 1 - 1e-3)
    lp_person, lp_bg = np.log(p), np.log(1 - p)
    scores = np.empty((h, w, 4), np.float32)
    scores[..., _CLS_BG] = lp_bg + ll_bg
    scores[..., _CLS_SKIN] = lp_person + ll_skin
    scores[..., _CLS_HAIR] = lp_person + ll_hair + np.where(head & person, 0.0, -4.0)
    scores[..., _CLS_OTHER] = lp_person + ll_other + np.where(head, -2.5, 0.0)
    # hats and caps: a clear colour that no hair or skin has is headwear
    scores[..., _CLS_OTHER] += np.where(unnatural, 6.0, 0.0)
    scores[..., _CLS_HAIR] -= np.where(unnatural, 6.0, 0.0)
    # blown-out light on the head (a shiny or overexposed scalp) is flat white: smooth skin,
    # not white hair, which keeps its strands' texture
    blown = clipped & (tex < tex_skin) & head & person
    scores[..., _CLS_SKIN] += np.where(blown, 4.0, 0.0)
    scores[..., _CLS_HAIR] -= np.where(blown, 4.0, 0.0)
    # GrabCut for skin against the rest, from the seed and the background
    fg = _skin_grabcut(work, prob, (skin_d2 < 9.0) & person, seed, s)
    scores[..., _CLS_SKIN] += _GC_WEIGHT * (2.0 * fg - 1.0)
    scores, ll_skin, _ = _em_refits(
        scores, lab, idx, rng, ll_skin=ll_skin, ll_hair=ll_hair, tex_term=tex_term, skin_seeds=seed & head,
        skin_region=head, sure_person=sure_person, hair_source=head & inner & fibrous & ~unnatural, head_area=head_area,
        hair_zone=head)
    skull = head & person
    scores = _head_steps(scores, work, lab, tex, tex_skin, s, person, skull, skull, highlights=True,
                         grey_hair=grey_hair)
    scores = _rough_skin_is_background(scores, lab, person, seed, ll_skin, ll_bg, s)
    scores = _rim_hair_like_background(scores, lab, person, s)
    core = _head_core(scores, seed, s)
    scores = _detached_from_head(scores, core, head, selfie)
    # and what now sticks out of the round outline of the head's skin and hair (the rim of a
    # bulge of background whose inside the steps above gave back)
    cls = _argmax_channels(scores)
    region = (cls == _CLS_SKIN) | (cls == _CLS_HAIR)
    off2 = _off_the_round_head(region, top, head_w, s)
    # skin is no thin strand: 'skin' in a strand of the head's outline thinner than twice
    # `_STRAND_MM` (a light stripe of wood grain touching the head) is background; hair
    # strands stay
    off2 |= (cls == _CLS_SKIN) & ~_opened(region, _STRAND_MM * s)
    off2 &= ~_selfie_on_head(selfie, core, shape)
    if off2.any():
        scores = scores.copy()
        scores[..., _CLS_BG] = np.where(off2, scores.max(axis=2) + 1.0, scores[..., _CLS_BG])
    if _DEBUG is not None:
        _DEBUG.update(round_off=off, seed=seed, head=head, tex=tex, tex_skin=tex_skin, lab=lab, skin=skin, scores=scores,
                      hair_samples=hair_samples, work=work, prob=prob, s=s)
    evidence = _head_evidence(scores, seed, skull if core is None else skull & core, tex, tex_skin, skin,
                              prob if selfie is None else selfie, head_w)
    if _DEBUG is not None:
        _DEBUG["evidence"] = evidence
    # skin down to about the brows and the tops of the ears is scalp; below it, the face, the
    # nape or the neck of a side or back view is other skin (no dots go there)
    scalp_zone = np.broadcast_to(rows < top + _SCALP_DEPTH * head_w, shape)
    zones = {"scalp_zone": scalp_zone, "hair_zone": skull, "force_other": unnatural & ~skull,
             "outline_mask": skull, "px_per_mm_full": s / max(f, 1e-6), "evidence": evidence}
    return scores, zones



def _opened(mask: np.ndarray, r: float) -> np.ndarray:
    """Morphological opening of ``mask`` by a disc of radius ``r`` px (by distance transforms:
    any radius at the same cost; the photo's frame is not an edge)."""
    inside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5) > r
    if not inside.any():
        return inside
    return cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 5) <= r


def _off_the_round_head(person: np.ndarray, top: int, head_w: float, s: float) -> np.ndarray:
    """Parts of the head's silhouette that stick out of its round outline (bool mask).

    A head's outline, hair included, is round: seen from above, behind or the side its
    curvature radius is nowhere under about 0.35 head widths, so a disc of `_ROUND_R` head
    widths rolled inside the silhouette reaches all of it (a morphological opening, here by
    distance transforms; the photo's frame does not count as an edge). What the disc does not
    reach by more than `_ROUND_MARGIN_MM`, in the head's cap (`_ROUND_DEPTH`), is kept out
    where it forms a part wider or longer than `_ROUND_MIN` head widths: things of a busy
    background that the silhouette took in beside the head. Ears and a nose (lower down) and
    hair tips (small) stay.
    """
    if person.sum() < 30:
        return np.zeros(person.shape, bool)
    # closed first: a gap of a few mm in the silhouette (a fringe whose colour the background
    # shares, apart from the scalp) is no outline
    c = _ROUND_CLOSE_MM * s
    grown = cv2.distanceTransform((~person).astype(np.uint8), cv2.DIST_L2, 5) <= c
    closed = cv2.distanceTransform(grown.astype(np.uint8), cv2.DIST_L2, 5) > c
    r = _ROUND_R * head_w
    inside = cv2.distanceTransform(closed.astype(np.uint8), cv2.DIST_L2, 5) > r
    if not inside.any():
        return np.zeros(person.shape, bool)
    reach = cv2.distanceTransform((~inside).astype(np.uint8), cv2.DIST_L2, 5)
    off = person & (reach > r + _ROUND_MARGIN_MM * s)
    off[int(top + _ROUND_DEPTH * head_w):] = False
    _, comp, stats, _ = cv2.connectedComponentsWithStats(off.astype(np.uint8))
    big = np.flatnonzero(np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
                         >= _ROUND_MIN * head_w) + 1
    if not big.size:
        return np.zeros(person.shape, bool)
    off = np.isin(comp, big)
    # a head width overestimated (the silhouette took in a wide table) would give a disc too
    # large for the crown: then this is no outline to go by
    return off if off.sum() <= _ROUND_MAX_SHARE * person.sum() else np.zeros(person.shape, bool)


def _rough_skin_is_background(scores, lab, person, seed, ll_skin, ll_bg, s):
    """'Skin' that is rough and of a colour the background explains as well is background.

    Skin, above all a bald scalp, is smooth; a busy background of skin colour (wood grain,
    cork, sand, a wall) that the silhouette took in beside the head is not. Where the texture
    (`_texture` over `_ROUGH_SIGMA_MM`) exceeds the scalp seed's by `_ROUGH_RATIO` times, the
    background's colour model fits no worse than the skin's less `_ROUGH_LL` (both
    log-likelihoods pooled over the same reach inside the silhouette), and fits as well as it
    fits the commoner part of the background (`_ROUGH_COMMON`: a colour the background has, not
    a blend that neither model explains), 'skin' becomes background. Not along the silhouette,
    where the head's edge is a blend: the strands of the bulge's rim that stay go later (see
    `_scores_upright`). Hair, textured too, is left to the hair model; on a plain backdrop no
    skin colour fits the background, so nothing changes.
    """
    if seed.sum() < 30:
        return scores
    sig = max(1.0, _ROUGH_SIGMA_MM * s)
    tex = _texture(lab, sig, person)
    rough = tex > _ROUGH_RATIO * max(float(np.median(tex[seed])), 1e-3)
    cls = _argmax_channels(scores)
    # not at the silhouette, where the head's edge blends with whatever lies behind it
    inner = cv2.erode(person.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=round(2.0 * sig)).astype(bool)
    cand = rough & (cls == _CLS_SKIN) & ~seed & inner
    if not cand.any():
        return scores
    m = person.astype(np.float32)
    wsum = np.maximum(cv2.GaussianBlur(m, (0, 0), sig), 1e-4)
    lb = cv2.GaussianBlur(ll_bg.astype(np.float32) * m, (0, 0), sig) / wsum
    ls = cv2.GaussianBlur(ll_skin.astype(np.float32) * m, (0, 0), sig) / wsum
    common = float(np.percentile(ll_bg[~person], _ROUGH_COMMON)) if (~person).any() else np.inf
    cut = cand & (lb > ls - _ROUGH_LL) & (lb > common)
    if _DEBUG is not None:
        _DEBUG["rough_cut"] = cut
    if not cut.any():
        return scores
    out = scores.copy()
    out[..., _CLS_BG] = np.where(cut, out.max(axis=2) + 1.0, out[..., _CLS_BG])
    return out


def _solidity(mask: np.ndarray) -> float:
    """Area of the largest region of ``mask`` over the area of its convex hull (0 when empty)."""
    n, comp, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    if n <= 1:
        return 0.0
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    big = (comp == k).astype(np.uint8)
    cnts, _ = cv2.findContours(big, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    hull = cv2.convexHull(max(cnts, key=cv2.contourArea))
    return float(big.sum()) / max(1.0, cv2.contourArea(hull) + 0.5 * cv2.arcLength(hull, True))


def _head_core(scores, seed, s) -> np.ndarray | None:
    """The head: the skin and hair region that holds the scalp seed, opened by a disc of
    `_DETACH_MM` (which cuts thin bridges to things beside it) and grown back by the disc inside
    the region (so thin strands on the head stay). None without a seed."""
    if seed.sum() < 30:
        return None
    cls = _argmax_channels(scores)
    region = ((cls == _CLS_SKIN) | (cls == _CLS_HAIR)).astype(np.uint8)
    r = max(1, round(_DETACH_MM * s))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    core = cv2.morphologyEx(region, cv2.MORPH_OPEN, k)
    n, comp = cv2.connectedComponents(core)
    hits = np.bincount(comp[seed & (core > 0)], minlength=n)
    hits[0] = 0
    if n <= 1 or hits.max() == 0:
        return None
    keep = (comp == int(np.argmax(hits))).astype(np.uint8)
    return cv2.dilate(keep, k).astype(bool) & region.astype(bool)


def _detached_from_head(scores, core, head, selfie):
    """Skin and hair of the head zone outside the head's core (`_head_core`) are background:
    a busy background's skin- or hair-coloured things beside the head. Where the person
    segmenter is sure of a person (over 0.8) on the head nothing changes (`_selfie_on_head`)."""
    if core is None:
        return scores
    cls = _argmax_channels(scores)
    cut = ((cls == _CLS_SKIN) | (cls == _CLS_HAIR)) & ~core & head & ~_selfie_on_head(selfie, core, core.shape)
    out = scores.copy()
    out[..., _CLS_BG] = np.where(cut, out.max(axis=2) + 1.0, out[..., _CLS_BG])
    return out


def _rim_hair_like_background(scores, lab, person, s):
    """'Hair' along the silhouette whose colour is the background's beside it rather than the
    hair's further in is background.

    The silhouette of a face-less head on a busy background is only as sharp as the GrabCut
    that found it (`_person_by_grabcut`): a band of a grey wall or fur beside a head of hair
    comes along, and the hair model, which has grey or brown, takes it. Within `_EDGE_BAND_MM`
    of the silhouette's edge, a 'hair' pixel nearer (Lab) to the local mean of the background
    outside than `_EDGE_BG_NEARER` times its distance to the local mean of the hair further in
    goes to the background. A real fringe's hair is like its own hair inside, not like the
    backdrop (a plain backdrop is far from any hair).
    """
    cls = _argmax_channels(scores)
    hair = cls == _CLS_HAIR
    if hair.sum() < 20:
        return scores
    k = np.ones((3, 3), np.uint8)
    band_px = max(1, round(_EDGE_BAND_MM * s))
    inner = cv2.erode(person.astype(np.uint8), k, iterations=band_px).astype(bool)
    rim = hair & ~inner
    if not rim.any():
        return scores
    sig = max(1.5, 3.0 * s)
    box = _box(rim, _reach(sig) + band_px)
    if box is None:
        return scores
    outside = cv2.erode((~person[box]).astype(np.uint8), k, iterations=max(1, round(1.0 * s)))
    B, wb = _local_mean(lab[box], outside, sig)
    H, wh = _local_mean(lab[box], (hair[box] & inner[box]).astype(np.uint8), sig)
    d_b = np.linalg.norm(lab[box] - B, axis=2)
    d_h = np.linalg.norm(lab[box] - H, axis=2)
    cut = rim[box] & (wb > 0.05) & (wh > 0.05) & (d_b * _EDGE_BG_NEARER < d_h)
    if _DEBUG is not None:
        _DEBUG["rim_cut"] = np.zeros(person.shape, bool)
        _DEBUG["rim_cut"][box] = cut
    if not cut.any():
        return scores
    out = scores.copy()
    o = out[box]
    o[..., _CLS_BG] = np.where(cut, o.max(axis=2) + 1.0, o[..., _CLS_BG])
    return out


def _selfie_on_head(selfie, core, shape) -> np.ndarray:
    """Where the person segmenter is sure of a person (over 0.8) in a region that overlaps the
    head's ``core`` (anywhere it is sure when there is no core): a person's shoulders, neck or
    back of the head. Its sure regions apart from the head are not the person's (it takes a
    cat's face or a spacesuit for a person's)."""
    if selfie is None:
        return np.zeros(shape, bool)
    sure = selfie >= 0.8
    if core is None or not sure.any():
        return sure
    n, comp = cv2.connectedComponents(sure.astype(np.uint8))
    on = np.zeros(n, bool)
    on[np.unique(comp[sure & core])] = True
    on[0] = False
    return on[comp]


def _highlights_are_skin(scores, lab, tex, tex_skin, s, zone, *, grey_hair: bool = False):
    """'Hair' that is lighter than the scalp beside it and as smooth as the scalp is a highlight.

    A shiny scalp (above all a dark one) reflects the light as a smooth, lighter and greyer
    patch that fits neither the skin model nor the background; hair lighter than the scalp
    (grey or white on dark skin) keeps the texture of its strands.

    ``grey_hair``: the head has light grey or white hair (`_light_grey_hair`), which on a photo
    can be as smooth as the scalp. A highlight lies on the scalp; a patch whose edge runs along
    the background for `_GREY_RIM` of its length or more is the hair at the head's outline.
    """
    cls = _argmax_channels(scores)
    sure = (scores[..., _CLS_SKIN] - _max_except(scores, _CLS_SKIN) > _EM_MARGIN) & zone
    # the scalp's lightness around each pixel (a wide blur: on the image reduced 4x, then resized)
    h, w = zone.shape
    size = (max(1, w // 4), max(1, h // 4))
    L4 = cv2.resize(lab[..., 0] * sure, size, interpolation=cv2.INTER_AREA)
    m4 = cv2.resize(sure.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    sig = max(0.5, 3.0 * s)
    wsum = cv2.resize(cv2.GaussianBlur(m4, (0, 0), sig), (w, h), interpolation=cv2.INTER_LINEAR)
    locL = cv2.resize(cv2.GaussianBlur(L4, (0, 0), sig), (w, h), interpolation=cv2.INTER_LINEAR) / np.maximum(wsum, 1e-4)
    cand = (zone & (cls == _CLS_HAIR) & (wsum > 0.02) & (lab[..., 0] > locL + _GLINT_L)
            & (tex < _GLINT_TEX * tex_skin))
    if grey_hair and cand.any():
        n, comp = cv2.connectedComponents(cand.astype(np.uint8))
        edge = _mask_edge(cand)
        near_bg = cv2.dilate((cls == _CLS_BG).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=2).astype(bool)
        length = np.bincount(comp[edge], minlength=n)
        on_bg = np.bincount(comp[edge & near_bg], minlength=n)
        rim = on_bg >= _GREY_RIM * np.maximum(length, 1)
        rim[0] = False
        cand &= ~rim[comp]
    out = scores.copy()
    out[..., _CLS_HAIR] -= np.where(cand, _STUBBLE_PENALTY, 0.0).astype(np.float32)
    return out


def _head_evidence(scores, seed, skull, tex, tex_skin, skin, selfie, head_w: float) -> dict:
    """What tells a head seen without its face from other things (see `analysis._shows_head`).

    ``skin_share`` / ``hair_share``: shares of the head silhouette (the top of the person) taken
    as skin and hair; ``skin_solidity``: solidity of the largest skin region (a scalp is one
    convex patch; a cat's smooth fur or a cup's rim is ragged); ``head_solidity``: the same for
    skin and hair together; ``seed_px``: pixels of smooth skin-coloured seed, ``seed_share`` the share of
    the head they cover; ``skin_chroma``:
    chroma of the skin model (skin stays under about 55, a retina or an orange does not);
    ``tex_rel``: texture of the skin seed over the texture of the rest of the person (scalp is
    the smoothest part); ``cap_residual``: rms distance (in silhouette widths) of the silhouette's top
    from a parabola over the columns whose top lies within 0.6 head widths of the crown (a
    skull's cap, not the shoulders); ``selfie``: mean selfie-segmenter person probability over
    the head silhouette; ``top_cut``: share of the silhouette's columns that
    reach the top of the image (a head seen whole has background above it).
    """
    cls = _argmax_channels(scores)
    skinm = (cls == _CLS_SKIN) & skull
    hairm = (cls == _CLS_HAIR) & skull
    n_skull = max(1, int(skull.sum()))
    rest = skull & ~skinm
    ev = {"skin_share": float(skinm.sum()) / n_skull, "hair_share": float(hairm.sum()) / n_skull,
          "skin_solidity": _solidity(skinm), "head_solidity": _solidity(skinm | hairm),
          "seed_px": int(seed.sum()), "seed_share": float((seed & skull).sum()) / n_skull, "skin_chroma": float(np.linalg.norm(skin.mean_ab)),
          "tex_rel": float(tex_skin) / max(1e-3, float(np.median(tex[rest])) if rest.any() else 1.0),
          "selfie": float(selfie[skull].mean()) if skull.any() else 0.0, "cap_residual": 1.0, "top_cut": 1.0}
    cols = np.flatnonzero(skull.any(axis=0))
    if cols.size > 10:
        ytop = np.argmax(skull[:, cols], axis=0).astype(np.float64)
        # the skull cap only: the columns whose top lies within 0.6 head widths of the crown
        # (not the shoulders beside and below the head)
        cap = ytop <= ytop.min() + 0.6 * head_w
        cols, ytop = cols[cap], ytop[cap]
    if cols.size > 10:
        x = (cols - cols.mean()) / cols.size
        c = np.polyfit(x, ytop, 2)
        ev["cap_residual"] = float(np.sqrt(np.mean((ytop - np.polyval(c, x)) ** 2))) / cols.size
        ev["top_cut"] = float((ytop <= 1).mean())
    return ev
