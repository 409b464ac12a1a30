"""The book's figure style: colour-blind-safe colours (Okabe & Ito), white backgrounds, readable text."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
from collections.abc import Mapping

import matplotlib as mpl

__all__ = ["COLORS", "depth_color", "interact", "precomputed_explorer", "use_book_style"]

# Okabe–Ito palette: distinguishable under the common colour-vision deficiencies.
COLORS = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
_CYCLE = [COLORS[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "black")]
_DEPTH = {1: COLORS["black"], 2: COLORS["orange"], 3: COLORS["blue"], 4: COLORS["green"],
          5: COLORS["purple"]}


def depth_color(depth: int) -> str:
    """One colour per depth, the same in every chapter."""
    return _DEPTH.get(depth, COLORS["vermillion"])


def use_book_style() -> None:
    """Set matplotlib defaults for the book (white figures that stay readable in dark mode)."""
    mpl.rcParams.update({
        "axes.prop_cycle": mpl.cycler(color=_CYCLE),
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "axes.facecolor": "white",
        "figure.dpi": 110,
        "figure.figsize": (7.0, 4.2),
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "legend.fontsize": 9.5,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "lines.linewidth": 1.8,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })


def interact(draw, controls, grid=None):
    """An explorer: controls over ``draw``, precomputed for the static page and live in a kernel.

    Parameters
    ----------
    draw
        ``draw(**values) -> Figure``: the figure for one setting of the controls.
    controls
        Receives the ipywidgets module and returns the keyword arguments of ``draw`` mapped to
        widgets; each widget's value is the control's default.
    grid
        The settings drawn in advance, ``{name: [values, ...]}`` for some of the controls (the
        others stay at their defaults). Every combination is drawn once, when the cell runs, into
        a small HTML explorer whose controls switch among the images in the browser: it works on
        the static site, with no kernel and no network. ``None`` draws nothing in advance.

    Two views are displayed, each saying which mode it is in. The precomputed one (when ``grid``
    is given) comes first. The live one recomputes ``draw`` in the kernel whenever a control
    moves, into its own output area; it carries the class ``dmfnb-live``, which the book's
    stylesheet hides on the static site, where no kernel could answer it. The live view draws
    nothing at creation: a notebook executed headless (the book build, nbval, nbgrader, otter)
    then sends no output into a widget, and nbclient's handling of output widgets can stall a
    cell until its timeout (jupyter/nbclient#312).

    Returns
    -------
    The live widget box (already displayed), or ``None`` without ipywidgets.
    """
    try:
        import ipywidgets as w
        from IPython.display import HTML, display
    except ImportError:
        return None
    import matplotlib.pyplot as plt

    widgets = controls(w)
    if grid is not None:
        display(HTML(precomputed_explorer(draw, widgets, grid)))
    out = w.Output()

    def redraw(_change=None):
        with out:
            out.clear_output(wait=True)
            draw(**{name: c.value for name, c in widgets.items()})
            plt.show()

    for c in widgets.values():
        c.observe(redraw, names="value")
    note = w.HTML("<p class='dmfnb-mode'><b>Live explorer</b>: every move of a control "
                  "recomputes the figure in the running kernel, for any value.</p>")
    box = w.VBox([note, *widgets.values(), out])
    box.add_class("dmfnb-live")
    display(box)
    return box


def _label(widget, value) -> str:
    """How the control shows ``value``: its option's label where the widget has labelled options."""
    for option in getattr(widget, "options", ()) or ():
        if isinstance(option, tuple) and len(option) == 2 and option[1] == value:
            return str(option[0])
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def precomputed_explorer(draw, widgets, grid) -> str:
    """The HTML of an explorer that switches among figures drawn now, one per grid setting.

    Parameters
    ----------
    draw
        ``draw(**values) -> Figure``.
    widgets
        ``{name: widget}``: every keyword of ``draw``, with its default as the widget's value and
        its ``description`` as the control's label.
    grid
        ``{name: [values, ...]}``: the values of the controls to precompute (a subset of
        ``widgets``); the page opens at the defaults where they lie on the grid.

    Returns
    -------
    str
        A self-contained ``<div class="dmfnb-explorer">``: the images as PNG data URIs, the
        controls, and a few lines of script that show the image of the chosen setting.
    """
    import matplotlib.pyplot as plt

    if not isinstance(grid, Mapping) or not grid:
        raise TypeError("grid must be a non-empty mapping {control name: [values, ...]}")
    unknown = sorted(set(grid) - set(widgets))
    if unknown:
        raise ValueError(f"grid names controls that do not exist: {unknown}; "
                         f"the controls are {sorted(widgets)}")
    names = list(grid)
    values = [list(grid[n]) for n in names]
    for name, vals in zip(names, values, strict=True):
        if not vals:
            raise ValueError(f"grid[{name!r}] is empty: give at least one value")
    start = [vals.index(widgets[n].value) if widgets[n].value in vals else 0
             for n, vals in zip(names, values, strict=True)]
    frames, alts = [], []
    for combo in itertools.product(*values):
        kwargs = {n: c.value for n, c in widgets.items()} | dict(zip(names, combo, strict=True))
        fig = draw(**kwargs)
        if fig is None:
            fig = plt.gcf()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=FRAME_DPI)
        plt.close(fig)
        frames.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
        alts.append(", ".join(f"{widgets[n].description} {_label(widgets[n], v)}"
                              for n, v in zip(names, combo, strict=True)))
    labels = [[_label(widgets[n], v) for v in vals] for n, vals in zip(names, values, strict=True)]
    data = {"sizes": [len(v) for v in values], "labels": labels, "frames": frames, "alts": alts}
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    uid = "dmfnb-ex-" + hashlib.sha1(payload.encode()).hexdigest()[:10]
    rows = []
    for i, (name, vals) in enumerate(zip(names, values, strict=True)):
        label = html.escape(widgets[name].description or name)
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
            control = (f'<input type="range" min="0" max="{len(vals) - 1}" step="1" '
                       f'value="{start[i]}" data-index="{i}" aria-label="{label}">')
        else:
            options = "".join(f'<option value="{j}"{" selected" if j == start[i] else ""}>'
                              f"{html.escape(lab)}</option>" for j, lab in enumerate(labels[i]))
            control = f'<select data-index="{i}" aria-label="{label}">{options}</select>'
        rows.append(f"<label><span>{label}</span>{control}"
                    f"<output>{html.escape(labels[i][start[i]])}</output></label>")
    k = 0
    for i, size in enumerate(data["sizes"]):
        k = k * size + start[i]
    shown = ", ".join(f"{html.escape(widgets[n].description or n)} "
                      f"({', '.join(html.escape(x) for x in labels[i])})"
                      for i, n in enumerate(names))
    return f"""<div class="dmfnb-explorer" id="{uid}">
<p class="dmfnb-mode"><b>Precomputed explorer</b>: {len(frames)} figures drawn when this page
was built, for {shown}; moving a control switches among them in your browser, with no kernel.
For other values, run this notebook (Binder, Colab or your own Jupyter) and use the live
explorer.</p>
<div class="dmfnb-controls">{"".join(rows)}</div>
<img class="dmfnb-frame" src="{frames[k]}" alt="Explorer figure at {html.escape(alts[k])}">
<script type="application/json" class="dmfnb-frames">{payload}</script>
<script>{_SCRIPT.replace("__ID__", uid)}</script>
</div>"""


# Frames at 90 dpi: a 7-inch figure is 630 px wide, so it is shown unscaled in the column and its
# 8-pt text reads at 10 px, at a third less page weight than the static figures' 110 dpi.
FRAME_DPI = 90

# Shows the image of the chosen setting: the frames are in row-major order of the grid.
_SCRIPT = """(function () {
  var root = document.getElementById("__ID__");
  var data = JSON.parse(root.querySelector("script.dmfnb-frames").textContent);
  var controls = Array.prototype.slice.call(root.querySelectorAll("[data-index]"));
  var img = root.querySelector("img.dmfnb-frame");
  function show() {
    var k = 0;
    controls.forEach(function (c, i) {
      var j = parseInt(c.value, 10);
      k = k * data.sizes[i] + j;
      c.parentNode.querySelector("output").textContent = data.labels[i][j];
    });
    img.src = data.frames[k];
    img.alt = "Explorer figure at " + data.alts[k];
  }
  controls.forEach(function (c) {
    c.addEventListener("input", show);
    c.addEventListener("change", show);
  });
})();"""
