"""The ``smp-preview`` command: ``render``, ``segment`` (file or folder), ``batch``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from .errors import BadSetting, PreviewError
from .photo import EXTENSIONS
from .settings import HAIRLINE_STYLES, HAIRLINE_TEMPLATES, MODES, Settings, parse_density

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_settings_arguments(p: argparse.ArgumentParser) -> None:
    """The settings flags shared by ``render`` and ``batch``."""
    d = Settings()
    g = p.add_argument_group("treatment settings")
    g.add_argument("--density", default=str(d.density_per_cm2),
                   help="dots per cm² (e.g. 80) or %% of a natural 100/cm² (e.g. 60%%); default %(default)s")
    g.add_argument("--dot-size", type=float, default=d.dot_size_mm, metavar="MM",
                   help="healed dot diameter in mm (default %(default)s)")
    g.add_argument("--shade", default=d.shade,
                   help="lightest, light, medium, dark, darkest, or a hex colour #rrggbb (default %(default)s)")
    g.add_argument("--hairline", default=d.hairline, choices=HAIRLINE_TEMPLATES, help="hairline template")
    g.add_argument("--hairline-style", default=d.hairline_style, choices=HAIRLINE_STYLES)
    g.add_argument("--hairline-height", type=float, default=d.hairline_height_mm, metavar="MM",
                   help="front midpoint above the glabella along the skin, 60-110 mm (default %(default)s)")
    g.add_argument("--mode", default=d.mode, choices=MODES, help="what to treat (default %(default)s)")
    g.add_argument("--sessions", type=int, default=d.sessions, help="sessions planned, 1-4 (default %(default)s)")
    g.add_argument("--session", type=int, default=None,
                   help="show the result after this session, 1-4 (default: the last, the finished result)")
    g.add_argument("--look", default=d.look, help="fresh, healed or years:N (default %(default)s)")
    g.add_argument("--session-darkening", type=float, default=d.session_darkening, metavar="F",
                   help="each later session's dots this much darker, 0-0.5 (0.1 = +10 %% per session)")
    g.add_argument("--seed", type=int, default=d.seed, help="random seed (default %(default)s)")
    g.add_argument("--px-per-mm", type=float, default=None,
                   help="measured scale, overriding the one from the iris or the assumed head width "
                        "(the photo's width in px over its width on the scalp in mm)")
    g.add_argument("--scars", type=Path, default=None, metavar="MASK.png",
                   help="scar mask (white = scar), same size as the photo")
    g.add_argument("--exclude", type=Path, default=None, metavar="MASK.png",
                   help="areas to leave untouched (white), same size as the photo: no dots and no "
                        "shaving there (a bystander's head, an object behind the head taken for scalp)")
    g.add_argument("--hairline-points", default=None, metavar="X1,Y1;X2,Y2;...",
                   help="custom hairline through these photo pixels (overrides --hairline)")
    g.add_argument("--widows-peak", action="store_true", help="add a widow's peak to the hairline template")
    g.add_argument("--receded-temples", action="store_true", help="receded temple corners (mature variant)")
    g.add_argument("--shave", action="store_true",
                   help="shaved look: replace remaining head hair by shaved scalp with stubble")


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(
        density_per_cm2=parse_density(args.density),
        dot_size_mm=args.dot_size,
        shade=args.shade,
        hairline=args.hairline,
        hairline_style=args.hairline_style,
        hairline_height_mm=args.hairline_height,
        mode=args.mode,
        sessions=max(args.sessions, args.session or 0),
        session=args.session,
        look=args.look,
        seed=args.seed,
        px_per_mm=args.px_per_mm,
        hairline_points=getattr(args, "hairline_points", None) or None,
        widows_peak=getattr(args, "widows_peak", False),
        receded_temples=getattr(args, "receded_temples", False),
        shave=getattr(args, "shave", False),
        session_darkening=getattr(args, "session_darkening", 0.0),
    )


def load_mask(path: Path | None, shape: tuple[int, int] | None = None, what: str = "mask") -> np.ndarray | None:
    """A mask image (scars, areas to leave untouched): any pixel brighter than mid-grey is in it.
    With ``shape``, a mask of another size is a `BadSetting` that names the file."""
    if path is None:
        return None
    from .photo import load_photo
    from .zones import check_mask

    mask = load_photo(path).rgb.max(axis=2) > 127
    if shape is not None:
        try:
            check_mask(mask, shape, what)
        except BadSetting as exc:
            raise BadSetting(exc.message, exc.hint, source=str(path)) from None
    return mask


def _check_output(path: Path, inputs: list[Path]) -> None:
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"):
        raise BadSetting(f"Output {path} has no image extension.", "Name it .png (lossless) or .jpg.")
    for i in inputs:
        if i is not None and path.exists() and i.exists() and path.resolve() == i.resolve():
            raise BadSetting(f"Output {path} is the input photo.", "Choose another output name; inputs are never overwritten.")


def cmd_render(args: argparse.Namespace) -> int:
    from .compose import write_image
    from .photo import load_photo
    from .preview import preview_photo

    settings = settings_from_args(args)
    outs = [p for p in (args.output, args.report, args.zone_out, args.comparison) if p is not None]
    inputs = [i.resolve() for i in (args.photo, args.scars, args.exclude) if i is not None]
    for o in outs:
        if o.resolve() in inputs:
            raise BadSetting(f"Output {o} would overwrite an input.", "Choose another output name.")
    _check_output(args.output, [args.photo])
    t0 = time.perf_counter()
    photo = load_photo(args.photo)
    load_ms = (time.perf_counter() - t0) * 1e3
    scars = load_mask(args.scars, photo.rgb.shape[:2], "scar mask")
    exclude = load_mask(args.exclude, photo.rgb.shape[:2], "mask of areas to leave untouched")
    p = preview_photo(photo, settings, scars=scars, exclude=exclude)
    t1 = time.perf_counter()
    write_image(args.output, p.after)
    if args.comparison:
        write_image(args.comparison, p.comparison())
    if args.zone_out:
        write_image(args.zone_out, (p.changed * 255).astype(np.uint8))
    report = dict(p.report)
    report["timings_ms"] = {"load": round(load_ms, 1), **report["timings_ms"],
                            "write": round((time.perf_counter() - t1) * 1e3, 1)}
    report["output"] = str(args.output)
    if args.report:
        tmp = args.report.with_name(f".{args.report.name}.part")
        tmp.write_text(json.dumps(report, indent=2) + "\n")
        tmp.replace(args.report)
    if not args.quiet:
        # a head wider than the photo: the assumed 15 cm head width makes dots and areas too large
        bound = (": too small, the head is wider than the photo; measure it and give --px-per-mm"
                 if report.get("scale_lower_bound") else "")
        mono = ("; black-and-white photo: grey or white hair may have been taken for scalp, a colour "
                "photo gives a truer preview" if report.get("monochrome") else "")
        print(f"{args.output}: {report['dot_count']} dots over {report['treated_area_cm2']} cm² "
              f"at {report['density_per_cm2']}/cm² (scale {report['px_per_mm']} px/mm from "
              f"{report['scale_source']}{bound}){mono}")
    return EXIT_OK


def _photos_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)


def cmd_segment(args: argparse.Namespace) -> int:
    from .analysis import analyse
    from .compose import write_image
    from .models import get_models
    from .photo import load_photo

    models = get_models()
    if args.photo.is_dir():
        out_dir = args.output
        if out_dir.exists() and not out_dir.is_dir():
            raise BadSetting(f"{out_dir} is a file.", "With a folder of photos, -o must name a folder.")
        out_dir.mkdir(parents=True, exist_ok=True)
        failed = 0
        photos = _photos_in(args.photo)
        for path in photos:
            target = out_dir / f"{path.stem}.png"
            if target.resolve() == path.resolve():
                print(f"{path}: skipped, the label map would overwrite the photo", file=sys.stderr)
                failed += 1
                continue
            try:
                a = analyse(load_photo(path), models, allow_several_faces=True)
                write_image(target, a.labels)
                if not args.quiet:
                    print(f"{path} -> {target}")
            except PreviewError as exc:
                failed += 1
                print(f"{exc}", file=sys.stderr)
        if not args.quiet:
            print(f"{len(photos) - failed} of {len(photos)} photos segmented into {out_dir}")
        return EXIT_FAILED if failed else EXIT_OK
    _check_output(args.output, [args.photo])
    a = analyse(load_photo(args.photo), models, allow_several_faces=True)
    write_image(args.output, a.labels)
    if not args.quiet:
        counts = np.bincount(a.labels.ravel(), minlength=5)
        share = ", ".join(f"{k}: {100 * c / a.labels.size:.1f}%" for k, c in enumerate(counts))
        print(f"{args.output}: labels {share}")
    return EXIT_OK


def cmd_batch(args: argparse.Namespace) -> int:
    from .batch import cli_batch

    return cli_batch(args, settings_from_args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smp-preview", description="Preview scalp micropigmentation on a photo.")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)

    r = sub.add_parser("render", help="render a preview of one photo")
    r.add_argument("photo", type=Path)
    r.add_argument("-o", "--output", type=Path, required=True, help="after image (.png is lossless)")
    r.add_argument("--report", type=Path, help="write a JSON report of the render")
    r.add_argument("--zone-out", type=Path, help="write the changed zone as an 8-bit mask (255 = changed)")
    r.add_argument("--comparison", type=Path, help="also write a before/after side-by-side image")
    r.add_argument("-q", "--quiet", action="store_true")
    add_settings_arguments(r)
    r.set_defaults(func=cmd_render)

    s = sub.add_parser("segment", help="write the label map of a photo, or of every photo in a folder")
    s.add_argument("photo", type=Path, help="a photo or a folder of photos")
    s.add_argument("-o", "--output", type=Path, required=True, help="LABELS.png, or a folder for a folder")
    s.add_argument("-q", "--quiet", action="store_true")
    s.set_defaults(func=cmd_segment)

    from .batch import MANIFEST_NAME, OUTPUT_FORMATS, mark_flag_defaults

    b = sub.add_parser("batch", help="render every photo in a folder (local processes or a Dask cluster)",
                       description="Render every photo under IN_DIR into OUT_DIR: after image and before/after "
                                   "composite per photo and variant, a variant sheet, and a manifest. Safe to "
                                   "rerun: finished outputs are skipped.")
    b.add_argument("in_dir", type=Path, metavar="IN_DIR", help="folder of photos (sub-folders included)")
    b.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="folder for the outputs (created if missing)")
    b.add_argument("--preset", type=Path, metavar="FILE.toml",
                   help="settings and optional variants for every photo; flags given here override its [settings]")
    b.add_argument("--force", action="store_true", help="render again outputs that are already done")
    b.add_argument("--retry-failed", action="store_true",
                   help="retry photos that failed before although their bytes have not changed")
    b.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: one per CPU; 1 runs in this process)")
    b.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run on this Dask distributed scheduler (workers must see IN_DIR and OUT_DIR at the same paths)")
    b.add_argument("--manifest", type=Path, metavar="FILE.jsonl",
                   help=f"JSON Lines manifest, one row per output (default OUT_DIR/{MANIFEST_NAME})")
    b.add_argument("--format", choices=OUTPUT_FORMATS, default="png", help="image format (default %(default)s)")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no summary line")
    add_settings_arguments(b)
    mark_flag_defaults(b, add_settings_arguments)
    b.set_defaults(func=cmd_batch)
    return parser


_OUTPUT_ARGS = ("output", "report", "zone_out", "comparison")
"""Arguments naming a file a command writes; a failed command leaves none of them behind."""


def _new_outputs(args: argparse.Namespace) -> list[Path]:
    """Output files named on the command line that do not exist yet (removed again on failure)."""
    paths = [getattr(args, a, None) for a in _OUTPUT_ARGS]
    return [p for p in paths if isinstance(p, Path) and not p.exists()]


def _remove_partial(paths: list[Path]) -> None:
    """Remove outputs a failed command created, and the ``.NAME.part`` files `compose.write_image`
    writes before renaming (left behind when a write fails midway, e.g. on a full disk)."""
    for p in paths:
        for q in (p, p.with_name(f".{p.name}.part")):
            try:
                if q.is_file():
                    q.unlink()
            except OSError:
                pass


def _one_line(text: str) -> str:
    """One printable line: whitespace collapsed, control characters (a file name may carry
    terminal escape sequences) shown as escapes instead of acting on the terminal."""
    line = " ".join(str(text).split())
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send what native libraries write to file descriptor 2 (MediaPipe's and TensorFlow Lite's
    start-up lines, which no setting turns off) to the null device, while Python's ``sys.stderr``,
    and so our one-line messages, progress bars and warnings, still reach the real stderr.

    Only when ``sys.stderr`` is the process's own stderr (not under pytest's capture, say).
    """
    try:
        real = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        real = False
    if not real:
        yield
        return
    old = sys.stderr
    old.flush()
    saved = os.dup(2)
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=getattr(old, "encoding", None) or "utf-8",
                           errors="backslashreplace")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    try:
        yield
    finally:
        ours = sys.stderr
        ours.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr = old
        ours.close()


def main(argv: list[str] | None = None) -> int:
    """Run the command; every failure is one line on stderr and a non-zero exit status.

    A `PreviewError` (the input's fault) prints its message and hint; anything else (a bug, a
    missing model file, a full disk) prints one line naming the kind of failure. ``--debug``
    re-raises instead, with the full traceback. Output files that a failed command created are
    removed, so a failed photo never leaves a result behind.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:
        return _run(args)
    with _native_stderr_silenced(), warnings.catch_warnings():
        # Pillow's warnings about damaged metadata (the photo still loads) are noise to a user
        warnings.simplefilter("ignore")
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    fresh = _new_outputs(args)
    try:
        return args.func(args)
    except PreviewError as exc:
        _remove_partial(fresh)
        if args.debug:
            raise
        print(f"smp-preview: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        _remove_partial(fresh)
        if args.debug:
            raise
        print("smp-preview: interrupted; nothing was written for the photo in progress.", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug or the system's fault: still one line, never a traceback
        _remove_partial(fresh)
        if args.debug:
            raise
        photo = getattr(args, "photo", None)
        where = f"{photo}: " if photo is not None else ""
        if isinstance(exc, OSError) and exc.strerror:
            what = f"{exc.strerror}" + (f" ({exc.filename})" if exc.filename else "")
            print(f"smp-preview: {where}{_one_line(what)}.", file=sys.stderr)
        elif isinstance(exc, ValueError):
            print(f"smp-preview: {where}{_one_line(exc)}", file=sys.stderr)
        else:
            print(f"smp-preview: {where}internal error ({type(exc).__name__}) while processing this photo; "
                  "rerun with --debug for details and report it.", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
