"""The package's layout: no import cycles, a model-only top level, chapters of one shape, and
chapter titles written once (the notebooks) and quoted correctly elsewhere."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import nbformat
import pytest

import dmfnb
from dmfnb.chapters import names

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dmfnb"
PARTS = ("__init__", "params", "compute", "checks", "tables", "figures", "explorer")
CORE = {"problems", "targets", "factors", "engine", "flow", "rkc", "metrics", "baselines",
        "tensors", "_validate"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """dmfnb modules that ``name`` imports anywhere in its file (function bodies included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
                   for n in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: never imported at run time
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # `from pkg import sub` imports the submodule, not (only) the package.
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in known]
            targets = subs or [mod]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def test_no_import_cycle():
    modules = _modules()
    known = set(modules)
    graph = {m: _imports(m, p, known) for m, p in modules.items()}
    # A package's __init__ is imported before its submodules anyway: an edge from a submodule
    # to an ancestor package is a cycle only if that __init__ imports back down to it.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = [*stack[stack.index(n):], n]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_top_level_is_the_model_api():
    for name in dmfnb.__all__:
        if name == "__version__":
            continue
        obj = getattr(dmfnb, name)
        module = obj.__module__.split(".")
        assert module[1] in CORE or module[1] == "theory", (
            f"dmfnb.{name} comes from {obj.__module__}: the top level holds the model API only")


@pytest.mark.parametrize("chapter", names())
def test_chapter_package_has_every_part(chapter):
    folder = PACKAGE / "chapters" / chapter
    assert sorted(p.stem for p in folder.glob("*.py")) == sorted(PARTS)
    assert (ROOT / "book" / f"{chapter}.ipynb").exists()
    pkg = importlib.import_module(f"dmfnb.chapters.{chapter}")
    assert pkg.CHAPTER.name == chapter == pkg.NAME
    compute = (folder / "compute.py").read_text()
    for banned in ("matplotlib", "pandas", "ipywidgets"):
        assert not re.search(rf"^\s*(import|from) {banned}", compute, re.M), (
            f"{chapter}/compute.py imports {banned}: computing stays numpy and the core only")


def _title(chapter: str) -> str:
    nb = nbformat.read(ROOT / "book" / f"{chapter}.ipynb", as_version=4)
    return re.search(r"^# (.+)$", nb.cells[0].source, re.M).group(1).strip()


def test_readme_titles_match_the_notebooks():
    readme = (ROOT / "README.md").read_text()
    rows = dict((stem, title) for title, stem in
                re.findall(r"^\| \[([^\]]+)\]\(book/(\w+)\.ipynb\)", readme, re.M))
    assert set(rows) == set(names()), "README's chapter table lists every chapter once"
    for chapter, title in rows.items():
        assert title == _title(chapter), f"README calls {chapter} {title!r}, the notebook {_title(chapter)!r}"


def test_no_figure_text_below_8_points():
    """The browser test assumes figure text of at least 8 pt; no chapter sets less."""
    small = []
    for path in [*PACKAGE.glob("chapters/*/*.py"), *(ROOT / "book").glob("*.ipynb"),
                 PACKAGE / "infra" / "plotting.py"]:
        text = path.read_text()
        for m in re.finditer(r"(?:fontsize|labelsize)\W{1,3}\s*([0-9]+(?:\.[0-9]+)?)\b", text):
            if float(m.group(1)) < 8:
                small.append(f"{path.name}: {m.group(0)}")
    assert not small, f"figure text below 8 pt: {small}"


def _literal(node, constants):
    """A number from a literal, a module-level constant (``WIDTH``), a product of those or a
    ``min(2, …)`` bound, else ``None``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "min":
        bounds = [v for v in (_literal(a, constants) for a in node.args) if v is not None]
        return min(bounds) if bounds else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        a, b = _literal(node.left, constants), _literal(node.right, constants)
        return None if a is None or b is None else a * b
    return None


def test_figures_fit_the_column():
    """Every figure of a chapter is at most 7 in wide with at most two panels in a row, so its
    text stays legible in the column (the browser test measures the rendered size)."""
    problems = []
    for path in PACKAGE.glob("chapters/*/*.py"):
        tree = ast.parse(path.read_text())
        constants = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                     for t in n.targets if isinstance(t, ast.Name)
                     and isinstance(n.value, ast.Constant)
                     and isinstance(n.value.value, int | float)}
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            name = getattr(call.func, "attr", getattr(call.func, "id", ""))
            where = f"{path.parent.name}/{path.name}:{call.lineno}"
            if name in {"subplots", "add_gridspec", "GridSpec"}:
                cols = call.args[1] if len(call.args) > 1 else next(
                    (k.value for k in call.keywords if k.arg == "ncols"), None)
                n = 1 if cols is None else _literal(cols, constants)
                if n is None or n > 2:
                    problems.append(f"{where}: {ast.unparse(cols)} panels in a row")
            for k in call.keywords:
                if k.arg == "figsize" and isinstance(k.value, ast.Tuple):
                    width = _literal(k.value.elts[0], constants)
                    if width is None or width > 7.0:
                        problems.append(f"{where}: figure {ast.unparse(k.value.elts[0])} in wide")
    assert not problems, f"figures wider than the column: {problems}"
