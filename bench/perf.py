#!/usr/bin/env python
"""Benchmark of the whole pipeline at several photo sizes, against a performance budget.

    PYTHONPATH=. python bench/perf.py                  # 0.25, 2 and 12 MP, 5 repeats
    PYTHONPATH=. python bench/perf.py --quick          # 0.25 and 2 MP, 3 repeats, no dot scaling
    PYTHONPATH=. python bench/perf.py --sizes 2,12 --repeats 7 --json bench.json

Each photo size runs in its own fresh subprocess (timings), and once more in another fresh
subprocess that does exactly one first preview (peak memory). The test photos are made by
resizing a sample (INTER_CUBIC up, INTER_AREA down, aspect kept) and saving it as JPEG q92.
Prints markdown tables to stdout: medians per stage, each as a ratio to the floor any tool
must pay for the same photo (OpenCV decode of the input JPEG + encode of the output in the same
format), peak memory, scaling with pixels and with dot count, and PASS/MISS per budget line.
Run on demand; it is not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PHOTO = ROOT / "samples" / "bald_S001224.jpg"  # fully bald: the largest zone, the worst case
DOT_DENSITIES = (30, 60, 120)

BUDGET = {
    "rerender_12_ms": 500.0,
    "rerender_12_floor_ratio": 2.0,
    "first_12_ms": 1500.0,
    "first_2_ms": 400.0,
    "peak_12_mb": 1536.0,
    "max_growth_exponent": 1.1,  # log-log slope allowed for "no faster than linear" (timing noise)
}


WHOLE_SCALP_CM2 = 200.0

# --------------------------------------------------------------------------------------------
# The only place that calls the project. If a public signature changes, adapt it here.
# --------------------------------------------------------------------------------------------
class Pipeline:
    def __init__(self) -> None:
        from smp_preview import analysis, compose, photo, pigment, preview, settings, stipple, zones
        from smp_preview.models import get_models

        self.analysis, self.compose, self.photo = analysis, compose, photo
        self.pigment, self.preview, self.stipple, self.zones = pigment, preview, stipple, zones
        self.Settings = settings.Settings
        t = time.perf_counter()
        self.models = get_models()
        self.models_load_ms = (time.perf_counter() - t) * 1e3

    base: dict = {}
    """Settings every call starts from (``--whole-scalp`` sets a scale and a low hairline)."""

    def settings(self, **kw):
        return self.Settings(**{**self.base, **kw})

    def whole_scalp(self, a, area_cm2: float = WHOLE_SCALP_CM2) -> None:
        """Make later settings treat about ``area_cm2``: a low hairline and a scale (px/mm) that
        makes the photo's zone that large (a whole scalp: ~16k dots at 80/cm²), same pixel box."""
        self.base = {"hairline_height_mm": 60.0}
        z = self.design(a, self.settings())
        area = max(z.area_cm2(a.px_per_mm), 1e-3)
        self.base["px_per_mm"] = float(a.px_per_mm * math.sqrt(area / area_cm2))

    def load(self, path):
        return self.photo.load_photo(path)

    def analyse(self, photo):
        return self.analysis.analyse(photo, self.models)

    def design(self, a, st):
        return self.zones.build_zones(a, st)

    def dots(self, a, z, st):
        s = st.px_per_mm or a.px_per_mm
        y0, y1, x0, x1 = z.bbox
        all_dots = self.stipple.stipple(z.density, s, origin_xy=(x0, y0), seed=st.seed,
                                        sessions=st.planned_sessions)
        return all_dots.upto(st.shown_session)

    def render_dots(self, a, z, d, st):
        s = st.px_per_mm or a.px_per_mm
        return self.pigment.render_dots(a.rgb, d, z.mask, z.bbox, s, dot_size_mm=st.dot_size_mm,
                                        shade=st.shade, look=st.look, scars=z.scars, seed=st.seed)

    def label(self, rgb):
        return self.compose.add_label(rgb)

    def render(self, a, st):
        return self.preview.render(a, st)

    def after_image(self, p):
        return p.after

    def dot_count(self, p):
        return len(p.dots)

    def write(self, path, rgb):
        self.compose.write_image(path, rgb)


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------
LAST_CPU_MS = [0.0]


def timed(fn, *a, **kw):
    """Wall-clock ms and the result; the process CPU ms (all threads) goes to LAST_CPU_MS[0]."""
    c, t = time.process_time(), time.perf_counter()
    out = fn(*a, **kw)
    LAST_CPU_MS[0] = (time.process_time() - c) * 1e3
    return (time.perf_counter() - t) * 1e3, out


def median(xs):
    return float(statistics.median(xs)) if xs else float("nan")


def rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def make_photo(src: Path, megapixels: float, out_dir: Path) -> Path:
    img = cv2.imread(str(src), cv2.IMREAD_COLOR)
    if img is None:
        sys.exit(f"bench: cannot read {src}")
    h, w = img.shape[:2]
    f = math.sqrt(megapixels * 1e6 / (h * w))
    size = (max(64, round(w * f)), max(64, round(h * f)))
    interp = cv2.INTER_CUBIC if f > 1 else cv2.INTER_AREA
    out = out_dir / f"{src.stem}_{megapixels:g}MP.jpg"
    cv2.imwrite(str(out), cv2.resize(img, size, interpolation=interp), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return out


def floor_ms(path: Path, fmt: str) -> tuple[float, float]:
    """OpenCV decode of the input file + encode of an image of the same size in ``fmt``."""
    t0 = time.perf_counter()
    img = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)
    t1 = time.perf_counter()
    ok, _ = cv2.imencode("." + fmt, img)
    t2 = time.perf_counter()
    return (t1 - t0) * 1e3, (t2 - t1) * 1e3


def worker(args) -> dict:
    """Time every stage for one photo (runs in its own process)."""
    pl = Pipeline()
    path, fmt, n = Path(args.input), args.format, args.repeats
    tmp = Path(tempfile.mkdtemp(prefix="smp-bench-"))
    out = tmp / f"after.{fmt}"
    if args.whole_scalp:
        pl.whole_scalp(pl.analyse(pl.load(path)))
    st = pl.settings()
    res: dict = {"models_load_ms": pl.models_load_ms, "stages": {}, "analysis_parts": {}}
    T: dict[str, list] = {}
    parts: dict[str, list] = {}

    def add(name, ms, cpu=None):
        T.setdefault(name, []).append(ms)
        if cpu is not None:
            T.setdefault(name + "_cpu", []).append(cpu)

    # warm-up (first inference initialises the model runtimes); not counted
    a = pl.analyse(pl.load(path))
    pl.write(out, pl.after_image(pl.render(a, st)))
    res["width"], res["height"] = int(a.rgb.shape[1]), int(a.rgb.shape[0])
    res["megapixels"] = a.rgb.shape[0] * a.rgb.shape[1] / 1e6
    for i in range(n):
        c = time.process_time()
        d, e = floor_ms(path, fmt)
        add("floor_cpu", (time.process_time() - c) * 1e3)
        add("floor_decode", d)
        add("floor_encode", e)
        add("floor", d + e)
        ms, photo = timed(pl.load, path)
        add("load", ms, LAST_CPU_MS[0])
        ms, a = timed(pl.analyse, photo)
        add("analysis", ms, LAST_CPU_MS[0])
        for k, v in a.timings_ms.items():
            parts.setdefault(k, []).append(float(v))
        ms, z = timed(pl.design, a, st)
        add("design", ms, LAST_CPU_MS[0])
        ms, dots = timed(pl.dots, a, z, st)
        add("stipple", ms, LAST_CPU_MS[0])
        ms, (after, _) = timed(pl.render_dots, a, z, dots, st)
        add("pigment", ms, LAST_CPU_MS[0])
        ms, _ = timed(pl.label, after)
        add("label", ms, LAST_CPU_MS[0])
        ms, _ = timed(pl.write, tmp / "after.png", after)
        add("encode_png", ms, LAST_CPU_MS[0])
        ms, _ = timed(pl.write, tmp / "after.jpg", after)
        add("encode_jpg", ms, LAST_CPU_MS[0])
        res["dot_count"] = len(dots)
        del photo, a, z, dots, after
        # the whole first preview: load -> analyse -> render -> encode
        c, t = time.process_time(), time.perf_counter()
        a = pl.analyse(pl.load(path))
        p = pl.render(a, st)
        pl.write(out, pl.after_image(p))
        add("first_preview", (time.perf_counter() - t) * 1e3)
        add("first_preview_cpu", (time.process_time() - c) * 1e3)
        # one setting change, analysis cached: render + encode (alternate to change each time)
        st2 = pl.settings(density_per_cm2=60.0 if i % 2 == 0 else 100.0, shade="dark" if i % 2 else "light")
        c, t = time.process_time(), time.perf_counter()
        p = pl.render(a, st2)
        t_render = time.perf_counter()
        pl.write(out, pl.after_image(p))
        add("rerender", (time.perf_counter() - t) * 1e3)
        add("rerender_cpu", (time.process_time() - c) * 1e3)
        add("rerender_no_encode", (t_render - t) * 1e3)
        del p, a
    res["stages"] = {k: median(v) for k, v in T.items()}
    res["analysis_parts"] = {k: median(v) for k, v in parts.items()}
    res["repeats"] = n
    if args.dots:
        res["dots"] = dot_scaling(pl, path, fmt, n, tmp)
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    return res


def dot_scaling(pl, path, fmt, n, tmp) -> list[dict]:
    a = pl.analyse(pl.load(path))
    rows = []
    for dens in DOT_DENSITIES:
        st = pl.settings(density_per_cm2=float(dens))
        z = pl.design(a, st)
        ts, tp, tr, cs, cp, cr = [], [], [], [], [], []
        count = 0
        for _ in range(n):
            ms, dots = timed(pl.dots, a, z, st)
            ts.append(ms)
            cs.append(LAST_CPU_MS[0])
            ms, _ = timed(pl.render_dots, a, z, dots, st)
            tp.append(ms)
            cp.append(LAST_CPU_MS[0])
            c, t = time.process_time(), time.perf_counter()
            p = pl.render(a, st)
            pl.write(tmp / f"after.{fmt}", pl.after_image(p))
            tr.append((time.perf_counter() - t) * 1e3)
            cr.append((time.process_time() - c) * 1e3)
            count = pl.dot_count(p)
        rows.append({"density": dens, "dots": count, "stipple": median(ts), "pigment": median(tp),
                     "rerender": median(tr), "stipple_cpu": median(cs), "pigment_cpu": median(cp),
                     "rerender_cpu": median(cr)})
    return rows


def memory_probe(args) -> dict:
    """Peak RSS of a fresh process doing exactly one first preview."""
    pl = Pipeline()
    base = rss_mb()
    tmp = Path(tempfile.mkdtemp(prefix="smp-bench-"))
    out = tmp / f"after.{args.format}"
    a = pl.analyse(pl.load(args.input))
    pl.write(out, pl.after_image(pl.render(a, pl.settings())))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    out.unlink()
    tmp.rmdir()
    return {"baseline_mb": base, "peak_mb": peak, "hwm_mb": rss_mb("VmHWM")}


# --------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------
def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env = {k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                      "OPENCV_FOR_THREADS_NUM") if k in os.environ}
    import numpy

    return {
        "nproc": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)), "cpu": cpu,
        "python": platform.python_version(), "numpy": numpy.__version__, "opencv": cv2.__version__,
        "cv2_threads": cv2.getNumThreads(), "env": env, "platform": platform.platform(),
        "loadavg_start": os.getloadavg(),
    }


def fmt_ms(ms: float) -> str:
    if ms != ms:
        return "n/a"
    return f"{ms:,.0f}" if ms >= 10 else f"{ms:.1f}"


def slope(t_a, t_b, x_a, x_b) -> float:
    if min(t_a, t_b) <= 0 or x_a == x_b:
        return float("nan")
    return math.log(t_b / t_a) / math.log(x_b / x_a)


STAGE_ROWS = [
    ("load", "load (photo.load_photo, JPEG file)"),
    ("analysis", "analysis (analysis.analyse)"),
    ("design", "design (zones.build_zones)"),
    ("stipple", "stippling (stipple.stipple)"),
    ("pigment", "rendering (pigment.render_dots)"),
    ("label", "label (compose.add_label)"),
    ("encode_png", "encoding PNG (compose.write_image)"),
    ("encode_jpg", "encoding JPEG (compose.write_image)"),
    ("first_preview", "**first preview** (load→analyse→render→encode)"),
    ("rerender_no_encode", "re-render, no encode (preview.render)"),
    ("rerender", "**re-render after a setting change** (render + encode)"),
    ("floor_decode", "floor: cv2.imdecode input JPEG"),
    ("floor_encode", "floor: cv2.imencode output"),
    ("floor", "**floor** (decode + encode)"),
    ("first_preview_cpu", "first preview, CPU ms of all threads"),
    ("rerender_cpu", "re-render, CPU ms of all threads"),
    ("floor_cpu", "floor, CPU ms of all threads"),
]


def report(m: dict, results: dict, mem: dict, args) -> list[tuple[str, str, str]]:
    sizes = sorted(results, key=lambda k: results[k]["megapixels"])
    p = print
    p("## Machine\n")
    p(f"- CPU: {m['cpu']}; nproc {m['nproc']} (affinity {m['affinity']}); OpenCV threads {m['cv2_threads']}")
    p(f"- Python {m['python']}, numpy {m['numpy']}, OpenCV {m['opencv']}; {m['platform']}")
    p(f"- thread env: {m['env'] or 'none set'}")
    la0, la1 = m["loadavg_start"], m.get("loadavg_end", (float('nan'),) * 3)
    p(f"- load average at start {la0[0]:.2f} {la0[1]:.2f} {la0[2]:.2f}, at end {la1[0]:.2f} {la1[1]:.2f} {la1[2]:.2f}"
      " (the machine may be shared: compare runs with similar load)")
    p(f"- photo: {args.photo.name} resized to each size (INTER_CUBIC up / INTER_AREA down), JPEG q92; "
      f"output format {args.format.upper()}; medians of {args.repeats} runs after one warm-up; "
      f"default settings; models loaded once per process "
      f"({fmt_ms(median([r['models_load_ms'] for r in results.values()]))} ms, not counted)")
    p()
    head = " | ".join(f"{results[s]['width']}x{results[s]['height']} ({results[s]['megapixels']:.2f} MP)" for s in sizes)
    if max(la0[0], la1[0]) > m["nproc"]:
        p(f"**Warning: the machine was busy (load average up to {max(la0[0], la1[0]):.1f} on {m['nproc']} cores): "
          "wall-clock figures are inflated; the CPU figures (process CPU time of all threads) are steadier.**\n")
    p("## Medians per stage, wall ms (× floor); cpu = process CPU ms of all threads\n")
    p(f"| stage | {head} |")
    p("|---" * (len(sizes) + 1) + "|")
    for key, name in STAGE_ROWS:
        cells = []
        for s in sizes:
            st = results[s]["stages"]
            v, fl = st.get(key, float("nan")), st["floor"]
            cpu = st.get(key + "_cpu")
            if key.endswith("_cpu"):
                fc = st.get("floor_cpu", float("nan"))
                cells.append(fmt_ms(v) if key == "floor_cpu" else f"{fmt_ms(v)} ({v / fc:.1f}× floor cpu)")
            elif key in ("floor", "floor_decode", "floor_encode"):
                cells.append(fmt_ms(v))
            else:
                cells.append(f"{fmt_ms(v)} ({v / fl:.1f}×)" + (f"; cpu {fmt_ms(cpu)}" if cpu is not None else ""))
        p(f"| {name} | " + " | ".join(cells) + " |")
    p("| dots rendered | " + " | ".join(f"{results[s].get('dot_count', 0):,}" for s in sizes) + " |")
    p()
    p("### analysis.analyse breakdown (its timings_ms), ms\n")
    keys = []
    for s in sizes:
        keys += [k for k in results[s]["analysis_parts"] if k not in keys]
    p(f"| part | {head} |")
    p("|---" * (len(sizes) + 1) + "|")
    for k in keys:
        p(f"| {k} | " + " | ".join(fmt_ms(results[s]["analysis_parts"].get(k, float("nan"))) for s in sizes) + " |")
    p()
    p("## Peak memory: one first preview in a fresh process\n")
    p("Peak RSS read with `getrusage(RUSAGE_SELF).ru_maxrss` inside the child (whole process: Python, "
      "numpy, OpenCV, MediaPipe and its models); baseline is VmRSS after imports and model loading.\n")
    p("| photo | baseline MB | peak MB | peak − baseline MB |")
    p("|---|---|---|---|")
    for s in sizes:
        if s in mem:
            mm = mem[s]
            p(f"| {results[s]['megapixels']:.2f} MP | {mm['baseline_mb']:.0f} | {mm['peak_mb']:.0f} | "
              f"{mm['peak_mb'] - mm['baseline_mb']:.0f} |")
    p()
    if len(sizes) >= 2:
        p("## Scaling with pixels: CPU ms per MP (log-log slope of CPU time to the previous size; ≤ 1 is linear "
          "or better; CPU time because it is steadier than wall time on a shared machine)\n")
        p(f"| stage | {head} |")
        p("|---" * (len(sizes) + 1) + "|")
        for key, name in STAGE_ROWS:
            if key.startswith("floor_") or key.endswith("_cpu"):
                continue
            ck = key + "_cpu"
            if ck not in results[sizes[0]]["stages"]:
                continue  # no CPU figure for this row
            cells = []
            for i, s in enumerate(sizes):
                r = results[s]
                v = r["stages"].get(ck, float("nan"))
                c = f"{v / r['megapixels']:,.0f}"
                if i:
                    q = results[sizes[i - 1]]
                    c += f" (slope {slope(q['stages'][ck], v, q['megapixels'], r['megapixels']):.2f})"
                cells.append(c)
            p(f"| {name} | " + " | ".join(cells) + " |")
        p()
    dot_rows = next((results[s]["dots"] for s in sizes if "dots" in results[s]), None)
    dot_size = next((s for s in sizes if "dots" in results[s]), None)
    if dot_rows:
        r = results[dot_size]
        p(f"## Scaling with dot count at {r['width']}x{r['height']} ({r['megapixels']:.2f} MP), CPU ms "
          "(log-log slope against the dot count from the lowest density; wall ms in brackets)\n")
        p("| density /cm² | dots | stippling | rendering | re-render (render + encode) |")
        p("|---|---|---|---|---|")
        d0 = dot_rows[0]
        for d in dot_rows:
            cells = []
            for k in ("stipple", "pigment", "rerender"):
                k_cpu = k + "_cpu"
                c = f"{fmt_ms(d[k_cpu])} [{fmt_ms(d[k])}]"
                if d is not d0:
                    c += f" (slope {slope(d0[k_cpu], d[k_cpu], max(d0['dots'], 1), max(d['dots'], 1)):.2f})"
                cells.append(c)
            p(f"| {d['density']} | {d['dots']:,} | " + " | ".join(cells) + " |")
        p()

    # budget
    def near(mp):
        best = min(sizes, key=lambda s: abs(math.log(results[s]["megapixels"] / mp)))
        return best if abs(math.log(results[best]["megapixels"] / mp)) < 0.3 else None

    lines = []
    s12, s2 = near(12), near(2)

    def line(text, value, limit, unit, ok=None, cpu=None):
        if value is None or value != value:
            lines.append((text, "n/a (size not run)", "—", ""))
            return
        ok = value <= limit if ok is None else ok
        lines.append((text, f"{value:,.{0 if unit in ('ms', 'MB') else 2}f} {unit} (limit {limit:g} {unit})",
                      "PASS" if ok else f"MISS (by {value / limit:.{1 if value / limit >= 1.2 else 2}f}×)",
                      "" if cpu is None else f"{cpu:,.0f} ms ({'under' if cpu <= limit else 'over'} the limit)"))

    st12 = results[s12]["stages"] if s12 else None
    line("re-render after a setting change, 12 MP", st12 and st12["rerender"], BUDGET["rerender_12_ms"], "ms",
         cpu=st12 and st12.get("rerender_cpu"))
    line("re-render, 12 MP, vs decode+encode floor", st12 and st12["rerender"] / st12["floor"],
         BUDGET["rerender_12_floor_ratio"], "×")
    line("first full preview, 12 MP", st12 and st12["first_preview"], BUDGET["first_12_ms"], "ms",
         cpu=st12 and st12.get("first_preview_cpu"))
    line("first full preview, 2 MP", s2 and results[s2]["stages"]["first_preview"], BUDGET["first_2_ms"], "ms",
         cpu=s2 and results[s2]["stages"].get("first_preview_cpu"))
    line("peak memory, 12 MP preview", s12 and s12 in mem and mem[s12]["peak_mb"] or None, BUDGET["peak_12_mb"], "MB")
    if len(sizes) >= 2:
        a, b = sizes[-2], sizes[-1]
        worst = max(slope(results[a]["stages"][k], results[b]["stages"][k], results[a]["megapixels"],
                          results[b]["megapixels"]) for k in ("first_preview_cpu", "rerender_cpu"))
        line(f"growth with pixels ({results[a]['megapixels']:.1f}→{results[b]['megapixels']:.1f} MP, "
             "first preview and re-render, CPU time)", worst, BUDGET["max_growth_exponent"], "slope")
    if dot_rows:
        worst = max(slope(dot_rows[0][k], dot_rows[-1][k], max(dot_rows[0]["dots"], 1), max(dot_rows[-1]["dots"], 1))
                    for k in ("stipple_cpu", "pigment_cpu", "rerender_cpu"))
        line(f"growth with dot count ({dot_rows[0]['dots']:,}→{dot_rows[-1]['dots']:,} dots; stippling, rendering, "
             "re-render, CPU time)", worst, BUDGET["max_growth_exponent"], "slope")
    p("## Budget (2 cores, medians)\n")
    p("| budget line | measured (wall) | result | CPU time, all threads |")
    p("|---|---|---|---|")
    for t, v, r, c in lines:
        p(f"| {t} | {v} | {r} | {c} |")
    p("\nThe CPU column is the work done; on a quiet 2-core machine the wall time lies between half of it "
      "(everything on both cores) and all of it (one core).")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default=None, help="megapixels, comma-separated (default 0.25,2,12)")
    ap.add_argument("--repeats", type=int, default=None, help="runs per stage, median reported (default 5)")
    ap.add_argument("--quick", action="store_true", help="0.25 and 2 MP, 3 repeats, no dot-count scaling")
    ap.add_argument("--photo", type=Path, default=DEFAULT_PHOTO, help="source photo (default samples/bald_S001224.jpg)")
    ap.add_argument("--format", choices=("png", "jpg"), default="png", help="output format of the preview")
    ap.add_argument("--dots-size", type=float, default=2.0, help="photo size (MP) for the dot-count scaling")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    ap.add_argument("--whole-scalp", action="store_true",
                    help=f"treat about {WHOLE_SCALP_CM2:g} cm² (a whole scalp: low hairline, scale set to match)")
    ap.add_argument("--json", type=Path, default=None, help="also write all figures to this JSON file")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--dots", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.repeats = args.repeats or (3 if args.quick else 5)
    if args.worker or args.memory_probe:
        res = worker(args) if args.worker else memory_probe(args)
        Path(args.out).write_text(json.dumps(res))
        return 0

    sizes = [float(x) for x in (args.sizes or ("0.25,2" if args.quick else "0.25,2,12")).split(",")]
    m = machine()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    results, mem = {}, {}
    with tempfile.TemporaryDirectory(prefix="smp-bench-") as d:
        d = Path(d)
        for mp in sizes:
            photo = make_photo(args.photo, mp, d)
            key = f"{mp:g}"
            for mode in (["--worker"] + (["--dots"] if not args.quick and abs(mp - args.dots_size) < 1e-9 else []),
                         None if args.no_memory else ["--memory-probe"]):
                if mode is None:
                    continue
                out = d / f"{key}{mode[0]}.json"
                cmd = [sys.executable, __file__, *mode, "--input", str(photo), "--out", str(out),
                       "--repeats", str(args.repeats), "--format", args.format]
                cmd += ["--whole-scalp"] if args.whole_scalp else []
                print(f"running {mp:g} MP {mode[0].lstrip('-')} ...", file=sys.stderr, flush=True)
                r = subprocess.run(cmd, env=env)
                if r.returncode != 0:
                    sys.exit(f"bench: the {mode[0]} subprocess for {mp:g} MP failed (exit {r.returncode})")
                data = json.loads(out.read_text())
                (results if mode[0] == "--worker" else mem)[key] = data
    m["loadavg_end"] = os.getloadavg()
    print(f"<!-- command: PYTHONPATH=. python bench/perf.py {' '.join(argv if argv is not None else sys.argv[1:])} -->\n")
    lines = report(m, results, mem, args)
    if args.json:
        args.json.write_text(json.dumps({"machine": m, "results": results, "memory": mem,
                                         "budget": [dict(zip(("line", "measured", "result", "cpu"), x)) for x in lines]},
                                        indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
