"""The command-line contracts of design.md: render and segment."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from smp_preview.cli import main

REPORT_KEYS = {"px_per_mm", "scale_source", "treated_area_cm2", "dot_count", "density_per_cm2", "timings_ms"}


def test_render_writes_after_report_and_zone(tmp_path, samples_dir):
    photo = samples_dir / "biden.jpg"
    out, rep, zone = tmp_path / "after.png", tmp_path / "r.json", tmp_path / "zone.png"
    code = main(["render", str(photo), "-o", str(out), "--report", str(rep), "--zone-out", str(zone),
                 "--density", "70%", "--dot-size", "0.3", "--shade", "dark", "--hairline", "classic",
                 "--hairline-height", "75", "--session", "3", "--look", "healed", "--seed", "2", "-q"])
    assert code == 0
    report = json.loads(rep.read_text())
    assert REPORT_KEYS <= report.keys()
    assert report["density_per_cm2"] == pytest.approx(70, rel=0.10)
    assert report["scale_source"] == "iris"
    before = np.asarray(Image.open(photo).convert("RGB"))
    after = np.asarray(Image.open(out))
    z = np.asarray(Image.open(zone))
    assert after.shape == before.shape and z.shape == before.shape[:2] and z.dtype == np.uint8
    assert set(np.unique(z)) <= {0, 255}
    changed = np.any(after != before, axis=2)
    assert changed.any()
    assert (z[changed] == 255).all(), "a changed pixel lies outside --zone-out"


def test_hex_shade_and_bare_density(tmp_path, samples_dir):
    rep = tmp_path / "r.json"
    assert main(["render", str(samples_dir / "astronaut.jpg"), "-o", str(tmp_path / "a.png"),
                 "--report", str(rep), "--density", "90", "--shade", "#707780", "-q"]) == 0
    assert json.loads(rep.read_text())["settings"]["density_per_cm2"] == 90


def test_segment_writes_a_label_map(tmp_path, samples_dir):
    out = tmp_path / "labels.png"
    assert main(["segment", str(samples_dir / "obama.jpg"), "-o", str(out), "-q"]) == 0
    lab = np.asarray(Image.open(out))
    w, h = Image.open(samples_dir / "obama.jpg").size
    assert lab.shape == (h, w) and lab.dtype == np.uint8
    assert set(np.unique(lab)) <= {0, 1, 2, 3, 4}
    assert {0, 1, 3} <= set(np.unique(lab)), "background, skin and hair should all be found"


def test_segment_folder_mode(tmp_path, samples_dir):
    out = tmp_path / "labels"
    assert main(["segment", str(samples_dir), "-o", str(out), "-q"]) == 0
    stems = sorted(p.stem for p in samples_dir.glob("*.jpg"))
    assert sorted(p.stem for p in out.glob("*.png")) == stems


def test_bad_input_is_one_line_no_traceback_no_output(tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a photo")
    out = tmp_path / "after.png"
    proc = subprocess.run([sys.executable, "-m", "smp_preview.cli", "render", str(bad), "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.startswith("smp-preview:")]
    assert len(lines) == 1 and "notes.jpg" in lines[0] and "not an image" in lines[0]
    assert not out.exists()


def test_render_refuses_to_overwrite_its_input(tmp_path, samples_dir):
    photo = tmp_path / "client.png"
    Image.open(samples_dir / "astronaut.jpg").save(photo)
    data = photo.read_bytes()
    assert main(["render", str(photo), "-o", str(photo)]) == 1
    assert photo.read_bytes() == data


def test_render_leaves_the_excluded_area_untouched(tmp_path, samples_dir, capsys):
    photo = samples_dir / "bald_S001224.jpg"
    before = np.asarray(Image.open(photo).convert("RGB"))
    h, w = before.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    mask[: h // 2, : w // 2] = 255  # the upper left quarter: half of the bald top
    Image.fromarray(mask).save(tmp_path / "keep.png")
    out, rep, zone = tmp_path / "after.png", tmp_path / "r.json", tmp_path / "zone.png"
    whole = tmp_path / "whole.json"
    assert main(["render", str(photo), "-o", str(tmp_path / "w.png"), "--report", str(whole), "-q"]) == 0
    assert main(["render", str(photo), "-o", str(out), "--report", str(rep), "--zone-out", str(zone),
                 "--exclude", str(tmp_path / "keep.png"), "-q"]) == 0
    after = np.asarray(Image.open(out))
    changed = np.any(after != before, axis=2)
    z = np.asarray(Image.open(zone)) == 255
    assert not (changed & ~z).any()
    # the simulation label sits at the bottom; the excluded quarter above it is the photo's own
    assert not changed[: h // 2, : w // 2].any()
    assert changed[: h // 2, w // 2:].sum() > 500
    report, full = json.loads(rep.read_text()), json.loads(whole.read_text())
    assert report["excluded_area_cm2"] > 0
    assert report["treated_area_cm2"] < 0.75 * full["treated_area_cm2"]
    # a mask of the wrong size, and an output over the mask, are refused with the reason
    Image.fromarray(mask[:, : w // 2]).save(tmp_path / "small.png")
    assert main(["render", str(photo), "-o", str(tmp_path / "x.png"), "--exclude", str(tmp_path / "small.png")]) == 1
    assert main(["render", str(photo), "-o", str(tmp_path / "keep.png"), "--exclude", str(tmp_path / "keep.png")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "small.png: The mask of areas to leave untouched" in err[0] and f"but the photo is {w}x{h}" in err[0]
    assert "would overwrite an input" in err[1]
    assert np.asarray(Image.open(tmp_path / "keep.png")).max() == 255  # the mask itself is intact
    assert not (tmp_path / "x.png").exists()
