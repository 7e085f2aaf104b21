"""smp-preview: the Streamlit app. Thin: widgets in, preview out; all logic is in smp_preview.

Run with ``streamlit run app.py`` (it opens on a bundled sample photo).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from smp_preview.analysis import HeadAnalysis, analyse
from smp_preview.errors import PreviewError
from smp_preview.hairline import parse_points
from smp_preview.models import get_models
from smp_preview.photo import load_photo
from smp_preview.pigment import SHADES
from smp_preview.preview import render
from smp_preview.settings import HAIRLINE_STYLES, HAIRLINE_TEMPLATES, MODES, Settings
from smp_preview.zones import scar_mask_from_points, suggest_scars

SAMPLES = Path(__file__).parent / "samples"
SAMPLE_NAMES = sorted(p.name for p in SAMPLES.glob("*.jpg"))
DEFAULT_SAMPLE = "biden.jpg"

st.set_page_config(page_title="SMP preview", layout="wide")


@st.cache_resource
def models():
    return get_models()


@st.cache_data(max_entries=8, show_spinner=False)
def analysis_of(data: bytes, name: str) -> HeadAnalysis:
    return analyse(load_photo(data, name=name), models())


def draw_polyline(rgb: np.ndarray, points_xy: np.ndarray) -> np.ndarray:
    import cv2

    out = rgb.copy()
    width = max(1, round(max(rgb.shape[:2]) / 500))
    cv2.polylines(out, [np.round(points_xy).astype(np.int32)], False, (230, 30, 30), width, cv2.LINE_AA)
    return out


def png_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


st.title("Scalp micropigmentation preview")

with st.sidebar:
    st.header("Photo")
    upload = st.file_uploader("Upload a photo", type=["jpg", "jpeg", "png", "webp"])
    sample = st.selectbox("or a sample photo", SAMPLE_NAMES,
                          index=SAMPLE_NAMES.index(DEFAULT_SAMPLE) if DEFAULT_SAMPLE in SAMPLE_NAMES else 0)
    st.header("Hairline")
    hairline = st.selectbox("Template", HAIRLINE_TEMPLATES)
    style = st.selectbox("Edge", HAIRLINE_STYLES)
    height = st.slider("Height above the brows (mm, along the skin)", 60, 110, 80)
    st.header("Coverage")
    density = st.slider("Density (dots per cm²; natural scalp ≈ 100)", 20, 150, 80, step=5)
    dot_size = st.slider("Dot size (mm)", 0.10, 0.50, 0.30, step=0.01)
    st.header("Pigment")
    shade = st.select_slider("Shade", options=list(SHADES), value="medium")
    st.header("Design")
    mode = st.selectbox("Treat", MODES, help="full: the whole scalp behind the hairline; thinning: keep the "
                        "hair, dots where scalp shows through; hairline: a band behind the line; scars: only scars")
    widows_peak = st.checkbox("Widow's peak")
    receded_temples = st.checkbox("Receded temples")
    shave = st.checkbox("Shaved look (replace remaining hair by a buzz cut)")
    points_text = st.text_input("Custom hairline points (x1,y1;x2,y2;… in photo pixels)", "")
    scar_upload = st.file_uploader("Scar mask (white = scar, same size as the photo)", type=["png"])
    scar_points = st.text_input("Draw a scar: points along it (x1,y1;x2,y2;… in photo pixels)", "")
    scar_width = st.number_input("Drawn scar width (mm)", 0.5, 30.0, 3.0, step=0.5)
    suggest = st.checkbox("Suggest likely scars to confirm")
    show_line = st.checkbox("Show the designed hairline (on screen only)")

if upload is not None:
    data, name = upload.getvalue(), upload.name
else:
    data, name = (SAMPLES / sample).read_bytes(), sample

try:
    with st.spinner("Analysing the photo…"):
        analysis = analysis_of(data, name)
    settings = Settings(density_per_cm2=float(density), dot_size_mm=float(dot_size), shade=shade,
                        hairline=hairline, hairline_style=style, hairline_height_mm=float(height),
                        mode=mode, widows_peak=widows_peak, receded_temples=receded_temples, shave=shave,
                        hairline_points=points_text.strip() or None)
    scars = None
    if scar_upload is not None:
        scars = load_photo(scar_upload.getvalue(), name=scar_upload.name).rgb.max(axis=2) > 127
    if scar_points.strip():
        drawn = scar_mask_from_points(analysis.labels.shape, parse_points(scar_points), float(scar_width),
                                      analysis.px_per_mm)
        scars = drawn if scars is None else (scars | drawn)
    if suggest:
        candidates = suggest_scars(analysis)
        if not candidates:
            st.info("No likely scars found on the scalp.")
        for i, c in enumerate(candidates):
            if st.checkbox(f"Confirm scar {i + 1}: {c.kind}, {c.area_mm2:.0f} mm²", key=f"scar{i}"):
                scars = c.mask if scars is None else (scars | c.mask)
    if mode == "scars" and scars is None:
        st.warning("Mode 'scars' needs a scar: upload a mask or confirm a suggestion.")
        st.stop()
    preview = render(analysis, settings, scars=scars)
except PreviewError as exc:
    st.error(f"{exc.message} {exc.hint}")
    st.stop()
except ValueError as exc:  # a malformed point list typed into a text box
    st.error(f"{exc} Give points as x1,y1;x2,y2;… in photo pixels.")
    st.stop()

left, right = st.columns(2)
left.image(preview.before, caption="Before", use_container_width=True)
shown = preview.after
if show_line and len(preview.zones.hairline_px):
    shown = draw_polyline(preview.after, preview.zones.hairline_px)
right.image(shown, caption="After (simulation)", use_container_width=True)
r = preview.report
c1, c2, c3, c4 = st.columns(4)
c1.metric("Treated area", f"{r['treated_area_cm2']:.0f} cm²")
c2.metric("Dots", f"{r['dot_count']:,}")
c3.metric("Density", f"{r['density_per_cm2']:.0f} /cm²")
c4.metric("Scale", f"{r['px_per_mm']:.2f} px/mm", help=f"from the {r['scale_source']}")
st.download_button("Download the comparison (PNG)", png_bytes(preview.comparison()),
                   file_name="smp-preview-comparison.png", mime="image/png")
