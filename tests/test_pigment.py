"""The optical model of pigment in skin, on real photos: tone, dots, zone, shades, looks."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage.feature import peak_local_max

from smp_preview.errors import BadSetting
from smp_preview.photo import load_photo
from smp_preview.pigment import (
    SHADE_ORDER,
    SHADES,
    estimate_blur_px,
    floor_of,
    foreshortening,
    head_ellipse_of,
    parse_shade,
    render_dots,
    srgb_to_linear,
    suggest_shade,
)
from smp_preview.stipple import stipple

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
CLOSE_PX_PER_MM = 12.0


@pytest.fixture(scope="module")
def scalp_closeup(samples_dir):
    """A 60 x 42 mm patch of a real bald scalp (1.19 px/mm) enlarged to about 12 px/mm."""
    rgb = load_photo(samples_dir / "bald_S001224.jpg").rgb
    patch = rgb[45:95, 130:200]
    return cv2.resize(patch, None, fx=10, fy=10, interpolation=cv2.INTER_CUBIC)


def _render(img, px_per_mm, density=80.0, seed=0, zone=None, **kw):
    h, w = img.shape[:2]
    zone = np.ones((h, w), bool) if zone is None else zone
    dots = stipple(np.where(zone, density, 0).astype(np.float32), px_per_mm, seed=seed)
    opts = {"dot_size_mm": 0.25, "shade": "medium", "look": "healed", "seed": seed, "photo_blur_px": 0.8}
    opts.update(kw)
    out, touched = render_dots(img, dots, zone, (0, h, 0, w), px_per_mm, **opts)
    return out, touched, dots


def _lum(rgb):
    return srgb_to_linear(rgb) @ LUMA


@pytest.mark.parametrize("density", [50.0, 100.0])
def test_density_counted_from_the_rendered_image_matches_the_target(scalp_closeup, density):
    img = scalp_closeup
    out, _, dots = _render(img, CLOSE_PX_PER_MM, density=density, seed=5)
    darkening = 1.0 - _lum(out) / np.maximum(_lum(img), 1e-4)
    darkening = cv2.GaussianBlur(darkening.astype(np.float32), (0, 0), 1.2)
    spacing_px = dots.min_spacing_px
    peaks = peak_local_max(darkening, min_distance=max(2, int(0.4 * spacing_px)), threshold_abs=0.08,
                           exclude_border=False)
    m = int(2 * CLOSE_PX_PER_MM)
    inner = (peaks[:, 0] >= m) & (peaks[:, 0] < img.shape[0] - m) & (peaks[:, 1] >= m) & (peaks[:, 1] < img.shape[1] - m)
    area_cm2 = (img.shape[0] - 2 * m) * (img.shape[1] - 2 * m) / (CLOSE_PX_PER_MM * 10) ** 2
    counted = inner.sum() / area_cm2
    assert counted == pytest.approx(density, rel=0.10)
    # and each found blob sits on a dot of the list
    d = np.min(np.hypot(*(peaks[inner][:, None, ::-1] + 0.5 - dots.xy[None, :, :]).transpose(2, 0, 1)), axis=1)
    assert np.median(d) < 1.0


def test_pixels_outside_the_zone_are_unchanged(scalp_closeup):
    img = scalp_closeup
    h, w = img.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    zone = (np.hypot(yy - h / 2, xx - w / 2) < 0.35 * w) & (xx % 97 > 5)  # a disc with slits
    for look in ("fresh", "healed", "years:5"):
        out, touched, _ = _render(img, CLOSE_PX_PER_MM, zone=zone, look=look, shade="darkest")
        assert np.array_equal(out[~zone], img[~zone])
        assert not (touched & ~zone).any() and touched.sum() > 0.5 * zone.sum()


def test_same_seed_same_image(scalp_closeup):
    a, _, _ = _render(scalp_closeup, CLOSE_PX_PER_MM, seed=3)
    b, _, _ = _render(scalp_closeup, CLOSE_PX_PER_MM, seed=3)
    c, _, _ = _render(scalp_closeup, CLOSE_PX_PER_MM, seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_dots_are_darker_than_the_skin_under_them(scalp_closeup):
    img = scalp_closeup
    out, _, dots = _render(img, CLOSE_PX_PER_MM, match_grain=False)
    ix, iy = dots.xy[:, 0].astype(int), dots.xy[:, 1].astype(int)
    before, after = _lum(img)[iy, ix], _lum(out)[iy, ix]
    assert (after < before).all()
    assert np.median(after / before) < 0.8  # a healed medium dot is clearly visible up close


def test_dots_never_darker_than_the_darkest_hair_or_brow(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "balding_A000055.jpg")
    floor = floor_of(a)
    assert floor is not None
    from smp_preview.preview import render
    from smp_preview.settings import Settings

    p = render(a, Settings(shade="darkest", look="fresh", density_per_cm2=150, dot_size_mm=0.5))
    zone = p.zones.full_mask(a.labels.shape)
    changed = zone & np.any(p.after != p.before, axis=2)
    assert changed.sum() > 100
    assert _lum(p.after[changed]).min() >= float(floor @ LUMA) * 0.98
    # the darkest hair really is darker than the skin, so the floor does not forbid darkening
    assert float(floor @ LUMA) < np.median(_lum(p.before[zone]))


def test_tone_is_the_same_at_portrait_scale_and_close_up(scalp_closeup):
    """Sub-pixel correctness: the same dots on the same skin give the same mean tone at 1.2 and
    12 px/mm (area-weighted splats, no dot lost or doubled between pixels)."""
    big = np.full((600, 600, 3), (205, 160, 140), np.uint8)
    small = cv2.resize(big, (60, 60), interpolation=cv2.INTER_AREA)
    field = np.full((600, 600), 90.0, np.float32)
    dots = stipple(field, 12.0, seed=2)
    from dataclasses import replace

    dots_small = replace(dots, xy=dots.xy / 10.0, min_spacing_px=dots.min_spacing_px / 10)
    opts = {"dot_size_mm": 0.25, "shade": "medium", "match_grain": False, "keep_specular": False, "photo_blur_px": 0.5}
    hi, _ = render_dots(big, dots, np.ones((600, 600), bool), (0, 600, 0, 600), 12.0, **opts)
    lo, _ = render_dots(small, dots_small, np.ones((60, 60), bool), (0, 60, 0, 60), 1.2, **opts)
    c = slice(10, 50)
    tone_hi = srgb_to_linear(hi)[100:500, 100:500].mean(axis=(0, 1))
    tone_lo = srgb_to_linear(lo)[c, c].mean(axis=(0, 1))
    assert np.allclose(tone_lo, tone_hi, rtol=0.03)
    assert (tone_lo < srgb_to_linear(big)[0, 0] * 0.97).all()  # and it is a visible shadow


def test_highlights_stay_on_top_of_the_pigment():
    """A shine spot (colourless surface reflection) keeps its brightness above the dots."""
    from smp_preview.pigment import linear_to_srgb_u8

    skin = srgb_to_linear(np.full((300, 300, 3), (190, 130, 110), np.uint8))
    yy, xx = np.mgrid[:300, :300]
    # surface reflection is colourless and adds in linear light
    shine = np.exp(-((yy - 150) ** 2 + (xx - 150) ** 2) / (2 * 25.0**2))[..., None] * 0.35
    img = linear_to_srgb_u8(skin + shine)
    opts = {"photo_blur_px": 0.5, "match_grain": False, "shade": "dark"}
    kept, _, _ = _render(img, 4.0, keep_specular=True, **opts)
    flat, _, _ = _render(img, 4.0, keep_specular=False, **opts)
    hl = np.hypot(yy - 150, xx - 150) < 15
    lost_kept = (_lum(img) - _lum(kept))[hl].mean()
    lost_flat = (_lum(img) - _lum(flat))[hl].mean()
    assert lost_kept < 0.75 * lost_flat
    # away from the shine both darken the skin alike
    off = np.hypot(yy - 150, xx - 150) > 120
    assert (_lum(img) - _lum(kept))[off].mean() == pytest.approx((_lum(img) - _lum(flat))[off].mean(), rel=0.1)


def test_darker_shades_looks_and_the_cool_shift(scalp_closeup):
    img = scalp_closeup
    means = [srgb_to_linear(_render(img, CLOSE_PX_PER_MM, shade=s, match_grain=False)[0]).mean() for s in SHADE_ORDER]
    assert all(a > b for a, b in itertools.pairwise(means)), "named shades must run lightest to darkest"
    looks = [srgb_to_linear(_render(img, CLOSE_PX_PER_MM, look=lk, match_grain=False)[0]).mean()
             for lk in ("fresh", "healed", "years:5")]
    assert looks[0] < looks[1] < looks[2]
    out = _render(img, CLOSE_PX_PER_MM, match_grain=False)[0]
    ratio = srgb_to_linear(out).mean(axis=(0, 1)) / srgb_to_linear(img).mean(axis=(0, 1))
    assert ratio[0] < ratio[2], "on fair skin black pigment darkens red more than blue (blue-grey look)"


def test_parse_shade_accepts_names_and_hex_and_explains_errors():
    assert set(SHADE_ORDER) == set(SHADES)
    assert np.allclose(parse_shade("#808080"), parse_shade("808080"))
    with pytest.raises(BadSetting, match="lightest"):
        parse_shade("charcoal")


def test_blur_estimate_recovers_a_known_blur():
    img = np.zeros((200, 200, 3), np.uint8)
    cv2.circle(img, (100, 100), 60, (220, 220, 220), -1)
    cv2.rectangle(img, (20, 20), (60, 180), (160, 160, 160), -1)
    for sigma in (1.0, 2.5):
        blurred = cv2.GaussianBlur(img, (0, 0), sigma)
        assert estimate_blur_px(blurred) == pytest.approx(sigma, rel=0.3)


def test_foreshortening_compresses_dots_toward_the_skull_outline():
    ell = ((100.0, 100.0), (160.0, 200.0), 0.0)
    xy = np.array([[100, 100], [100, 30], [100, 5], [175, 100]], np.float32)
    q, radial = foreshortening(xy, ell)
    assert q[0] == pytest.approx(1.0) and q[0] > q[1] > q[2]
    assert np.allclose(np.abs(radial[1]), [0, 1], atol=1e-3) and np.allclose(np.abs(radial[3]), [1, 0], atol=1e-3)


def test_head_outline_and_shade_suggestion_on_real_photos(samples_dir, analysis_of):
    bald = analysis_of(samples_dir / "bald_S001224.jpg")
    (cx, _cy), (w, _h), _ = head_ellipse_of(bald)
    face_w = np.ptp(bald.face.face_oval[:, 0])
    assert 0.9 * face_w < w < 1.6 * face_w and abs(cx - bald.face.glabella[0]) < 0.15 * face_w
    name, reason = suggest_shade(bald)
    assert name in SHADES and "ITA" in reason
    # very fair skin with grey-brown brows (L* about 30, at the 'dark brows' line): a light
    # dilution, at most one step up from the fair-skin default, never a dark one
    assert "very light" in reason
    assert SHADE_ORDER.index(name) <= SHADE_ORDER.index("medium")


def test_a_foreshortened_dot_is_narrower_along_the_turn_but_as_dark_in_total():
    from smp_preview.stipple import Dots

    img = np.full((80, 80, 3), (200, 160, 140), np.uint8)
    one = Dots(np.array([[40.0, 40.0]], np.float32), np.array([1], np.int8), np.ones(1, np.float32),
               np.ones(1, np.float32), 10.0)
    # a head centred far below the dot: the surface at the dot turns away upwards, q = 0.6
    ell = ((40.0, 40.0 + 0.8 * 200), (400.0, 400.0), 0.0)
    opts = {"dot_size_mm": 0.4, "shade": "dark", "match_grain": False, "photo_blur_px": 0.3}
    zone = np.ones((80, 80), bool)
    flat, _ = render_dots(img, one, zone, (0, 80, 0, 80), 20.0, **opts)
    tilt, _ = render_dots(img, one, zone, (0, 80, 0, 80), 20.0, head_ellipse=ell, **opts)
    yy, xx = np.mgrid[:80, :80] + 0.5

    def moments(out):
        d = 1.0 - _lum(out) / _lum(img)
        return d.sum(), (d * (yy - 40) ** 2).sum() / d.sum(), (d * (xx - 40) ** 2).sum() / d.sum()

    total_f, vy_f, vx_f = moments(flat)
    total_t, vy_t, vx_t = moments(tilt)
    assert vy_f == pytest.approx(vx_f, rel=0.05)
    assert vy_t < 0.75 * vx_t  # compressed along the direction the surface turns away (vertical)
    # the pigment is the same: direct and diffuse coverage integrate to the same totals
    from smp_preview.pigment import coverage_map, look_for

    # (at 6 px/mm, where no pixel is fully covered and the clip at full coverage does not bite)
    f_flat = coverage_map(one, (0, 80, 0, 80), 6.0, 0.4, look_for("healed"), photo_blur_px=0.3)
    f_tilt = coverage_map(one, (0, 80, 0, 80), 6.0, 0.4, look_for("healed"), head_ellipse=ell, photo_blur_px=0.3)
    assert f_tilt.cov.sum() == pytest.approx(f_flat.cov.sum(), rel=0.02)
    assert f_tilt.halo.sum() == pytest.approx(f_flat.halo.sum(), rel=0.02)
    assert total_t < total_f  # and in the image a squeezed dot saturates a little, like optical density


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), px_per_mm=st.sampled_from([1.0, 2.5, 12.0]),
       density=st.floats(20, 180), shade=st.sampled_from(list(SHADES) + ["#304050"]),
       look=st.sampled_from(["fresh", "healed", "years:3", "years:10"]), session_dark=st.floats(0, 0.5))
def test_no_pixel_outside_the_zone_ever_changes(scalp_closeup, seed, px_per_mm, density, shade, look, session_dark):
    img = scalp_closeup[:160, :200]
    rng = np.random.default_rng(seed)
    blobs = cv2.GaussianBlur(rng.random(img.shape[:2]).astype(np.float32), (0, 0), 8)
    zone = blobs > np.median(blobs)
    out, touched, _dots = _render(img, px_per_mm, density=density, seed=seed, zone=zone, shade=shade, look=look,
                                 session_darkening=session_dark, head_ellipse=((100.0, 150.0), (220.0, 260.0), 10.0))
    assert np.array_equal(out[~zone], img[~zone])
    assert np.array_equal(touched, np.any(out != img, axis=2))
