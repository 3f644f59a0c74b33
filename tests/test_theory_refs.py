"""Every section of the theory page that the code cites exists, and nothing cites ``THEORY.md``.

Docstrings, messages and pages cite the project's theory page as ``docs/theory.md §N``, with
ranges (``§0-§2``, ``§0–§2``), lists (``§2, §3``) and parts (``§3(b)``). The page numbers its
top-level sections with headings of the form ``## N. Title``. The helpers below read both and
report the citations that point at a missing section; the tests run them on the repository and,
to show the checker can fail, on a small synthetic tree.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THEORY_PAGE = ROOT / "docs" / "theory.md"
#: Roots scanned for citations, relative to the repository root (files or folders).
CITING_ROOTS = ("smr_stability", "tests", "benchmarks", "analysis", "docs", "README.md")
#: Generated folders, never scanned.
GENERATED = ("docs/tutorials", "docs/gallery", "site")
#: Every numbered section of the theory page.
SECTIONS = set(range(8))

_HEADING = re.compile(r"^##[ \t]+(\d+)\.[ \t]+\S", re.MULTILINE)
# "docs/theory.md" then the first section, possibly on the next line of a docstring or comment.
_CITATION = re.compile(r"docs/theory\.md[ \t]*(?:\n[ \t]*(?:#[ \t]*)?)?(?=§\d)")
# One cited item after the first: "§N", "§N(b)", a range "-§M" / "–§M", a list ", §M" / " and §M".
_ITEM = re.compile(r"§(\d+)(?:\([a-z]\))?")
_JOINER = re.compile(r"[ \t]*(-|–|,|and)[ \t]*(?=§\d)")


def theory_sections(text):
    """Section numbers of a theory page: the ``N`` of every ``## N. Title`` heading.

    Parameters
    ----------
    text : str
        Markdown source of the page.

    Returns
    -------
    set of int
    """
    return {int(n) for n in _HEADING.findall(text)}


def _cited_at(text, start):
    """Sections cited by the ``§...`` run that starts at ``text[start]``, with their offsets."""
    out = []
    pos = start
    m = _ITEM.match(text, pos)
    out.append((int(m.group(1)), m.start()))
    pos = m.end()
    while True:
        j = _JOINER.match(text, pos)
        if j is None:
            break
        m = _ITEM.match(text, j.end())
        hi = int(m.group(1))
        if j.group(1) in "-–":
            lo = out[-1][0]
            out.extend((n, m.start()) for n in range(lo + 1, hi + 1))
        else:
            out.append((hi, m.start()))
        pos = m.end()
    return out


def _files(root, roots, exclude):
    """``.py`` and ``.md`` files under ``roots`` (relative to ``root``), minus ``exclude``."""
    skip = [Path(root, e) for e in exclude]
    for r in roots:
        path = Path(root, r)
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        for f in candidates:
            if not f.is_file() or f.suffix not in (".py", ".md"):
                continue
            if any(f == s or s in f.parents for s in skip) or "__pycache__" in f.parts:
                continue
            yield f


def find_citations(root, roots, exclude=()):
    """Every section cited as ``docs/theory.md §N`` in the ``.py`` and ``.md`` files under ``roots``.

    Parameters
    ----------
    root : path-like
        Directory that ``roots`` and ``exclude`` are relative to.
    roots : iterable of str
        Files or folders to scan.
    exclude : iterable of str
        Folders (generated output) or files to skip.

    Returns
    -------
    list of (Path, int, int)
        ``(file, line, section)``, one entry per cited section: a range ``§0-§2`` gives three
        entries, a list ``§2, §3`` two. ``line`` is 1-based, the line of the ``§`` that names
        the section (or closes the range).
    """
    found = []
    for f in _files(root, roots, exclude):
        text = f.read_text(encoding="utf-8")
        for m in _CITATION.finditer(text):
            for section, offset in _cited_at(text, m.end()):
                found.append((f, text.count("\n", 0, offset) + 1, section))
    return found


def missing_sections(citations, sections):
    """The citations whose section is not among ``sections``.

    Parameters
    ----------
    citations : list of (Path, int, int)
        As returned by :func:`find_citations`.
    sections : set of int
        Sections that exist, e.g. :func:`theory_sections` of the page.

    Returns
    -------
    list of (Path, int, int)
    """
    return [c for c in citations if c[2] not in sections]


def _fmt(citations, root=ROOT):
    return "\n".join(f"{Path(f).relative_to(root)}:{line}: §{s}" for f, line, s in citations)


def test_every_cited_section_exists():
    """The repository cites only sections that ``docs/theory.md`` has, and cites each of §0-§7."""
    sections = theory_sections(THEORY_PAGE.read_text(encoding="utf-8"))
    assert sections == SECTIONS
    # This file is left out: its synthetic tree cites sections on purpose.
    citations = find_citations(ROOT, CITING_ROOTS, GENERATED + ("tests/test_theory_refs.py",))
    missing = missing_sections(citations, sections)
    assert not missing, "citations of sections docs/theory.md lacks:\n" + _fmt(missing)
    assert {c[2] for c in citations} == SECTIONS


def test_checker_flags_missing_sections(tmp_path):
    """A synthetic tree citing §5 and §1-§3 of a page with §0-§2 fails on §5 and §3 only."""
    docs = tmp_path / "docs"
    docs.mkdir()
    page = "# Theory\n\n## 0. Conventions\n\ntext\n\n## 1. Discretization\n\n## 2. Sampling\n\n### 2.1 detail\n"
    (docs / "theory.md").write_text(page, encoding="utf-8")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    module = pkg / "mod.py"
    module.write_text(
        '"""A module.\n'
        "\n"
        "The gate of docs/theory.md §5.\n"
        "The maps of docs/theory.md §1-§3, and docs/theory.md §0–§1, §2(a).\n"
        '"""\n',
        encoding="utf-8",
    )
    sections = theory_sections(page)
    assert sections == {0, 1, 2}
    citations = find_citations(tmp_path, ["pkg", "docs"])
    assert sorted(c[2] for c in citations) == [0, 1, 1, 2, 2, 3, 5]
    assert missing_sections(citations, sections) == [(module, 3, 5), (module, 4, 3)]

    # The same tree with the page completed (and a citation split over two lines) passes.
    (docs / "theory.md").write_text(page + "\n## 3. More\n\n## 4. Even more\n\n## 5. Gate\n", encoding="utf-8")
    (pkg / "other.py").write_text("# see docs/theory.md\n# §4 and §5\n", encoding="utf-8")
    citations = find_citations(tmp_path, ["pkg", "docs"])
    assert (pkg / "other.py", 2, 4) in citations and (pkg / "other.py", 2, 5) in citations
    assert missing_sections(citations, theory_sections((docs / "theory.md").read_text(encoding="utf-8"))) == []


def test_theory_page_headings_are_numbered_in_order():
    """The numbered headings of ``docs/theory.md`` run 0, 1, ..., 7 in page order."""
    numbers = [int(n) for n in _HEADING.findall(THEORY_PAGE.read_text(encoding="utf-8"))]
    assert numbers == sorted(SECTIONS)


def test_nothing_mentions_the_private_theory_file():
    """No package, test, docs, benchmark or analysis file, nor README or mkdocs.yml, names it.

    Readers of the project cannot open the file the theory page replaced, so its name must not
    appear anywhere they look; this test file is the one exception.
    """
    name = "THEORY" + ".md"
    roots = ["smr_stability", "tests", "docs", "benchmarks", "analysis", "README.md", "mkdocs.yml"]
    skip = [ROOT / e for e in GENERATED]
    here = Path(__file__).resolve()
    offenders = []
    for r in roots:
        path = ROOT / r
        for f in [path] if path.is_file() else sorted(path.rglob("*")):
            if not f.is_file() or f.resolve() == here or "__pycache__" in f.parts:
                continue
            if any(s in f.parents for s in skip):
                continue
            try:
                text = f.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue  # binary (figures, notebooks' images)
            offenders += [f"{f.relative_to(ROOT)}:{i}" for i, ln in enumerate(text.splitlines(), 1) if name in ln]
    assert not offenders, f"{name} is mentioned at:\n" + "\n".join(offenders)
