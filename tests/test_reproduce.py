import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from dmfnb.__main__ import main
from dmfnb.infra import reproduce as rp
from dmfnb.infra.chapter import Chapter, Step
from dmfnb.infra.report import CheckTable, Table, check

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class ToyParams:
    scale: str = "default"
    n: int = 3


@dataclasses.dataclass(frozen=True)
class ToyResult:
    x: np.ndarray
    label: str


def test_encode_decode_round_trip():
    data = {"a": np.arange(6.0).reshape(2, 3), "b": [np.int64(3), (1.5, "x")], "c": None,
            3: {"depth": 3}, 0.5: ToyResult(np.ones(2, dtype=np.float32), "r")}
    back = rp.decode(json.loads(json.dumps(rp.encode(data))))
    assert back[3] == {"depth": 3}
    assert np.array_equal(back["a"], data["a"]) and back["a"].dtype == np.float64
    assert back["b"] == [3, [1.5, "x"]] and back["c"] is None
    assert isinstance(back[0.5], ToyResult) and back[0.5].x.dtype == np.float32
    with pytest.raises(TypeError, match=r"result\['bad'\] is a object"):
        rp.encode({"bad": object()})


def _toy(monkeypatch, calls, fail, *, bound=10.0):
    def first(p, earlier):
        calls["first"] += 1
        return ToyResult(np.ones(p.n), "ones")

    def second(p, earlier):
        calls["second"] += 1
        if fail["now"]:
            raise KeyboardInterrupt
        return {"y": float(earlier["first"].x.sum())}

    def checks(p, results):
        return CheckTable((check("sum", "sum of the first step", results["second"]["y"], le=bound),))

    def paper(p, results):
        return [Table(("quantity", "ours", "paper"), (("sum", results["second"]["y"], 3.0),))]

    toy = Chapter("toy", (Step("first", first), Step("second", second)), checks, paper)
    monkeypatch.setattr(rp, "chapters", lambda: {"toy": toy})
    monkeypatch.setattr("dmfnb.chapters.names", lambda: ["toy"])
    monkeypatch.setattr(rp, "params", lambda chapter, scale: ToyParams(scale=scale))
    return toy


def test_interrupted_run_leaves_no_half_file_and_resumes(tmp_path, monkeypatch):
    calls, fail = {"first": 0, "second": 0}, {"now": True}
    _toy(monkeypatch, calls, fail)
    with pytest.raises(KeyboardInterrupt):
        rp.reproduce("toy", "default", tmp_path)
    folder = tmp_path / "toy" / "default"
    assert sorted(p.name for p in folder.iterdir()) == ["first.json"]
    fail["now"] = False
    rep = rp.reproduce("toy", "default", tmp_path)
    assert calls == {"first": 1, "second": 2}
    assert rep.checks.passed and rep.tables[0].rows == (("sum", 3.0, 3.0),)
    saved = rp.load_summary(folder / "summary.json")
    assert saved.checks.to_json() == rep.checks.to_json()
    with pytest.raises(ValueError, match="unknown chapter 'nope'"):
        rp.reproduce("nope", "default", tmp_path)
    with pytest.raises(ValueError, match="scale must be one of"):
        rp.reproduce("toy", "huge", tmp_path)


def test_stale_and_damaged_results_are_recomputed_with_the_reason(tmp_path, monkeypatch, capsys):
    calls, fail = {"first": 0, "second": 0}, {"now": False}
    _toy(monkeypatch, calls, fail)
    rp.reproduce("toy", "default", tmp_path)
    folder = tmp_path / "toy" / "default"
    # Another parameter value: the saved results no longer match their fingerprint.
    monkeypatch.setattr(rp, "params", lambda chapter, scale: ToyParams(scale=scale, n=4))
    capsys.readouterr()
    rep = rp.reproduce("toy", "default", tmp_path)
    out = capsys.readouterr().out
    assert "fingerprint differs" in out and "other params" in out
    assert re.search(r"\[toy/first\] finished in \d+\.\d s \(\d+\.\d CPU s, workers included\)", out)
    assert calls == {"first": 2, "second": 2} and rep.tables[0].rows[0][1] == 4.0
    # A truncated file and a schema-less one are named, and redone.
    (folder / "first.json").write_text('{"schema": 1, "resu')
    (folder / "second.json").write_text("{}")
    (folder / ".first.json.999.tmp").write_text("half")
    rp.reproduce("toy", "default", tmp_path)
    out = capsys.readouterr().out
    assert f"{folder / 'first.json'} is damaged (JSONDecodeError" in out
    assert f"{folder / 'second.json'} is not a dmfnb result" in out
    assert calls == {"first": 3, "second": 3}
    assert not list(folder.glob(".*.tmp"))
    # --force recomputes everything.
    rp.reproduce("toy", "default", tmp_path, force=True)
    assert calls == {"first": 4, "second": 4}


def test_failed_check_gives_a_nonzero_exit_naming_it(tmp_path, monkeypatch, capsys):
    calls, fail = {"first": 0, "second": 0}, {"now": False}
    _toy(monkeypatch, calls, fail, bound=2.0)
    assert main(["reproduce", "toy", "--out", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "NOT REPRODUCED: 1 failed check(s): toy/sum" in out
    assert "✗ FAILED" in out
    _toy(monkeypatch, calls, fail, bound=10.0)
    assert main(["reproduce", "toy", "--out", str(tmp_path)]) == 0
    assert "REPRODUCED: all 1 checks of 1 chapter(s) passed" in capsys.readouterr().out


def _usage_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    return capsys.readouterr().err


def test_bad_input_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    calls = {"first": 0, "second": 0}
    _toy(monkeypatch, calls, {"now": False})
    assert "unknown chapter 'nope'; choose from toy or all" in _usage_error(["reproduce", "nope"], capsys)
    assert "invalid choice: 'huge'" in _usage_error(["reproduce", "toy", "--scale", "huge"], capsys)
    afile = tmp_path / "file"
    afile.write_text("")
    assert f"--out {afile} is a file" in _usage_error(["reproduce", "toy", "--out", str(afile)], capsys)
    # A folder that cannot be made (its parent is a file): refused even for root.
    err = _usage_error(["reproduce", "toy", "--out", str(afile / "x")], capsys)
    assert f"--out {afile / 'x'} is not a writable folder" in err
    err = _usage_error(["reproduce", "toy", "--out", str(tmp_path), "--record", str(afile)], capsys)
    assert f"--record {afile} is a file" in err
    monkeypatch.setenv("DMFNB_JOBS", "x")
    assert "DMFNB_JOBS must be a positive integer" in _usage_error(
        ["reproduce", "toy", "--out", str(tmp_path)], capsys)
    monkeypatch.delenv("DMFNB_JOBS")
    assert "--jobs must be ≥ 1" in _usage_error(["reproduce", "toy", "--jobs", "0"], capsys)
    import importlib.util

    if importlib.util.find_spec("cupy") is None:
        monkeypatch.setenv("DMFNB_BACKEND", "cupy")
        assert "backend 'cupy' needs CuPy" in _usage_error(
            ["reproduce", "toy", "--out", str(tmp_path)], capsys)
    monkeypatch.setenv("DMFNB_BACKEND", "tpu")
    assert "backend must be one of" in _usage_error(["reproduce", "toy", "--out", str(tmp_path)], capsys)
    monkeypatch.setenv("DMFNB_SCALE", "huge")
    monkeypatch.delenv("DMFNB_BACKEND")
    assert "DMFNB_SCALE must be one of" in _usage_error(["reproduce", "toy", "--out", str(tmp_path)], capsys)
    assert calls == {"first": 0, "second": 0}, "nothing may run before the input is checked"


def test_help_lists_the_chapters_and_defaults(capsys):
    from dmfnb.chapters import names

    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in names())
    assert re.search(r"\(default:\s+results\)", out) and "DMFNB_SCALE" in out


def test_assignments_without_chapters_is_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    err = _usage_error(["assignments", "--book", str(tmp_path / "empty"), "--out", str(tmp_path / "o")],
                       capsys)
    assert "holds no chapter with exercises" in err
    err = _usage_error(["assignments", "--book", str(tmp_path / "nope")], capsys)
    assert "is not a folder" in err


def test_report_needs_every_step(monkeypatch):
    toy = _toy(monkeypatch, {"first": 0, "second": 0}, {"now": False})
    with pytest.raises(ValueError, match=r"results lack the steps \['second'\]"):
        rp.report(toy, ToyParams(), {"first": ToyResult(np.ones(3), "x")})


def test_every_chapter_can_be_reproduced_headless():
    from dmfnb.chapters import names

    book = ROOT / "book"
    known = rp.chapters()
    assert set(known) == set(names())
    assert set(known) <= {p.stem for p in book.glob("*.ipynb")}
    for name, chapter in known.items():
        assert chapter.name == name and chapter.steps
        assert callable(chapter.checks) and callable(chapter.paper)


_FAULT_SCRIPT = '''
import sys, time
import numpy as np
from dmfnb.infra import reproduce as rp
from dmfnb.infra.chapter import Chapter, Step
from dmfnb.infra.report import CheckTable, Table, check

class P:
    scale = "default"
    n = 4

def slow(k):
    def run(p, earlier):
        time.sleep(0.3)
        rng = np.random.default_rng(k)
        return {"x": rng.standard_normal((50, 50)), "k": k}
    return run

steps = tuple(Step(f"s{k}", slow(k)) for k in range(4))
checks = lambda p, r: CheckTable((check("n", "steps", len(r), eq=4),))
paper = lambda p, r: [Table(("k",), tuple((r[s.name]["k"],) for s in steps))]
rp.chapters = lambda: {"toy": Chapter("toy", steps, checks, paper)}
rp.params = lambda chapter, scale: P()
rp.reproduce("toy", "default", sys.argv[1])
'''


@pytest.mark.parametrize("done", [0, 1, 3])
def test_kill_9_leaves_complete_files_and_a_byte_identical_rerun(tmp_path, done):
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "toy.py"
    script.write_text(_FAULT_SCRIPT)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    subprocess.run([sys.executable, str(script), str(clean)], check=True, capture_output=True)
    proc = subprocess.Popen([sys.executable, str(script), str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    folder = killed / "toy" / "default"
    deadline = time.monotonic() + 60
    # Kill while step `done` runs: once `done` steps are saved (0: as soon as the folder exists).
    while time.monotonic() < deadline and (
            not folder.exists() or len(list(folder.glob("s*.json"))) < done):
        time.sleep(0.01)
    time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for f in folder.glob("*.json"):  # whatever is there is complete
        json.loads(f.read_text())
    assert len(list(folder.glob("s*.json"))) < 4, "the kill came too late to test anything"
    subprocess.run([sys.executable, str(script), str(killed)], check=True, capture_output=True)
    for name in [f"s{k}.json" for k in range(4)]:
        assert (folder / name).read_bytes() == (clean / "toy" / "default" / name).read_bytes()
    assert not list(folder.glob(".*.tmp"))
