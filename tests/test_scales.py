import dataclasses

import pytest

from dmfnb.chapters import names
from dmfnb.infra.scales import SCALES, current_scale, params


def test_scales_switch(monkeypatch):
    monkeypatch.delenv("DMFNB_SCALE", raising=False)
    assert current_scale() == "default"
    monkeypatch.setenv("DMFNB_SCALE", "paper")
    assert current_scale() == "paper"
    assert params("low_rank_bias").scale == "paper"
    monkeypatch.setenv("DMFNB_SCALE", "huge")
    with pytest.raises(ValueError, match="DMFNB_SCALE must be one of"):
        current_scale()
    with pytest.raises(ValueError, match="unknown chapter 'nope'"):
        params("nope", "default")


@pytest.mark.parametrize("chapter", names())
def test_every_chapter_has_frozen_params_at_every_scale(chapter):
    for scale in SCALES:
        p = params(chapter, scale)
        assert dataclasses.is_dataclass(p) and p.scale == scale
        with pytest.raises(dataclasses.FrozenInstanceError):
            p.scale = "other"
