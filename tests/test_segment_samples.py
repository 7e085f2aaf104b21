"""The label map on the bundled samples: blond on fair skin, a 12-megapixel photo."""

from __future__ import annotations

import cv2
import numpy as np

from smp_preview.analysis import analyse
from smp_preview.face import BROW_LEFT, BROW_RIGHT
from smp_preview.photo import Photo, load_photo
from smp_preview.segment import HAIR, SCALP, SKIN


def _face_below_brows(face, shape):
    oval = np.zeros(shape, np.uint8)
    cv2.fillPoly(oval, [np.round(face.face_oval).astype(np.int32)], 1)
    brow_y = float(face.landmarks_px[list(BROW_RIGHT + BROW_LEFT), 1].max())
    return oval.astype(bool) & (np.arange(shape[0])[:, None] > brow_y)


def test_blond_hair_on_fair_skin_is_hair_above_the_forehead(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "astronaut.jpg")
    f = a.face
    g = f.glabella
    s = f.px_per_mm
    # a band 60-80 mm above the glabella across the middle of the head is her hair
    y0, y1 = int(g[1] - 80 * s), int(g[1] - 60 * s)
    x0, x1 = int(g[0] - 25 * s), int(g[0] + 25 * s)
    band = a.labels[max(0, y0):y1, x0:x1]
    assert (band == HAIR).mean() > 0.6
    assert not (a.labels[_face_below_brows(f, a.labels.shape)] == SCALP).any()


def test_twelve_megapixel_photo_gives_a_full_size_label_map(samples_dir, models):
    rgb = load_photo(samples_dir / "obama.jpg").rgb
    big = cv2.resize(rgb, (3000, 3750), interpolation=cv2.INTER_CUBIC)  # 11.3 MP
    a = analyse(Photo(big, "big"), models)
    small = analyse(Photo(rgb, "small"), models)
    assert a.labels.shape == big.shape[:2]
    assert abs(a.px_per_mm / small.px_per_mm - 3000 / rgb.shape[1]) < 0.1 * 3000 / rgb.shape[1]
    # the same picture at two sizes: the label shares agree
    for k in (SKIN, HAIR):
        assert abs((a.labels == k).mean() - (small.labels == k).mean()) < 0.02
    assert (a.labels == HAIR).mean() > 0.01
    assert not (a.labels[_face_below_brows(a.face, a.labels.shape)] == SCALP).any()


def test_short_black_hair_on_dark_skin_is_hair(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "obama.jpg")
    f = a.face
    g, s = f.glabella, f.px_per_mm
    # the top of his head, 60-75 mm above the glabella in the photo, across the middle
    band = a.labels[int(g[1] - 75 * s):int(g[1] - 60 * s), int(g[0] - 20 * s):int(g[0] + 20 * s)]
    assert (band == HAIR).mean() > 0.8
    assert not (a.labels[_face_below_brows(f, a.labels.shape)] == SCALP).any()


def test_the_brows_are_skin(samples_dir, analysis_of):
    """Brows are skin by the label convention, dark (obama), white (biden) or blond (astronaut):
    never hair or 'other' (a brow taken for hair beside the temples became 'other')."""
    for name in ("obama.jpg", "biden.jpg", "astronaut.jpg", "bald_S001224.jpg"):
        a = analysis_of(samples_dir / name)
        m = np.zeros(a.labels.shape, np.uint8)
        for brow in (BROW_RIGHT, BROW_LEFT):
            hull = cv2.convexHull(np.round(a.face.landmarks_px[list(brow), :2]).astype(np.int32))
            cv2.fillPoly(m, [hull], 1)
        brows = a.labels[m.astype(bool)]
        assert brows.size > 100, name
        assert np.isin(brows, (SKIN, SCALP)).mean() > 0.98, (name, np.bincount(brows, minlength=5))
