"""The documentation: public names carry docstrings, the site builds strictly, notebooks execute,
and the built site can be read without network.

The site is built once for this module (``built_site``) and its HTML checked: nothing is fetched
from outside the site, no TeX is left unrendered, no Sphinx role or double backtick shows, no
link or anchor is dead. Each check is a function, shown to fail on pages broken on purpose.
The doctests of the docstrings run through pytest's ``--doctest-modules`` (pyproject.toml).
"""

import argparse
import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import time
import types
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
import yaml

import smr_stability

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_BUDGET_S = 120.0


def _public_modules():
    """``smr_stability`` and every non-private submodule (nn included) that defines ``__all__``."""
    names = ["smr_stability"] + [
        m.name
        for m in pkgutil.walk_packages(smr_stability.__path__, "smr_stability.")
        if not any(part.startswith("_") for part in m.name.split(".")[1:])
    ]
    modules = [importlib.import_module(n) for n in names]
    return [m for m in modules if hasattr(m, "__all__")]


def _undocumented(module):
    """Public functions and classes of ``module.__all__`` (and their own public methods) without a docstring."""
    missing = []
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if not (obj.__doc__ or "").strip():
            missing.append(f"{module.__name__}.{name}")
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(value, (staticmethod, classmethod)):
                    value = value.__func__
                elif isinstance(value, property):
                    value = value.fget
                if inspect.isfunction(value) and not (value.__doc__ or "").strip():
                    missing.append(f"{module.__name__}.{name}.{attr}")
    return missing


def test_public_names_have_docstrings():
    modules = _public_modules()
    assert {
        "smr_stability",
        "smr_stability.nn",
        "smr_stability.nn.train",
        "smr_stability.nn.tasks",
        "smr_stability.experiments",
    } <= {m.__name__ for m in modules}
    missing = sorted({n for m in modules for n in _undocumented(m)})
    assert not missing, "public names without a docstring:\n  " + "\n  ".join(missing)


def test_docstring_check_flags_a_missing_docstring():
    def f():
        pass

    class K:
        """Documented class, undocumented method."""

        def method(self):
            pass

    module = types.ModuleType("fake")
    module.__all__, module.f, module.K = ["f", "K"], f, K
    assert _undocumented(module) == ["fake.f", "fake.K.method"]


def _load_build_site():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "docs" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _env(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", SMR_STABILITY_CACHE=str(tmp_path / "cache"), NO_MKDOCS_2_WARNING="1")
    return env


# ---------------------------------------------------------------------------------------------
# The built site: one build per test session, then checks on its HTML. Each check is a function
# of the HTML (or of the site folder) returning what it found wrong, and each is shown to fail
# on a small page broken on purpose.
# ---------------------------------------------------------------------------------------------

# link rel values that fetch nothing (the others, stylesheet, icon, preload, ..., are resources)
_NON_RESOURCE_RELS = {"canonical", "alternate", "prev", "next", "author", "license", "help", "bookmark", "search"}
_TEXT_SKIP = {"script", "style", "code", "pre", "math", "svg", "textarea"}
_EXTERNAL = re.compile(r"^\s*(?:[a-zA-Z][\w+.-]*:|//)")
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")
_RAW_TEX = re.compile(r"\\\(|\\\[|\$\$|\\[A-Za-z]{2,}|(?<![\w$\\])\$[^\s$](?:[^$\n]*?[^\s\\$])?\$(?![\w$])")
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|obj|exc):")


def _is_external(url):
    return bool(url) and bool(_EXTERNAL.match(url)) and not url.strip().lower().startswith("data:")


class _PageScan(HTMLParser):
    """One pass over a page: its resources, ids, links, inline CSS and scripts, and its text
    outside code, scripts and KaTeX's MathML."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.resources, self.links, self.ids, self.css, self.scripts, self.text = [], [], set(), [], [], []
        self._skipping, self._tag = [], None  # the open elements whose text is not page text

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self._tag = tag
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        rels = set(a.get("rel", "").lower().split())
        if tag == "link" and "href" in a and not rels <= _NON_RESOURCE_RELS:
            self.resources.append(f"<link rel={a.get('rel')}> {a['href']}")
        for attr in ("src", "data", "poster"):
            if attr in a and tag in ("script", "img", "iframe", "source", "video", "audio", "embed", "object", "input"):
                self.resources.append(f"<{tag} {attr}> {a[attr]}")
        if "srcset" in a:
            self.resources += [f"<{tag} srcset> {u.split()[0]}" for u in a["srcset"].split(",") if u.strip()]
        if "style" in a:
            self.css.append(a["style"])
        # mkdocs-jupyter keeps a hidden copy of each code cell's text (class clipboard-copy-txt)
        hidden = "clipboard-copy-txt" in a.get("class", "").split()
        if tag in _TEXT_SKIP or hidden or (self._skipping and tag == self._skipping[-1]):
            self._skipping.append(tag)

    def handle_startendtag(self, tag, attrs):
        depth = len(self._skipping)
        self.handle_starttag(tag, attrs)
        del self._skipping[depth:]

    def handle_endtag(self, tag):
        if self._skipping and tag == self._skipping[-1]:
            self._skipping.pop()
        self._tag = None

    def handle_data(self, data):
        if self._tag == "style":
            self.css.append(data)
        elif self._tag == "script":
            self.scripts.append(data)
        elif not self._skipping:
            self.text.append(data)


def _scan(page_html):
    scan = _PageScan()
    scan.feed(page_html)
    scan.close()
    return scan


def css_external_urls(css):
    """External ``url(...)`` and ``@import`` targets of a stylesheet."""
    return [u for m in _CSS_URL.finditer(css) for u in m.groups() if u and _is_external(u)]


def external_resources(page_html):
    """Resources a page would fetch from outside the site: script src, link href (stylesheets, icons,
    preload, preconnect; not canonical/alternate), img/iframe/source src, url() and @import of
    its inline CSS, and ``import("http...")`` in its inline scripts. Plain links are not resources."""
    scan = _scan(page_html)
    found = [r for r in scan.resources if _is_external(r.split(" ", 2)[-1])]
    found += [f"css {u}" for css in scan.css for u in css_external_urls(css)]
    found += [f"script import {u}" for s in scan.scripts for u in re.findall(r"""import\(\s*['"]([^'"]+)""", s)]
    return [f for f in found if not f.startswith("script import") or _is_external(f.split(" ", 2)[-1])]


def raw_tex(page_html):
    """Unrendered TeX in the text of a page (outside code, scripts and KaTeX's MathML):
    ``\\(``, ``\\[``, ``$$``, ``$...$``, TeX commands like ``\\frac``, and arithmatex elements
    that hold no KaTeX output."""
    found = [m.group(0) for t in _scan(page_html).text for m in _RAW_TEX.finditer(t)]
    found += [
        m.group(0)
        for m in re.finditer(r'<(?:span|div) class="arithmatex">(?!\s*<span class="katex)[^<]{0,40}', page_html)
    ]
    return found


def docstring_roles(page_html):
    """Sphinx roles (``:func:`` ...) and literal double backticks in a page's text outside code."""
    text = _scan(page_html).text
    return [m.group(0) for t in text for m in _ROLE.finditer(t)] + ["``" for t in text if "``" in t]


def dead_links(site):
    """Links and resources of the site's pages that point at nothing: ``#x`` with no ``id="x"`` on
    the page, ``page.html#x`` with no such id in that page, and relative paths to missing files.
    The 404 page's root-absolute paths resolve against the site root."""
    site = Path(site)
    scans = {p: _scan(p.read_text(encoding="utf-8")) for p in sorted(site.rglob("*.html"))}
    dead = []
    for page, scan in scans.items():
        urls = scan.links + [r.split(" ", 2)[-1] for r in scan.resources]
        for url in urls:
            if not url or url == "#" or _EXTERNAL.match(url):  # external, data:, mailto:
                continue
            path, _, fragment = url.partition("#")
            path = unquote(path.split("?")[0])
            if not path:
                target = page
            elif path.startswith("/"):
                target = site / path.lstrip("/")
            else:
                target = (page.parent / path).resolve()
            if target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(site)}: {url}"
            if not target.exists():
                dead.append(f"{where} (no file)")
            elif fragment and target.suffix == ".html":
                ids = scans[target].ids if target in scans else _scan(target.read_text(encoding="utf-8")).ids
                if unquote(fragment) not in ids:
                    dead.append(f"{where} (no id)")
    return dead


@pytest.fixture(scope="module")
def built_site(tmp_path_factory, notebook_cache):
    """`python docs/build_site.py` once for this module: the site folder and the build's output."""
    tmp = tmp_path_factory.mktemp("docs_site")
    site = tmp / "site"
    notebooks = sorted(p.stem for p in (ROOT / "docs" / "notebooks").glob("*.py"))  # before the build runs
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "docs/build_site.py", "--site", str(site), "--timeout", str(NOTEBOOK_BUDGET_S)],
        cwd=ROOT,
        env=_env(tmp) | {"SMR_STABILITY_CACHE": str(notebook_cache)},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    return types.SimpleNamespace(
        site=site,
        rc=proc.returncode,
        out=proc.stdout + proc.stderr,
        notebooks=notebooks,
        seconds=time.perf_counter() - start,
    )


def _pages(built):
    assert built.rc == 0, built.out[-6000:]
    return {p.relative_to(built.site).as_posix(): p.read_text(encoding="utf-8") for p in built.site.rglob("*.html")}


def test_site_builds_strictly_and_every_notebook_executes(built_site):
    """The CI check: `python docs/build_site.py` executes every notebook and builds the site."""
    site, out = built_site.site, built_site.out
    assert built_site.rc == 0, out[-6000:]
    pages = ["index.html", "install.html", "theory.html", "conventions.html", "gallery.html", "cli.html"]
    pages += ["api/index.html", "404.html"]
    pages += [f"api/{p}.html" for p in ("models", "simulation", "divergence", "lyapunov", "symbolic", "nn", "figures")]
    for page in pages:
        assert (site / page).is_file(), page
    api = (site / "api" / "lyapunov.html").read_text()
    assert 'id="smr_stability.bounds.gamma_star"' in api and 'id="smr_stability.lyapunov.dlyap"' in api
    cli = (site / "cli.html").read_text()
    for command in ("figures", "verify-theorem1", "analyze", "train", "evaluate"):
        assert f"smr-stability {command}" in cli
    assert "spectral_radius" in cli and "wrote run/evaluation.csv" in cli  # the examples' real output
    times = {name: float(s) for name, s in re.findall(r"notebook (\S+): executed in ([\d.]+) s", out)}
    assert set(built_site.notebooks) <= set(times), out[-3000:]  # one more may have been added meanwhile
    for name in times:
        assert (site / "tutorials" / f"{name}.html").is_file(), name
        assert (site / "tutorials" / f"{name}.ipynb").is_file(), name  # the download
        assert f'href="{name}.ipynb"' in (site / "tutorials" / f"{name}.html").read_text()
        assert times[name] < NOTEBOOK_BUDGET_S, f"notebook {name} took {times[name]:.1f} s"
    assert "<loc>https://" in (site / "sitemap.xml").read_text()  # site_url fills the sitemap
    assert list((site / "assets" / "katex" / "fonts").glob("*.woff2"))


def test_site_fetches_nothing_from_outside(built_site):
    pages = _pages(built_site)
    found = {name: external_resources(text) for name, text in pages.items()}
    found |= {
        css.relative_to(built_site.site).as_posix(): css_external_urls(css.read_text(encoding="utf-8"))
        for css in built_site.site.rglob("*.css")
    }
    assert not {k: v for k, v in found.items() if v}


def test_site_has_no_raw_tex(built_site):
    pages = _pages(built_site)
    assert "katex" in pages["theory.html"] and "katex" in pages["tutorials/04_smr.html"]
    found = {name: raw_tex(text)[:5] for name, text in pages.items()}
    assert not {k: v for k, v in found.items() if v}


def test_site_has_no_dead_links(built_site):
    _pages(built_site)
    assert dead_links(built_site.site) == []


def test_site_has_no_docstring_roles(built_site):
    pages = _pages(built_site)
    found = {name: sorted(set(docstring_roles(text))) for name, text in pages.items()}
    assert not {k: v for k, v in found.items() if v}


def test_checks_fail_on_broken_pages(tmp_path):
    """Each check finds what a page broken on purpose gets wrong, and accepts the correct forms."""
    bad = """<html><head>
      <link rel="stylesheet" href="https://fonts.example.com/css">
      <link rel="preconnect" href="https://fonts.gstatic.com">
      <link rel="canonical" href="https://smr-stability.example.io/page.html">
      <script src="https://cdn.example.com/mathjax.js"></script>
      <style>@font-face{src:url(https://fonts.example.com/a.woff2)}</style>
      <script type="module">await import("https://cdn.example.com/mermaid.mjs")</script>
      </head><body>
      <img src="//img.example.com/a.png"><a href="https://arxiv.org/abs/2405.17534">paper</a>
      <img src="data:image/png;base64,AAAA"><script src="assets/local.js"></script>
      </body></html>"""
    found = external_resources(bad)
    assert len(found) == 6, found
    assert not any("canonical" in f or "arxiv" in f or "data:" in f or "local.js" in f for f in found)
    assert css_external_urls('@import "https://x.example/y.css"; a{b:url(https://x.example/f.woff2)}') == [
        "https://x.example/y.css",
        "https://x.example/f.woff2",
    ]
    assert css_external_urls('a{b:url(fonts/KaTeX_Main-Regular.woff2)} c{d:url("data:image/svg+xml;x")}') == []

    for tex in (r"<p>raw \(x\) here</p>", r"<p>\frac{a}{b}</p>", "<p>$$x^2$$</p>", r"<p>the $\tau$ here</p>"):
        assert raw_tex(tex), tex
    assert raw_tex(r'<div class="arithmatex">\[x\]</div>')
    assert raw_tex('<span class="arithmatex">x</span>')
    rendered = (
        '<span class="arithmatex"><span class="katex"><math><annotation encoding="application/x-tex">'
        r"\frac{a}{b}</annotation></math><span class=\"katex-html\">a/b</span></span></span>"
    )
    fine = rendered + r"<code>\(x\)</code><pre>$$ \frac{1}{2} $$</pre><p>costs $5 and $6, C:\\ ok</p>"
    assert raw_tex(fine) == []

    assert docstring_roles("<p>see :func:<code>simulate</code> and :class:<code>SSM</code></p>") == [
        ":func:",
        ":class:",
    ]
    assert docstring_roles("<p>the ``dt`` step</p>") == ["``"]
    assert docstring_roles("<p>see <code>simulate()</code></p><pre>x = ``y``</pre>") == []

    site = tmp_path / "site"
    (site / "sub").mkdir(parents=True)
    (site / "a.html").write_text(
        '<h2 id="here">H</h2><a href="#here">ok</a><a href="#nowhere">dead</a>'
        '<a href="sub/b.html#there">ok</a><a href="sub/b.html#missing">dead</a><a href="gone.html">dead</a>'
        '<img src="img/missing.png"><a href="https://example.org/#x">external</a>'
    )
    (site / "sub" / "b.html").write_text('<h2 id="there">B</h2><a href="../a.html#here">ok</a>')
    assert dead_links(site) == [
        "a.html: #nowhere (no id)",
        "a.html: sub/b.html#missing (no id)",
        "a.html: gone.html (no file)",
        "a.html: img/missing.png (no file)",
    ]


# ---------------------------------------------------------------------------------------------
# The pieces of the build, without building
# ---------------------------------------------------------------------------------------------


def _load_hooks():
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_math_is_found_outside_code_and_replaced():
    hooks = _load_hooks()
    page = (
        '<title>\\(t\\)</title><p>a <span class="arithmatex">\\(x &lt; 1\\)</span></p>'
        '<div class="arithmatex">\\[\\frac{a}{b}\\]</div><code>\\(no\\)</code><pre>$$no$$</pre>'
        "<script>var s = '\\\\(no\\\\)';</script><p>$\\tau$ and $$y$$, not $5 or $6</p>"
        '<div class="clipboard-copy-txt" id="cell-1">s = "$no$"</div>'
    )
    assert [(tex, d) for _, _, tex, d in hooks.find_math(page)] == [("x < 1", False), ("\\frac{a}{b}", True)]
    found = [(tex, d) for _, _, tex, d in hooks.find_math(page, dollars=True)]
    assert found == [("x < 1", False), ("\\frac{a}{b}", True), ("\\tau", False), ("y", True)]

    class Fake:
        def render(self, formulas):
            return [(True, f"<K{'d' if d else ''}>{t}</K{'d' if d else ''}>") for t, d in formulas]

    out = hooks.render_math(page, Fake(), "page.html", dollars=True)
    assert "<K>x < 1</K>" in out and "<Kd>\\frac{a}{b}</Kd>" in out and "<K>\\tau</K> and <Kd>y</Kd>," in out
    assert "<code>\\(no\\)</code>" in out and "<pre>$$no$$</pre>" in out and "not $5 or $6" in out

    class Rejects:
        def render(self, formulas):
            return [(False, "Undefined control sequence") for _ in formulas]

    with pytest.raises(hooks.KatexError, match=r"(?s)page\.html.*x < 1.*Undefined control sequence"):
        hooks.render_math(page, Rejects(), "page.html")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_katex_renders_and_rejects():
    """The real KaTeX (from its cache folder; fetched there when missing) through one node process."""
    hooks = _load_hooks()
    renderer = hooks.KatexRenderer(hooks.ensure_katex())
    try:
        (ok, inline), (ok2, display), (bad, message) = renderer.render(
            [("\\bar A = e^{\\Delta A}", False), ("\\sum_{k=0}^{L-1} x_k", True), ("\\nocommand{x}", False)]
        )
    finally:
        renderer.close()
    assert ok and ok2 and not bad
    assert inline.startswith('<span class="katex">') and 'class="katex-display"' in display
    assert "nocommand" in message
    css = hooks.katex_css(hooks.ensure_katex())
    assert ".woff2" in css and ".ttf" not in css and not css_external_urls(css)


def test_notebook_toc_follows_the_headings_and_drops_the_loaders():
    hooks = _load_hooks()
    content = (
        '<script src=""> </script>\n<!-- Load mathjax -->\n<script>MathJax.Hub.Config({})</script>\n'
        "<!-- End of mathjax configuration -->"
        '<script type="module">const m = await import("https://cdn.example/mermaid.mjs")</script>'
        '<h1 id="1-title">1. Title<a class="anchor-link" href="#1-title">¶</a></h1>'
        '<h2 id="from-a-b-to-ab-bb">From <code>(A, B)</code> to <code>(Ab, Bb)</code>'
        '<a class="anchor-link" href="#from-a-b-to-ab-bb">¶</a></h2><h3 id="sub">Sub &amp; more</h3>'
        '<h2 id="exercises">Exercises</h2>'
    )
    cleaned = hooks.clean_notebook(content, "01_x.ipynb")
    assert "mathjax" not in cleaned.lower() and "mermaid" not in cleaned and 'src=""' not in cleaned
    assert cleaned.index('href="01_x.ipynb"') > cleaned.index("</h1>")
    toc = hooks.notebook_toc(cleaned)
    (title,) = toc
    assert [(t.title, t.id) for t in title.children] == [
        ("From (A, B) to (Ab, Bb)", "from-a-b-to-ab-bb"),
        ("Exercises", "exercises"),
    ]
    assert [(t.title, t.id) for t in title.children[0].children] == [("Sub &amp; more", "sub")]


def test_theory_mentions_become_links():
    hooks = _load_hooks()
    anchors = hooks.theory_anchors((ROOT / "docs" / "theory.md").read_text())
    assert anchors[4] == "4-theorem-1-a-relative-bound-on-the-sampling-error" and set(anchors) == set(range(8))
    unknown = "docs/theory.md " + "§9"  # a section the page lacks (split: tests/test_theory_refs.py reads this file)
    html = (
        f"<p>V1-V3 of docs/theory.md §4, the <code>docs/theory.md</code> §3 and {unknown} and"
        " docs/theory.md.</p><pre>docs/theory.md §4</pre>"
    )
    out = hooks.link_theory(html, "../theory.html", anchors)
    assert f'<a href="../theory.html#{anchors[4]}">theory §4</a>' in out
    assert f'<a href="../theory.html#{anchors[3]}">theory §3</a>' in out
    assert '<a href="../theory.html">the theory page §9</a>' in out
    assert '<a href="../theory.html">the theory page</a>.' in out
    assert "<pre>docs/theory.md §4</pre>" in out
    linked = '<a href="../theory.html#x">docs/theory.md §4</a>'  # a link already: left alone
    assert hooks.link_theory(linked, "../theory.html", anchors) == linked


def test_notebook_links_to_sources_point_at_pages(caplog):
    hooks = _load_hooks()
    urls = {"theory.md": "theory.html", "tutorials/02_nss.ipynb": "tutorials/02_nss.html"}

    def find(path):
        return types.SimpleNamespace(url=urls[path]) if path in urls else None

    content = (
        '<a href="../theory.md#4-theorem-1">T</a> <a href="02_nss.ipynb">N</a> '
        '<a href="https://example.org/x.md">E</a> <a href="../missing.md#y">M</a>'
    )
    with caplog.at_level("WARNING"):
        out = hooks.link_pages(content, "tutorials/01_x.ipynb", "tutorials/01_x.html", find)
    assert '<a href="../theory.html#4-theorem-1">T</a>' in out and '<a href="02_nss.html">N</a>' in out
    assert 'href="https://example.org/x.md"' in out and 'href="../missing.md#y"' in out
    assert "../missing.md" in caplog.text


def test_gallery_keeps_the_summary_and_one_data_link():
    build_site = _load_build_site()
    doc = (
        "Figure 1: the drift.\n\nThe model of :func:`~smr_stability.experiments.studies.reference_run`;"
        " see :data:`METHODS`.\n\n    ``e_k = Ab e_{k-1}``\n\nData: ``nss.json`` with the runs and ``nss.csv``.\n\n"
        "Parameters\n----------\nout_dir : str\n\nReturns\n-------\nlist of str\n\nNotes\n-----\nMore."
    )
    summary = build_site.figure_summary(doc)
    assert "Parameters" not in summary and "Returns" not in summary and "More." not in summary
    assert "`reference_run()`" in summary and "`METHODS`" in summary and ":func:" not in summary
    assert "    e_k = Ab e_{k-1}" in summary
    text, linked = build_site._link_data(summary, "nss")
    assert linked and text.count("gallery/nss.json") == 1 and "``nss.csv``" in text
    assert build_site._link_data("No data mentioned.", "nss") == ("No data mentioned.", False)


def test_cli_page_tables_every_option(tmp_path, monkeypatch):
    build_site = _load_build_site()
    monkeypatch.setattr(build_site, "DOCS", tmp_path)
    examples = [(None, ["smr-stability", "--version"], "smr-stability 0.1.0")]
    examples += [("analyze", ["smr-stability", "analyze", "--model", "s4d-lin"], "spectral_radius  0.98")]
    build_site.write_cli(examples)
    page = (tmp_path / "cli.md").read_text()
    from smr_stability.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, p in sub.choices.items():
        assert f"## `smr-stability {name}`" in page
        for action in p._actions:
            for option in action.option_strings or [action.dest]:
                if option not in ("-h", "--help"):
                    assert f"`{option}`" in page, (name, option)
    assert "$ smr-stability analyze --model s4d-lin\nspectral_radius  0.98" in page
    assert "More invocations:" in page  # the analyze epilog's examples
    assert "| `--task` | `sines` \\| `pendulum` | required |" in page
    assert "| `--tau` | `N`" not in page and "| `--tau` | `TAU` | `4` |" in page


@pytest.mark.parametrize(
    "link", ["[gone](missing.md)", "[abs](/somewhere/page.md)", "[anchor](other.md#nowhere)", "[raw](other)"]
)
def test_strict_build_fails_on_a_bad_link(tmp_path, link):
    """The project's mkdocs.yml (its own `strict` and `validation`, no --strict flag) rejects bad links."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "other.md").write_text("# Other\n\nA page.\n")
    config.update(
        docs_dir=str(docs),
        site_dir=str(tmp_path / "site"),
        nav=["index.md", "other.md"],
        hooks=[str(ROOT / p) for p in config.get("hooks", [])],
        extra_javascript=[],
    )
    cfg = tmp_path / "mkdocs.yml"
    cfg.write_text(yaml.safe_dump(config))

    # No -q: mkdocs -q drops warnings before the strict counter sees them, and the build "passes".
    def build(text):
        (docs / "index.md").write_text(f"# Home\n\n{text}\n")
        return subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "-f", str(cfg)],
            cwd=tmp_path,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=300,
        )

    good = build("[fine](other.md)")
    assert good.returncode == 0, good.stderr[-3000:]
    bad = build(link)
    assert bad.returncode != 0, f"{link} passed the strict build"
    assert "strict" in bad.stderr.lower() or "warning" in bad.stderr.lower()


def test_failing_notebook_is_named_with_its_cell(tmp_path, monkeypatch):
    """A notebook that raises stops the build with the notebook, the cell and the script line named."""
    build_site = _load_build_site()
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "01_ok.py").write_text("# %% [markdown]\n# # OK\n\n# %%\nx = 1 + 1\nx\n")
    (notebooks / "02_broken.py").write_text("# %%\ny = 2\n\n# %%\nraise ValueError('boom')\n")
    monkeypatch.setattr(build_site, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(build_site, "TUTORIALS", tmp_path / "tutorials")
    for key, value in _env(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))  # restored after the test
    with pytest.raises(build_site.NotebookError) as info:
        build_site.execute_notebooks(timeout=60)
    message = str(info.value)
    assert "02_broken.py" in message and "code cell 2" in message and "line 5" in message and "boom" in message
    assert (tmp_path / "tutorials" / "01_ok.ipynb").is_file()
