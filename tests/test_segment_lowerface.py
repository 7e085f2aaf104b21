"""The lower face and the neck on real photos: beards, stubble, nostrils, the shaded neck, clothes.

Label convention (../shared/photos/README.md): all skin of the face and neck is 1 (stubble where
the skin shows through too), a dense beard or moustache is 4 like the clothes. Floors are the
values measured with bench/segmentation.py's photos, less a margin.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from smp_preview.analysis import analyse
from smp_preview.face import CHIN
from smp_preview.photo import Photo, load_photo
from smp_preview.segment import _NOSE_LOW, OTHER, SCALP, SKIN

pytestmark = pytest.mark.shared

NOSE_TIP = 1


def _truth(shared_photos, name):
    return cv2.imread(str(shared_photos / "labels" / f"{name}.png"), cv2.IMREAD_UNCHANGED)


def _regions(a):
    """The face outline, the height v (mm above the glabella) and the offset u (mm) of each pixel."""
    f = a.face
    h, w = a.labels.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xs - f.glabella[0], ys - f.glabella[1]
    u = (dx * f.right[0] + dy * f.right[1]) / f.px_per_mm
    v = (dx * f.up[0] + dy * f.up[1]) / f.px_per_mm
    oval = np.zeros((h, w), np.uint8)
    cv2.fillPoly(oval, [np.round(f.face_oval).astype(np.int32)], 1)
    return oval.astype(bool), u, v


def _height(a, landmark):
    f = a.face
    return float(np.dot(f.point(landmark) - f.glabella, f.up) / f.px_per_mm)


def _lower_face(a):
    oval, _, v = _regions(a)
    return oval & (v < _height(a, NOSE_TIP))


def _is_skin(labels):
    return np.isin(labels, (SKIN, SCALP))


@pytest.mark.parametrize(
    "name, what, floor",
    [
        ("T000193", "full grey beard on dark skin", 0.62),  # measured 0.70 (0.65 before)
        ("T000480", "short ginger beard", 0.65),  # 0.75 (0.36)
        ("V000135", "white full beard", 0.87),  # 0.95 (0.73)
        ("R000614", "white goatee and moustache", 0.75),  # 0.84 (0.51)
        ("G000597", "short dark beard", 0.84),  # 0.93 (0.34)
        ("E000071", "dark goatee", 0.78),  # 0.86 (0.79)
        ("I000058", "grey goatee", 0.79),  # 0.87 (0.66)
    ],
)
def test_a_beard_is_a_region_labelled_other(shared_photos, analysis_of, name, what, floor):
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    beard = (_truth(shared_photos, name) == OTHER) & _lower_face(a)
    assert beard.sum() > 2000
    assert (a.labels[beard] == OTHER).mean() >= floor, what


@pytest.mark.parametrize(
    "name, what, floor",
    [
        ("H001077", "grey stubble", 0.95),  # measured 0.983 (0.919 before)
        ("M001199", "stubble", 0.97),  # 1.000 (0.952)
        ("A000376", "light stubble", 0.96),  # 0.989 (0.978)
        ("C001072", "sparse thin moustache", 0.96),  # 0.988 (0.952)
        ("L000601", "light stubble", 0.95),  # 0.984 (0.956)
        ("E000296", "dark skin, clean-shaven", 0.97),  # 0.999 (0.985)
        # the skin around a beard stays skin
        # (after the bounded upsampling of the scores the beard edge sits a little higher on the
        # cheeks: these two dropped while both photos' skin IoU rose, 0.827->0.850, 0.877->0.888)
        ("T000193", "skin above a full beard", 0.90),  # 0.940 (0.990 before the beard work)
        ("V000135", "cheeks above a white beard", 0.70),  # 0.765 (0.988)
        ("E000071", "skin beside a goatee", 0.80),  # 0.882 (0.941)
        # the short beard's edge on the cheeks is a hand-drawn line (photos/README.md): the beard
        # region found reaches over it
        ("G000597", "skin beside a short beard", 0.55),  # 0.628 (1.000)
    ],
)
def test_stubble_and_the_skin_of_the_lower_face_stay_skin(shared_photos, analysis_of, name, what, floor):
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    skin = (_truth(shared_photos, name) == SKIN) & _lower_face(a)
    assert skin.sum() > 2000
    assert _is_skin(a.labels[skin]).mean() >= floor, what


def test_the_nostrils_are_skin(shared_photos, analysis_of):
    """Dark nostrils below the nose tip are skin, above a moustache too (measured: all 1.0)."""
    for name in ("F000478", "M001199", "A000376", "C001072", "S001224", "J000295", "I000058", "T000193"):
        a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
        t = _truth(shared_photos, name)
        nose = np.zeros(t.shape, np.uint8)
        cv2.fillPoly(nose, [np.round(a.face.landmarks_px[list(_NOSE_LOW), :2]).astype(np.int32)], 1)
        nose = nose.astype(bool) & (t == SKIN)
        assert nose.sum() > 300
        assert _is_skin(a.labels[nose]).mean() > 0.98, name


@pytest.mark.parametrize(
    "name, floor",
    [
        ("J000295", 0.70),  # measured 0.78 (0.12 before): deep shade under the chin
        ("S001224", 0.88),  # 0.94 (0.65)
        ("M001199", 0.80),  # 0.86 (0.80): open collar
        ("H001077", 0.87),  # 0.93 (0.68)
        ("E000296", 0.82),  # 0.88 (0.77): dark skin
        ("N000002", 0.58),  # 0.65 (0.51)
    ],
)
def test_the_shaded_neck_is_skin(shared_photos, analysis_of, name, floor):
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    oval, _, v = _regions(a)
    neck = (_truth(shared_photos, name) == SKIN) & ~oval & (v < _height(a, CHIN) + 10.0)
    assert neck.sum() > 1000
    assert _is_skin(a.labels[neck]).mean() >= floor


@pytest.mark.parametrize("name, ceiling", [("K000388", 0.03), ("T000193", 0.09), ("E000071", 0.08)])
def test_a_white_or_pink_shirt_below_the_face_is_not_skin(shared_photos, analysis_of, name, ceiling):
    """Measured 0.001 / 0.043 / 0.036 (0.157 / 0.443 / 0.072 before)."""
    a = analysis_of(shared_photos / "photos" / f"{name}.jpg")
    _, u, v = _regions(a)
    clothes = (_truth(shared_photos, name) == OTHER) & (v < _height(a, CHIN) - 10.0) & (np.abs(u) < 60.0)
    assert clothes.sum() > 5000
    assert _is_skin(a.labels[clothes]).mean() <= ceiling


def test_pooled_iou_below_the_nose(shared_photos, analysis_of):
    """Skin and 'other' IoU pooled over the set, below the nose tip (beards, neck, collar)."""
    inter, union = np.zeros(2), np.zeros(2)
    for path in sorted((shared_photos / "photos").glob("*.jpg")):
        a = analysis_of(path)
        t = _truth(shared_photos, path.stem)
        _, _, v = _regions(a)
        low = v < _height(a, NOSE_TIP)
        for k, (p, q) in enumerate([(_is_skin(a.labels), t == SKIN), (a.labels == OTHER, t == OTHER)]):
            inter[k] += (p & q & low).sum()
            union[k] += ((p | q) & low).sum()
    iou = inter / union
    # measured 0.913 / 0.971 (0.851 / 0.948 before)
    assert iou[0] >= 0.89, iou
    assert iou[1] >= 0.96, iou


@pytest.mark.parametrize("name, beard_floor, skin_floor", [("J000295", None, 0.95), ("V000135", 0.85, 0.6)])
def test_a_small_jpeg_photo_finds_the_beard_and_no_false_one(shared_photos, models, name, beard_floor, skin_floor):
    """At half size and JPEG quality 75 (a face about 80 px wide, as in news photos), the shaded
    upper lip of a clean-shaven smile is no moustache (measured: 0.99 skin; 0.40 with the upper
    lip's texture alone deciding), and a white beard is still found (0.96 other, 0.72 skin)."""
    rgb = load_photo(shared_photos / "photos" / f"{name}.jpg").rgb
    small = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    _, buf = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 75])
    small = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    t = cv2.resize(_truth(shared_photos, name), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
    a = analyse(Photo(small, name), models)
    low = _lower_face(a)
    assert _is_skin(a.labels[(t == SKIN) & low]).mean() >= skin_floor
    if beard_floor is not None:
        assert (a.labels[(t == OTHER) & low] == OTHER).mean() >= beard_floor
