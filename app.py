"""smp-preview: the Streamlit app. Thin: widgets in, preview out; logic lives in smp_preview.

Two modes:
- consultant (default): every setting, the before/after slider, side by side, 100 % zoom, the
  session timeline, the plan and the downloads (images and a consultation sheet PDF);
- kiosk (``?mode=kiosk``): consent -> photo -> three looks -> before/after, for clients on a
  touch screen. Nothing the client gives is written to disk, logged or cached beyond the
  session; the session clears itself after inactivity and on "Start over".

Run with ``streamlit run app.py`` (it opens on a bundled sample photo).
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import streamlit as st

from smp_preview import ui
from smp_preview.analysis import HeadAnalysis, analyse
from smp_preview.models import get_models
from smp_preview.photo import load_photo
from smp_preview.pigment import SHADES
from smp_preview.preview import render
from smp_preview.settings import HAIRLINE_STYLES, HAIRLINE_TEMPLATES, MODES, Settings

SAMPLES = Path(__file__).parent / "samples"
SAMPLE_NAMES = sorted(p.name for p in SAMPLES.glob("*.jpg"))
DEFAULT_SAMPLE = "bald_S001224.jpg" if (SAMPLES / "bald_S001224.jpg").exists() else SAMPLE_NAMES[0]
KIOSK = st.query_params.get("mode") == "kiosk"

st.set_page_config(page_title="SMP preview", layout="wide",
                   initial_sidebar_state="collapsed" if KIOSK else "expanded")


@st.cache_resource(show_spinner=False)
def models():
    return get_models()


# The analysis is immutable and large (the photo, label map and person mask): cache_resource
# shares one copy between reruns, where cache_data would unpickle a fresh copy at every rerun.
@st.cache_resource(max_entries=8, ttl=3600, show_spinner=False)
def analysis_of(data: bytes, name: str) -> HeadAnalysis:
    return analyse(load_photo(data, name=name), models())


def analyse_with_progress(data: bytes, name: str, *, cached: bool = True) -> HeadAnalysis:
    with st.spinner("Analysing the photo: finding the face, the scale and the scalp…", show_time=True):
        return analysis_of(data, name) if cached else analyse(load_photo(data, name=name), models())


def display_pair(analysis: HeadAnalysis, preview) -> tuple:
    """Before and after reduced for the screen. The reduced photo is kept per session (it only
    changes with the photo); the after image is reduced only where the render changed it."""
    memo = st.session_state.get("_display")
    if memo is None or memo[0] is not analysis:
        step = ui.display_step(analysis.rgb.shape)
        memo = (analysis, step, ui.shrink(analysis.rgb, step))
        st.session_state["_display"] = memo
    _, step, before_small = memo
    return before_small, ui.shrink_after(before_small, preview, step)


# ------------------------------------------------------------------------------------------------
# Consultant mode
# ------------------------------------------------------------------------------------------------

def photo_input() -> tuple[bytes, str]:
    source = st.radio("Photo from", ["Sample", "Upload", "Camera"], horizontal=True, key="source")
    if source == "Upload":
        up = st.file_uploader("Upload a photo (JPEG, PNG, WebP, HEIC)", type=list(ui.UPLOAD_TYPES), key="upload")
        if up is not None:
            return up.getvalue(), up.name
        st.caption("No photo uploaded yet: showing the sample.")
    elif source == "Camera":
        shot = st.camera_input("Take a photo", key="camera")
        if shot is not None:
            return shot.getvalue(), "camera.jpg"
    sample = st.selectbox("Sample photo", SAMPLE_NAMES, index=SAMPLE_NAMES.index(DEFAULT_SAMPLE), key="sample")
    return (SAMPLES / sample).read_bytes(), sample


def design_controls(suggested_shade: str | None, shade_reason: str) -> dict:
    v: dict = {}
    st.subheader("Hairline")
    v["hairline"] = st.selectbox("Template", HAIRLINE_TEMPLATES, key="hairline",
                                 format_func=lambda t: t.replace("_", " ").capitalize())
    v["hairline_style"] = st.selectbox("Edge", HAIRLINE_STYLES, key="hairline_style")
    v["hairline_height_mm"] = float(st.slider("Height above the brows (mm, along the skin)", 60, 110, 80,
                                              key="hairline_height"))
    c1, c2 = st.columns(2)
    v["widows_peak"] = c1.checkbox("Widow's peak", key="widows_peak")
    v["receded_temples"] = c2.checkbox("Receded temples", key="receded_temples")
    st.subheader("Coverage")
    v["mode"] = st.selectbox("Treat", MODES, key="mode", format_func={
        "full": "Full scalp (shaved look)", "thinning": "Thinning areas", "hairline": "Hairline only",
        "scars": "Scars only"}.get)
    v["shave"] = st.checkbox("Shave the remaining hair (buzz-cut look)", key="shave",
                             help="Replaces the fringe at the sides and back by shaved scalp with stubble.")
    pct = st.slider("Density (% of natural)", 20, 150, 80, step=5, key="density_pct",
                    help="Natural scalp has about 100 follicles per cm²; about half of that already reads as full.")
    v["density_per_cm2"] = ui.density_from_percent(pct)
    st.caption(f"= {v['density_per_cm2']:.0f} dots per cm²")
    v["dot_size_mm"] = float(st.slider("Dot size (mm)", 0.10, 0.50, 0.30, step=0.01, key="dot_size"))
    st.subheader("Pigment")
    shades = list(SHADES)
    v["shade"] = st.select_slider("Shade", options=shades, value=suggested_shade or "medium", key="shade",
                                  format_func=lambda s: f"{s} ({SHADES[s][0]})")
    if suggested_shade:
        st.caption(f"Suggested for this client: **{suggested_shade}**. {shade_reason}")
    else:
        st.caption("No automatic shade suggestion in this version: choose by skin tone and brows.")
    look = st.radio("Look", ["healed", "fresh", "after years"], horizontal=True, key="look")
    if look == "after years":
        years = st.slider("Years after the last session", 1, 8, 5, key="look_years")
        look = f"years:{years}"
    v["look"] = look
    st.subheader("Sessions")
    v["sessions"] = st.slider("Sessions planned", 1, 4, 3, key="sessions")
    v["session"] = st.slider("Show the result after session", 1, v["sessions"], v["sessions"], key="session") \
        if v["sessions"] > 1 else 1
    return v


def scale_control(analysis: HeadAnalysis) -> float | None:
    """A measured scale for the render (px/mm), or None to keep the photo's own.

    The consultant gives the width the photo shows on the scalp (a tape across the crown), the
    natural measure for a close-up; a photo without a face otherwise assumes a 15 cm head width,
    which is too small a scale when the head is wider than the photo."""
    st.subheader("Scale")
    w_px = analysis.rgb.shape[1]
    if analysis.scale_lower_bound and not st.session_state.get("scale_measured"):
        st.warning("The head fills the photo's width, so the scale assumes the photo is 15 cm wide on the "
                   "scalp: dots and areas come out too large. Measure the width the photo shows on the "
                   "scalp and enter it here.", icon=":material/straighten:")
    elif analysis.face is None:
        st.caption("No face in this photo: the scale assumes a head 15 cm wide. A measured width is better.")
    if not st.checkbox("Enter a measured width", key="scale_measured"):
        return None
    lo, hi = max(1.0, w_px / 2000.0), min(100.0, w_px / 3.0)  # the scale stays within 0.3-200 px/mm
    guess = min(hi, max(lo, round(w_px / analysis.px_per_mm / 10.0, 1)))
    cm = st.number_input("Width the photo shows on the scalp (cm)", lo, hi, guess, step=0.5,
                         key=f"scale_width_cm_{analysis.photo.name}")
    return w_px / (float(cm) * 10.0)


def scar_and_hairline_drawing(analysis: HeadAnalysis, values: dict):
    """Scars painted on the photo (canvas), an uploaded mask and confirmed suggestions; and the
    areas to leave untouched, painted likewise. Returns (scars, exclude), each a mask or None."""
    shape = analysis.rgb.shape[:2]
    scar_masks = []
    exclude = None
    with st.expander("Scars, a drawn hairline and areas to leave untouched", expanded=values["mode"] == "scars"):
        try:
            from streamlit_drawable_canvas import st_canvas
        except ImportError:  # the canvas is optional: masks can still be uploaded
            st_canvas = None
        memo = st.session_state.get("_canvas_bg")
        if memo is None or memo[0] is not analysis:
            small = ui.fit(analysis.rgb, 520)
            jpeg = ui.encode(small, "JPEG")
            memo = (analysis, small, jpeg, hashlib.sha1(jpeg).hexdigest()[:12])
            st.session_state["_canvas_bg"] = memo
        _, small, small_jpeg, photo_id = memo  # drawings belong to their photo: keys carry its id
        scale = small.shape[1] / shape[1]
        def painted(rgb: str, width: int, key: str):
            """A brush canvas over the photo (below a caption); the painted mask, or None."""
            st.write("")  # room for the canvas's own toolbar
            drawing = st_canvas(
                fill_color=f"rgba({rgb}, 0.35)", stroke_width=width, stroke_color=f"rgba({rgb}, 0.6)",
                background_image=small_jpeg, height=small.shape[0], width=small.shape[1],
                drawing_mode="freedraw", key=key)
            return ui.mask_from_strokes(drawing.json_data, scale, shape)

        if st_canvas is not None:
            st.caption("Draw with the mouse or a finger; the buttons over each photo undo, redo or clear.")
            scar_col, line_col = st.columns(2)
            with scar_col:
                st.markdown("**Scars**: paint over them")
                m = painted("255, 0, 160", 12, f"scar_canvas_{photo_id}")
                if m is not None:
                    scar_masks.append(m)
            with line_col:
                st.markdown("**Hairline**: click points from the left temple to the right")
                st.write("")
                line_drawing = st_canvas(
                    fill_color="#ffd400", stroke_width=2, stroke_color="#ffd400", background_image=small_jpeg,
                    height=small.shape[0], width=small.shape[1], drawing_mode="point", point_display_radius=5,
                    key=f"hairline_canvas_{photo_id}")
                points = ui.points_from_drawing(line_drawing.json_data, scale)
                if len(points) >= 3:
                    if st.checkbox("Use these points as the hairline", value=True, key="use_drawn_hairline"):
                        values["hairline_points"] = tuple(points)
                elif points:
                    st.caption("Place at least 3 points, from the left temple to the right.")
            st.markdown("**Leave untouched**: paint over anything the preview must not change, such as "
                        "someone behind the client or an object behind the head taken for scalp or hair "
                        "(the *Analysis* view shows what was found)")
            exclude = painted("0, 160, 255", 24, f"exclude_canvas_{photo_id}")
        else:
            st.caption("Install streamlit-drawable-canvas to paint scars on the photo; upload a mask meanwhile.")
        up = st.file_uploader("…or upload a scar mask (white = scar)", type=["png", "jpg", "jpeg"], key="scar_upload")
        if up is not None:
            try:
                scar_masks.append(ui.mask_from_upload(up.getvalue(), shape))
            except Exception as exc:  # noqa: BLE001 - a message, never a traceback
                st.error(ui.consultant_error(exc))
        suggestions = ui.suggest_scars(analysis)
        if suggestions:
            st.write("Possible scars found; confirm the ones to treat:")
            for i, m in enumerate(suggestions):
                if st.checkbox(f"Scar {i + 1} ({int(m.sum())} px)", key=f"scar_suggestion_{i}"):
                    scar_masks.append(m)
    if not scar_masks:
        return None, exclude
    out = scar_masks[0].copy()
    for m in scar_masks[1:]:
        out |= m
    return out, exclude


def numbers(preview, settings: Settings) -> None:
    r = preview.report
    plan = ui.estimate_plan(r, settings)
    st.metric("Treated area", f"{r['treated_area_cm2']:.0f} cm²", help="Scalp treated, as seen in this photo.")
    st.metric("Dots", f"{r['dot_count']:,}")
    st.metric("Density reached", f"{r['density_per_cm2']:.0f} /cm²",
              help=f"Target {r['target_density_per_cm2']:.0f} /cm² after session {r['session']} of {r['sessions']}.")
    st.metric("Sessions", f"{plan.sessions} × {plan.hours_per_session[0]:g}–{plan.hours_per_session[1]:g} h",
              help="2–5 hours per session, 2–4 sessions, 3–4 weeks apart (typical clinic figures).")
    if plan.sessions > 1:
        st.caption(f"{plan.weeks_between[0]}–{plan.weeks_between[1]} weeks apart; "
                   f"about {plan.weeks_total[0]}–{plan.weeks_total[1]} weeks in all.")
    st.metric("Scale", f"{r['px_per_mm']:.2f} px/mm", help="Pixels per millimetre on the skin.")
    st.caption(f"Scale from the {ui.describe_scale_source(r['scale_source'])}.")


def consultant() -> None:
    st.title("Scalp micropigmentation preview")
    with st.sidebar:
        st.header("Photo")
        data, name = photo_input()
    try:
        analysis = analyse_with_progress(data, name)
    except Exception as exc:  # noqa: BLE001 - PreviewError: its specific message; anything else: no traceback
        st.error(ui.consultant_error(exc), icon=":material/error:")
        st.stop()
    if analysis.monochrome:
        st.warning(ui.MONOCHROME_NOTE, icon=":material/filter_b_and_w:")
    suggested, reason = ui.suggest_shade(analysis)
    with st.sidebar:
        values = design_controls(suggested, reason)
        values["px_per_mm"] = scale_control(analysis)
    scars, exclude = scar_and_hairline_drawing(analysis, values)
    if values["mode"] == "scars" and scars is None:
        st.info("Scars only: paint the scars on the photo above (or upload a mask) to see them treated.",
                icon=":material/brush:")
        st.stop()
    try:
        settings = ui.make_settings(**values)
        preview = render(analysis, settings, scars=scars, exclude=exclude)
    except Exception as exc:  # noqa: BLE001 - a message, never a traceback
        st.error(ui.consultant_error(exc), icon=":material/error:")
        st.stop()

    view = st.segmented_control("View", ["Slider", "Side by side", "Zoom 100 %", "Timeline", "Analysis"],
                                default="Slider", key="view") or "Slider"
    pic, side = st.columns([4, 1])
    with pic:
        if view == "Slider":
            st.iframe(ui.comparison_slider_html(*display_pair(analysis, preview)), height=640,
                      alt="Before and after comparison slider")
        elif view == "Side by side":
            before_small, after_small = display_pair(analysis, preview)
            b, a = st.columns(2)
            b.image(before_small, caption="Before", output_format="JPEG")
            a.image(after_small, caption="After (simulation)", output_format="JPEG")
        elif view == "Zoom 100 %":
            box = ui.zoom_box(preview)
            st.caption("The scalp at 100 %: one screen pixel per photo pixel.")
            b, a = st.columns(2)
            b.image(ui.crop(preview.before, box), caption="Before, 100 %", output_format="PNG", width="content")
            a.image(ui.crop(preview.after, box), caption="After, 100 % (simulation)", output_format="PNG",
                    width="content")
        elif view == "Analysis":
            st.image(ui.analysis_view(analysis, preview, exclude), output_format="JPEG",
                     caption="What the preview found: " + ui.ANALYSIS_LEGEND)
        else:
            box = ui.head_box(preview)
            stages = ui.timeline(settings)
            cols = st.columns(len(stages))
            for col, (caption, s) in zip(cols, stages):
                col.image(ui.fit(ui.crop(render(analysis, s, scars=scars, exclude=exclude).after, box), 500),
                          caption=f"{caption} (simulation)", output_format="JPEG")
            st.caption("Fresh dots are darker and larger; they lighten over the first month "
                       "and slowly fade over the years until a touch-up.")
    with side:
        numbers(preview, settings)

    st.subheader("Downloads")
    d1, d2, d3 = st.columns(3)
    d1.download_button("After image (PNG)", lambda: ui.encode(preview.after), file_name="smp-after-simulation.png",
                       mime="image/png", icon=":material/download:", on_click="ignore")
    d2.download_button("Comparison (PNG)", lambda: ui.encode(preview.comparison()),
                       file_name="smp-comparison-simulation.png", mime="image/png", icon=":material/download:",
                       on_click="ignore")

    def sheet_pdf() -> bytes:
        from smp_preview.sheet import consultation_sheet

        return consultation_sheet(preview, settings, notes=st.session_state.get("notes", ""))

    d3.download_button("Consultation sheet (PDF)", sheet_pdf, file_name="smp-consultation-sheet.pdf",
                       mime="application/pdf", icon=":material/picture_as_pdf:", on_click="ignore")
    st.text_area("Notes for the consultation sheet", key="notes", max_chars=400)
    with st.expander("Aftercare advice (printed on the sheet)"):
        for advice in ui.AFTERCARE:
            st.markdown(f"- {advice}")


# ------------------------------------------------------------------------------------------------
# Kiosk mode
# ------------------------------------------------------------------------------------------------

KIOSK_KEYS = ("kiosk_step", "kiosk_analysis", "kiosk_look", "kiosk_error", "kiosk_shade", "_display")
KIOSK_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header, footer,
[data-testid="stToolbar"], [data-testid="stDecoration"] {display: none !important;}
.block-container {max-width: 1100px; padding-top: 1.5rem;}
[data-testid="stBaseButton-primary"], [data-testid="stBaseButton-secondary"] {min-height: 4.5rem;
 padding: 0.8rem 1.6rem; border-radius: 1rem;}
[data-testid="stBaseButton-primary"] p, [data-testid="stBaseButton-secondary"] p {font-size: 1.6rem !important;}
[data-testid="stTab"] p {font-size: 1.4rem !important;}
[data-testid="stMarkdownContainer"] p {font-size: 1.35rem;}
[data-testid="stCaptionContainer"] p {font-size: 1.1rem;}
h1 {font-size: 2.6rem !important;}
[data-testid="stFileUploaderDropzone"] {min-height: 8rem;}
</style>"""


def kiosk_clear() -> None:
    for k in KIOSK_KEYS:
        st.session_state.pop(k, None)
    st.session_state["kiosk_nonce"] = st.session_state.get("kiosk_nonce", 0) + 1  # fresh photo widgets


@st.fragment(run_every=5)
def kiosk_idle_watch() -> None:
    """Clears the client's session after inactivity, even if nobody touches the screen again."""
    idle = time.time() - st.session_state.get("kiosk_last_active", time.time())
    if idle > ui.KIOSK_IDLE_SECONDS and st.session_state.get("kiosk_step", "consent") != "consent":
        kiosk_clear()
        st.rerun(scope="app")


def kiosk_photo_step() -> None:
    st.title("Your photo")
    st.markdown("Face the camera, with your whole head in the picture and good light on your face.")
    nonce = st.session_state.get("kiosk_nonce", 0)
    take, upload = st.tabs(["Take a photo", "Upload a photo"])
    with take:
        shot = st.camera_input("Camera", key=f"kiosk_camera_{nonce}", label_visibility="collapsed")
    with upload:
        up = st.file_uploader("Photo", type=list(ui.UPLOAD_TYPES), key=f"kiosk_upload_{nonce}",
                              label_visibility="collapsed")
    got = shot or up
    if got is not None:
        try:
            # not cached across sessions: the client's photo lives only in this session
            st.session_state["kiosk_analysis"] = analyse_with_progress(got.getvalue(), "photo", cached=False)
            st.session_state["kiosk_step"] = "result"
            st.session_state.pop("kiosk_error", None)
            st.session_state["kiosk_shade"] = ui.suggest_shade(st.session_state["kiosk_analysis"])[0]
        except Exception as exc:  # noqa: BLE001 - a friendly message, never a traceback
            st.session_state["kiosk_error"] = ui.friendly_error(exc)
        st.session_state["kiosk_nonce"] = nonce + 1  # drop the upload from the widget
        st.rerun()
    if "kiosk_error" in st.session_state:
        title, hint = st.session_state["kiosk_error"]
        st.error(f"**{title}** {hint}", icon=":material/sentiment_dissatisfied:")
    if st.button("Start over", key="kiosk_restart_photo", width="stretch"):
        kiosk_clear()
        st.rerun()


def kiosk_pick(look: str) -> None:
    st.session_state["kiosk_look"] = look


def kiosk_result_step() -> None:
    analysis = st.session_state["kiosk_analysis"]
    st.title("Choose a look")
    look = st.session_state.setdefault("kiosk_look", "fuller")
    cols = st.columns(len(ui.PRESETS))
    for col, name in zip(cols, ui.PRESETS):
        col.button(name.capitalize(), key=f"kiosk_look_{name}", type="primary" if name == look else "secondary",
                   on_click=kiosk_pick, args=(name,), width="stretch")
        col.caption(ui.PRESET_BLURBS[name])
    try:
        preview = render(analysis, ui.preset_settings(look, base_shade=st.session_state.get("kiosk_shade")))
    except Exception as exc:  # noqa: BLE001 - a friendly message, never a traceback
        title, hint = ui.friendly_error(exc)
        st.error(f"**{title}** {hint}")
        return
    if analysis.monochrome:
        st.warning(ui.MONOCHROME_NOTE)
    st.iframe(ui.comparison_slider_html(*display_pair(analysis, preview), height_px=660), height=680,
              alt="Before and after comparison slider")
    st.markdown("Drag across the picture to compare. **This is a simulation**, not a real result: "
                "ask us how it would look on you after the sessions.")
    if st.button("Start over", key="kiosk_restart", width="stretch"):
        kiosk_clear()
        st.rerun()


def kiosk() -> None:
    st.html(KIOSK_CSS)
    now = time.time()
    if now - st.session_state.get("kiosk_last_active", now) > ui.KIOSK_IDLE_SECONDS:
        kiosk_clear()  # came back after a long pause: the previous client's photo is gone
    st.session_state["kiosk_last_active"] = now
    kiosk_idle_watch()
    step = st.session_state.get("kiosk_step", "consent")
    if step == "consent":
        st.title("See yourself with scalp micropigmentation")
        st.markdown("Take a photo and see a **simulation** of how scalp micropigmentation could look on you.")
        st.markdown("Your photo is used only on this screen to make the preview. It is **not saved** and "
                    "**not sent anywhere**, and it is erased when you press *Start over* or walk away.")
        if st.button("I agree, let's start", key="kiosk_consent", type="primary", width="stretch"):
            st.session_state["kiosk_step"] = "photo"
            st.rerun()
    elif step == "photo":
        kiosk_photo_step()
    else:
        kiosk_result_step()
    st.session_state["kiosk_last_active"] = time.time()  # a long analysis is not inactivity


if KIOSK:
    kiosk()
else:
    consultant()
