"""``reprobook new``: in a temporary copy of the repository, a new chapter passes its tests, its smoke
tier, ``reprobook verify`` and the book's build before any model code exists; bad input gets one
line and exit 2."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ENTRY = """
@inproceedings{vinyals2015pointer,
  title = {Pointer Networks},
  author = {Vinyals, Oriol and Fortunato, Meire and Jaitly, Navdeep},
  booktitle = {Advances in Neural Information Processing Systems},
  year = {2015},
  url = {https://arxiv.org/abs/1506.03134}
}
"""
# A paper of the catalogue that has no chapter yet (a test of its own for when it gets one).
TITLE = "Pointer Networks"


def reprobook(*args, cwd, env=None):
    result = subprocess.run([sys.executable, "-m", "reprobook", *args], cwd=cwd, capture_output=True, text=True,
                            env=env or os.environ)
    return result.returncode, result.stdout, result.stderr


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    """The checkout's files (tracked and untracked, not ignored), without the committed run stores."""
    target = tmp_path_factory.mktemp("book")
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if "/runs/" in name or not (ROOT / name).is_file():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    with open(target / "book" / "references.bib", "a") as bib:
        bib.write(ENTRY)
    return target


@pytest.fixture(scope="module")
def made(copy):
    code, out, err = reprobook("new", "pointer_networks", "--title", TITLE, "--bibtex-key", "vinyals2015pointer", cwd=copy)
    assert code == 0, err
    return copy


def test_the_new_chapter_is_registered_where_the_book_needs_it(made):
    toc = yaml.safe_load((made / "_toc.yml").read_text())
    chapters = next(part for part in toc["parts"] if part["caption"] == "Chapters")["chapters"]
    assert chapters[-1] == {"file": "book/chapters/pointer_networks", "sections": [{"file": "replications/pointer_networks/pointer_networks"}]}
    rows = [line.split("\t") for line in (made / "book" / "catalogue.tsv").read_text().splitlines()]
    assert [(row[3], row[4]) for row in rows if row[0] == TITLE] == [("ready", "pointer_networks")]   # the existing row, not a second one
    meta = yaml.safe_load((made / "replications" / "pointer_networks" / "chapter.yaml").read_text())
    assert meta["authors"] == ["Oriol Vinyals", "Meire Fortunato", "Navdeep Jaitly"] and meta["year"] == 2015


def test_the_new_chapter_passes_its_tests_its_smoke_tier_and_verify(made, tmp_path):
    env = os.environ | {"REPROBOOK_RUNS": str(tmp_path / "runs")}
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_pointer_networks.py"],
                           cwd=made, capture_output=True, text=True, env=env)
    assert tests.returncode == 0, tests.stdout[-2000:]
    code, out, err = reprobook("run", "pointer_networks", "--device", "cpu", "--output-dir", str(tmp_path / "smoke"), cwd=made, env=env)
    assert code == 0, err
    assert (tmp_path / "smoke" / "records" / "pointer_networks-smoke.json").is_file()
    code, out, err = reprobook("verify", "pointer_networks", cwd=made, env=env)
    assert code == 0, out + err


def test_the_book_builds_with_the_new_chapter(made):
    """The whole book, warnings as errors, as CI builds it."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    build = subprocess.run([str(jupyter_book), "build", ".", "-W", "-n", "--keep-going", "-q"], cwd=made, capture_output=True, text=True)
    assert build.returncode == 0, (build.stdout + build.stderr)[-3000:]
    page = (made / "_build" / "html" / "book" / "chapters" / "pointer_networks.html").read_text()
    assert "Pointer Networks" in page and "not run" in page


@pytest.mark.parametrize("args, message", [
    (["new", "gat", "--title", "x", "--bibtex-key", "velickovic2018graph"], "exists already"),
    (["new", "Lottery-Ticket", "--title", "x", "--bibtex-key", "velickovic2018graph"], "expected a Python identifier"),
    (["new", "lottery", "--title", "x", "--bibtex-key", "nobody2099"], "no entry 'nobody2099' in book/references.bib"),
])
def test_bad_input_gets_one_line_and_exit_2(args, message):
    code, out, err = reprobook(*args, cwd=ROOT)
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not (ROOT / "replications" / "lottery").exists()


def test_the_scaffold_cites_two_authors_by_name_and_more_with_et_al():
    from reprobook.scaffold import short_authors

    assert short_authors(["Jonathan Frankle", "Michael Carbin"]) == "Frankle and Carbin"
    assert short_authors(["Meng Liu", "Hongyang Gao", "Shuiwang Ji"]) == "Liu et al."
