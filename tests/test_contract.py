"""The chapter contract (CONTRIBUTING.md): its documentation agrees with the schemas, every chapter is
registered where the book needs it, and ``reprobook verify`` fails on a chapter that is not."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from reprobook.chapters import all_chapters, get_chapter
from reprobook.contract import contract_problems, repository_url
from reprobook.fingerprints import Sources, notebook_code
from reprobook.schema import CHAPTER_SCHEMA, CLAIM_SCHEMA, field_table

ROOT = Path(__file__).resolve().parents[1]


def generated(name: str) -> str:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    match = re.search(rf"<!-- generated: {re.escape(name)} -->\n(.*?)\n<!-- end generated -->", text, flags=re.S)
    assert match, f"CONTRIBUTING.md has no generated table for {name}"
    return match.group(1)


def test_contributing_documents_the_schemas_field_by_field():
    assert generated("chapter.yaml") == field_table(CHAPTER_SCHEMA)
    assert generated("claims.yaml") == field_table(CLAIM_SCHEMA)
    assert "CONTRIBUTING.md" in (ROOT / "README.md").read_text()


def test_the_public_address_lives_in_config_and_citation_cff_agrees():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["repository-code"] == repository_url() == config["repository"]["url"]
    assert citation["url"] == config["html"]["baseurl"]
    for source in ROOT.glob("replications/*/*.md"):      # nowhere else in a notebook's code
        code = "\n".join(cell for cell in re.findall(r"```\{code-cell\}.*?```", source.read_text(), flags=re.S)
                         if ":tags: [hide-cell, colab]" not in cell)
        assert repository_url() not in code, source


def test_every_chapter_follows_the_contract():
    for chapter in all_chapters().values():
        assert contract_problems(chapter) == [], chapter.id


def test_the_colab_cell_is_outside_the_records_fingerprint_and_the_preamble_inside(tmp_path):
    shutil.copytree(ROOT / "shared" / "reprobook", tmp_path / "shared" / "reprobook", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "replications" / "dagnn", tmp_path / "replications" / "dagnn",
                    ignore=shutil.ignore_patterns("runs", "records", "figures", "*.ipynb", "__pycache__"))
    source = tmp_path / "replications" / "dagnn" / "dagnn.md"
    text = source.read_text()
    before = notebook_code(source, Sources(tmp_path)).sha256
    source.write_text(text.replace("https://github.com/nn-papers-replicated/book", "https://example.org/elsewhere/book"))
    assert source.read_text() != text and notebook_code(source, Sources(tmp_path)).sha256 == before
    source.write_text(text.replace('"full": {"seeds": list(range(100))', '"full": {"seeds": list(range(99))'))
    assert source.read_text() != text and notebook_code(source, Sources(tmp_path)).sha256 != before


def _book_with_gat(root: Path) -> None:
    for name in ("_toc.yml", "_config.yml", "book/references.bib", "book/chapters/gat.md"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    lines = (ROOT / "book" / "catalogue.tsv").read_text().splitlines()       # the header and GAT's row
    (root / "book" / "catalogue.tsv").write_text("\n".join([lines[0], *[l for l in lines if "\treplicated\tgat\t" in l]]) + "\n")
    shutil.copytree(ROOT / "replications" / "gat", root / "replications" / "gat",
                    ignore=shutil.ignore_patterns("runs", "*.ipynb", "figures", "__pycache__"))


def test_verify_fails_on_a_chapter_missing_from_the_toc_the_catalogue_or_the_bibliography(tmp_path):
    _book_with_gat(tmp_path)
    assert contract_problems(get_chapter("gat", tmp_path), tmp_path) == []
    (tmp_path / "_toc.yml").write_text((tmp_path / "_toc.yml").read_text().replace("replications/gat/gat\n", "replications/gat/other\n"))
    catalogue = tmp_path / "book" / "catalogue.tsv"
    header, gat_row = catalogue.read_text().splitlines()
    title, year, field, _, _, experiment, _ = gat_row.split("\t")
    catalogue.write_text("\n".join([header, "\t".join([title, year, field, "ready", "", experiment, "its data are in the mirror"])]) + "\n")
    bib = tmp_path / "book" / "references.bib"
    bib.write_text(bib.read_text().replace("@inproceedings{velickovic2018graph,", "@inproceedings{someone2018graph,"))
    problems = contract_problems(get_chapter("gat", tmp_path), tmp_path)
    assert problems == ["gat: replications/gat/gat is not in _toc.yml",
                        "gat: no row of book/catalogue.tsv names it (column chapter)",
                        "gat: its paper's key 'velickovic2018graph' is not in book/references.bib"]
    result = subprocess.run([sys.executable, "-m", "reprobook", "verify", "gat"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1
    for problem in problems:
        assert f"FAIL: {problem}" in result.stdout


def test_a_notebook_without_the_preamble_or_its_colab_cell_breaks_the_contract(tmp_path):
    _book_with_gat(tmp_path)
    notebook = tmp_path / "replications" / "gat" / "gat.md"
    text = notebook.read_text()
    notebook.write_text(text.replace('start("gat/gat"', 'start("gat/other"').replace("/content/book/replications/gat", "/content/gat"))
    problems = contract_problems(get_chapter("gat", tmp_path), tmp_path)
    assert any("Colab cell is not the one" in p for p in problems) and any("no preamble" in p for p in problems)
