"""The property tests can fail: each chapter's mutants (``replications/CHAPTER/mutants.yaml``: one-line
changes that break its method) make the tests they name fail.

Each mutant is applied to a copy of the code (the package, the chapters' code and claims, the tests), and
the tests it names run there in a fresh interpreter, which imports the copy's ``reprobook``. The same
tests, run on the unchanged copy, pass: so a failure is the mutant's doing, not the copy's.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = [(path.parent.name, index, mutant) for path in sorted(ROOT.glob("replications/*/mutants.yaml"))
           for index, mutant in enumerate(yaml.safe_load(path.read_text())["mutants"])]


def run_tests(copy: Path, tests: list[str]) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(copy / "shared"), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "no:xdist", *tests],
                          cwd=copy, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    target = tmp_path_factory.mktemp("code")
    ignore = shutil.ignore_patterns("runs", "records", "figures", "*.ipynb", "__pycache__")
    for folder in ("shared", "replications", "tests"):
        shutil.copytree(ROOT / folder, target / folder, ignore=ignore)
    for name in ("_toc.yml", "_config.yml"):
        shutil.copy(ROOT / name, target / name)
    baseline = run_tests(target, sorted({test for *_, mutant in MUTANTS for test in mutant["caught_by"]}))
    assert baseline.returncode == 0, "the named tests fail on the unchanged copy:\n" + baseline.stdout[-3000:]
    return target


def test_every_finished_chapter_names_two_or_three_mutants():
    from reprobook.chapters import all_chapters

    counts = {chapter: sum(c == chapter for c, *_ in MUTANTS) for chapter in all_chapters()}
    for chapter in all_chapters().values():
        if chapter.status == "done":
            assert counts[chapter.id] >= 2, f"{chapter.id} names {counts[chapter.id]} mutant(s) in mutants.yaml"


@pytest.mark.parametrize("chapter, index, mutant", MUTANTS, ids=[f"{c}-{i}" for c, i, _ in MUTANTS])
def test_the_mutant_makes_a_property_test_fail(copy, chapter, index, mutant):
    path = copy / mutant["file"]
    original = path.read_text()
    assert original.count(mutant["original"]) == 1, f"{mutant['file']}: the mutated text must occur once: {mutant['original']!r}"
    path.write_text(original.replace(mutant["original"], mutant["mutant"]))
    try:
        result = run_tests(copy, mutant["caught_by"])
    finally:
        path.write_text(original)
    assert result.returncode == 1 and " failed" in result.stdout, (
        f"mutant not caught ({mutant['breaks']}): {mutant['caught_by']} gave exit {result.returncode}\n{result.stdout[-2000:]}")
