"""`smp-preview batch`: a folder of real photos (and broken files) in, previews and a manifest out.

One local run over the samples plus three bad files is shared by several tests (it starts two
worker processes); the kill test drives the CLI as a subprocess; the Dask test starts a real
LocalCluster and compares its manifest with the local run's.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image

from smp_preview.batch import (
    MANIFEST_NAME,
    comparable,
    find_photos,
    load_preset,
    output_stems,
    read_manifest,
    safe_component,
)
from smp_preview.cli import main
from smp_preview.compose import label_box
from smp_preview.errors import BadSetting

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["bald_S001224.jpg", "balding_A000055.jpg", "astronaut.jpg"]
WEIRD = "sub folder/x\\..\\..\\escape me.jpg"  # a real (Linux) file name with a backslash path in it
BAD = {"corrupt.jpg": "unreadable_file", "empty.jpg": "unreadable_file", "notes.jpg": "unsupported_format"}


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _outputs(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in sorted(out.rglob("*.png"))}


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory, samples_dir) -> Path:
    """The samples, one of them under a hostile name in a sub-folder, plus three bad files."""
    d = tmp_path_factory.mktemp("batch") / "in"
    d.mkdir()
    for p in samples_dir.glob("*.jpg"):
        shutil.copy(p, d / p.name)
    (d / WEIRD).parent.mkdir()
    shutil.copy(samples_dir / "balding_A000055.jpg", d / WEIRD)
    data = (samples_dir / "obama.jpg").read_bytes()
    (d / "corrupt.jpg").write_bytes(data[: len(data) // 2])  # a real JPEG cut short
    (d / "empty.jpg").write_bytes(b"")
    (d / "notes.jpg").write_text("meeting notes, not a photo\n")
    return d


@pytest.fixture(scope="module")
def local_run(photo_dir):
    """OUT_DIR inside IN_DIR (it must not be read back as input); two worker processes."""
    before = _digest(photo_dir)
    out = photo_dir / "previews"
    code = main(["batch", str(photo_dir), str(out), "--workers", "2", "-q"])
    return {"code": code, "out": out, "inputs_before": before, "rows": read_manifest(out / MANIFEST_NAME)}


def test_good_photos_rendered_bad_ones_reported_exit_nonzero(local_run, photo_dir, samples_dir):
    out, rows = local_run["out"], local_run["rows"]
    assert local_run["code"] == 1
    good = sorted(p.name for p in samples_dir.glob("*.jpg")) + [WEIRD]
    by_input = {r["input"]: r for r in rows}
    assert sorted(by_input) == sorted(good + list(BAD)), "one row per output (one output per photo here)"
    for name in good:
        r = by_input[name]
        assert r["status"] == "ok" and r["error"] is None, r
        assert r["input_sha256"] == hashlib.sha256((photo_dir / name).read_bytes()).hexdigest()
        assert r["px_per_mm"] > 0 and r["dot_count"] >= 0 and r["settings"]["density_per_cm2"] == 80
        before = np.asarray(Image.open(photo_dir / name).convert("RGB"))
        after = np.asarray(Image.open(out / r["outputs"]["after"]))
        comp = np.asarray(Image.open(out / r["outputs"]["compare"]))
        assert after.shape == before.shape
        assert comp.shape[0] == before.shape[0] and comp.shape[1] > 2 * before.shape[1]
        y0, y1, x0, x1, *_ = label_box(before.shape[:2])  # the visible "simulation" label
        assert np.any(after[y0:y1, x0:x1] != before[y0:y1, x0:x1])
    for name, code in BAD.items():
        r = by_input[name]
        assert r["status"] == "failed" and r["error_code"] == code and r["outputs"] == {}
        assert name in r["error"] and "\n" not in r["error"]
    now = {k: v for k, v in _digest(photo_dir).items() if not k.startswith("previews/")}
    assert now == local_run["inputs_before"], "an input changed"
    assert not list(out.rglob("*.part"))


def test_hostile_names_stay_inside_out_dir(local_run):
    out = local_run["out"]
    for p in out.rglob("*"):
        assert p.resolve().is_relative_to(out.resolve())
    row = next(r for r in local_run["rows"] if r["input"] == WEIRD)
    assert row["outputs"]["after"] == "sub_folder/x_escape_me.after.png"


def test_second_run_skips_everything(local_run, capsys):
    out = local_run["out"]
    stamps, manifest = _outputs(out), (out / MANIFEST_NAME).read_text()
    code = main(["batch", str(out.parent), str(out), "--workers", "2"])
    assert code == 1, "the bad photos are still failed"
    assert _outputs(out) == stamps, "a finished output was written again"
    assert (out / MANIFEST_NAME).read_text() == manifest
    said = capsys.readouterr().out
    assert "0 output(s) written" in said and "0 failed (3 failed earlier and unchanged)" in said


def test_dask_cluster_gives_the_same_manifest(local_run, photo_dir, tmp_path):
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "dask_out"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        code = main(["batch", str(photo_dir), str(out), "--scheduler", cluster.scheduler_address, "-q"])
    assert code == 1
    rows = read_manifest(out / MANIFEST_NAME)
    assert comparable(rows) == comparable(local_run["rows"])
    for r in rows:
        for rel in r["outputs"].values():
            assert (out / rel).is_file()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_killed_run_leaves_no_partial_files_and_resumes(tmp_path, samples_dir, workers):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i, name in enumerate(SMALL + SMALL[:1]):
        shutil.copy(samples_dir / name, src / f"client_{i}.jpg")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "smp_preview.cli", "batch", str(src), str(out), "--workers", workers],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 90
    try:
        while not any(r["status"] == "ok" for r in read_manifest(out / MANIFEST_NAME)):  # a photo done
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no output appeared"
            time.sleep(0.01)
    finally:
        workers_of = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
        os.kill(proc.pid, signal.SIGKILL)  # the batch alone: its worker processes must follow it
        proc.wait()
        _, alive = psutil.wait_procs(workers_of, timeout=15)
        for p in alive:
            p.kill()
        err = proc.stderr.read().decode()
        proc.stderr.close()
    assert not alive, "worker processes outlived the killed batch"
    assert "photo/s" not in err and "s/photo" not in err and "%|" not in err, "a progress bar was drawn into a pipe"
    done = [r for r in read_manifest(out / MANIFEST_NAME) if r["status"] == "ok"]
    assert 1 <= len(done) < 4, "the run was not killed midway"
    print(f"killed after {len(done)} of 4 photos; temporary files left: {[p.name for p in out.glob('.*.part')]}")
    for p in out.glob("*.png"):  # every image under its final name is whole
        Image.open(p).load()
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")
             if any(p.name in r["outputs"].values() for r in done)}

    assert main(["batch", str(src), str(out), "--workers", "1", "-q"]) == 0
    rows = read_manifest(out / MANIFEST_NAME)
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows)
    assert sorted(p.name for p in out.glob("*.png")) == sorted(
        f"client_{i}.{k}.png" for i in range(4) for k in ("after", "compare"))
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")], "a temporary file was left behind"
    assert all(out.joinpath(n).stat().st_mtime_ns == t for n, t in first.items()), "finished work was redone"


def test_terminated_run_reports_the_photos_it_finished(tmp_path, samples_dir):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i, name in enumerate(SMALL + SMALL):
        shutil.copy(samples_dir / name, src / f"client_{i}.jpg")
    proc = subprocess.Popen([sys.executable, "-m", "smp_preview.cli", "batch", str(src), str(out), "--workers", "2"],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not list(out.glob("*.after.png")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.terminate()  # as a service manager or `timeout` stops a job
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    rows = read_manifest(out / MANIFEST_NAME)
    assert 1 <= len(rows) < 6
    listed = {p for r in rows for p in r["outputs"].values()}
    assert {p.name for p in out.glob("*.png")} == listed, "photos finished while stopping are in the manifest"
    assert main(["batch", str(src), str(out), "--workers", "1", "-q"]) == 0
    assert len(read_manifest(out / MANIFEST_NAME)) == 6


def test_progress_bar_on_a_terminal_shows_count_rate_and_time_left(tmp_path, samples_dir):
    import pty

    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(samples_dir / "balding_A000055.jpg", src / "a.jpg")
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "smp_preview.cli", "batch", str(src), str(tmp_path / "out"),
                             "--workers", "1"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    text = seen.decode(errors="replace")
    assert "1/1 [" in text and ("photo/s" in text or "s/photo" in text) and "<00:00" in text, text[-500:]


def test_preset_variants_and_sheet(tmp_path, samples_dir):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    shutil.copy(samples_dir / "bald_S001224.jpg", src / "client.jpg")
    preset = tmp_path / "campaign.toml"
    preset.write_text('[settings]\nseed = 3\nhairline-height = 70\n\n'
                      '[grid]\ndensity = ["50%", "90%"]\nshade = ["medium", "dark"]\n')
    args = ["batch", str(src), str(out), "--preset", str(preset), "--hairline-height", "90", "--workers", "1", "-q"]
    assert main(args) == 0
    rows = read_manifest(out / MANIFEST_NAME)
    renders = {r["variant"]: r for r in rows if r["kind"] == "render"}
    assert sorted(renders) == ["density-50pct_shade-dark", "density-50pct_shade-medium",
                               "density-90pct_shade-dark", "density-90pct_shade-medium"]
    for name, r in renders.items():
        s = r["settings"]
        assert s["density_per_cm2"] == (50 if "50pct" in name else 90) and s["shade"] in name
        assert s["seed"] == 3 and s["hairline_height_mm"] == 90, "a flag given overrides the preset"
        assert (out / r["outputs"]["after"]).is_file() and (out / r["outputs"]["compare"]).is_file()
    assert renders["density-90pct_shade-dark"]["dot_count"] > 1.5 * renders["density-50pct_shade-dark"]["dot_count"]
    (sheet,) = [r for r in rows if r["kind"] == "sheet"]
    assert sheet["status"] == "ok" and set(sheet["settings"]) == set(renders)
    img = np.asarray(Image.open(out / sheet["outputs"]["sheet"]))
    w = Image.open(src / "client.jpg").width
    assert img.shape[1] > 4 * w, "photo and four variants side by side"

    stamps = _outputs(out)
    assert main(args + ["--force"]) == 0
    assert all(_outputs(out)[k] != t for k, t in stamps.items()), "--force renders everything again"


def test_changed_settings_or_input_are_rendered_again(tmp_path, samples_dir):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    shutil.copy(samples_dir / "balding_A000055.jpg", src / "a.jpg")
    assert main(["batch", str(src), str(out), "--workers", "1", "-q"]) == 0
    t0 = _outputs(out)
    assert main(["batch", str(src), str(out), "--workers", "1", "-q", "--shade", "dark"]) == 0
    t1 = _outputs(out)
    assert all(t1[k] != t0[k] for k in t0)
    shutil.copy(samples_dir / "bald_S001224.jpg", src / "a.jpg")  # same name, other photo
    assert main(["batch", str(src), str(out), "--workers", "1", "-q", "--shade", "dark"]) == 0
    (row,) = read_manifest(out / MANIFEST_NAME)
    assert row["input_sha256"] == hashlib.sha256((src / "a.jpg").read_bytes()).hexdigest()
    assert all(_outputs(out)[k] != t1[k] for k in t1)


# ------------------------------------------------------------------ names, folders, presets (no models)

@given(st.lists(st.text(min_size=1, max_size=12).filter(lambda s: "/" not in s and "\x00" not in s),
                min_size=1, max_size=6, unique=True))
@hsettings(max_examples=60, deadline=None)
def test_output_names_are_unique_and_never_leave_out_dir(names):
    rels = [Path(n + ".jpg") for n in names] + [Path("d") / (n + ".png") for n in names]
    stems = output_stems(rels)
    assert len({s.lower() for s in stems.values()}) == len(rels)
    out = Path("/srv/out")
    for s in stems.values():
        assert ".." not in s.split("/") and not s.startswith("/") and "." not in s
        assert (out / f"{s}.after.png").resolve().is_relative_to(out)


def test_clashing_names_get_distinct_outputs():
    stems = output_stems([Path("a b.jpg"), Path("a_b.jpg"), Path("x.jpg"), Path("X.png"), Path("...jpg")])
    assert len(set(stems.values())) == 5
    assert safe_component("../../etc/passwd") == "etc_passwd" and safe_component("..") == ""


def test_out_dir_and_earlier_outputs_inside_in_dir_are_not_inputs(tmp_path):
    (tmp_path / "old_run").mkdir()
    (tmp_path / "old_run" / ".smp-preview-batch").touch()
    (tmp_path / "old_run" / "x.after.png").write_bytes(b"png")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "y.png").write_bytes(b"png")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "z.jpg").write_bytes(b"jpg")
    (tmp_path / "._a.jpg").write_bytes(b"mac resource fork")
    (tmp_path / "a.JPG").write_bytes(b"jpg")
    (tmp_path / "readme.txt").write_text("x")
    assert find_photos(tmp_path, tmp_path / "out") == [Path("a.JPG")]


def test_folder_layouts_that_could_overwrite_inputs_are_refused(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    assert main(["batch", str(tmp_path / "in"), str(tmp_path / "in")]) == 1
    assert main(["batch", str(tmp_path / "in"), str(tmp_path)]) == 1
    assert main(["batch", str(tmp_path / "in"), str(tmp_path / "out"), "--scars", "m.png"]) == 1
    assert main(["batch", str(tmp_path / "in"), str(tmp_path / "out"), "--exclude", "m.png"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("smp-preview: ") for line in err)
    assert "same folder" in err[0] and "inside OUT_DIR" in err[1] and "--scars" in err[2]
    assert "--exclude" in err[3] and "one photo" in err[3]


def test_a_symbolic_link_in_out_dir_cannot_lead_writes_outside(tmp_path, samples_dir):
    src, out, elsewhere = tmp_path / "in", tmp_path / "out", tmp_path / "elsewhere"
    (src / "sub").mkdir(parents=True)
    shutil.copy(samples_dir / "bald_S001224.jpg", src / "sub" / "x.jpg")
    out.mkdir()
    elsewhere.mkdir()
    (out / "sub").symlink_to(elsewhere, target_is_directory=True)
    assert main(["batch", str(src), str(out), "--workers", "1", "-q"]) == 1
    (row,) = read_manifest(out / MANIFEST_NAME)
    assert row["status"] == "failed" and row["error_code"] == "unsafe_output"
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("text, says", [
    ('[settings]\ndensty = 80\n', "unknown setting 'densty'"),
    ('[settings]\ndot_size = "big"\n', "dot_size = 'big'"),
    ('[settings]\ndensity = 500\n', "density_per_cm2 = 500.0 is out of range"),
    ('density = 80\n', "unknown key(s) density"),
    ('[grid]\nshade = ["medium", "purple"]\n', "purple"),
    ('[settings\n', "not valid TOML"),
])
def test_bad_presets_say_what_is_wrong(tmp_path, text, says):
    p = tmp_path / "p.toml"
    p.write_text(text)
    with pytest.raises(BadSetting) as e:
        load_preset(p)
    assert says in str(e.value) and str(p) in str(e.value) and "\n" not in str(e.value)


def test_flags_given_override_the_preset_even_at_their_default_or_added_later(tmp_path):
    import argparse

    from smp_preview.batch import flag_fields, mark_flag_defaults, split_flags
    from smp_preview.cli import add_settings_arguments, settings_from_args

    def add(p):  # the render flags plus one another helper might add one day
        add_settings_arguments(p)
        p.add_argument("--seed-offset", type=int, default=0)

    def to_settings(a):
        s = settings_from_args(a)
        return s.replace(seed=s.seed + a.seed_offset)

    parser = argparse.ArgumentParser()
    add(parser)
    mark_flag_defaults(parser, add)
    plain, defaults, given = split_flags(parser.parse_args(["--seed-offset", "5", "--shade", "medium"]))
    assert given == {"seed_offset": 5, "shade": "medium"} and plain.density == "80.0"
    preset = tmp_path / "p.toml"
    preset.write_text('[settings]\nseed = 2\nshade = "dark"\ndensity = "60%"\n')
    plan = load_preset(preset, flags=to_settings(plain), flag_fields=flag_fields(given, defaults, to_settings))
    s = plan.variants[0].settings
    assert (s.shade, s.seed, s.density_per_cm2) == ("medium", 5, 60.0)


def test_a_manifest_line_cut_by_a_kill_is_ignored(tmp_path):
    m = tmp_path / "m.jsonl"
    good = {"input": "a.jpg", "kind": "render", "status": "ok"}
    m.write_text(json.dumps(good) + "\n" + json.dumps(good)[:20])
    assert read_manifest(m) == [good]
