import json

import numpy as np
import pytest

from dmfnb import reproduce as rp


def test_encode_decode_round_trip():
    data = {"a": np.arange(6.0).reshape(2, 3), "b": [np.int64(3), (1.5, "x")], "c": None,
            3: {"depth": 3}}
    back = rp.decode(json.loads(json.dumps(rp.encode(data))))
    assert back[3] == {"depth": 3}
    assert np.array_equal(back["a"], data["a"]) and back["a"].dtype == np.float64
    assert back["b"] == [3, [1.5, "x"]] and back["c"] is None
    with pytest.raises(TypeError, match=r"result\['bad'\] is a object"):
        rp.encode({"bad": object()})


def test_interrupted_run_leaves_no_half_file_and_resumes(tmp_path, monkeypatch):
    calls = {"first": 0, "second": 0}
    fail = {"now": True}

    def first(p, earlier):
        calls["first"] += 1
        return {"x": np.ones(3)}

    def second(p, earlier):
        calls["second"] += 1
        if fail["now"]:
            raise KeyboardInterrupt
        return {"y": float(earlier["first"]["x"].sum())}

    steps = [rp.Step("first", first), rp.Step("second", second)]
    table = lambda results, scale: [("sum", results["second"]["y"], 3.0)]  # noqa: E731
    monkeypatch.setattr(rp, "chapters", lambda: {"toy": (steps, table)})
    monkeypatch.setattr(rp, "params", lambda chapter, scale: None)
    with pytest.raises(KeyboardInterrupt):
        rp.reproduce("toy", "default", tmp_path)
    folder = tmp_path / "toy" / "default"
    assert sorted(p.name for p in folder.iterdir()) == ["first.json"]
    fail["now"] = False
    results = rp.reproduce("toy", "default", tmp_path)
    assert calls == {"first": 1, "second": 2}
    assert results["second"]["y"] == 3.0
    with pytest.raises(ValueError, match="unknown chapter 'nope'"):
        rp.reproduce("nope", "default", tmp_path)
    with pytest.raises(ValueError, match="scale must be one of"):
        rp.reproduce("toy", "huge", tmp_path)


def test_every_chapter_can_be_reproduced_headless():
    from pathlib import Path

    book = Path(__file__).resolve().parents[1] / "book"
    known = rp.chapters()
    assert set(known) == {p.stem for p in book.glob("*.ipynb")}
    for name, (steps, table) in known.items():
        assert steps and callable(table), name
        assert len({s.name for s in steps}) == len(steps), f"{name}: step names must be unique"
