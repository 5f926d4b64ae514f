"""``reprobook new CHAPTER``: a chapter that builds and passes its tests before any model code exists.

It writes ``replications/CHAPTER/`` (``chapter.yaml`` from the paper's BibTeX entry, a ``claims.yaml``
whose comments explain every field, the notebook with the standard parameters cell, Colab cell and
preamble, paired as MyST and ipynb), the chapter page ``book/chapters/CHAPTER.md`` with its
directives and sections, ``tests/test_CHAPTER.py``, and registers the chapter in ``_toc.yml``, the
catalogue and (already there: the paper's key must be) the bibliography. CONTRIBUTING.md says what
to fill in next.
"""
import csv
import re
import textwrap
from pathlib import Path

import yaml

from .contract import BIBLIOGRAPHY, CATALOGUE, CATALOGUE_COLUMNS, repository_url
from .errors import ReprobookError
from .notebooks import COLAB_TAG, colab_setup_source
from .paths import repo_root
from .schema import CHAPTER_SCHEMA, CLAIM_SCHEMA, requirement

CHAPTER_ID = re.compile(r"[a-z][a-z0-9_]*")


def short_authors(authors: list[str]) -> str:
    """How a text cites the authors: "Lake and Baroni" for two, "Liu et al." for more."""
    surnames = [name.split()[-1] for name in authors]
    return " and ".join(surnames) if len(surnames) <= 2 else f"{surnames[0]} et al."


def bibtex_fields(key: str, root: Path) -> dict:
    """The fields of ``key``'s entry in the bibliography, braces and TeX accents left as they are."""
    text = (root / BIBLIOGRAPHY).read_text()
    match = re.search(r"^@\w+\{" + re.escape(key) + r",(.*?)^\}", text, flags=re.S | re.M)
    if not match:
        raise ReprobookError(f"no entry {key!r} in {BIBLIOGRAPHY}: add the paper's BibTeX there first")
    fields = {}
    for name, value in re.findall(r"^\s*(\w+)\s*=\s*\{(.*)\},?\s*$", match.group(1), flags=re.M):
        fields[name.lower()] = value
    return fields


def _plain(tex: str) -> str:
    """A BibTeX value as plain text: accents like {\\'e} or {\\v{c}} reduced to their letter, braces dropped."""
    tex = re.sub(r"\\[`'^\"~=.uvHckbdrt]\{?(\w)\}?", r"\1", tex)
    return re.sub(r"[{}]", "", tex).strip()


def _authors(tex: str) -> list[str]:
    names = []
    for author in re.split(r"\s+and\s+", tex):
        last, comma, first = _plain(author).partition(",")
        names.append(f"{first.strip()} {last.strip()}" if comma else last.strip())
    return names


def _claims_file(chapter: str) -> str:
    lines = [f"# Claims checked by the chapter {chapter}: the paper's numbers, each quoted exactly with its source.",
             "# Add one entry per number under 'claims:'. The fields (reprobook.schema.CLAIM_SCHEMA; CONTRIBUTING.md):", "#"]
    for name, spec in CLAIM_SCHEMA["properties"].items():
        need = {"yes": "required", "no": "optional"}.get(requirement(CLAIM_SCHEMA, name), requirement(CLAIM_SCHEMA, name))
        wrapped = textwrap.wrap(f"{name} ({need}): {spec['description']}", 100, subsequent_indent="    ")
        lines += [f"#   {line}" for line in wrapped]
    lines += ["#", "# A value claim is judged by an equivalence test (book/method.md): its margin comes from the paper,",
              "# never from our result, and must not let trivial_value pass.", "claims: []", ""]
    return "\n".join(lines)


NOTEBOOK = '''---
jupytext:
  formats: ipynb,md:myst
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
    jupytext_version: 1.19.6
kernelspec:
  display_name: Python 3 (ipykernel)
  language: python
  name: python3
---

# Notebook: {title}

This notebook runs the protocol of {cite_short} and writes the record from which the chapter page
draws its table. Choose the tier with the `tier` parameter: `smoke` (seconds on a CPU, what CI runs)
or `full` (the paper's protocol). From the command line: `reprobook run {chapter} --tier full`.

```{{code-cell}} ipython3
:tags: [parameters]

tier = "smoke"      # "smoke" (seconds, CPU) or "full" (the paper's protocol)
device = "auto"     # "auto" | "cpu" | "cuda" | "cuda:N" | "mps"
seeds = None        # None: the tier's seeds
output_dir = "."    # the record goes to output_dir/records, figures to output_dir/figures
```

```{{code-cell}} ipython3
:tags: [hide-cell, {colab_tag}]

{colab}
```

```{{code-cell}} ipython3
from IPython.display import Markdown, display

from reprobook.notebooks import finish, paper_vs_ours, start

TIERS = {{
    "smoke": {{"seeds": [0]}},
    "full": {{"seeds": [0, 1, 2, 3, 4]}},
}}
settings, seeds, run_device, figures, claims, record = start("{chapter}/{chapter}", TIERS, tier, device, seeds, output_dir)
```

## Paper vs ours

```{{code-cell}} ipython3
display(Markdown(paper_vs_ours(claims, record.payload)))
```

```{{code-cell}} ipython3
finish(record, output_dir)
```
'''

PAGE = '''# {title}

```{{replication-badge}} {chapter}
```

```{{replication-claims}} {chapter}
```

## The method

What the paper proposes, in a few paragraphs and its key equation, citing it as {{cite}}`{key}`.

## Our runs

The paper's key figure, redrawn from our runs, goes here.

## What we found

Each claim's verdict in words: the gap, its interval, and the likely reason where we differ.

## Deviations from the paper's protocol

| what | the paper | ours | why |
|---|---|---|---|
| (none yet) | | | |

## Runtime and hardware

```{{replication-rerun}} {chapter}
```

```{{replication-runtime}} {chapter}
```

## Cite this replication

```{{replication-cite}} {chapter}
```
'''

TEST = '''"""Tests of the {chapter} chapter: the defining property of its method (an equivariance, a masking rule,
a closed form) goes here, with the mutants it must catch (CONTRIBUTING.md, "Checks")."""
from reprobook.chapters import get_chapter
from reprobook.contract import contract_problems


def test_the_chapter_follows_the_contract():
    assert contract_problems(get_chapter("{chapter}")) == []
'''


MUTANTS = """# One-line changes that break the method, each caught by a property test (tests/test_mutants.py applies
# each to a copy of the code and runs the tests named under caught_by, which must fail). Two or three
# before the chapter is done, each with: file (from the repository's root), original (text that occurs
# once in it), mutant, breaks (what it breaks, naming the paper's equation) and caught_by (test ids).
mutants: []
"""


def _add_to_toc(root: Path, chapter: str) -> None:
    """The chapter page, with its notebook as a section, appended to the part captioned "Chapters"."""
    path = root / "_toc.yml"
    lines = path.read_text().splitlines()
    caption = next(i for i, line in enumerate(lines) if line.strip() == "- caption: Chapters")
    end = next((i for i in range(caption + 1, len(lines)) if lines[i].strip().startswith("- caption:")), len(lines))
    while lines[end - 1].strip() == "":
        end -= 1
    lines[end:end] = [f"      - file: book/chapters/{chapter}", "        sections:", f"          - file: replications/{chapter}/{chapter}"]
    path.write_text("\n".join(lines) + "\n")


def _add_to_catalogue(root: Path, chapter: str, title: str) -> None:
    """The paper's catalogue row names the chapter (a row is added if the paper is not listed yet: its
    triage, year and field are then to be filled in by hand)."""
    path = root / CATALOGUE
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    fields = CATALOGUE_COLUMNS
    matching = [row for row in rows if row["title"].strip().lower() == title.strip().lower()]
    if matching:
        matching[0]["chapter"] = chapter
    else:
        rows.append({"title": title, "year": "?", "field": "other", "status": "ready", "chapter": chapter,
                     "experiment": "to be named with the chapter's claims", "reason": "added with its chapter, not triaged yet"})
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def new_chapter(chapter: str, title: str, bibtex_key: str, root: Path | None = None) -> list[Path]:
    """Write the chapter's files and register it; return the files written or changed."""
    import jupytext

    root = Path(root or repo_root())
    if not CHAPTER_ID.fullmatch(chapter):
        raise ReprobookError(f"chapter name {chapter!r}: expected a Python identifier in lower case (letters, digits, _), e.g. lottery_ticket")
    folder = root / "replications" / chapter
    if folder.exists():
        raise ReprobookError(f"chapter {chapter!r} exists already (replications/{chapter})")
    if not title.strip():
        raise ReprobookError("--title: expected the paper's title")
    bib = bibtex_fields(bibtex_key, root)
    venue = _plain(bib.get("booktitle") or bib.get("journal") or "")
    if not (venue and bib.get("year", "").isdigit() and bib.get("url") and bib.get("author")):
        raise ReprobookError(f"{BIBLIOGRAPHY}: entry {bibtex_key!r} needs author, year, url and booktitle or journal")
    meta = {"title": title.strip(), "authors": _authors(bib["author"]), "venue": venue, "year": int(bib["year"]),
            "url": bib["url"], "summary": "One sentence on what the paper shows (the landing page shows it).",
            "bibtex": bibtex_key, "status": "in-progress", "notebooks": [chapter], "page": f"book/chapters/{chapter}"}
    assert set(meta) == set(CHAPTER_SCHEMA["required"])
    folder.mkdir(parents=True)
    written = [folder / "chapter.yaml", folder / "claims.yaml", folder / f"{chapter}.md", folder / f"{chapter}.ipynb",
               root / "book" / "chapters" / f"{chapter}.md", root / "tests" / f"test_{chapter}.py", folder / "mutants.yaml"]
    written[0].write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=200))
    written[1].write_text(_claims_file(chapter))
    cite_short = f"{short_authors(meta['authors'])} ({meta['year']})"
    written[2].write_text(NOTEBOOK.format(title=meta["title"], cite_short=cite_short, chapter=chapter, colab_tag=COLAB_TAG,
                                          colab=colab_setup_source(chapter, repository_url(root))))
    jupytext.write(jupytext.read(written[2]), written[3])        # the unexecuted pair, until the full tier runs
    written[4].write_text(PAGE.format(title=meta["title"], chapter=chapter, key=bibtex_key))
    written[5].write_text(TEST.format(chapter=chapter))
    written[6].write_text(MUTANTS)
    _add_to_toc(root, chapter)
    _add_to_catalogue(root, chapter, meta["title"])
    return written + [root / "_toc.yml", root / CATALOGUE]
