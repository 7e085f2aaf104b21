"""Face geometry on real photos: pose sign conventions, the iris scale, the head outline."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from smp_preview.face import faces_from_result
from smp_preview.photo import load_photo


def _face(models, rgb):
    faces = faces_from_result(models.landmarks(np.ascontiguousarray(rgb)), rgb.shape[:2])
    assert faces
    return faces[0]


def test_yaw_is_positive_when_the_face_turns_to_the_image_right(samples_dir, models):
    rgb = load_photo(samples_dir / "biden.jpg").rgb
    f = _face(models, rgb)
    assert f.point(1)[0] > f.face_oval[:, 0].mean()  # the nose is right of the face's middle
    assert f.yaw_deg > 5
    assert _face(models, rgb[:, ::-1]).yaw_deg < -5


def test_roll_is_positive_when_the_head_tilts_counter_clockwise(samples_dir, models):
    rgb = load_photo(samples_dir / "obama.jpg").rgb
    h, w = rgb.shape[:2]
    base = _face(models, rgb).roll_deg
    ccw = cv2.warpAffine(rgb, cv2.getRotationMatrix2D((w / 2, h / 2), 15, 1.0), (w, h),
                         borderMode=cv2.BORDER_REPLICATE)
    assert _face(models, ccw).roll_deg - base == pytest.approx(15, abs=3)


def test_pitch_is_positive_when_the_forehead_is_nearer_than_the_chin(samples_dir, models):
    f = _face(models, load_photo(samples_dir / "astronaut.jpg").rgb)
    assert f.pitch_deg > 5
    assert f.landmarks_px[10, 2] < f.landmarks_px[152, 2]  # forehead nearer the camera


@pytest.mark.shared
def test_iris_scale_gives_adult_interpupillary_distances(shared_photos, models):
    ipd = []
    for path in sorted((shared_photos / "photos").glob("*.jpg")):
        f = _face(models, load_photo(path).rgb)
        assert f.scale_source == "iris"
        ipd.append(np.linalg.norm(f.point(468) - f.point(473)) / f.px_per_mm)
    # adult interpupillary distance about 63 mm: the median within 5 %, every face plausible
    assert np.median(ipd) == pytest.approx(63.0, rel=0.05)
    assert 52 < min(ipd) and max(ipd) < 75


def test_an_occluded_iris_is_discarded(samples_dir, models):
    rgb = load_photo(samples_dir / "obama.jpg").rgb
    f = _face(models, rgb)
    _d_r, d_l = f.iris_px
    # shrink one iris: the scale follows the other one
    from smp_preview.face import IRIS_RIGHT, scale_from_landmarks

    lm = f.landmarks_px.copy()
    c = lm[IRIS_RIGHT[0], :2]
    lm[list(IRIS_RIGHT[1:]), :2] = c + (lm[list(IRIS_RIGHT[1:]), :2] - c) * 0.6
    px_per_mm, source, _ = scale_from_landmarks(lm)
    assert source == "iris"
    assert px_per_mm == pytest.approx(d_l / 11.7, rel=0.02)


def test_the_head_outline_lies_around_the_top_of_the_head(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "obama.jpg")
    (cx, cy), (ew, eh), _ = a.face.skull_ellipse
    g = a.face.glabella
    top = cy - max(ew, eh) / 2
    assert top < g[1] - 80 * a.px_per_mm  # the crown is well above the brows
    assert abs(cx - g[0]) < 30 * a.px_per_mm
    assert 120 < max(ew, eh) / a.px_per_mm < 320
