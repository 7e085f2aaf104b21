"""The shaved look and the design flags on the command line, on real photos."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from smp_preview.cli import main
from smp_preview.preview import render
from smp_preview.segment import BACKGROUND, HAIR, SCALP, SKIN
from smp_preview.settings import Settings
from smp_preview.shave import shave_image


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)


def test_shaved_look_turns_the_fringe_into_scalp_and_background(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "balding_A000055.jpg")
    p = render(a, Settings(shave=True, seed=1))
    plan = p.zones.shave
    assert plan is not None and plan.to_skin.sum() > 150
    shaved = shave_image(a.rgb, a.labels, plan, a.px_per_mm, seed=1)  # before the dots
    before, after = _lab(p.before), _lab(shaved)
    # where the hair was (turned to skin or to backdrop), no hair-coloured pixel is left
    gone = plan.to_skin | plan.to_background
    hair_colour = np.median(before[a.labels == HAIR], axis=0)
    # the bare skin around the shaved area (the sides of a head are darker than its top)
    r = int(8 * a.px_per_mm)
    near = cv2.dilate(gone.astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)).astype(bool)
    skin_colour = np.median(before[near & ((a.labels == SCALP) | (a.labels == SKIN))], axis=0)
    bg_colour = np.median(before[a.labels == BACKGROUND], axis=0)

    # the new skull edge is feathered into the backdrop over about a pixel on purpose (a blend of
    # skin and backdrop): judge the pixels beyond that
    backdrop_after = (a.labels == BACKGROUND) | plan.to_background
    feather = cv2.distanceTransform((~backdrop_after).astype(np.uint8), cv2.DIST_L2, 3) <= 2.0
    judged = gone & ~(feather & plan.to_skin)

    def hair_like(img):  # closer to the hair's colour than to the scalp's and the backdrop's
        px = img[judged]
        d_hair = np.linalg.norm(px - hair_colour, axis=1)
        return float((d_hair < np.minimum(np.linalg.norm(px - skin_colour, axis=1),
                                          np.linalg.norm(px - bg_colour, axis=1))).mean())

    assert hair_like(before) > 0.4 and hair_like(after) < 0.05, (hair_like(before), hair_like(after))
    # what became skin looks like the bare skin within about 8 mm of it
    r = int(8 * a.px_per_mm)
    near = cv2.dilate(plan.to_skin.astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)).astype(bool)
    skin = before[near & ((a.labels == SCALP) | (a.labels == SKIN))]
    lo, hi = np.percentile(skin, 2, axis=0), np.percentile(skin, 98, axis=0)
    assert np.all((after[plan.to_skin] >= lo - 3) & (after[plan.to_skin] <= hi + 3), axis=1).mean() > 0.6
    bg_colour = np.median(before[(a.labels == BACKGROUND)], axis=0)
    # hair that stood out beyond the skull is backdrop again
    if plan.to_background.sum() > 20:
        d_bg = np.linalg.norm(after[plan.to_background] - bg_colour, axis=1).mean()
        assert d_bg < 12.0, d_bg
    # stubble: the shaved scalp is part of the dotted zone, blending with the SMP
    zone = p.zones.full_mask(a.labels.shape)
    assert (zone & plan.to_skin).sum() > 0.5 * plan.to_skin.sum() * (a.labels[plan.to_skin] == HAIR).mean()
    # nothing else changed
    diff = np.any(p.after != p.before, axis=2)
    assert not (diff & ~p.changed).any()


def test_without_shave_the_hair_is_untouched(samples_dir, analysis_of):
    a = analysis_of(samples_dir / "balding_A000055.jpg")
    p = render(a, Settings(seed=1))
    hair = a.labels == HAIR
    label = p.changed & ~p.zones.full_mask(a.labels.shape)
    assert p.zones.shave is None
    assert not (np.any(p.after != p.before, axis=2) & hair & ~label).any()


def test_cli_design_flags(samples_dir, tmp_path):
    out, rep, zone = tmp_path / "a.png", tmp_path / "r.json", tmp_path / "z.png"
    code = main(["render", str(samples_dir / "balding_A000055.jpg"), "-o", str(out), "--report", str(rep),
                 "--zone-out", str(zone), "--shave", "--widows-peak", "--receded-temples",
                 "--hairline-points", "120,95;150,85;180,80;210,85;240,95", "--hairline-style", "faded", "-q"])
    assert code == 0
    report = json.loads(rep.read_text())
    assert report["settings"]["shave"] is True
    assert report["settings"]["hairline_points"][0] == [120.0, 95.0]
    assert report["shaved_area_cm2"] > 1.0
    assert report["hairline_midpoint_mm"]["custom"] is True
    # lossless output: every pixel outside the zone mask is the input's
    from smp_preview.photo import load_photo

    before = load_photo(samples_dir / "balding_A000055.jpg").rgb
    after = load_photo(out).rgb
    z = cv2.imread(str(zone), cv2.IMREAD_GRAYSCALE) > 0
    assert not (np.any(after != before, axis=2) & ~z).any()


@pytest.mark.parametrize("bad", ["1,2", "x,y;3,4"])
def test_cli_bad_hairline_points_is_a_clear_error(samples_dir, tmp_path, capsys, bad):
    code = main(["render", str(samples_dir / "balding_A000055.jpg"), "-o", str(tmp_path / "a.png"),
                 "--hairline-points", bad])
    assert code != 0
    err = capsys.readouterr().err
    assert "hairline_points" in err and "Traceback" not in err


def test_app_shaved_look_and_design_widgets():
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=120).run()
    area = next(m for m in at.metric if m.label == "Treated area").value
    at.checkbox(key="shave").check().run()  # shaved look
    at.checkbox(key="widows_peak").check().run()
    assert not at.exception and not at.error
    assert next(m for m in at.metric if m.label == "Treated area").value != area


def test_app_scars_mode_asks_for_a_scar():
    """Scars are painted on a canvas (covered by the browser test); without one, the app asks."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=120).run()
    at.selectbox(key="sample").set_value("bald_S001224.jpg").run()
    at.selectbox(key="mode").set_value("scars").run()
    assert not at.exception
    assert at.warning or at.info, "scars mode without a scar should ask for one"
