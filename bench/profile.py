#!/usr/bin/env python
"""Profile the first preview and a re-render at one photo size with pyinstrument.

    pip install -e ".[bench]"      # pyinstrument
    PYTHONPATH=. python bench/profile.py --size 12 [--photo samples/biden.jpg] [--html /tmp/prof]

Prints pyinstrument's call tree of (1) load -> analyse -> render -> encode and (2) preview.render
+ encode with one setting changed and the analysis cached. Uses the same calls as perf.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from perf import DEFAULT_PHOTO, Pipeline, make_photo  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=float, default=12.0, help="megapixels (default 12)")
    ap.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    ap.add_argument("--format", choices=("png", "jpg"), default="png")
    ap.add_argument("--interval", type=float, default=0.001, help="sampling interval, s")
    ap.add_argument("--html", type=Path, default=None, help="also write HTML reports with this prefix")
    args = ap.parse_args()
    try:
        from pyinstrument import Profiler
    except ImportError:
        sys.exit('bench/profile.py needs pyinstrument: pip install -e ".[bench]"')
    pl = Pipeline()
    with tempfile.TemporaryDirectory(prefix="smp-prof-") as d:
        d = Path(d)
        path = make_photo(args.photo, args.size, d)
        out = d / f"after.{args.format}"
        a = pl.analyse(pl.load(path))  # warm-up
        pl.write(out, pl.after_image(pl.render(a, pl.settings())))
        for name, run in (
            ("first preview", lambda: pl.write(out, pl.after_image(pl.render(pl.analyse(pl.load(path)),
                                                                              pl.settings())))),
            ("re-render", lambda: pl.write(out, pl.after_image(pl.render(a, pl.settings(density_per_cm2=60.0))))),
        ):
            prof = Profiler(interval=args.interval)
            prof.start()
            run()
            prof.stop()
            print(f"\n===== {name}, {args.photo.name} at {args.size:g} MP =====")
            print(prof.output_text(unicode=True, color=False, show_all=False))
            if args.html:
                Path(f"{args.html}_{name.replace(' ', '_')}.html").write_text(prof.output_html())
    return 0


if __name__ == "__main__":
    sys.exit(main())
