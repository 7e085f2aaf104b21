"""Render many photos: a folder in, previews and a manifest out, on local processes or a Dask cluster.

The job is safe to leave running overnight and to run again:

- Every photo in ``IN_DIR`` (sub-folders included, hidden files and folders left out) is rendered
  with one or more *variants* of the settings. Per photo and variant it writes the after image and
  a before/after composite; with two or more variants also a *variant sheet* (all of them side by
  side). Every image carries a visible "simulation" label.
- ``manifest.jsonl`` in ``OUT_DIR`` (JSON Lines) holds one row per output: the input's path
  (relative to ``IN_DIR``) and SHA-256, the settings, status, error, px/mm, dot count, timings.
  Rows are appended as photos finish, so a killed run keeps what it did; at the end the manifest
  is rewritten in a stable order (one row per output, the latest kept).
- A rerun skips an output whose latest row says ``ok`` for the same input bytes (SHA-256), the
  same settings and the same file names, and whose files exist. A photo that failed because of
  the photo itself (unreadable, no head found, ...) is not retried while its bytes are unchanged
  (``--retry-failed`` retries it); a failure of the program (``internal``) is always retried.
  ``--force`` renders everything again.
- Images are written atomically (a hidden ``.part`` file, then a rename), so a kill leaves whole
  files or none; stale ``.part`` files of planned outputs are removed on the next run. Inputs are
  only read. Output names are built from sanitised input names (letters, digits, ``-``, ``_``) and
  checked to lie inside ``OUT_DIR``. ``OUT_DIR`` may sit inside ``IN_DIR``: folders holding a batch
  marker file are never read as input.
- Work runs in worker processes (``spawn``; models created once per process) or, with
  ``scheduler="tcp://host:port"``, as one task per photo on a Dask distributed cluster whose
  workers see ``IN_DIR`` and ``OUT_DIR`` at the same paths. Both give the same manifest apart
  from timings.

A preset (TOML) names settings and, optionally, variants::

    # every key is a render flag (density, dot_size, shade, hairline, hairline_style,
    # hairline_height, mode, sessions, session, look, seed, px_per_mm) or a Settings field
    [settings]
    density = "70%"
    hairline = "classic"

    [grid]                       # every combination: 3 densities x 2 shades = 6 variants
    density = ["50%", "70%", "90%"]
    shade = ["medium", "dark"]

    # or instead of [grid], an explicit list:
    # [[variants]]
    # name = "soft-light"
    # shade = "light"

    sheet = true                 # variant sheet per photo (default: true with 2+ variants)
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import sys
import threading
import time
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BadSetting, PreviewError, UnreadableFile
from .settings import Settings, parse_density

MANIFEST_NAME = "manifest.jsonl"
MARKER_NAME = ".smp-preview-batch"
"""A file in every OUT_DIR: marks the folder as batch output (never read as input) and is the lock."""
OUTPUT_FORMATS = ("png", "jpg")
SHEET_TILE_HEIGHT_PX = 480
INTERNAL = "internal"
"""error_code of a failure that is the program's fault (retried on every run)."""


class UnsafeOutput(PreviewError):
    """An output path that would leave OUT_DIR (a symbolic link inside it); checked on every run."""

    code = "unsafe_output"


RETRIED_CODES = (None, INTERNAL, UnsafeOutput.code)
"""Failures retried on every run: they are not the photo's fault."""

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130


# --------------------------------------------------------------------------- settings and presets

def _float(v):
    if isinstance(v, bool):
        raise ValueError
    return float(v)


def _int(v):
    if isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()):
        raise ValueError
    return int(v)


def _bool(v):
    if not isinstance(v, bool):
        raise ValueError
    return v


def _same(v):
    return v


def _opt(conv):
    return lambda v: None if v is None else conv(v)


SETTING_KEYS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    # render flag (the CLI's dest)  -> (Settings field, conversion)
    "density": ("density_per_cm2", parse_density),
    "dot_size": ("dot_size_mm", _float),
    "shade": ("shade", str),
    "hairline": ("hairline", str),
    "hairline_style": ("hairline_style", str),
    "hairline_height": ("hairline_height_mm", _float),
    "mode": ("mode", str),
    "sessions": ("sessions", _int),
    "session": ("session", _opt(_int)),
    "look": ("look", str),
    "seed": ("seed", _int),
    "px_per_mm": ("px_per_mm", _opt(_float)),
}
"""Keys a preset (or a variant) may set: the render flags' names, dashes or underscores."""



def _field_keys() -> dict[str, tuple[str, Callable[[Any], Any]]]:
    """Every `Settings` field by its own name (fields added later included), converted by the
    type its annotation names."""
    import dataclasses

    keys = {}
    for f in dataclasses.fields(Settings):
        t = str(f.type)
        if "bool" in t:
            conv = _bool
        elif any(c in t for c in ("tuple", "list", "dict", "Sequence")):
            conv = _same  # Settings checks and converts these itself
        else:
            conv = _float if "float" in t else _int if "int" in t else str
        keys[f.name] = (f.name, _opt(conv) if "None" in t else conv)
    keys.update({name: (name, conv) for name, conv in SETTING_KEYS.values()})
    return keys


def settings_with(base: Settings, overrides: Mapping[str, Any], *, where: str = "settings") -> Settings:
    """``base`` with ``overrides`` applied; keys are render flag names or `Settings` field names.

    Raises `BadSetting` naming ``where`` for an unknown key or a value of the wrong form.
    """
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        k = str(key).replace("-", "_")
        spec = SETTING_KEYS.get(k) or _field_keys().get(k)
        if spec is None:
            raise BadSetting(f"{where}: unknown setting {key!r}.",
                             f"Use one of: {', '.join(k.replace('_', '-') for k in SETTING_KEYS)} "
                             "(or a Settings field name).")
        name, conv = spec
        try:
            changes[name] = conv(value)
        except (TypeError, ValueError):
            raise BadSetting(f"{where}: {key} = {value!r} has the wrong form.",
                             "Give a number where a number is expected (see `smp-preview render --help`).") from None
    merged = {**base.as_dict(), **changes}
    if merged.get("session") is not None and int(merged["session"]) > int(merged["sessions"]):
        merged["sessions"] = int(merged["session"])  # as the render flags do: --session 4 plans 4
    try:
        return Settings(**merged)
    except BadSetting as exc:
        raise BadSetting(f"{where}: {exc.message}", exc.hint) from None


@dataclass(frozen=True)
class Variant:
    """One set of settings rendered for every photo; ``name`` None for a batch without variants."""

    name: str | None
    settings: Settings


@dataclass(frozen=True)
class Plan:
    """What to render for every photo."""

    variants: tuple[Variant, ...]
    sheet: bool = False
    fmt: str = "png"

    def __post_init__(self) -> None:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise BadSetting("Two variants have the same name.", "Give every variant its own name.")
        if self.fmt not in OUTPUT_FORMATS:
            raise BadSetting(f"Output format {self.fmt!r} is not known.", f"Use one of {', '.join(OUTPUT_FORMATS)}.")


def _variant_name(overrides: Mapping[str, Any]) -> str:
    parts = []
    for k, v in overrides.items():
        text = str(v).replace("%", "pct").replace("#", "")
        parts.append(f"{str(k).replace('_', '-')}-{text}")
    return safe_component("_".join(parts), keep_dots=False) or "variant"


def load_preset(path: str | Path, base: Settings | None = None, *, flags: Settings | None = None,
                flag_fields: Iterable[str] = (), fmt: str = "png") -> Plan:
    """Read a TOML preset into a `Plan`.

    Precedence, lowest first: ``base`` (the defaults), the preset's ``[settings]``, the fields
    ``flag_fields`` of ``flags`` (the settings of the render flags given on the command line),
    then each variant's own keys.
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadSetting(f"Preset {path} does not exist.", "Check the path given to --preset.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadSetting(f"Preset {path} cannot be read ({exc}).", "Give a UTF-8 TOML file.") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadSetting(f"Preset {path} is not valid TOML ({exc}).", "Fix the line it names.") from None
    allowed = {"settings", "grid", "variants", "sheet"}
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise BadSetting(f"Preset {path}: unknown key(s) {', '.join(unknown)}.",
                         "A preset holds [settings], [grid] or [[variants]], and sheet = true/false; "
                         "put settings inside [settings].")
    table = doc.get("settings", {})
    if not isinstance(table, dict):
        raise BadSetting(f"Preset {path}: settings must be a table.", "Write them under a [settings] header.")
    settings = settings_with(base or Settings(), table, where=f"{path} [settings]")
    if flags is not None and flag_fields:
        settings = settings_with(settings, {f: getattr(flags, f) for f in flag_fields}, where="command line")
    if "grid" in doc and "variants" in doc:
        raise BadSetting(f"Preset {path} has both [grid] and [[variants]].", "Use one of them.")
    variants: list[Variant] = []
    if "grid" in doc:
        grid = doc["grid"]
        if not isinstance(grid, dict) or not grid:
            raise BadSetting(f"Preset {path}: [grid] must map settings to lists of values.",
                             'For example density = ["50%", "70%"].')
        keys = list(grid)
        values = [v if isinstance(v, list) else [v] for v in grid.values()]
        for combo in itertools.product(*values):
            over = dict(zip(keys, combo))
            name = _variant_name(over)
            variants.append(Variant(name, settings_with(settings, over, where=f"{path} [grid] {name}")))
    elif "variants" in doc:
        items = doc["variants"]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items) or not items:
            raise BadSetting(f"Preset {path}: variants must be a list of tables.", "Write each under [[variants]].")
        for i, item in enumerate(items, 1):
            over = {k: v for k, v in item.items() if k != "name"}
            name = safe_component(str(item["name"]), keep_dots=False) if "name" in item else _variant_name(over)
            variants.append(Variant(name or f"v{i}", settings_with(settings, over, where=f"{path} variant {i}")))
    else:
        variants.append(Variant(None, settings))
    sheet = doc.get("sheet", len(variants) > 1)
    if not isinstance(sheet, bool):
        raise BadSetting(f"Preset {path}: sheet = {sheet!r}.", "Write sheet = true or sheet = false.")
    return Plan(tuple(variants), sheet=sheet and len(variants) > 1, fmt=fmt)


# --------------------------------------------------------------------------- inputs and output names

def safe_component(name: str, *, keep_dots: bool = False, max_len: int = 80) -> str:
    """One path component reduced to letters, digits, ``-`` and ``_`` (and ``.`` if ``keep_dots``).

    Anything else (separators, ``..``, control characters, spaces) becomes ``_``; leading
    ``-``/``_``/``.`` are dropped, so the result can never climb out of a folder or hide itself.
    """
    s = unicodedata.normalize("NFC", str(name))
    out = []
    for ch in s:
        if ch.isalnum() or ch in "-_" or (keep_dots and ch == "."):
            out.append(ch)
        else:
            out.append("_")
    text = "".join(out)
    while "__" in text:
        text = text.replace("__", "_")
    return text.lstrip("-_.").rstrip("_.")[:max_len]


def find_photos(in_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """Photos under ``in_dir`` (relative paths, sorted), leaving out hidden files and folders,
    ``out_dir`` and any folder holding a batch marker (earlier batch output). Symlinked folders
    are not followed."""
    from .photo import EXTENSIONS

    in_dir = Path(in_dir)
    skip = out_dir.resolve() if out_dir is not None else None
    found = []
    for root, dirs, files in os.walk(in_dir, followlinks=False):
        r = Path(root)
        keep = []
        for d in sorted(dirs):
            p = r / d
            if d.startswith(".") or (skip is not None and p.resolve() == skip) or (p / MARKER_NAME).exists():
                continue
            keep.append(d)
        dirs[:] = keep
        for f in files:
            p = r / f
            if f.startswith(".") or p.suffix.lower() not in EXTENSIONS or not p.is_file():
                continue
            found.append(p.relative_to(in_dir))
    return sorted(found, key=lambda p: p.as_posix())


def output_stems(inputs: Iterable[Path]) -> dict[Path, str]:
    """A safe, unique output stem (POSIX path relative to OUT_DIR, no extension) per input.

    Folders are mirrored; each component is sanitised with `safe_component` (no dots, so
    ``<stem>.<variant>.after.png`` is never ambiguous). Inputs whose stems would clash
    (``a b.jpg``/``a_b.jpg``, ``x.jpg``/``x.png``, or differing only in case) get an 8-digit hash
    of their own path appended.
    """
    inputs = list(inputs)
    stems = {}
    for rel in inputs:
        parts = [safe_component(p) or "folder" for p in rel.parent.parts]
        parts.append(safe_component(rel.stem) or "photo")
        stems[rel] = "/".join(parts)
    count: dict[str, int] = {}
    for s in stems.values():
        count[s.lower()] = count.get(s.lower(), 0) + 1
    for rel, s in stems.items():
        if count[s.lower()] > 1:
            stems[rel] = f"{s}-{hashlib.sha1(rel.as_posix().encode()).hexdigest()[:8]}"
    return stems


def sha256_file(path: Path) -> str | None:
    """SHA-256 of a file's bytes, or None if it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


# --------------------------------------------------------------------------- the manifest

ROW_FIELDS = ("input", "input_sha256", "kind", "variant", "settings", "status", "error_code", "error",
              "outputs", "px_per_mm", "scale_source", "dot_count", "density_per_cm2", "treated_area_cm2",
              "width_px", "height_px", "timings_ms")


def row_key(row: Mapping) -> tuple[str, str, str]:
    return (row["input"], row["kind"], row.get("variant") or "")


def read_manifest(path: Path) -> list[dict]:
    """The rows of a JSON Lines manifest; a damaged line (a run killed mid-write) is left out."""
    rows = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return rows
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and {"input", "kind", "status"} <= row.keys():
            rows.append(row)
    return rows


def latest_rows(rows: Iterable[dict]) -> dict[tuple, dict]:
    latest: dict[tuple, dict] = {}
    for row in rows:
        latest[row_key(row)] = row
    return latest


def _sorted_rows(rows: Iterable[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r["input"], r["kind"] == "sheet", r.get("variant") or ""))


def write_manifest(path: Path, rows: Iterable[dict]) -> None:
    """Write rows (one per output, stable order) atomically."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "w", encoding="utf-8") as f:
        for row in _sorted_rows(rows):
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def comparable(rows: Iterable[dict]) -> list[dict]:
    """Rows without their timings, in manifest order: what two runs of one batch must agree on."""
    return [{k: v for k, v in r.items() if k != "timings_ms"} for r in _sorted_rows(rows)]


# --------------------------------------------------------------------------- the work of one photo

def _row(task: Mapping, kind: str, variant: str | None, settings: Any, sha: str | None, **kw) -> dict:
    row = dict.fromkeys(ROW_FIELDS)
    row.update(input=task["input"], input_sha256=sha, kind=kind, variant=variant, settings=settings,
               status="ok", outputs={}, timings_ms={})
    row.update(kw)
    return row


def _error_fields(exc: BaseException) -> dict:
    if isinstance(exc, PreviewError):
        return {"status": "failed", "error_code": exc.code, "error": " ".join(str(exc).split())}
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return {"status": "failed", "error_code": INTERNAL, "error": text}


def failed_rows(task: Mapping, exc: BaseException, sha: str | None = None, timings: dict | None = None) -> list[dict]:
    """One failed row for every output the task was to write."""
    err = _error_fields(exc)
    rows = [_row(task, "render", r["variant"], r["settings"], sha, timings_ms=dict(timings or {}), **err)
            for r in task["renders"] if r["write"]]
    if task.get("sheet"):
        rows.append(_row(task, "sheet", None, task["sheet"]["settings"], sha, timings_ms=dict(timings or {}), **err))
    return rows


_models_cache = None
_models_lock = threading.Lock()


@contextlib.contextmanager
def _stderr_to_file() -> Iterator[Path]:
    """Send file descriptor 2 to a temporary file (MediaPipe's C++ start-up chatter)."""
    import tempfile

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield None
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield tmp
        except BaseException:
            os.dup2(saved, 2)
            tmp.seek(0)
            sys.stderr.write(tmp.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def worker_models():
    """The process-wide models, created once per worker process, quietly (one thread at a time:
    a Dask worker runs several tasks in threads, and file descriptor 2 is the process's)."""
    global _models_cache
    with _models_lock:
        if _models_cache is None:
            from .models import get_models

            with _stderr_to_file():
                _models_cache = get_models()
    return _models_cache


def _read_input(path: Path, name: str) -> bytes:
    from .photo import MAX_BYTES, load_photo

    try:
        if path.stat().st_size > MAX_BYTES:
            load_photo(path, name=name)  # raises TooLarge with its message
        return path.read_bytes()
    except FileNotFoundError:
        raise UnreadableFile("No such file here (moved away during the batch?).",
                             "With --scheduler, every worker must see IN_DIR at the same path as the machine "
                             "that started the batch.", source=name) from None
    except IsADirectoryError:
        raise UnreadableFile("This is a folder, not a photo.", "", source=name) from None
    except OSError as exc:
        raise UnreadableFile(f"The file cannot be read ({exc.strerror}).", "Check its permissions.",
                             source=name) from None


def _report_fields(preview) -> dict:
    fields = {k: preview.report.get(k) for k in ("px_per_mm", "scale_source", "dot_count", "density_per_cm2",
                                                 "treated_area_cm2")}
    fields["height_px"], fields["width_px"] = (int(n) for n in preview.after.shape[:2])
    return fields


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1e3, 1)


def process_photo(task: Mapping) -> list[dict]:
    """Render one photo's planned outputs; returns their manifest rows. Runs on a worker.

    ``task`` is a plain dict (cheap to send to a process or a Dask worker): ``input`` (path
    relative to IN_DIR, the photo's name in messages), ``path`` and ``out_dir`` (absolute),
    ``renders`` (per variant: ``variant``, ``settings`` dict, ``outputs`` {kind: path relative
    to OUT_DIR}, ``write``) and ``sheet`` (None, or ``settings`` and ``outputs``). Never
    raises for a bad photo: the rows say what failed.
    """
    from .analysis import analyse
    from .compose import write_image
    from .photo import load_photo
    from .preview import render

    name = task["input"]
    out_dir = Path(task["out_dir"])
    sha = None
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    try:
        data = _read_input(Path(task["path"]), name)
        sha = hashlib.sha256(data).hexdigest()
        timings["read"] = _ms(t0)
        t1 = time.perf_counter()
        photo = load_photo(data, name=name)
        del data
        timings["decode"] = _ms(t1)
        t2 = time.perf_counter()
        analysis = analyse(photo, worker_models())
        timings["analysis"] = _ms(t2)
    except Exception as exc:  # noqa: BLE001 - a bad photo is a failed row, never a stopped batch
        return failed_rows(task, exc, sha, timings)

    rows = []
    afters: list[tuple[str, Settings, np.ndarray]] = []
    for r in task["renders"]:
        if not r["write"] and not task.get("sheet"):
            continue
        t3 = time.perf_counter()
        try:
            settings = Settings(**r["settings"])
            p = render(analysis, settings)
            tm = {**timings, "render": _ms(t3)}
            if r["write"]:
                t4 = time.perf_counter()
                for kind, rel in r["outputs"].items():
                    target = out_dir / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    write_image(target, p.after if kind == "after" else p.comparison())
                tm["write"] = _ms(t4)
                rows.append(_row(task, "render", r["variant"], r["settings"], sha, outputs=dict(r["outputs"]),
                                 timings_ms=tm, **_report_fields(p)))
            afters.append((r["variant"] or "", settings, p.after))
        except Exception as exc:  # noqa: BLE001
            if r["write"]:
                rows.append(_row(task, "render", r["variant"], r["settings"], sha,
                                 timings_ms={**timings, "render": _ms(t3)}, **_error_fields(exc)))
    sheet = task.get("sheet")
    if sheet:
        t5 = time.perf_counter()
        try:
            if len(afters) < len(task["renders"]):
                raise RuntimeError("a variant failed to render, so the sheet would be incomplete")
            target = out_dir / sheet["outputs"]["sheet"]
            target.parent.mkdir(parents=True, exist_ok=True)
            write_image(target, variant_sheet(analysis.rgb, afters))
            rows.append(_row(task, "sheet", None, sheet["settings"], sha, outputs=dict(sheet["outputs"]),
                             timings_ms={**timings, "sheet": _ms(t5)}))
        except Exception as exc:  # noqa: BLE001
            rows.append(_row(task, "sheet", None, sheet["settings"], sha, timings_ms={**timings, "sheet": _ms(t5)},
                             **_error_fields(exc)))
    return rows


def _caption(settings: Settings) -> str:
    return (f"{settings.density_per_cm2:g}/cm2  {settings.dot_size_mm:.2f} mm  {settings.shade}  "
            f"{settings.hairline} {settings.hairline_height_mm:g} mm")


def variant_sheet(before: np.ndarray, afters: list[tuple[str, Settings, np.ndarray]], *,
                  tile_height_px: int = SHEET_TILE_HEIGHT_PX) -> np.ndarray:
    """The photo and each variant's after image in a grid, each captioned, the whole sheet
    labelled as a simulation (each after tile also keeps its own label)."""
    import cv2

    from .compose import add_label, label_box

    h, w = before.shape[:2]
    f = min(1.0, tile_height_px / h)
    th, tw = max(1, round(h * f)), max(1, round(w * f))
    tiles = [("BEFORE (photo)", before)] + [(_caption(s), a) for _, s, a in afters]
    cols = min(len(tiles), 4)
    rows = -(-len(tiles) // cols)
    cap_h, gap = 28, 6
    width = cols * tw + (cols + 1) * gap
    body_h = rows * (th + cap_h) + (rows + 1) * gap
    footer = label_box((body_h + 40, width))[1] - label_box((body_h + 40, width))[0] + 12
    canvas = np.full((body_h + footer, width, 3), 255, np.uint8)
    for i, (text, img) in enumerate(tiles):
        r, c = divmod(i, cols)
        x = gap + c * (tw + gap)
        y = gap + r * (th + cap_h + gap)
        small = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA) if f < 1.0 else img
        canvas[y + cap_h : y + cap_h + th, x : x + tw] = small
        scale = 0.45
        while scale > 0.25 and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > tw - 4:
            scale -= 0.05
        cv2.putText(canvas, text, (x + 2, y + cap_h - 9), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 1, cv2.LINE_AA)
    out, _ = add_label(canvas)
    return out


# --------------------------------------------------------------------------- planning

@dataclass
class BatchResult:
    """What a run did: rows of this run, the final manifest, counts."""

    manifest: Path
    rows: list[dict] = field(default_factory=list)  # written by this run
    final_rows: list[dict] = field(default_factory=list)  # the manifest after the run
    photos: int = 0
    rendered_photos: int = 0
    skipped_outputs: int = 0
    failed: list[dict] = field(default_factory=list)  # failed rows of current inputs (this run or kept)
    interrupted: bool = False

    @property
    def exit_status(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILED if self.failed else EXIT_OK


def _is_finished(row: Mapping | None, sha: str | None, settings: Any, outputs: Mapping, out_dir: Path,
                 retry_failed: bool) -> bool:
    if row is None or sha is None or row.get("input_sha256") != sha or row.get("settings") != settings:
        return False
    if row.get("status") == "ok":
        return row.get("outputs") == outputs and all((out_dir / p).is_file() for p in outputs.values())
    return not retry_failed and row.get("error_code") not in RETRIED_CODES


def _jsonable(settings: Settings) -> dict:
    return json.loads(json.dumps(settings.as_dict()))


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def plan_tasks(in_dir: Path, out_dir: Path, plan: Plan, previous: Mapping[tuple, dict], *, force: bool = False,
               retry_failed: bool = False) -> tuple[list[dict], list[Path], int, list[dict]]:
    """The tasks to run (one per photo with work left), the photos found, the number of
    outputs skipped as finished, and rows failed before any work (unsafe output paths)."""
    from concurrent.futures import ThreadPoolExecutor

    photos = find_photos(in_dir, out_dir)
    stems = output_stems(photos)
    with ThreadPoolExecutor(max_workers=4) as pool:  # reading dominates; hashlib releases the GIL
        hashes = dict(zip(photos, pool.map(sha256_file, [in_dir / rel for rel in photos])))
    tasks, pre_failed, skipped = [], [], 0
    ext = plan.fmt
    for rel in photos:
        src = in_dir / rel
        sha = hashes[rel]
        stem = stems[rel]
        renders = []
        for v in plan.variants:
            mid = f".{v.name}" if v.name else ""
            outputs = {"after": f"{stem}{mid}.after.{ext}", "compare": f"{stem}{mid}.compare.{ext}"}
            s = _jsonable(v.settings)
            key = (rel.as_posix(), "render", v.name or "")
            done = not force and _is_finished(previous.get(key), sha, s, outputs, out_dir, retry_failed)
            skipped += done
            renders.append({"variant": v.name, "settings": s, "outputs": outputs, "write": not done})
        sheet = None
        if plan.sheet:
            s = {v.name: _jsonable(v.settings) for v in plan.variants}
            outputs = {"sheet": f"{stem}.sheet.{ext}"}
            key = (rel.as_posix(), "sheet", "")
            if force or not _is_finished(previous.get(key), sha, s, outputs, out_dir, retry_failed):
                sheet = {"settings": s, "outputs": outputs}
            else:
                skipped += 1
        task = {"input": rel.as_posix(), "path": str(src.resolve()), "out_dir": str(out_dir.resolve()),
                "renders": renders, "sheet": sheet}
        if not any(r["write"] for r in renders) and sheet is None:
            continue
        every = [p for r in renders for p in r["outputs"].values()] + (list(sheet["outputs"].values()) if sheet else [])
        bad = [p for p in every if not _inside(out_dir / p, out_dir)]
        if bad:
            pre_failed += failed_rows(task, UnsafeOutput(
                f"Output {bad[0]} would land outside {out_dir} (a symbolic link inside it?).",
                "Remove the link or choose another OUT_DIR.", source=rel.as_posix()), sha)
            continue
        for p in every:  # stale temporary files of a killed run
            part = out_dir / p
            part = part.with_name(f".{part.name}.part")
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
        tasks.append(task)
    return tasks, photos, skipped, pre_failed


# --------------------------------------------------------------------------- executors

def _exit_with_parent(parent_pid: int) -> None:
    """End this worker soon after the batch that started it is gone (killed with SIGKILL, say):
    the pool's queues would otherwise keep it waiting for ever."""
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(1)


def _init_worker(threads: int) -> None:
    """Start a worker process: OpenCV's thread pool sized to its share of the CPUs (no
    oversubscription when several processes share the cores), then the models, once."""
    import signal

    import cv2

    # Ctrl-C (and a SIGTERM sent to the whole group) reaches the workers too: the parent decides,
    # finishing the photos in progress; a worker left alone ends when the parent's pipe closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    cv2.setNumThreads(threads)
    try:
        worker_models()
    except Exception:  # noqa: BLE001 - raised again per photo, where it becomes a failed row with its message
        pass


Emit = Callable[[dict, list[dict]], None]
POLL_S = 0.25
"""How often a waiting batch looks whether it was asked to stop."""


def _run_inline(tasks: list[dict], emit: Emit, stop: threading.Event) -> None:
    for task in tasks:
        if stop.is_set():
            return
        emit(task, process_photo(task))


def _run_processes(tasks: list[dict], workers: int, emit: Emit, stop: threading.Event, max_attempts: int = 2) -> None:
    """Tasks on a pool of spawned processes (MediaPipe holds threads, so no fork); a pool broken
    by a crashing worker is replaced and its unfinished tasks resubmitted, at most ``max_attempts``
    times each. When ``stop`` is set, photos not started are left and those running are
    finished and reported."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")
    attempts = {id(t): 0 for t in tasks}
    queue = list(tasks)

    def report(fut, task) -> None:
        if fut.cancelled():
            return
        try:
            emit(task, fut.result())
        except BrokenProcessPool:
            if attempts[id(task)] >= max_attempts:
                emit(task, failed_rows(task, RuntimeError("a worker process died while rendering this photo")))
            else:
                queue.append(task)
        except Exception as exc:  # noqa: BLE001 - e.g. results that cannot be pickled
            emit(task, failed_rows(task, exc))

    while queue and not stop.is_set():
        threads = max(1, len(os.sched_getaffinity(0)) // workers)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(threads,))
        todo, queue = iter(queue), []
        pending: dict = {}
        try:
            while True:
                # one photo per worker in flight: a stop waits only for those, and memory stays flat
                while len(pending) < workers and not stop.is_set():
                    task = next(todo, None)
                    if task is None:
                        break
                    try:
                        fut = pool.submit(process_photo, task)
                    except BrokenProcessPool:
                        queue += [task, *todo]
                        todo = iter(())
                        break
                    attempts[id(task)] += 1
                    pending[fut] = task
                if not pending:
                    break
                done, _ = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
                for fut in done:
                    report(fut, pending.pop(fut))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _dask_client(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise BadSetting("--scheduler needs Dask distributed, which is not installed.",
                         "Install it with pip install 'smp-preview[dask]'.") from None
    try:
        client = Client(address, timeout="15s")
    except ValueError as exc:
        raise BadSetting(f"--scheduler {address!r} is not a scheduler address ({exc}).",
                         "Give it as tcp://HOST:PORT (a scheduler listens on port 8786 by default).") from None
    except (OSError, TimeoutError) as exc:
        raise BadSetting(f"Cannot reach the Dask scheduler at {address} ({exc}).",
                         "Start one with `dask scheduler` and workers with `dask worker ADDRESS`, "
                         "or check the address.") from None
    try:
        client.wait_for_workers(1, timeout=60)
    except (OSError, TimeoutError):
        client.close()
        raise BadSetting(f"The Dask scheduler at {address} has no workers.",
                         "Start at least one with `dask worker ADDRESS`.") from None
    return client


def _can_reach(in_dir: str, out_dir: str) -> bool:
    return os.path.isdir(in_dir) and os.path.isdir(out_dir) and os.access(out_dir, os.W_OK)


def _run_dask(tasks: list[dict], address: str, in_dir: Path, out_dir: Path, emit: Emit,
              stop: threading.Event) -> None:
    """One task per photo on an existing Dask distributed cluster. When ``stop`` is set, the
    photos that no worker has started are cancelled and those running are finished and reported."""
    from distributed import wait

    client = _dask_client(address)
    try:
        reach = client.run(_can_reach, str(in_dir.resolve()), str(out_dir.resolve()))
        blind = sorted(w for w, ok in reach.items() if not ok)
        if blind:
            raise BadSetting(f"Dask worker(s) {', '.join(blind)} cannot see {in_dir} and write to {out_dir}.",
                             "Put both folders on storage every worker mounts at the same path.")
        pending = {client.submit(process_photo, t, pure=False): t for t in tasks}
        stopping = False
        try:
            while pending:
                if stop.is_set() and not stopping:  # drop the photos no worker has started
                    stopping = True
                    running = {str(k) for keys in client.processing().values() for k in keys}
                    dropped = [f for f in pending if str(f.key) not in running]
                    client.cancel(dropped)
                    for f in dropped:
                        pending.pop(f)
                    continue
                with contextlib.suppress(TimeoutError):
                    wait(list(pending), timeout=POLL_S, return_when="FIRST_COMPLETED")
                for fut in [f for f in pending if f.done()]:
                    task = pending.pop(fut)
                    try:
                        rows = fut.result()
                    except Exception as exc:  # noqa: BLE001 - e.g. the worker died (KilledWorker)
                        rows = failed_rows(task, exc)
                    emit(task, rows)
        finally:
            client.cancel(list(pending))
    finally:
        client.close()


# --------------------------------------------------------------------------- the batch

@contextlib.contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    import fcntl

    marker = out_dir / MARKER_NAME
    with open(marker, "a", encoding="utf-8") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BadSetting(f"Another smp-preview batch is writing to {out_dir}.",
                             "Wait for it to finish, or choose another OUT_DIR.") from None
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    try:  # a terminal that does not say its size (0 x 0) would get no bar at all
        size = os.get_terminal_size(sys.stderr.fileno())
        sized = size.columns > 0 and size.lines > 0
    except (OSError, ValueError):
        sized = False
    return tqdm(total=total, unit="photo", desc="rendering", file=sys.stderr, dynamic_ncols=sized,
                ncols=None if sized else 80, nrows=None if sized else 24,
                disable=not (enabled and total and sys.stderr.isatty()), smoothing=0.1)


def check_folders(in_dir: Path, out_dir: Path, manifest: Path | None = None) -> None:
    """Refuse folder layouts in which outputs could be read as inputs or overwrite them."""
    if not in_dir.is_dir():
        raise BadSetting(f"{in_dir} is not a folder.", "Give the folder of photos as IN_DIR.")
    if out_dir.exists() and not out_dir.is_dir():
        raise BadSetting(f"{out_dir} is a file.", "OUT_DIR must be a folder (it is created if missing).")
    i, o = in_dir.resolve(), out_dir.resolve()
    if i == o:
        raise BadSetting("IN_DIR and OUT_DIR are the same folder.", "Write the outputs to another folder.")
    if _inside(in_dir, out_dir):
        raise BadSetting(f"IN_DIR {in_dir} lies inside OUT_DIR {out_dir}.",
                         "Choose an OUT_DIR outside the photos (it may be a sub-folder of IN_DIR).")
    from .photo import EXTENSIONS

    if manifest is not None and manifest.suffix.lower() in EXTENSIONS:
        raise BadSetting(f"Manifest {manifest} has an image's name.", "Name it .jsonl (it is JSON Lines).")


def run_batch(in_dir: str | Path, out_dir: str | Path, plan: Plan, *, workers: int | None = None,
              scheduler: str | None = None, manifest: str | Path | None = None, force: bool = False,
              retry_failed: bool = False, progress: bool = True,
              on_row: Callable[[dict], None] | None = None, stop: threading.Event | None = None) -> BatchResult:
    """Render every photo under ``in_dir`` into ``out_dir`` as ``plan`` says.

    Parameters
    ----------
    workers : local worker processes (default: the CPUs this process may use); 1 runs in this
        process. Ignored with ``scheduler``.
    scheduler : ``tcp://host:port`` of a Dask distributed scheduler to run the photos on.
    manifest : JSON Lines manifest (default ``out_dir/manifest.jsonl``).
    force : render finished outputs again.
    retry_failed : retry photos that failed because of the photo, though their bytes are unchanged.
    progress : show a progress bar (only ever on a terminal).
    on_row : called with every manifest row as it is written.
    stop : set it (from a signal handler, another thread) to stop after the photos in progress.
    """
    stop = stop or threading.Event()
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    manifest = Path(manifest) if manifest is not None else out_dir / MANIFEST_NAME
    check_folders(in_dir, out_dir, manifest)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    result = BatchResult(manifest)
    with _locked(out_dir):
        previous = latest_rows(read_manifest(manifest))
        if manifest.exists():  # drop a line cut short by a kill before appending to it
            write_manifest(manifest, previous.values())
        tasks, photos, skipped, pre_failed = plan_tasks(in_dir, out_dir, plan, previous, force=force,
                                                        retry_failed=retry_failed)
        result.photos, result.skipped_outputs = len(photos), skipped
        bar = _progress(len(tasks), progress)
        new_rows = list(pre_failed)
        failures = [len(pre_failed)]
        try:
            with open(manifest, "a", encoding="utf-8") as log:

                def emit(task: dict, rows: list[dict]) -> None:
                    for row in rows:
                        log.write(json.dumps(row, ensure_ascii=False) + "\n")
                        if on_row:
                            on_row(row)
                    log.flush()
                    os.fsync(log.fileno())
                    new_rows.extend(rows)
                    result.rendered_photos += 1
                    failures[0] += sum(r["status"] != "ok" for r in rows)
                    if failures[0]:
                        bar.set_postfix(failed=failures[0], refresh=False)
                    bar.update(1)

                for row in pre_failed:
                    log.write(json.dumps(row, ensure_ascii=False) + "\n")
                try:
                    if tasks and scheduler:
                        _run_dask(tasks, scheduler, in_dir, out_dir, emit, stop)
                    elif tasks:
                        n = max(1, min(workers or len(os.sched_getaffinity(0)), len(tasks)))
                        if n == 1:
                            _run_inline(tasks, emit, stop)
                        else:
                            _run_processes(tasks, n, emit, stop)
                except KeyboardInterrupt:
                    stop.set()
                result.interrupted = stop.is_set()
        finally:
            bar.close()
        merged = {**previous, **latest_rows(new_rows)}
        write_manifest(manifest, merged.values())
    current = {p.as_posix() for p in photos}
    variant_names = {v.name or "" for v in plan.variants}
    result.rows = new_rows
    result.final_rows = _sorted_rows(merged.values())
    result.failed = [r for r in result.final_rows if r["status"] != "ok" and r["input"] in current
                     and ((r["kind"] == "sheet" and plan.sheet)
                          or (r["kind"] == "render" and (r.get("variant") or "") in variant_names))]
    return result


# --------------------------------------------------------------------------- command line glue

class FlagDefault:
    """A render flag's default value, told apart from the same value typed on the command line
    (so that flags given override a preset and defaults do not)."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __str__(self) -> str:
        return str(self.value)

    __repr__ = __str__


def mark_flag_defaults(parser: argparse.ArgumentParser, add_arguments: Callable[[argparse.ArgumentParser], None]) -> None:
    """Wrap the defaults of the flags ``add_arguments`` adds to ``parser`` in `FlagDefault`."""
    probe = argparse.ArgumentParser(add_help=False)
    add_arguments(probe)
    defaults = vars(probe.parse_args([]))
    parser.set_defaults(_render_flags=defaults, **{k: FlagDefault(v) for k, v in defaults.items()})


def split_flags(args: argparse.Namespace) -> tuple[argparse.Namespace, argparse.Namespace, dict[str, Any]]:
    """(args with defaults unwrapped, the same with every render flag at its default, the render
    flags given explicitly by name)."""
    flag_defaults = dict(getattr(args, "_render_flags", {}))
    plain, defaults, given = argparse.Namespace(), argparse.Namespace(), {}
    for k, v in vars(args).items():
        if k == "_render_flags":
            continue
        value = v.value if isinstance(v, FlagDefault) else v
        setattr(plain, k, value)
        setattr(defaults, k, flag_defaults.get(k, value))
        if k in flag_defaults and not isinstance(v, FlagDefault):
            given[k] = v
    return plain, defaults, given


def flag_fields(given: Mapping[str, Any], defaults: argparse.Namespace,
                settings_from_args: Callable[[argparse.Namespace], Settings]) -> set[str]:
    """The `Settings` fields that the render flags in ``given`` set: known flags by their table,
    others (flags added later) by what they change in ``settings_from_args``."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(Settings)}
    s0 = settings_from_args(defaults)
    out: set[str] = set()
    for dest, value in given.items():
        if dest in SETTING_KEYS:
            out.add(SETTING_KEYS[dest][0])
            continue
        if dest in names:
            out.add(dest)
            continue
        ns = argparse.Namespace(**vars(defaults))
        setattr(ns, dest, value)
        s1 = settings_from_args(ns)
        out |= {n for n in names if getattr(s1, n) != getattr(s0, n)}
    return out


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C or SIGTERM (a service manager, `timeout`) asks the batch to stop: photos not started
    are dropped, those running finish and are recorded. A second Ctrl-C stops at once."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ask(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping after the photos in progress (Ctrl-C again to stop now)", file=sys.stderr, flush=True)

    old = {sig: signal.signal(sig, ask) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def cli_batch(args: argparse.Namespace, settings_from_args: Callable[[argparse.Namespace], Settings]) -> int:
    """The ``smp-preview batch`` command (argparse glue in `smp_preview.cli`)."""
    plain, defaults, given = split_flags(args)
    if plain.scars is not None:
        raise BadSetting("--scars is not available in batch: a scar mask belongs to one photo.",
                         "Render photos with scars one by one with `smp-preview render --scars`.")
    if getattr(plain, "exclude", None) is not None:
        raise BadSetting("--exclude is not available in batch: a mask of areas to leave untouched belongs to one photo.",
                         "Render that photo with `smp-preview render --exclude`.")
    if getattr(plain, "hairline_points", None):
        raise BadSetting("--hairline-points is not available in batch: the points are pixels of one photo.",
                         "Use a hairline template (--hairline), or render that photo with `smp-preview render`.")
    if plain.preset is not None:
        plan = load_preset(plain.preset, flags=settings_from_args(plain),
                           flag_fields=flag_fields(given, defaults, settings_from_args), fmt=plain.format)
    else:
        plan = Plan((Variant(None, settings_from_args(plain)),), fmt=plain.format)
    if plain.workers is not None and plain.workers < 1:
        raise BadSetting(f"--workers {plain.workers}: at least one worker is needed.", "Give --workers 1 or more.")
    stop = threading.Event()
    with _stop_on_signals(stop):
        result = run_batch(plain.in_dir, plain.out_dir, plan, workers=plain.workers, scheduler=plain.scheduler,
                           manifest=plain.manifest, force=plain.force, retry_failed=plain.retry_failed,
                           progress=not plain.quiet, stop=stop)
    now_failed = [r for r in result.rows if r["status"] != "ok"]
    for r in now_failed:
        print(f"failed: {r['error']}" if r["input"] in (r["error"] or "") else f"failed: {r['input']}: {r['error']}",
              file=sys.stderr)
    kept = len(result.failed) - len({row_key(r) for r in now_failed} & {row_key(r) for r in result.failed})
    if result.interrupted:
        print(f"interrupted: {result.rendered_photos} photo(s) done; run the same command again to resume",
              file=sys.stderr)
    elif not plain.quiet:
        ok = sum(r["status"] == "ok" for r in result.rows)
        print(f"{result.photos} photo(s): {ok} output(s) written, {result.skipped_outputs} already done, "
              f"{len(now_failed)} failed" + (f" ({kept} failed earlier and unchanged)" if kept else "")
              + f"; manifest {result.manifest}")
    return result.exit_status
