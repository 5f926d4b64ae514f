"""Bad input on the command line: one clear line and exit status 2, never a traceback; and re-execution
from the committed seeds."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def reprobook(*args, cwd=ROOT):
    result = subprocess.run([sys.executable, "-m", "reprobook", *args], cwd=cwd, capture_output=True, text=True)
    return result.returncode, result.stdout, result.stderr


def assert_clean_error(code, stderr, *fragments):
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_unknown_chapter_lists_valid_chapters():
    code, _, err = reprobook("run", "no-such-paper")
    assert_clean_error(code, err, "unknown chapter 'no-such-paper'", "valid chapters:", "gat")


def test_unknown_tier_lists_valid_tiers():
    code, _, err = reprobook("run", "gat", "--tier", "medium")
    assert_clean_error(code, err, "unknown tier 'medium'", "smoke, full")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_where_there_is_none():
    code, _, err = reprobook("run", "gat", "--device", "cuda")
    assert_clean_error(code, err, "'cuda'", "no CUDA device")


def test_unknown_device():
    code, _, err = reprobook("run", "gat", "--device", "tpu")
    assert_clean_error(code, err, "unknown device 'tpu'")


def test_unknown_notebook_lists_the_chapters_notebooks():
    code, _, err = reprobook("run", "scan", "--notebook", "scan_jump")
    assert_clean_error(code, err, "no notebook 'scan_jump'", "scan_simple, scan_length, scan_addprim")


def test_bad_seeds():
    code, _, err = reprobook("run", "gat", "--seeds", "a-b")
    assert_clean_error(code, err, "--seeds")


def test_malformed_or_reserved_parameter():
    code, _, err = reprobook("run", "scan", "--notebook", "scan_simple", "-p", "sizes")
    assert_clean_error(code, err, "expected NAME=VALUE")
    code, _, err = reprobook("run", "scan", "--notebook", "scan_simple", "-p", "seeds=[1]")
    assert_clean_error(code, err, "use --seeds")


def test_parameter_the_notebook_lacks_lists_its_parameters():
    code, _, err = reprobook("run", "scan", "--notebook", "scan_simple", "-p", "epochs=5")
    assert_clean_error(code, err, "no parameter 'epochs'", "sizes")


def test_parameter_one_notebook_lacks_stops_the_chapter_before_any_runs():
    code, out, err = reprobook("run", "scan", "-p", "sizes=[64]")
    assert_clean_error(code, err, "scan/scan_length has no parameter 'sizes'")
    assert "running" not in out


def test_malformed_claims_file_names_file_and_field(tmp_path):
    (tmp_path / "_toc.yml").write_text("root: x\n")
    chapter = tmp_path / "replications" / "broken"
    chapter.mkdir(parents=True)
    (chapter / "chapter.yaml").write_text((ROOT / "replications/gat/chapter.yaml").read_text())
    (chapter / "claims.yaml").write_text("claims:\n  - id: x\n    statement: s\n")
    code, _, err = reprobook("list", cwd=tmp_path)
    assert_clean_error(code, err, "claims.yaml", "missing field")


def test_list_and_verify_run_on_the_real_book():
    code, out, err = reprobook("list")
    assert code == 0, err
    assert "gat: Graph Attention Networks" in out and "gat-cora" in out
    code, out, err = reprobook("verify")
    assert code == 0, out + err
    assert "gat: " in out and "FAIL" not in out


def test_missing_data_offline_names_file_address_and_setting(tmp_path):
    import os
    env = dict(os.environ, REPROBOOK_OFFLINE_MIRROR=str(tmp_path / "empty-mirror"), REPROBOOK_DATA=str(tmp_path / "cache"),
               REPROBOOK_RUNS=str(tmp_path / "runs"))
    result = subprocess.run([sys.executable, "-m", "reprobook", "run", "gat", "--output-dir", str(tmp_path / "out")],
                            cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 2, result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and "Traceback" not in result.stderr
    for fragment in ("Planetoid/Cora/raw/ind.cora", "https://github.com/kimiyoung/planetoid", "REPROBOOK_OFFLINE_MIRROR"):
        assert fragment in error[0]


def test_sizes_outside_the_papers_are_refused():
    """Also the path of every check a notebook makes of its parameters (its rules are unit-tested
    beside their chapters): the error raised in the kernel reaches the user as one line, exit 2."""
    code, _, err = reprobook("run", "scan", "--notebook", "scan_simple", "-p", "sizes=[3]")
    assert_clean_error(code, err, "sizes [3]", "[1, 2, 4, 8, 16, 32, 64]")


def test_a_chapter_or_all_but_not_both():
    code, _, err = reprobook("run")
    assert_clean_error(code, err, "name one chapter, or --all")
    code, _, err = reprobook("run", "gat", "--all")
    assert_clean_error(code, err, "name one chapter, or --all")


def test_from_the_store_re_executes_the_committed_run_and_trains_nothing(tmp_path):
    """The committed full tier again, from the committed seeds, with the parameters it ran with."""
    code, out, err = reprobook("run", "scan", "--notebook", "scan_length", "--from-store", "--output-dir", str(tmp_path))
    assert code == 0, err
    record = json.loads((tmp_path / "records" / "scan_length-full.json").read_text())
    assert record["runs"] and not any(run["trained"] for run in record["runs"])
    committed = json.loads((ROOT / "replications/scan/records/scan_length-full.json").read_text())
    assert {k: v["values"] for k, v in record["claims"].items()} == {k: v["values"] for k, v in committed["claims"].items()}


def test_from_the_store_before_a_first_record_takes_the_tier_defaults(tmp_path):
    """A chapter whose seeds are committed but which has no full record yet: nothing to read parameters
    from, so --from-store runs the tier's defaults (and still trains nothing, FROM_STORE_ENV)."""
    from types import SimpleNamespace

    from reprobook.chapters import get_chapter
    from reprobook.cli import committed_parameters

    unrun = SimpleNamespace(record_path=lambda notebook, tier: tmp_path / "records" / f"{notebook}-{tier}.json",
                            executed_notebook=lambda notebook: tmp_path / f"{notebook}.ipynb")
    assert committed_parameters(unrun, "notebook") is None
    assert committed_parameters(get_chapter("scan"), "scan_length")["device"] == "cpu"


def test_from_the_store_missing_seeds_are_named_and_nothing_trains(tmp_path):
    code, _, err = reprobook("run", "scan", "--notebook", "scan_length", "--from-store", "--seeds", "0-5",
                             "--output-dir", str(tmp_path))
    assert_clean_error(code, err, "scan/scan_length: scan/length/overall-best: seeds 5 are not in the run store (5 of 6 are)")
