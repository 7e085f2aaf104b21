"""The label map on real photos: scores against the labelled set and the hard cases of issue #3."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from smp_preview.analysis import analyse
from smp_preview.face import BROW_LEFT, BROW_RIGHT
from smp_preview.photo import Photo, load_photo
from smp_preview.segment import BACKGROUND, HAIR, OTHER, SCALP, SKIN

pytestmark = pytest.mark.shared


def _truth(shared_photos, name):
    return cv2.imread(str(shared_photos / "labels" / f"{name}.png"), cv2.IMREAD_UNCHANGED)


def _iou(pred_mask, true_mask):
    union = (pred_mask | true_mask).sum()
    return float((pred_mask & true_mask).sum() / union) if union else 1.0


def _skin(labels):
    return np.isin(labels, (SKIN, SCALP))


def _below_brows_in_face(a):
    """Pixels of the face outline below the lower edge of the brows."""
    f = a.face
    h, w = a.labels.shape
    oval = np.zeros((h, w), np.uint8)
    cv2.fillPoly(oval, [np.round(f.face_oval).astype(np.int32)], 1)
    brow_y = max(f.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1])
    ys = np.arange(h)[:, None]
    return oval.astype(bool) & (ys > brow_y)


def test_pooled_iou_over_the_labelled_set_stays_above_the_floor(shared_photos, analysis_of):
    inter = np.zeros(4)
    union = np.zeros(4)
    to4 = np.array([0, 1, 1, 2, 3])
    for path in sorted((shared_photos / "photos").glob("*.jpg")):
        p4 = to4[analysis_of(path).labels]
        t4 = to4[_truth(shared_photos, path.stem)]
        for k in range(4):
            inter[k] += ((p4 == k) & (t4 == k)).sum()
            union[k] += ((p4 == k) | (t4 == k)).sum()
    iou = inter / union
    # measured 0.992 / 0.882 / 0.514 / 0.921 (bench/segmentation.py); floors leave a small margin
    assert iou[0] >= 0.98, iou
    assert iou[1] >= 0.87, iou
    assert iou[2] >= 0.49, iou
    assert iou[3] >= 0.90, iou


@pytest.mark.parametrize("name", ["A000055", "S000510", "E000296", "T000193", "M000312"])
def test_no_scalp_on_the_face_below_the_brows_nor_on_the_background(shared_photos, analysis_of, name):
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    assert not (a.labels[_below_brows_in_face(a)] == SCALP).any()
    truth_bg = _truth(shared_photos, name) == BACKGROUND
    assert (a.labels[truth_bg] == SCALP).mean() < 0.002


@pytest.mark.parametrize(
    "name, what, skin_floor, hair_floor",
    [
        ("S000510", "white fringe on pale skin", 0.88, 0.35),
        ("K000375", "white-grey fringe", 0.85, 0.30),
        ("F000478", "receding brown hair", 0.80, 0.65),
        ("J000295", "blond-grey hair", 0.82, 0.55),
        # measured 0.77 hair; 0.70 without the scalp/hair unmixing at the thinning front (segment._thin_fringe)
        ("N000002", "thinning, receding dark hair", 0.85, 0.74),
        ("E000296", "dark skin, shaved head", 0.70, None),
        ("T000193", "dark skin, grey beard", 0.65, None),
        ("P000617", "bald woman", 0.80, None),
        ("S001224", "shiny bald head", 0.80, None),
    ],
)
def test_skin_and_hair_iou_on_hard_cases(shared_photos, analysis_of, name, what, skin_floor, hair_floor):
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    t = _truth(shared_photos, name)
    assert _iou(_skin(a.labels), t == 1) >= skin_floor, what
    if hair_floor is not None:
        assert _iou(a.labels == HAIR, t == 3) >= hair_floor, what


BALD = ["S001224", "A000376", "C001072", "P000617", "E000296", "H001077", "P000599"]


def _skull_skin(shared_photos, analysis_of, name):
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    t = _truth(shared_photos, name)
    top = a.labels[(t == 1) & a.segmentation.head_mask]
    assert top.size > 1000
    return top


@pytest.mark.parametrize("name", BALD)
def test_a_shiny_or_tanned_bald_head_is_mostly_scalp(shared_photos, analysis_of, name):
    """Highlights, a tanned crown and the darkened outline stay scalp."""
    top = _skull_skin(shared_photos, analysis_of, name)
    assert (top == HAIR).mean() < 0.30
    assert (top == SCALP).mean() > 0.65


# the heads where the shaded sides or side stubble still read as hair on over 5 % of the skull skin
_BALD_GAP = {"P000617"}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(reason="known gap (issue #3): shaded sides / side stubble of this "
                                                   "bald head still read as hair on over 5 % of it", strict=True))
    if n in _BALD_GAP else n for n in BALD])
def test_a_bald_head_has_almost_no_hair(shared_photos, analysis_of, name):
    top = _skull_skin(shared_photos, analysis_of, name)
    assert (top == HAIR).mean() < 0.05


@pytest.mark.parametrize("name", ["T000193", "V000135", "E000071", "G000597"])
def test_beards_are_other_not_skin_or_hair(shared_photos, analysis_of, name):
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    t = _truth(shared_photos, name)
    beard = (t == OTHER) & _below_brows_in_face(a)
    assert beard.sum() > 300
    assert (a.labels[beard] == SCALP).mean() == 0
    assert (a.labels[beard] == HAIR).mean() < 0.05
    assert (a.labels[beard] == OTHER).mean() > 0.3


@pytest.mark.parametrize("name", ["C001068", "M000312", "I000058", "N000002"])
def test_glasses_are_never_scalp_or_hair(shared_photos, analysis_of, name):
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    t = _truth(shared_photos, name)
    lenses = (t == OTHER) & _below_brows_in_face(a) & (np.arange(t.shape[0])[:, None] < a.face.point(1)[1])
    assert lenses.sum() > 100
    # (a pixel or two on the edge of the reduced-resolution zones may slip)
    assert np.isin(a.labels[lenses], (SCALP, HAIR)).mean() < 0.005


def _around_the_eyes(a, radius_mm=12.0):
    """Discs of ``radius_mm`` round both eye centres: inside a lens when glasses are worn."""
    m = np.zeros(a.labels.shape, np.uint8)
    lm = a.face.landmarks_px
    for corners in ((33, 133), (263, 362)):
        c = lm[list(corners), :2].mean(axis=0)
        cv2.circle(m, (round(float(c[0])), round(float(c[1]))), round(radius_mm * a.face.px_per_mm), 1, -1)
    return m.astype(bool)


def _eye_band(a):
    """Rows from the top of the brows to the nose tip (lenses, bridge and temple arms)."""
    lm = a.face.landmarks_px
    band = np.zeros(a.labels.shape, bool)
    band[int(lm[list(BROW_RIGHT + BROW_LEFT), 1].min()):int(lm[1, 1])] = True
    return band


@pytest.mark.parametrize(
    "name, frame, iou_floor",
    [
        # measured lens-area IoU 0.866, 0.851, 0.845, 0.810, 0.657 (the rimless lower edges of
        # H001077 are hand-traced outlines the photo barely shows)
        ("N000002", "round tortoiseshell", 0.75),
        ("C001068", "round tortoiseshell", 0.75),
        ("I000058", "thin wire", 0.75),
        ("M000312", "black rectangular", 0.70),
        ("H001077", "semi-rimless", 0.55),
    ],
)
def test_glasses_are_found_and_their_lens_area_is_other(shared_photos, analysis_of, name, frame, iou_floor):
    """The labels give glasses (rims, the whole lens area, bridge, arms) as 'other', not skin."""
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    t = _truth(shared_photos, name)
    band = _eye_band(a)
    assert (a.labels[_around_the_eyes(a)] == OTHER).mean() > 0.8, frame
    assert _iou((a.labels == OTHER) & band, (t == OTHER) & band) >= iou_floor, frame


@pytest.mark.parametrize("name", ["A000376", "S001224", "P000617", "E000296", "T000193", "J000295", "K000375",
                                  "A000055"])
def test_no_glasses_are_found_on_faces_without_them(shared_photos, analysis_of, name):
    """Bald and wrinkled faces (lid creases, bags, crow's feet, a furrowed nose root) keep their
    eye region skin."""
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    assert (a.labels[_around_the_eyes(a)] == OTHER).mean() < 0.05


@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg", "bald_S001224.jpg"])
def test_no_glasses_are_found_on_the_samples(samples_dir, analysis_of, name):
    a = analysis_of(samples_dir / name)
    assert (a.labels[_around_the_eyes(a)] == OTHER).mean() < 0.05


@pytest.mark.parametrize("name", ["N000002", "M000312"])
def test_sunglasses_are_found_from_their_dark_lenses(shared_photos, models, name):
    """The glasses of N000002 and M000312 with tinted lenses (the hand-labelled lens areas made
    dark): the rims no longer stand out from the lenses, the step from dark lens to skin does
    (measured lens-area IoU 0.85 and 0.79)."""
    rgb = load_photo(shared_photos / "photos" / f"{name}.jpg").rgb.copy()
    t = _truth(shared_photos, name)
    first = analyse(Photo(rgb, name), models)
    lenses = (t == OTHER) & _eye_band(first)
    rgb[lenses] = np.clip(rgb[lenses].astype(np.float32) * 0.18 + 10.0, 0, 255).astype(np.uint8)
    a = analyse(Photo(rgb, "sunglasses"), models)
    band = _eye_band(a)
    assert _iou((a.labels == OTHER) & band, lenses) >= 0.7


def test_thick_glasses_are_found_at_low_resolution(shared_photos, models):
    """N000002 at half size (a face of about 85 px): the frame is still found (measured lens-area
    IoU 0.84; the thin wire and semi-rimless frames are lost at this size)."""
    rgb = load_photo(shared_photos / "photos" / "N000002.jpg").rgb
    t = _truth(shared_photos, "N000002")
    small = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    t_small = cv2.resize(t, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
    a = analyse(Photo(small, "small"), models)
    band = _eye_band(a)
    assert _iou((a.labels == OTHER) & band, (t_small == OTHER) & band) >= 0.7


def test_low_resolution_photo_keeps_its_skin_and_hair(shared_photos, models):
    """A000055 at half size: the face is about 65 px wide."""
    rgb = load_photo(shared_photos / "photos" / "A000055.jpg").rgb
    t = _truth(shared_photos, "A000055")
    small = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    t_small = cv2.resize(t, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
    a = analyse(Photo(small, "small"), models)
    assert a.face is not None and 50 < np.ptp(a.face.face_oval[:, 0]) < 90
    assert _iou(_skin(a.labels), t_small == 1) > 0.8
    assert _iou(a.labels == HAIR, t_small == 3) > 0.3


def test_a_top_view_without_a_face_still_finds_scalp_and_hair(shared_photos, models):
    """The top of K000388's head (thinning, no face in view): colour and texture only."""
    rgb = load_photo(shared_photos / "photos" / "K000388.jpg").rgb
    top = np.ascontiguousarray(rgb[: rgb.shape[0] // 4])
    t = _truth(shared_photos, "K000388")[: rgb.shape[0] // 4]
    a = analyse(Photo(top, "top"), models)
    assert a.face is None
    assert a.scale_source == "head_width"
    head = np.isin(a.labels, (SCALP, HAIR))
    assert _iou(head, np.isin(t, (1, 3))) > 0.8
    assert (a.labels == HAIR).sum() > 500 and (a.labels == SCALP).sum() > 2000
    assert (a.labels[t == BACKGROUND] != BACKGROUND).mean() < 0.02
    user = analyse(Photo(top, "top"), models, px_per_mm=2.5)
    assert user.scale_source == "user" and user.px_per_mm == 2.5


def test_hair_coverage_is_high_on_hair_and_low_on_bald_scalp(shared_photos, analysis_of):
    a = analysis_of(shared_photos / "photos" / "K000388.jpg")
    t = _truth(shared_photos, "K000388")
    cov = a.segmentation.hair_coverage
    assert cov.dtype == np.float32 and cov.min() >= 0 and cov.max() <= 1
    assert np.median(cov[(t == 3) & (a.labels == HAIR)]) > 0.6
    b = analysis_of(shared_photos / "photos" / "S001224.jpg")
    assert np.median(b.segmentation.hair_coverage[b.labels == SCALP]) < 0.2


@pytest.mark.parametrize("colour", [(170, 30, 40), (30, 60, 160)])
def test_a_coloured_cap_is_other_never_scalp(shared_photos, models, colour):
    """A cap painted over the crown of S001224 (keeping the photo's shading) is headwear (4)."""
    rgb = load_photo(shared_photos / "photos" / "S001224.jpg").rgb.copy()
    t = _truth(shared_photos, "S001224")
    first = analyse(Photo(rgb, "bald"), models)
    g, s = first.face.glabella, first.px_per_mm
    cap = (t > 0) & (np.arange(t.shape[0])[:, None] < g[1] - 35 * s)
    shade = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)[cap] / 200.0
    rgb[cap] = np.clip(np.array(colour, np.float32)[None, :] * shade[:, None], 0, 255).astype(np.uint8)
    a = analyse(Photo(rgb, "cap"), models)
    assert (a.labels[cap] == SCALP).mean() < 0.01
    assert (a.labels[cap] == OTHER).mean() > 0.9


@pytest.mark.parametrize("name", ["S001224", "K000375"])
def test_a_busy_skin_coloured_background_stays_background(shared_photos, models, name):
    """The studio backdrop swapped for a close-up of a ginger cat (warm, skin-like fur)."""
    from skimage import data

    rgb = load_photo(shared_photos / "photos" / f"{name}.jpg").rgb
    t = _truth(shared_photos, name)
    fg = cv2.GaussianBlur((t > 0).astype(np.float32), (0, 0), 0.8)[..., None]
    bg = cv2.resize(data.chelsea(), (rgb.shape[1], rgb.shape[0]))
    a = analyse(Photo((rgb * fg + bg * (1 - fg)).astype(np.uint8), "busy"), models)
    assert _iou(a.labels == BACKGROUND, t == BACKGROUND) > 0.95
    assert (a.labels[t == BACKGROUND] == SCALP).mean() < 0.005
    assert _iou(_skin(a.labels), t == 1) > 0.85


def test_an_underexposed_photo_keeps_its_skin_and_hair(shared_photos, models):
    """K000388 at 35 % of its light: the face sets one exposure gain before the colour models."""
    rgb = load_photo(shared_photos / "photos" / "K000388.jpg").rgb
    t = _truth(shared_photos, "K000388")
    a = analyse(Photo((rgb * 0.35).astype(np.uint8), "dark"), models)
    assert _iou(_skin(a.labels), t == 1) > 0.9
    assert _iou(a.labels == HAIR, t == 3) > 0.45


# name, backdrop, least hair IoU: measured less about 0.05 (before the hair samples were looked
# for further from the skin model, and the refits as far: measured before -> after)
FRINGE_ON_BUSY = [("K000375", "wood", 0.80),  # 0.167 -> 0.861
                  ("K000375", "rocket", 0.78),  # 0.123 -> 0.836
                  ("K000375", "astro", 0.80),  # 0.199 -> 0.873
                  ("K000375", "chelsea", 0.79),  # 0.279 -> 0.847
                  ("L000601", "wood", 0.60),  # 0.452 -> 0.659
                  ("L000601", "chelsea", 0.58),  # 0.403 -> 0.634
                  ("R000614", "chelsea", 0.68),  # 0.349 -> 0.735
                  ("R000614", "rocket", 0.40)]  # 0.009 -> 0.460


@pytest.mark.parametrize("name,backdrop,hair_min", FRINGE_ON_BUSY)
def test_a_grey_fringe_on_a_busy_background_is_hair(shared_photos, models, name, backdrop, hair_min):
    """A grey-white fringe (K000375, R000614) or grey buzz-cut sides (L000601) pasted on a busy
    scene as the bench pastes them (the studio's blue light taken out of the outline): without
    the blue cast the hair lies near the skin's colour, too few pixels were 3 sigma from the skin
    model for a hair model, and the head was taken as bald, its fringe as scalp."""
    from bench.segmentation import _backgrounds, _pasted

    rgb, t = _pasted(load_photo(shared_photos / "photos" / f"{name}.jpg").rgb, _truth(shared_photos, name),
                     _backgrounds()[backdrop])
    a = analyse(Photo(rgb, f"{name}_{backdrop}"), models)
    hair = _iou(a.labels == HAIR, t == 3)
    assert hair > hair_min, hair
    assert _iou(_skin(a.labels), t == 1) > 0.93  # K000375 0.91-0.92 before, its fringe taken as scalp
