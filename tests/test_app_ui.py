"""The app's logic outside the widgets: plan, presets, timeline, views, drawings, messages, sheet."""

from __future__ import annotations

import re

import numpy as np
import pytest

from smp_preview import ui
from smp_preview.errors import NoHeadFound, PreviewError, SeveralFaces, TooDark, TooSmall, UnsupportedFormat
from smp_preview.preview import render
from smp_preview.settings import Settings


@pytest.fixture(scope="module")
def preview(analysis_of, samples_dir):
    return render(analysis_of(samples_dir / "bald_S001224.jpg"), Settings())


def test_plan_hours_grow_with_the_area_and_stay_within_two_to_five():
    s = Settings(sessions=3)
    small = ui.estimate_plan({"treated_area_cm2": 20}, s)
    large = ui.estimate_plan({"treated_area_cm2": 400}, s)
    assert small.hours_per_session == (2.0, 3.0)
    assert large.hours_per_session == (4.0, 5.0)
    for area in range(0, 600, 25):
        lo, hi = ui.estimate_plan({"treated_area_cm2": area}, s).hours_per_session
        assert 2.0 <= lo < hi <= 5.0
    assert small.sessions == 3 and small.weeks_total == (6, 8)
    assert "3 sessions of 2-3 h, 3-4 weeks apart" == small.summary()


def test_presets_differ_and_follow_the_suggested_shade():
    natural, fuller, bold = (ui.preset_settings(n, base_shade="dark") for n in ("natural", "fuller", "bold"))
    assert natural.density_per_cm2 < fuller.density_per_cm2 < bold.density_per_cm2
    assert (natural.shade, fuller.shade, bold.shade) == ("medium", "dark", "darkest")
    assert ui.preset_settings("bold", base_shade="darkest").shade == "darkest"  # clamped
    assert ui.preset_settings("fuller").shade == "medium"


def test_timeline_is_fresh_after_each_session_then_healed_then_years():
    stages = ui.timeline(Settings(sessions=3, density_per_cm2=90))
    assert [c for c, _ in stages] == ["After session 1 (fresh)", "After session 2 (fresh)",
                                      "After session 3 (fresh)", "Healed", "After 5 years"]
    assert [s.session for _, s in stages] == [1, 2, 3, 3, 3]
    assert [s.look for _, s in stages] == ["fresh"] * 3 + ["healed", "years:5"]
    assert all(s.density_per_cm2 == 90 for _, s in stages)


def test_zoom_is_at_full_resolution_on_the_treated_zone(preview):
    y0, y1, x0, x1 = ui.zoom_box(preview, size_px=200)
    assert (y1 - y0, x1 - x0) == (150, 200)
    assert preview.changed[y0:y1, x0:x1].any()
    crop = ui.crop(preview.after, (y0, y1, x0, x1))
    assert crop.shape == (150, 200, 3) and np.shares_memory(crop, preview.after)


def test_the_analysis_view_shows_labels_zone_hairline_and_the_untouched_areas(analysis_of, samples_dir):
    from smp_preview.compose import LABEL_COLOURS

    a = analysis_of(samples_dir / "balding_A000055.jpg")
    h, w = a.labels.shape
    keep = np.zeros((h, w), bool)
    keep[: h // 2, : w // 2] = True
    p = render(a, Settings(), exclude=keep)
    view = ui.analysis_view(a, p, keep, max_side=max(h, w)).astype(int)
    assert view.shape == a.rgb.shape
    rgb = a.rgb.astype(int)
    right = np.zeros((h, w), bool)
    right[:, w // 2 + 2:] = True
    # scalp is tinted towards pink, the background keeps its colours
    scalp = (a.labels == 2) & right
    pink = LABEL_COLOURS[2].astype(int) - rgb[scalp]
    assert scalp.sum() > 100 and np.median(np.sum((view - rgb)[scalp] * pink, axis=1)) > 0
    bg = (a.labels == 0) & right
    assert (view[bg] == rgb[bg]).all(axis=1).mean() > 0.99
    # the treated zone's outline is white, the hairline yellow
    assert (np.all(view >= 250, axis=2) & right).sum() > 30
    def yellow(im):  # the hairline is anti-aliased: never the pure colour
        return ((im[..., 0] > 200) & (im[..., 1] > 170) & (im[..., 2] < 110)).sum()

    assert yellow(view) - yellow(rgb) > 30
    # the untouched quarter is greyed: much less colour than the photo there
    q, q0 = view[: h // 2 - 2, : w // 2 - 2], rgb[: h // 2 - 2, : w // 2 - 2]
    assert np.median(q.max(axis=2) - q.min(axis=2)) < 0.5 * np.median(q0.max(axis=2) - q0.min(axis=2))


def test_fit_only_shrinks():
    img = np.zeros((3000, 2000, 3), np.uint8)
    assert ui.fit(img, 1400).shape == (1400, 933, 3)
    assert ui.fit(img[:100, :100], 1400).shape == (100, 100, 3)


def test_slider_html_is_self_contained(preview):
    page = ui.comparison_slider_html(preview.before, preview.after)
    urls = re.findall(r"(?:src|href)=\"([^\"]+)\"", page)
    assert len(urls) == 2 and all(u.startswith("data:image/jpeg;base64,") for u in urls)
    assert "http" not in page.replace("http-equiv", "")
    assert "After (simulation)" in page


def test_scar_mask_from_a_drawing_is_resized_to_the_photo():
    rgba = np.zeros((100, 80, 4), np.uint8)
    rgba[40:60, 10:30, 3] = 200
    m = ui.mask_from_drawing(rgba, (200, 160))
    assert m.shape == (200, 160) and m[100, 40] and not m[10, 10]
    assert ui.mask_from_drawing(np.zeros((100, 80, 4), np.uint8), (200, 160)) is None


def test_scar_mask_from_brush_strokes_follows_the_stroke_in_photo_pixels():
    stroke = {"type": "path", "left": 14, "top": 44, "strokeWidth": 12, "originX": "left", "originY": "top",
              "path": [["M", 20, 50], ["Q", 30, 50, 40, 50], ["L", 60, 50]]}
    m = ui.mask_from_strokes({"objects": [stroke]}, 0.5, (200, 160))
    assert m.shape == (200, 160)
    assert m[100, 40:120].all() and not m[100, 10] and not m[130, 80]
    moved = {**stroke, "left": 34}  # dragged 20 canvas px to the right
    assert ui.mask_from_strokes({"objects": [moved]}, 0.5, (200, 160))[100, 150]
    assert ui.mask_from_strokes({"objects": []}, 0.5, (200, 160)) is None


def test_points_from_a_drawing_are_in_photo_pixels():
    drawing = {"objects": [{"type": "circle", "left": 95, "top": 45, "radius": 5, "originX": "left",
                            "originY": "top"}, {"type": "path"}]}
    assert ui.points_from_drawing(drawing, 0.5) == [(200.0, 100.0)]


@pytest.mark.parametrize("exc, words", [
    (NoHeadFound("x", "y"), "couldn't find a face"),
    (SeveralFaces("x", "y"), "more than one person"),
    (TooDark("x", "y"), "too dark"),
    (TooSmall("x", "y"), "too small"),
    (UnsupportedFormat("x", "y"), "isn't a photo"),
    (RuntimeError("boom at line 3 of /srv/app.py"), "Something went wrong"),
])
def test_kiosk_messages_are_friendly_and_never_technical(exc, words):
    title, hint = ui.friendly_error(exc)
    assert words in title and hint
    assert "boom" not in title + hint and ".py" not in title + hint


def test_consultant_messages_keep_the_pipeline_specifics():
    assert ui.consultant_error(PreviewError("The photo is 10x10.", "Use a bigger one.")) == \
        "The photo is 10x10. Use a bigger one."


def test_optional_features_degrade_to_nothing():
    assert ui.optional("smp_preview.no_such_module", "x") is None
    shade, _ = ui.suggest_shade(object())
    assert shade is None or shade in ui.SHADES
    settings = ui.make_settings(density_per_cm2=70.0, hairline_points=((1, 2), (3, 4), (5, 6)), session=None)
    assert settings.density_per_cm2 == 70.0


def test_consultation_sheet_is_one_labelled_pdf_page(preview):
    from smp_preview.sheet import consultation_sheet, plan_rows

    settings = Settings()
    pdf = consultation_sheet(preview, settings, notes="Soft hairline wanted.")
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    assert b"simulation" in pdf  # in the document's title and subject
    assert 20_000 < len(pdf) < 3_000_000
    rows = dict(plan_rows(preview, settings, ui.estimate_plan(preview.report, settings)))
    assert rows["Density"].startswith("80 dots/cm²")
    assert rows["Shade"] == "medium (10:1 dilution)"
    assert "weeks apart" in rows["Sessions"]


def test_after_reduced_where_it_changed_equals_the_whole_after_reduced(analysis_of, samples_dir):
    analysis = analysis_of(samples_dir / "biden.jpg")
    p = render(analysis, Settings(density_per_cm2=95, shade="dark"))
    for step in (2, 3):
        small_before = ui.shrink(p.before, step)
        fast = ui.shrink_after(small_before, p, step)
        assert np.array_equal(fast, ui.shrink(p.after, step))
        assert not np.array_equal(fast, small_before)
    assert ui.display_step((5222, 2298)) == 4 and ui.display_step((410, 335)) == 1
