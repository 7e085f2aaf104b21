"""Privacy and serving: uploads stay in memory, nothing about a client is logged, the Streamlit
server is locked down, and the CLI answers every failure with one line and no leftovers."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
from PIL import Image

from smp_preview import preview as preview_module
from smp_preview.cli import main
from smp_preview.photo import load_photo
from smp_preview.preview import preview_photo

ROOT = Path(__file__).resolve().parents[1]
CLIENT = "client-jane-doe-0612"  # a name that must never reach a log


def _heic_bytes(samples_dir: Path) -> bytes:
    buf = io.BytesIO()
    Image.open(samples_dir / "bald_S001224.jpg").save(buf, format="HEIF", quality=70)
    return buf.getvalue()


def test_streamlit_server_settings_are_locked_down():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["headless"] is True
    assert 0 < cfg["server"]["maxUploadSize"] <= 50, "MB; the loader refuses bigger files anyway"
    assert cfg["server"]["enableXsrfProtection"] is True
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["client"]["showErrorDetails"] == "none", "no tracebacks in the browser"


def test_uploads_are_decoded_in_memory_without_temporary_files(tmp_path, monkeypatch, samples_dir, models):
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setenv("TMPDIR", str(spool))
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for data in ((samples_dir / "bald_S001224.jpg").read_bytes(), _heic_bytes(samples_dir)):
        p = preview_photo(load_photo(data, name=f"{CLIENT}.jpg"), models=models)
        assert p.after.shape == p.before.shape
    assert list(spool.iterdir()) == [] and list(work.iterdir()) == []


def test_nothing_about_the_client_is_logged(tmp_path, samples_dir, caplog, capsys, models):
    photo = tmp_path / f"{CLIENT}.jpg"
    photo.write_bytes((samples_dir / "bald_S001224.jpg").read_bytes())
    bad = tmp_path / f"{CLIENT}-broken.jpg"
    bad.write_bytes(photo.read_bytes()[:3000])
    with caplog.at_level(logging.DEBUG):
        preview_photo(load_photo(photo), models=models)
        load_photo(photo.read_bytes(), name=photo.name)
        assert main(["render", str(photo), "-o", str(tmp_path / "after.png"), "-q"]) == 0
        assert main(["render", str(bad), "-o", str(tmp_path / "bad.png")]) == 1
    leaked = [r.getMessage() for r in caplog.records if CLIENT in r.getMessage() or CLIENT in str(r.args)]
    assert leaked == []
    ours = [r for r in caplog.records if r.name.startswith("smp_preview") and r.levelno >= logging.INFO]
    assert ours == [], "the library does not log; the CLI and app tell the user directly"
    err = capsys.readouterr().err
    assert err.count(CLIENT) == 1, "only the one error line names the photo, to the user who gave it"


def test_an_unexpected_error_inside_the_pipeline_is_one_line(tmp_path, samples_dir, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug deep inside the pipeline")

    monkeypatch.setattr(preview_module, "preview_photo", broken)
    photo, out = samples_dir / "bald_S001224.jpg", tmp_path / "after.png"
    assert main(["render", str(photo), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"smp-preview: {photo}: internal error (RuntimeError)")
    assert "--debug" in err[0]
    assert not out.exists()
    with pytest.raises(RuntimeError, match="simulated bug"):
        main(["--debug", "render", str(photo), "-o", str(out)])


def test_a_failure_after_the_first_write_leaves_no_output(tmp_path, samples_dir, capsys):
    out = tmp_path / "after.png"
    nowhere = tmp_path / "missing-folder" / "comparison.png"
    code = main(["render", str(samples_dir / "bald_S001224.jpg"), "-o", str(out), "--comparison", str(nowhere)])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert not out.exists(), "the after image written before the failure is removed"
    assert [p.name for p in tmp_path.iterdir()] == []


def test_an_existing_output_is_kept_when_a_photo_fails(tmp_path, capsys):
    out = tmp_path / "after.png"
    out.write_bytes(b"an earlier result")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really")
    assert main(["render", str(bad), "-o", str(out)]) == 1
    assert out.read_bytes() == b"an earlier result"


def test_debug_shows_the_traceback_and_plain_mode_does_not(tmp_path):
    bad = tmp_path / "empty.jpg"
    bad.write_bytes(b"")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "smp_preview.cli"]
    plain = subprocess.run([*cmd, "render", str(bad), "-o", str(tmp_path / "a.png")], check=False,
                           capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    debug = subprocess.run([*cmd, "--debug", "render", str(bad), "-o", str(tmp_path / "a.png")], check=False,
                           capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr
    assert plain.stderr.strip() == (f"smp-preview: {bad}: The file is empty. "
                                    "Choose a photo file (JPEG, PNG, WebP, TIFF or HEIC).")
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "UnreadableFile" in debug.stderr


def test_a_real_process_prints_exactly_one_line_even_when_the_models_load(tmp_path, samples_dir):
    """MediaPipe's native start-up lines on stderr are silenced; our line and nothing else remains."""
    black = tmp_path / "black.png"
    Image.new("RGB", (320, 240)).save(black)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "smp_preview.cli", "render"]
    bad = subprocess.run([*cmd, str(black), "-o", str(tmp_path / "a.png")], check=False, capture_output=True, text=True,
                         timeout=180, env=env, cwd=ROOT)
    assert bad.returncode == 1
    lines = bad.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"smp-preview: {black}: ") and "dark" in lines[0], bad.stderr
    assert not (tmp_path / "a.png").exists()
    good = subprocess.run([*cmd, str(samples_dir / "bald_S001224.jpg"), "-o", str(tmp_path / "b.png"), "-q"],
                          check=False, capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    assert good.returncode == 0 and good.stderr == "" and good.stdout == ""
    assert (tmp_path / "b.png").is_file()


def test_a_file_name_cannot_send_escape_sequences_to_the_terminal(tmp_path, capsys):
    bad = tmp_path / "evil\x1b[2J\nname.jpg"
    bad.write_bytes(b"not a photo")
    assert main(["render", str(bad), "-o", str(tmp_path / "out.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\x1b" not in err and "\\x1b[2J" in err


def test_a_write_that_fails_midway_leaves_no_partial_file(tmp_path, samples_dir, monkeypatch, capsys):
    """A full disk at the final rename: neither the output nor its temporary .part file stays."""
    import errno

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", disk_full)
    out = tmp_path / "after.png"
    assert main(["render", str(samples_dir / "bald_S001224.jpg"), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0]
    assert list(tmp_path.iterdir()) == []
