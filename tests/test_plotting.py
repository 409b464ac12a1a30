"""The explorer helper: the live view draws nothing at creation (headless runs send no widget
output) and redraws once per moved control; the precomputed view draws every grid setting once,
in the order its script indexes them."""

import json
import re

import matplotlib
import pytest

matplotlib.use("Agg")

import ipywidgets as w
import matplotlib.pyplot as plt

from dmfnb.infra.plotting import interact, precomputed_explorer


def _controls(w):
    return dict(a=w.IntSlider(value=1, min=0, max=5, description="a"),
                b=w.ToggleButtons(options=[("ex", "x"), ("why", "y")], value="x",
                                  description="b"))


def test_live_explorer_draws_only_when_a_control_moves():
    calls = []

    def draw(a=1, b="x"):
        calls.append((a, b))

    box = interact(draw, _controls)
    assert calls == [], "the figure at the defaults is the chapter's static image, not redrawn"
    assert "dmfnb-live" in box._dom_classes, "the site's stylesheet hides the live view by class"
    slider, buttons = box.children[1:3]
    slider.value = 3
    buttons.value = "y"
    assert calls == [(3, "x"), (3, "y")]


def _frames(html: str) -> dict:
    return json.loads(re.search(r'class="dmfnb-frames">(.*?)</script>', html, re.S).group(1))


def test_precomputed_explorer_draws_each_setting_in_row_major_order():
    drawn = []

    def draw(a, b):
        drawn.append((a, b))
        fig, ax = plt.subplots(figsize=(2, 1))
        ax.set_title(f"{a}{b}")
        return fig

    html = precomputed_explorer(draw, _controls(w), {"a": [0, 1, 2], "b": ["x", "y"]})
    assert drawn == [(a, b) for a in (0, 1, 2) for b in ("x", "y")]
    data = _frames(html)
    assert data["sizes"] == [3, 2] and len(data["frames"]) == 6
    assert data["labels"] == [["0", "1", "2"], ["ex", "why"]], "options show their labels"
    assert len(set(data["frames"])) == 6, "each setting has its own image"
    # Opens at the defaults (a = 1, b = "x"): frame 1·2 + 0.
    assert f'src="{data["frames"][2]}"' in html
    assert 'type="range"' in html and "<select" in html
    assert "Precomputed explorer" in html and plt.get_fignums() == []


def test_precomputed_explorer_keeps_controls_off_the_grid_at_their_defaults():
    seen = []
    precomputed_explorer(lambda a, b: seen.append(b) or plt.figure(), _controls(w), {"a": [4]})
    assert seen == ["x"]


@pytest.mark.parametrize("grid, message", [
    ({}, "non-empty mapping"),
    ([("a", [1])], "non-empty mapping"),
    ({"c": [1]}, "do not exist"),
    ({"a": []}, "is empty"),
])
def test_precomputed_explorer_rejects_bad_grids(grid, message):
    with pytest.raises((TypeError, ValueError), match=message):
        precomputed_explorer(lambda a, b: plt.figure(), _controls(w), grid)
