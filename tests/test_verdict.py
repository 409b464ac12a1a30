"""The committed paper-scale records (book/reproduced) are valid reports of the current
parameters, and the page's overview counts what the reports say."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dmfnb.chapters import names
from dmfnb.infra import verdict
from dmfnb.infra.reproduce import encode, load_summary
from dmfnb.infra.scales import params

ROOT = Path(__file__).resolve().parents[1]
RECORDS = sorted((ROOT / "book" / "reproduced").glob("*.json"))


@pytest.mark.parametrize("record", RECORDS, ids=lambda p: p.stem)
def test_record_matches_the_current_parameters(record):
    rep = load_summary(record)
    assert record.name == f"{rep.chapter}-{rep.scale}.json" and rep.chapter in names()
    current = encode(dataclasses.asdict(params(rep.chapter, rep.scale)))
    assert rep.fingerprint["params"] == current, (
        f"{record.name} was made with other parameters than dmfnb/chapters/{rep.chapter}/params.py "
        f"now holds: re-run `python -m dmfnb reproduce {rep.chapter} --scale {rep.scale} "
        "--record book/reproduced`")


def test_overview_counts_checks(tmp_path):
    from dmfnb.infra.report import CheckTable, check
    from dmfnb.infra.reproduce import Report

    good = CheckTable((check("a", "x", 1.0, le=2.0), check("b", "y", 3, eq=3)))
    bad = CheckTable((check("a", "x", 3.0, le=2.0), check("b", "y", 3, eq=3)))
    rep = lambda c, s: Report("toy", s, c, (), {}, "2026-12-01", "here")  # noqa: E731
    table = verdict.overview({"toy": rep(good, "default")}, {"toy": rep(bad, "paper")},
                             {"toy": "A toy"})
    assert table.rows == (("A toy", "2/2 ✓", "1/2 ✗", "2026-12-01"),)
    table = verdict.overview({"toy": rep(good, "default")}, {"toy": None}, {})
    assert table.rows == (("toy", "2/2 ✓", "not recorded yet", "–"),)
    path = verdict.record(rep(good, "paper"), tmp_path)
    assert load_summary(path).checks.to_json() == good.to_json()
