"""The chapter contract's checks that span files (CONTRIBUTING.md): what ``reprobook verify`` adds to
the records' checks, so that a chapter cannot be half-registered in the book.

A chapter ``ID`` must have its page ``book/chapters/ID.md`` and each notebook in ``_toc.yml``, a row in
``book/catalogue.tsv`` naming it, its paper's key in ``book/references.bib``, and notebooks whose Colab
cell is the one ``reprobook.notebooks.colab_setup_source`` writes from ``_config.yml`` and whose
preamble is one call of ``reprobook.notebooks.start`` naming the notebook.
"""
import csv
import re
from pathlib import Path

import yaml

from .chapters import all_chapters
from .errors import ReprobookError
from .notebooks import COLAB_TAG, colab_setup_source
from .paths import repo_root

CATALOGUE = "book/catalogue.tsv"
BIBLIOGRAPHY = "book/references.bib"
# What the book could do with each paper: replicated (a chapter); ready (its key experiment runs faithfully
# here: data in the offline mirror or generated, a few CPU-hours or a short GPU run); reduced (substitute
# data or a smaller scale, named in the reason); out of scope (the reason: data not obtainable, compute
# beyond one GPU-day, or nothing to rerun).
CATALOGUE_STATUSES = ("replicated", "ready", "reduced", "out of scope")
CATALOGUE_FIELDS = ("graph learning", "sequence models", "language", "vision", "generative models", "reinforcement learning",
                    "theory", "optimisation and training", "probabilistic methods", "physics and geometry",
                    "audio and speech", "interpretability", "tabular and recommender", "other")
# What every chapter page shows, each rendered from the claims and records (reprobook.pages).
PAGE_DIRECTIVES = ("replication-badge", "replication-claims", "replication-rerun", "replication-runtime", "replication-cite")
CATALOGUE_COLUMNS = ["title", "year", "field", "status", "chapter", "experiment", "reason"]


def repository_url(root: Path | None = None) -> str:
    """The book's public repository, from ``_config.yml``: the one place that names it."""
    config = yaml.safe_load((Path(root or repo_root()) / "_config.yml").read_text())
    return config["repository"]["url"]


def toc_files(root: Path | None = None) -> set[str]:
    """Every ``file:`` (and the ``root:``) of ``_toc.yml``."""
    toc = yaml.safe_load((Path(root or repo_root()) / "_toc.yml").read_text())
    found = {toc["root"]}

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.add(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(toc)
    return found


def chapter_order(root: Path | None = None) -> list[str]:
    """The chapters' ids in the order of the book's table of contents (pages ``book/chapters/ID``)."""
    toc = (Path(root or repo_root()) / "_toc.yml").read_text()
    return list(dict.fromkeys(re.findall(r"file:\s*book/chapters/(\w+)", toc)))


def bibtex_keys(root: Path | None = None) -> set[str]:
    return set(re.findall(r"^@\w+\{([^,\s]+),", (Path(root or repo_root()) / BIBLIOGRAPHY).read_text(), flags=re.M))


def read_catalogue(root: Path | None = None) -> list[dict]:
    """``book/catalogue.tsv``: one row per paper the book draws from (``CATALOGUE_COLUMNS``), checked."""
    root = Path(root or repo_root())
    path = root / CATALOGUE
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        rows = list(reader)
    if reader.fieldnames != CATALOGUE_COLUMNS:
        raise ReprobookError(f"{CATALOGUE}: columns {reader.fieldnames}, expected {CATALOGUE_COLUMNS}")
    chapters = all_chapters(root)
    for number, row in enumerate(rows, start=2):
        where = f"{CATALOGUE}:{number}"
        if row["status"] not in CATALOGUE_STATUSES:
            raise ReprobookError(f"{where}: status {row['status']!r} is not one of {', '.join(CATALOGUE_STATUSES)}")
        if row["field"] not in CATALOGUE_FIELDS:
            raise ReprobookError(f"{where}: field {row['field']!r} is not one of {', '.join(CATALOGUE_FIELDS)}")
        if not (row["year"].isdigit() and len(row["year"]) == 4 or row["year"] == "?"):
            raise ReprobookError(f"{where}: year {row['year']!r}: four digits, or ? when unknown")
        if row["status"] == "replicated" and row["chapter"] not in chapters:
            raise ReprobookError(f"{where}: 'replicated' needs an existing chapter id, got {row['chapter']!r}")
        if row["status"] != "replicated" and not row["reason"]:
            raise ReprobookError(f"{where}: {row['status']!r} needs a reason")
        if not row["experiment"]:
            raise ReprobookError(f"{where}: the experiment a chapter would run is missing (- when there is nothing to rerun)")
    return rows


def _code_cells(source: Path) -> list:
    import jupytext

    return [cell for cell in jupytext.read(source).cells if cell.cell_type == "code"]


def notebook_problems(chapter, notebook: str, url: str) -> list[str]:
    """A notebook's parameters cell, Colab cell and preamble, against the contract."""
    source = chapter.notebook_source(notebook)
    if not source.is_file():
        return [f"{chapter.id}: notebook {notebook}.md is missing"]
    cells = _code_cells(source)
    where = f"{chapter.id}/{notebook}.md"
    problems = []
    if not cells or "parameters" not in cells[0].metadata.get("tags", []):
        problems.append(f"{where}: the first code cell must be the parameters cell (tagged parameters)")
    else:
        for name in ("tier", "device", "seeds", "output_dir"):
            if not re.search(rf"^{name} = ", cells[0].source, flags=re.M):
                problems.append(f"{where}: the parameters cell lacks {name!r}")
    colab = [cell for cell in cells if COLAB_TAG in cell.metadata.get("tags", [])]
    if len(colab) != 1 or cells.index(colab[0]) != 1:
        problems.append(f"{where}: the second code cell must be the Colab cell (tagged {COLAB_TAG})")
    elif colab[0].source.strip() != colab_setup_source(chapter.id, url):
        problems.append(f"{where}: its Colab cell is not the one reprobook.notebooks.colab_setup_source writes from _config.yml")
    starts = [cell for cell in cells if re.search(r"\bstart\(", cell.source)]
    if not starts or f'start("{chapter.id}/{notebook}"' not in starts[0].source:
        problems.append(f'{where}: no preamble: start("{chapter.id}/{notebook}", TIERS, tier, device, seeds, output_dir)')
    return problems


def contract_problems(chapter, root: Path | None = None) -> list[str]:
    """What a chapter lacks of its registration in the book: table of contents, catalogue, bibliography, notebooks."""
    root = Path(root or repo_root())
    problems = []
    toc = toc_files(root)
    for entry in [chapter.page] + [f"replications/{chapter.id}/{notebook}" for notebook in chapter.notebooks]:
        if entry not in toc:
            problems.append(f"{chapter.id}: {entry} is not in _toc.yml")
    page = root / f"{chapter.page}.md"
    if not page.is_file():
        problems.append(f"{chapter.id}: its page {chapter.page}.md is missing")
    elif missing := [name for name in PAGE_DIRECTIVES if f"```{{{name}}} {chapter.id}\n" not in page.read_text()]:
        problems.append(f"{chapter.id}: its page {chapter.page}.md lacks the directive(s) {', '.join(missing)}")
    if not any(row["chapter"] == chapter.id for row in read_catalogue(root)):
        problems.append(f"{chapter.id}: no row of {CATALOGUE} names it (column chapter)")
    if chapter.bibtex not in bibtex_keys(root):
        problems.append(f"{chapter.id}: its paper's key {chapter.bibtex!r} is not in {BIBLIOGRAPHY}")
    url = repository_url(root)
    for notebook in chapter.notebooks:
        problems += notebook_problems(chapter, notebook, url)
    return problems
