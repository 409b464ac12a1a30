"""The explorer helper: nothing drawn at creation (headless runs send no widget output), one
redraw per moved control, with the controls' values."""

import matplotlib

matplotlib.use("Agg")

from dmfnb.infra.plotting import interact


def test_explorer_draws_only_when_a_control_moves():
    calls = []

    def draw(a=1, b="x"):
        calls.append((a, b))

    box = interact(draw, lambda w: dict(a=w.IntSlider(value=1, min=0, max=5),
                                        b=w.ToggleButtons(options=["x", "y"], value="x")))
    assert calls == [], "the figure at the defaults is the chapter's static image, not redrawn"
    slider, buttons = box.children[:2]
    slider.value = 3
    buttons.value = "y"
    assert calls == [(3, "x"), (3, "y")]
