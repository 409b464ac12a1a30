"""MyST to plain Markdown, for notebooks read outside the book (classic Jupyter, Colab, nbgrader).

The book's chapters are written in MyST: directives (```` ```{prf:theorem} ````, ``{exercise}``,
``{admonition}``, ``{literalinclude}``), roles (``{eq}``, ``{prf:ref}``, ``{cite:t}``, ``{ref}``,
``{numref}``, ``{glue:text}``), labelled display math (``$$ … $$ (label)``) and targets
(``(label)=``). Jupyter renders none of these. :func:`plain_notebook` rewrites them as Markdown
that reads the same anywhere: a theorem or an exercise becomes a bold heading over a blockquote
("**Theorem 3** (Title)"), a reference becomes its text ("Theorem 3", "(eq. 7)", "Figure 2",
"Exercise 1"), a citation "Arora et al. (2019)", an included function its source code, and a
glued number "[*name*]" (computed by the notebook; the book's page shows its value).

Numbers count within each document, in order of appearance; a reference to another chapter
names it ("Theorem 1 of *How singular values move*").
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["Labels", "bibliography", "plain_markdown", "plain_notebook"]

_PRF = {"theorem": "Theorem", "lemma": "Lemma", "corollary": "Corollary", "definition": "Definition",
        "proposition": "Proposition", "conjecture": "Conjecture", "assumption": "Assumption",
        "algorithm": "Algorithm", "remark": "Remark", "example": "Example", "property": "Property",
        "axiom": "Axiom", "criterion": "Criterion", "observation": "Observation"}
_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ \t]*(?P<arg>.*)$")
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<text>[^`]*)`")
_TARGET = re.compile(r"^[ \t]*\((?P<label>[^()\s]+)\)=[ \t]*$", re.M)
_EQLABEL = re.compile(r"\$\$[ \t]*\((?P<label>[^()\s]+)\)[ \t]*$", re.M)


@dataclass(frozen=True)
class Target:
    kind: str       # "Theorem", "Exercise", "Figure", "eq", "section"
    number: int     # within its document (0 for sections)
    text: str       # a section's heading
    doc: str        # the document's file stem
    title: str      # the document's title


class Labels:
    """Every label of a set of documents (notebooks and Markdown pages), numbered per document."""

    def __init__(self) -> None:
        self.targets: dict[str, Target] = {}

    @classmethod
    def of(cls, paths) -> Labels:
        labels = cls()
        for path in paths:
            labels.add(Path(path))
        return labels

    def add(self, path: Path) -> None:
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            cells = [(c.cell_type, c.source, c.metadata) for c in nb.cells]
        else:
            cells = [("markdown", path.read_text(), {})]
        title = ""
        counts: dict[str, int] = {}

        def number(kind: str) -> int:
            counts[kind] = counts.get(kind, 0) + 1
            return counts[kind]

        doc = path.stem
        pending: list[str] = []
        found: list[tuple[str, str, str]] = []  # (label, kind, text)
        for kind, source, meta in cells:
            if kind == "code":
                name = meta.get("mystnb", {}).get("figure", {}).get("name")
                if name:
                    found.append((name, "Figure", ""))
                continue
            for line in source.splitlines():
                target = _TARGET.match(line)
                heading = re.match(r"^(#{1,6})\s+(.*)$", line)
                opened = _OPEN.match(line)
                if target:
                    pending.append(target.group("label"))
                elif heading:
                    if not title and heading.group(1) == "#":
                        title = heading.group(2).strip()
                    found += [(label, "section", heading.group(2).strip()) for label in pending]
                    pending = []
                elif opened:
                    name = opened.group("name")
                    pending = []
                    found.append(("", name, opened.group("arg")))
                elif line.strip().startswith(":label:") and found and found[-1][0] == "":
                    _, name, arg = found.pop()
                    found.append((line.split(":label:", 1)[1].strip(), name, arg))
                elif line.strip():
                    pending = []
                eq = _EQLABEL.search(line)
                if eq:
                    found.append((eq.group("label"), "eq", ""))
        for label, kind, text in found:
            if kind.startswith("prf:"):
                kind = _PRF.get(kind[4:], "")
            elif kind == "exercise":
                kind = "Exercise"
            if kind in ("", "solution", "solution-start", "solution-end", "admonition",
                        "literalinclude", "proof"):
                continue
            n = 0 if kind == "section" else number(kind)
            if label:
                self.targets[label] = Target(kind, n, text, doc, title)

    def text(self, label: str, doc: str, *, paren_eq: bool = True) -> str:
        t = self.targets.get(label)
        if t is None:
            return label
        elsewhere = f" of *{t.title}*" if t.doc != doc and t.title else ""
        if t.kind == "section":
            if t.number == 0 and t.text == t.title:
                return f"*{t.title}*"
            return f"“{t.text}”" + (f" in *{t.title}*" if elsewhere else "")
        if t.kind == "eq":
            return f"(eq. {t.number}{elsewhere})" if paren_eq else f"{t.number}"
        return f"{t.kind} {t.number}{elsewhere}"


def bibliography(path: str | Path) -> dict[str, tuple[str, str]]:
    """``{key: (authors as cited, year)}`` from a BibTeX file: "Arora et al.", "Saxe and Ganguli"."""
    text = Path(path).read_text()
    out = {}
    for m in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,(.*?)\n\}", text, re.S):
        key, body = m.group(1), m.group(2)
        fields = dict(re.findall(r"(\w+)\s*=\s*[{\"](.*?)[}\"]\s*,?\s*$", body, re.M))
        names = [a.strip() for a in re.split(r"\s+and\s+", fields.get("author", key))]
        last = [n.split(",")[0].strip() if "," in n else n.split()[-1] for n in names if n]
        last = [re.sub(r"[{}]", "", n) for n in last]
        who = (last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2
               else f"{last[0]} et al.")
        out[key] = (who, re.sub(r"\D", "", fields.get("year", "")) or "n.d.")
    return out


def _cite(keys: str, bib, textual: bool) -> str:
    refs = [bib.get(k.strip(), (k.strip(), "")) for k in keys.split(",") if k.strip()]
    if textual:
        return ", ".join(f"{who} ({year})" for who, year in refs)
    return "(" + "; ".join(f"{who}, {year}" for who, year in refs) + ")"


def _pyobject(path: Path, name: str) -> str:
    source = path.read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            return "\n".join(source.splitlines()[start - 1:node.end_lineno])
    return f"# {name}: see {path.name}"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.strip("\n").splitlines())


class _Converter:
    def __init__(self, labels: Labels, bib, doc: str, folder: Path):
        self.labels, self.bib, self.doc, self.folder = labels, bib, doc, folder

    def roles(self, text: str) -> str:
        def role(m: re.Match) -> str:
            name, body = m.group("role"), m.group("text")
            shown = re.match(r"^(.*?)\s*<([^<>]+)>$", body)
            label = shown.group(2) if shown else body
            if name == "cite:t":
                return _cite(body, self.bib, textual=True)
            if name in ("cite:p", "cite"):
                return _cite(body, self.bib, textual=False)
            if name == "eq":
                return self.labels.text(label, self.doc)
            if name == "glue:text":
                return f"[*{body.split(':')[0]}*]"
            if name in ("numref", "prf:ref", "ref", "doc"):
                if shown:
                    text = shown.group(1)
                    return text.replace("%s", self.labels.text(label, self.doc))
                return self.labels.text(label, self.doc)
            if name == "math":
                return f"${body}$"
            return f"`{body}`" if name in ("code", "kbd", "file") else body
        return _ROLE.sub(role, text)

    def equations(self, text: str) -> str:
        def tag(m: re.Match) -> str:
            t = self.labels.targets.get(m.group("label"))
            return f"\\tag{{{t.number}}}\n$$" if t else "$$"
        return _EQLABEL.sub(tag, text)

    def directive(self, name: str, arg: str, options: dict, body: str) -> str:
        label = options.get("label", "")
        if name == "literalinclude":
            path = (self.folder / arg.strip()).resolve()
            code = _pyobject(path, options["pyobject"]) if "pyobject" in options else path.read_text()
            return f"```python\n{code}\n```"
        if name in ("solution-end",):
            return ""
        if name.startswith("prf:") or name in ("exercise", "solution", "solution-start", "admonition",
                                               "note", "warning", "tip", "important", "hint"):
            if name == "prf:proof":
                return f"*Proof.* {body.strip()} ∎" if "\n" not in body.strip() else (
                    f"*Proof.*\n\n{body.strip()}\n\n∎")
            if name in ("solution", "solution-start"):
                target = self.labels.text(arg.strip(), self.doc)
                head = f"**Solution to {target}**"
            elif name == "admonition":
                head = f"**{arg.strip()}**" if arg.strip() else ""
            elif name in ("note", "warning", "tip", "important", "hint"):
                head = f"**{name.capitalize()}.**"
            else:
                t = self.labels.targets.get(label)
                kind = "Exercise" if name == "exercise" else _PRF.get(name[4:], name[4:].capitalize())
                head = f"**{kind} {t.number}**" if t else f"**{kind}**"
                if arg.strip():
                    head += f" ({arg.strip()})"
            inner = body.strip("\n")
            if name == "solution-start":
                return head
            if not inner:
                return head
            return f"{head}\n\n{inner}" if name == "solution" else (
                _quote(f"{head}\n\n{inner}") if head else _quote(inner))
        if name == "math":
            return f"$$\n{body.strip()}\n$$"
        if name in ("figure", "image"):
            return f"![{options.get('alt', '')}]({arg.strip()})\n\n{body.strip()}"
        return body.strip("\n")

    def blocks(self, text: str) -> str:
        lines = text.split("\n")
        out: list[str] = []
        i = 0
        while i < len(lines):
            m = _OPEN.match(lines[i])
            if not m:
                out.append(lines[i])
                i += 1
                continue
            fence, indent = m.group("fence"), m.group("indent")
            j, options = i + 1, {}
            while j < len(lines) and re.match(r"^\s*:[\w-]+:", lines[j]):
                key, _, value = lines[j].strip()[1:].partition(":")
                options[key] = value.strip()
                j += 1
            body_start, depth = j, 0
            while j < len(lines):
                line = lines[j].strip()
                if _OPEN.match(lines[j]) and line.startswith(fence[0]) and len(
                        _OPEN.match(lines[j]).group("fence")) == len(fence):
                    depth += 1
                elif line == fence:
                    if depth == 0:
                        break
                    depth -= 1
                j += 1
            body = "\n".join(lines[body_start:j])
            converted = self.directive(m.group("name"), m.group("arg"), options, self.blocks(body))
            out.extend(indent + line if line else line for line in converted.split("\n"))
            i = j + 1
        return "\n".join(out)

    def markdown(self, text: str) -> str:
        text = _TARGET.sub("", text)
        text = self.equations(text)
        text = self.blocks(text)
        text = self.roles(text)
        return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def plain_markdown(text: str, labels: Labels, bib: dict, doc: str, folder: str | Path = ".") -> str:
    """One Markdown text of document ``doc`` (whose files are relative to ``folder``) in plain
    Markdown."""
    return _Converter(labels, bib, doc, Path(folder)).markdown(text)


NOTE = ("*This notebook is generated from the book's chapter: theorems, exercises and references are "
        "written out as plain Markdown. A number shown as [*name*] is computed by the code cells; "
        "the book's page shows its value.*")


def plain_notebook(nb, labels: Labels, bib: dict, doc: str, folder: str | Path = "."):
    """A copy of ``nb`` whose Markdown cells are plain Markdown; cells left empty (the end of a
    gated solution) are dropped unless nbgrader tracks them."""
    nb = nbformat.from_dict(nb)
    conv = _Converter(labels, bib, doc, Path(folder))
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = conv.markdown(cell.source)
            if not cell.source.strip() and "nbgrader" not in cell.metadata:
                continue
        cells.append(cell)
    if any("[*" in c.source for c in cells if c.cell_type == "markdown"):
        note = nbformat.v4.new_markdown_cell(NOTE)
        note.id = "plain-markdown-note"
        cells.insert(1 if cells else 0, note)
    nb.cells = cells
    return nb
