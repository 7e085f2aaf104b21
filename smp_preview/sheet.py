"""A one-page consultation sheet (PDF): before/after, the plan and the aftercare advice.

Drawn with matplotlib's PDF backend on a private `Figure` (no pyplot, so it is safe in the
app's threads). The after image carries its "simulation" label and the sheet says so again.
"""

from __future__ import annotations

import datetime as _dt
import io
import textwrap

from matplotlib.backends.backend_pdf import FigureCanvasPdf
from matplotlib.figure import Figure

from .pigment import SHADES
from .ui import AFTERCARE, Plan, crop, density_percent, describe_scale_source, estimate_plan, fit, head_box

A4_IN = (8.27, 11.69)
SHEET_IMAGE_MAX_SIDE_PX = 1100
"""The photos are embedded at most this large: sharp in print, a PDF of a few hundred kB."""

DISCLAIMER = ("SIMULATION - not a real result. The picture shows what the settings below would look "
              "like on this photo; the real result depends on the skin, the artist and the aftercare.")


TREATMENTS = {"full": "full scalp (shaved look)", "thinning": "thinning areas", "hairline": "hairline only",
              "scars": "scars only"}


def plan_rows(preview, settings, plan: Plan) -> list[tuple[str, str]]:
    """The plan as (item, value) rows, in the consultant's words."""
    r = preview.report
    shade = settings.shade
    dilution = SHADES[shade][0] if shade in SHADES else "custom"
    h0, h1 = plan.hours_per_session
    if settings.hairline_points:
        hairline = f"drawn by the consultant, {settings.hairline_style} edge"
    elif not r.get("face_found", True):  # no brows to measure from: the whole scalp shown is treated
        hairline = "none: no face in the photo to place it by"
    else:
        hairline = (f"{settings.hairline.replace('_', ' ')}, {settings.hairline_style} edge, "
                    f"{settings.hairline_height_mm:.0f} mm above the brows")
    rows = [
        ("Treatment", TREATMENTS.get(settings.mode, settings.mode)),
        ("Hairline", hairline),
        ("Density", (f"{settings.density_per_cm2:.0f} dots/cm² "
                     f"({density_percent(settings.density_per_cm2):.0f} % of natural)")),
        ("Dot size", f"{settings.dot_size_mm:.2f} mm"),
        ("Shade", f"{shade} ({dilution} dilution)"),
        ("Sessions", f"{plan.sessions}, {h0:g}-{h1:g} h each"
                     + (f", {plan.weeks_between[0]}-{plan.weeks_between[1]} weeks apart" if plan.sessions > 1 else "")),
        ("Treated area in photo", f"{r['treated_area_cm2']:.0f} cm² ({r['dot_count']:,} dots shown)"),
        ("Scale", f"{r['px_per_mm']:.2f} px/mm from the {describe_scale_source(r['scale_source'])}"),
    ]
    if r.get("scale_lower_bound"):
        rows.append(("", "too small: the head is wider than the photo, so the area is overstated"))
    if r.get("monochrome"):
        rows.append(("Photo", "black and white: grey or white hair may have been taken for scalp"))
    return rows


def consultation_sheet(preview, settings, *, plan: Plan | None = None, date: _dt.date | None = None,
                       notes: str = "") -> bytes:
    """The consultation sheet as PDF bytes (one A4 page).

    Parameters
    ----------
    preview : preview.Preview
        The rendered preview (its ``after`` carries the simulation label).
    settings : settings.Settings
        The settings it was rendered with.
    plan : ui.Plan, optional
        The treatment estimate; computed from the preview's report when omitted.
    date : datetime.date, optional
        Printed on the sheet (default today).
    notes : str
        The consultant's notes, printed under the plan.
    """
    plan = plan or estimate_plan(preview.report, settings)
    date = date or _dt.date.today()
    box = head_box(preview)
    before = fit(crop(preview.before, box), SHEET_IMAGE_MAX_SIDE_PX)
    # the crop may cut off the after image's own label: the axes carry one of their own
    after = fit(crop(preview.after, box), SHEET_IMAGE_MAX_SIDE_PX)

    fig = Figure(figsize=A4_IN)
    FigureCanvasPdf(fig)
    fig.text(0.06, 0.955, "Scalp micropigmentation: consultation sheet", fontsize=17, weight="bold")
    fig.text(0.06, 0.935, f"{date:%d %B %Y}    Client: ______________________    Consultant: ______________",
             fontsize=9, color="#333333")

    img_top = 0.895
    ih, iw = before.shape[:2]
    img_h = min(0.40, 0.43 * A4_IN[0] * ih / iw / A4_IN[1])  # the photo's own aspect, at most 40 %
    for i, (img, title) in enumerate(((before, "BEFORE"), (after, "AFTER (SIMULATION)"))):
        ax = fig.add_axes([0.06 + i * 0.45, img_top - img_h, 0.43, img_h])
        ax.imshow(img, interpolation="antialiased")
        ax.set_title(title, fontsize=11, weight="bold", color="#b00020" if i else "black")
        ax.set_xticks([])
        ax.set_yticks([])
        if i:
            ax.text(0.02, 0.02, "SIMULATION", transform=ax.transAxes, fontsize=10, color="white",
                    weight="bold", bbox={"facecolor": "black", "alpha": 0.7, "edgecolor": "none", "pad": 2})
    y = img_top - img_h - 0.03
    fig.text(0.06, y, "\n".join(textwrap.wrap(DISCLAIMER, 105)), fontsize=8.5, color="#b00020",
             va="top", weight="bold")

    y -= 0.05
    fig.text(0.06, y, "Treatment plan", fontsize=13, weight="bold", va="top")
    y -= 0.028
    for item, value in plan_rows(preview, settings, plan):
        fig.text(0.06, y, item, fontsize=9.5, va="top", weight="bold")
        fig.text(0.30, y, value, fontsize=9.5, va="top")
        y -= 0.021
    if notes:
        lines = textwrap.wrap(notes, 95)[:4]
        fig.text(0.06, y, "Notes", fontsize=9.5, va="top", weight="bold")
        fig.text(0.30, y, "\n".join(lines), fontsize=9.5, va="top")
        y -= 0.021 * max(1, len(lines))

    y -= 0.015
    fig.text(0.06, y, "Before and after each session", fontsize=13, weight="bold", va="top")
    y -= 0.028
    for advice in AFTERCARE:
        lines = textwrap.wrap(advice, 100)
        fig.text(0.06, y, "•", fontsize=9.5, va="top")
        fig.text(0.08, y, "\n".join(lines), fontsize=9.5, va="top")
        y -= 0.015 * len(lines) + 0.005

    fig.text(0.06, 0.015, "Made with smp-preview. Every image on this sheet is a simulation.",
             fontsize=7.5, color="#666666")

    buf = io.BytesIO()
    fig.savefig(buf, format="pdf", metadata={
        "Title": "SMP consultation sheet (simulation)",
        "Subject": "Scalp micropigmentation simulation, not a real result",
        "Creator": "smp-preview",
    })
    return buf.getvalue()

