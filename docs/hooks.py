"""mkdocs hooks: the notebook pages, offline math, and links to the theory page.

``docs/build_site.py`` writes the executed notebooks to ``docs/tutorials/NAME.ipynb``; which ones
exist depends on ``docs/notebooks/*.py``, so the nav cannot list them statically. The hooks

* fill the nav's "Tutorials" section with them (dropped when there are none);
* clean each notebook page: drop the MathJax and mermaid loaders mkdocs-jupyter inlines (both
  fetch scripts from CDNs), point its links to other sources (``../theory.md#x``) at their
  pages as mkdocs does for markdown, rebuild its table of contents from the headings the page
  really has (mkdocs-jupyter computes it from a markdown copy whose anchors differ when a title
  holds inline code), and add a link to download the executed ``.ipynb`` (copied next to the
  page by mkdocs-jupyter's ``include_source``);
* render every formula to HTML at build time with KaTeX, so that the site shows its mathematics
  without network and without JavaScript: the ``\\(...\\)`` and ``\\[...\\]`` of
  pymdownx.arithmatex on markdown pages and docstrings, and on notebook pages also the
  ``$...$`` and ``$$...$$`` of markdown cells and of ``text/latex`` outputs
  (``display(Math(...))``, sympy). KaTeX (pinned below, checked against its registry
  integrity hash) is fetched once into a cache folder; its stylesheet and woff2 fonts are
  served from ``assets/katex/``. A formula KaTeX rejects, a missing ``node`` or a missing
  KaTeX stops the build with the page and the formula named;
* turn the mentions ``docs/theory.md §N`` in generated text (docstrings, CLI help) into links
  to that section of the theory page.
"""

import base64
import hashlib
import html
import io
import json
import logging
import os
import posixpath
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote

import markdown
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File
from mkdocs.structure.toc import get_toc
from mkdocs.utils import get_relative_url

KATEX_VERSION = "0.19.1"
# dist.integrity of katex@0.19.1 in the npm registry (sha512 of the tarball).
KATEX_INTEGRITY = "sha512-jG8uKntjSEcm2EpQOh0XturpPuuC9r3Sq5HLHdsFdWZT27E672SF19QEi+of0/YeOy15lDgRhKvr5614uRrEfA=="
KATEX_TARBALL = f"https://registry.npmjs.org/katex/-/katex-{KATEX_VERSION}.tgz"
KATEX_SITE_DIR = "assets/katex"
log = logging.getLogger("mkdocs.hooks.smr_docs")  # under "mkdocs": its warnings count in strict mode


class KatexError(RuntimeError):
    """KaTeX cannot be fetched or run, or it rejects a formula."""


# ---------------------------------------------------------------------------------------------
# KaTeX: the pinned copy in the cache, and one node process that renders for the whole build
# ---------------------------------------------------------------------------------------------


def katex_dir():
    """Folder of the cached KaTeX: ``$SMR_STABILITY_KATEX_DIR``, else ``~/.cache/smr_stability/katex-VERSION``."""
    if os.environ.get("SMR_STABILITY_KATEX_DIR"):
        return Path(os.environ["SMR_STABILITY_KATEX_DIR"])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "smr_stability" / f"katex-{KATEX_VERSION}"


def _katex_complete(folder):
    stamp = folder / ".integrity"
    return (
        stamp.is_file()
        and stamp.read_text().strip() == KATEX_INTEGRITY
        and (folder / "katex.min.js").is_file()
        and (folder / "katex.min.css").is_file()
        and any((folder / "fonts").glob("*.woff2"))
    )


def ensure_katex():
    """Return the folder holding KaTeX (``katex.min.js``, ``katex.min.css``, ``fonts/*.woff2``).

    The first call downloads the pinned tarball from the npm registry, checks it against
    ``KATEX_INTEGRITY`` and unpacks only those files (and the licence); later calls reuse it.
    """
    folder = katex_dir()
    if _katex_complete(folder):
        return folder
    try:
        with urllib.request.urlopen(KATEX_TARBALL, timeout=60) as response:
            data = response.read()
    except OSError as exc:
        raise KatexError(
            f"KaTeX {KATEX_VERSION} is not in {folder} and could not be downloaded from {KATEX_TARBALL} "
            f"({exc}). The site renders its formulas with it at build time: build once with network, "
            "or unpack that tarball's dist/ folder (katex.min.js, katex.min.css, fonts/) and its LICENSE "
            f"into a folder, write {KATEX_INTEGRITY!r} to .integrity there, and set SMR_STABILITY_KATEX_DIR to it."
        ) from None
    algorithm, expected = KATEX_INTEGRITY.split("-", 1)
    found = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if found != expected:
        raise KatexError(f"{KATEX_TARBALL}: integrity {algorithm}-{found}, expected {KATEX_INTEGRITY}; not used.")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".katex-{KATEX_VERSION}-", dir=folder.parent))
    try:
        (tmp / "fonts").mkdir()
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                name = member.name
                if name in ("package/dist/katex.min.js", "package/dist/katex.min.css", "package/LICENSE"):
                    target = tmp / Path(name).name
                elif re.fullmatch(r"package/dist/fonts/KaTeX_[\w-]+\.woff2", name):
                    target = tmp / "fonts" / Path(name).name
                else:
                    continue
                target.write_bytes(tar.extractfile(member).read())
        (tmp / ".integrity").write_text(KATEX_INTEGRITY + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return folder


def katex_css(folder):
    """KaTeX's stylesheet with only the woff2 fonts (every browser that reads this site has them)."""
    css = (folder / "katex.min.css").read_text(encoding="utf-8")
    css = re.sub(r'(url\(fonts/[\w-]+\.woff2\) format\("woff2"\))(?:,url\([^)]*\) format\("[\w-]+"\))+', r"\1", css)
    missing = sorted({u for u in re.findall(r"url\(([^)]*)\)", css) if not (folder / u).is_file()})
    if missing:
        raise KatexError(f"katex.min.css still refers to files not in {folder}: {missing}")
    return css


# One line of JSON in ([[tex, display], ...]), one line out ([[ok, html or message], ...]).
_NODE_SCRIPT = r"""
const katex = require(process.argv[1]);
const lines = require("readline").createInterface({input: process.stdin, crlfDelay: Infinity});
lines.on("line", (line) => {
  const out = JSON.parse(line).map(([tex, display]) => {
    try {
      return [true, katex.renderToString(tex, {displayMode: display, throwOnError: true, strict: "ignore"})];
    } catch (err) {
      return [false, String(err && err.message ? err.message : err)];
    }
  });
  process.stdout.write(JSON.stringify(out) + "\n");
});
"""


class KatexRenderer:
    """A ``node`` process running KaTeX; ``render`` sends one batch of formulas and reads the HTML back."""

    def __init__(self, folder):
        node = shutil.which(os.environ.get("NODE", "node"))
        if node is None:
            raise KatexError(
                "node (Node.js) is needed to render the site's formulas with KaTeX at build time; "
                "found none on PATH (or in $NODE). Install Node.js 16 or newer."
            )
        self.proc = subprocess.Popen(
            [node, "-e", _NODE_SCRIPT, str(folder / "katex.min.js")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def render(self, formulas):
        """HTML of each ``(tex, display)`` in ``formulas``; ``(False, message)`` for those KaTeX rejects."""
        if not formulas:
            return []
        try:
            self.proc.stdin.write(json.dumps([[t, bool(d)] for t, d in formulas]) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except OSError:
            line = ""
        if not line:
            raise KatexError(f"the node process running KaTeX stopped (exit status {self.proc.poll()})")
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------------------------
# Finding the formulas in a page
# ---------------------------------------------------------------------------------------------

# Elements whose text is never mathematics: code, scripts, the MathML KaTeX writes, the title
# (and mkdocs-jupyter's hidden copy of each code cell, class "clipboard-copy-txt").
_SKIP = {"code", "pre", "script", "style", "textarea", "kbd", "samp", "math", "svg", "title"}
_RAW = {"script", "style", "textarea", "title"}  # their text is not HTML: only the end tag counts
_TAG = re.compile(r"<!--.*?-->|<(/?)([a-zA-Z][\w:-]*)\b[^>]*?(/?)>", re.S)
_BRACKETS = r"\\\[(?P<bd>.+?)\\\]|\\\((?P<bi>.+?)\\\)"
_DOLLARS = r"\$\$(?P<dd>.+?)\$\$|(?<![\\$\w])\$(?=[^\s$])(?P<di>[^$]+?)(?<=[^\s\\])\$(?![\w$])"
_MATH = re.compile(_BRACKETS, re.S)
_MATH_DOLLARS = re.compile(_DOLLARS + "|" + _BRACKETS, re.S)


def text_segments(page_html, skip=_SKIP):
    """``(start, end)`` of every run of text outside tags and outside the elements of ``skip``."""
    segments, stack, pos = [], [], 0
    while pos < len(page_html):
        if stack and stack[-1] in _RAW:
            end = re.compile(rf"</{stack[-1]}\s*>", re.I).search(page_html, pos)
            pos = end.end() if end else len(page_html)
            stack.pop()
            continue
        m = _TAG.search(page_html, pos)
        stop = m.start() if m else len(page_html)
        if stop > pos and not stack:
            segments.append((pos, stop))
        if not m:
            break
        pos = m.end()
        closing, name, selfclosing = m.group(1), (m.group(2) or "").lower(), m.group(3)
        if closing:
            if name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name) :]
        elif (name in skip or "clipboard-copy-txt" in m.group(0)) and not selfclosing:
            stack.append(name)  # the clipboard-copy-txt div is a code cell's text, kept for copying
    return segments


def find_math(page_html, dollars=False):
    """``(start, end, tex, display)`` of every formula in the text of ``page_html``.

    Always ``\\(...\\)`` (inline) and ``\\[...\\]`` (display); with ``dollars`` also ``$...$``
    and ``$$...$$`` (notebook pages). The TeX is unescaped from HTML.
    """
    pattern = _MATH_DOLLARS if dollars else _MATH
    found = []
    for start, end in text_segments(page_html):
        for m in pattern.finditer(page_html, start, end):
            kind = m.lastgroup
            tex = m.group(kind)
            if kind == "di" and "\n\n" in tex:
                continue
            found.append((m.start(), m.end(), html.unescape(tex).strip(), kind in ("dd", "bd")))
    return found


def render_math(page_html, renderer, where, dollars=False):
    """``page_html`` with every formula replaced by KaTeX's HTML; KatexError names the rejected ones."""
    found = find_math(page_html, dollars)
    if not found:
        return page_html
    results = renderer.render([(tex, display) for _, _, tex, display in found])
    errors = [f"  {tex!r}: {msg}" for (_, _, tex, _), (ok, msg) in zip(found, results) if not ok]
    if errors:
        raise KatexError(f"KaTeX rejected {len(errors)} formula(s) on {where}:\n" + "\n".join(errors))
    parts, pos = [], 0
    for (start, end, _, _), (_, rendered) in zip(found, results):
        parts += [page_html[pos:start], rendered]
        pos = end
    parts.append(page_html[pos:])
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# Notebook pages
# ---------------------------------------------------------------------------------------------

_HEADING = re.compile(r'<h([1-6])\b[^>]*\bid="([^"]+)"[^>]*>(.*?)</h\1\s*>', re.S | re.I)
_LOADERS = [
    re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S),
    re.compile(r'<script type="module">(?:(?!</script>).)*?mermaid.*?</script>', re.S),
    re.compile(r'<script src="">\s*</script>'),
]


def _text(fragment):
    """The text of an HTML fragment, without the permalink anchors and with entities decoded."""
    fragment = re.sub(r'<a\b[^>]*class="[^"]*anchor-link[^"]*"[^>]*>.*?</a>', "", fragment, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


def notebook_toc(content):
    """Table of contents from the headings of a rendered notebook, nested by level."""
    root = {"level": 0, "children": []}
    stack = [root]
    for m in _HEADING.finditer(content):
        token = {"level": int(m.group(1)), "id": m.group(2), "name": html.escape(_text(m.group(3))), "children": []}
        while stack[-1]["level"] >= token["level"]:
            stack.pop()
        stack[-1]["children"].append(token)
        stack.append(token)
    return get_toc(root["children"])


_PAGE_LINK = re.compile(r'(<a\b[^>]*?\bhref=")([^"#?:]+\.(?:md|ipynb))((?:#[^"]*)?")')


def link_pages(content, src_uri, url, find):
    """Point the links of a notebook page to other sources (``../theory.md#x``, ``02_nss.ipynb``)
    at their pages, as mkdocs does for markdown pages. ``src_uri`` and ``url`` are the notebook's
    own, ``find(path)`` the File of a docs path or None; a link to nothing is logged as a warning
    (which fails the strict build)."""

    def repl(m):
        target = posixpath.normpath(posixpath.join(posixpath.dirname(src_uri), unquote(m.group(2))))
        file = find(target)
        if file is None:
            log.warning("Doc file '%s' contains a link '%s', but there is no such page.", src_uri, m.group(2))
            return m.group(0)
        return m.group(1) + html.escape(get_relative_url(file.url, url)) + m.group(3)

    return _PAGE_LINK.sub(repl, content)


def clean_notebook(content, ipynb_name):
    """Drop the CDN loaders and add the download link (after the title, or first)."""
    for loader in _LOADERS:
        content = loader.sub("", content)
    link = (
        f'<p class="smr-download"><a href="{html.escape(ipynb_name)}" download>'
        f"Download this notebook ({html.escape(ipynb_name)})</a>, executed as shown here.</p>"
    )
    title = re.search(r"</h1\s*>", content)
    if title:
        return content[: title.end()] + link + content[title.end() :]
    return link + content


# ---------------------------------------------------------------------------------------------
# Links to the theory page
# ---------------------------------------------------------------------------------------------

_THEORY_MENTION = re.compile(r"(?:<code>)?docs/theory\.md(?:</code>)?(?P<tail>(?:'s)?,?\s+§\s?(?P<n>\d+))?")


def theory_anchors(theory_md):
    """``{section number: heading id}`` of the numbered sections of the theory page."""
    md = markdown.Markdown(extensions=["toc"])
    md.convert(theory_md)
    anchors = {}

    def walk(tokens):
        for t in tokens:
            m = re.match(r"(\d+)\.", t["name"])
            if m:
                anchors.setdefault(int(m.group(1)), t["id"])
            walk(t["children"])

    walk(md.toc_tokens)
    return anchors


def link_theory(content, url, anchors):
    """Replace ``docs/theory.md §N`` in the text of ``content`` by a link to ``url#section``."""
    content = content.replace("<code>docs/theory.md</code>", "docs/theory.md")
    segments = text_segments(content, skip=_SKIP | {"a"})  # not inside a link already
    out, pos = [], 0
    for start, end in segments:
        for m in _THEORY_MENTION.finditer(content, start, end):
            n = int(m.group("n")) if m.group("n") else None
            if n is not None and n in anchors:
                href, label = f"{url}#{anchors[n]}", f"theory §{n}"
            else:
                href, label = url, "the theory page"
                if m.group("tail"):
                    label += m.group("tail")
            out += [content[pos : m.start()], f'<a href="{html.escape(href)}">{html.escape(label)}</a>']
            pos = m.end()
    out.append(content[pos:])
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# The mkdocs events
# ---------------------------------------------------------------------------------------------

_state = {}


def _is_notebook(page):
    return page.file.src_uri.endswith(".ipynb")


def on_config(config):
    """Fill the nav's Tutorials section, fetch KaTeX and link its stylesheet."""
    tutorials = sorted(Path(config["docs_dir"], "tutorials").glob("*.ipynb"))
    pages = [f"tutorials/{p.name}" for p in tutorials]
    nav = []
    for item in config["nav"] or []:
        if isinstance(item, dict) and "Tutorials" in item:
            if pages:
                nav.append({"Tutorials": pages})
            continue
        nav.append(item)
    config["nav"] = nav
    try:
        _state["katex"] = ensure_katex()
    except KatexError as exc:
        raise PluginError(str(exc)) from None
    css = f"{KATEX_SITE_DIR}/katex.min.css"
    if css not in config["extra_css"]:
        config["extra_css"].insert(0, css)
    return config


def on_files(files, config):
    """Add KaTeX's stylesheet and fonts to the site; read the theory page's section anchors."""
    folder = _state["katex"]
    try:
        files.append(File.generated(config, f"{KATEX_SITE_DIR}/katex.min.css", content=katex_css(folder)))
    except KatexError as exc:
        raise PluginError(str(exc)) from None
    for font in sorted((folder / "fonts").glob("*.woff2")):
        files.append(File.generated(config, f"{KATEX_SITE_DIR}/fonts/{font.name}", abs_src_path=str(font)))
    files.append(File.generated(config, f"{KATEX_SITE_DIR}/LICENSE", abs_src_path=str(folder / "LICENSE")))
    theory = files.get_file_from_path("theory.md")
    _state["theory"] = theory
    _state["anchors"] = theory_anchors(Path(theory.abs_src_path).read_text(encoding="utf-8")) if theory else {}
    return files


def on_page_content(content, page, config, files):
    """Clean the notebook pages and link the theory mentions."""
    if _is_notebook(page):
        content = link_pages(content, page.file.src_uri, page.file.url, files.get_file_from_path)
        content = clean_notebook(content, Path(page.file.src_uri).name)  # after: its link is to the .ipynb
        page.toc = notebook_toc(content)
    theory = _state.get("theory")
    if theory is not None and page.file is not theory and "docs/theory.md" in content:
        content = link_theory(content, theory.url_relative_to(page.file), _state["anchors"])
    return content


def on_post_page(output, page, config):
    """Render the page's formulas (its content, table of contents and navigation) with KaTeX."""
    if "renderer" not in _state:
        try:
            _state["renderer"] = KatexRenderer(_state["katex"])
        except KatexError as exc:
            raise PluginError(str(exc)) from None
    start = time.perf_counter()
    try:
        output = render_math(output, _state["renderer"], page.file.src_uri, dollars=_is_notebook(page))
    except KatexError as exc:
        raise PluginError(str(exc)) from None
    _state["seconds"] = _state.get("seconds", 0.0) + time.perf_counter() - start
    _state["formulas"] = _state.get("formulas", 0) + output.count('<span class="katex">')
    return output


def _close():
    renderer = _state.pop("renderer", None)
    if renderer is not None:
        renderer.close()
        seconds, formulas = _state.pop("seconds", 0.0), _state.pop("formulas", 0)
        log.info("KaTeX: %d formulas rendered in %.1f s", formulas, seconds)


def on_post_build(config):
    """Stop the KaTeX process."""
    _close()


def on_build_error(error):
    """Stop the KaTeX process."""
    _close()
