"""mkdocs hook: fill the nav's "Tutorials" section with the executed notebooks that exist.

``docs/build_site.py`` writes the executed notebooks to ``docs/tutorials/NAME.ipynb``; which ones
exist depends on ``docs/notebooks/*.py``, so the nav cannot list them statically. The section is
dropped when there are none (mkdocs would otherwise warn about an empty section).
"""

from pathlib import Path


def on_config(config):
    """Replace ``Tutorials: []`` in the nav by the sorted ``tutorials/*.ipynb`` under docs_dir."""
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
    return config
