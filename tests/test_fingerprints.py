"""The code behind a result is found from imports: editing any module a chapter's training imports
invalidates its stored seeds and stales its record; editing a reporting module stales the record
only, so re-executing from the store trains nothing; editing a module nobody imports does neither;
and every committed seed was made by the training code that runs now."""
import json
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
import torch

from reprobook import runs
from reprobook.fingerprints import Sources, notebook_code, training_code, unproven_since
from reprobook.rekey import trained_entry

ROOT = Path(__file__).resolve().parents[1]
# Where each chapter's training starts (the module that defines what run_seeds trains) and the notebook
# whose record its seeds feed.
ENTRIES = {"gat": ("replications/gat/gat_protocol.py", "replications/gat/gat.md"),
           "dagnn": ("replications/dagnn/dagnn_protocol.py", "replications/dagnn/dagnn.md"),
           "egnn": ("replications/egnn/egnn_protocol.py", "replications/egnn/egnn.md"),
           "scan": ("replications/scan/seq2seq_runs.py", "replications/scan/scan_simple.md")}
REPORTING = ["shared/reprobook/records.py", "shared/reprobook/plotting.py", "shared/reprobook/notebooks.py",
             "shared/reprobook/verdicts.py"]
UNUSED = ["shared/reprobook/sphinxext.py", "shared/reprobook/cli.py"]


@cache
def today(entry: str, notebook: str) -> tuple[str, str]:
    return training_code(entry).sha256, notebook_code(ROOT / notebook).sha256


def edited(path: str, text: str) -> Sources:
    return Sources(ROOT, overrides={path: (ROOT / path).read_text() + text})


def test_the_training_code_is_what_the_training_imports():
    found = {chapter: set(training_code(entry).modules) for chapter, (entry, _) in ENTRIES.items()}
    assert {"replications/gat/gat_protocol.py", "replications/gat/gat_model.py", "shared/reprobook/training.py",
            "shared/reprobook/seedbatch.py", "shared/reprobook/graphs.py", "shared/reprobook/data.py"} <= found["gat"]
    assert {"replications/dagnn/dagnn_protocol.py", "replications/dagnn/dagnn_model.py",
            "shared/reprobook/training.py", "shared/reprobook/seedbatch.py"} <= found["dagnn"]
    assert {"replications/egnn/egnn_protocol.py", "replications/egnn/egnn_model.py", "replications/egnn/nbody.py",
            "shared/reprobook/seedbatch.py", "shared/reprobook/seeding.py"} <= found["egnn"]
    assert {"replications/scan/seq2seq_runs.py", "replications/scan/scan_data.py", "shared/reprobook/data.py"} <= found["scan"]
    for modules in found.values():
        assert not modules & {"shared/reprobook/runs.py", *REPORTING, *UNUSED}


@pytest.mark.parametrize("chapter, module", [(chapter, module) for chapter, (entry, _) in ENTRIES.items()
                                             for module in training_code(entry).modules])
def test_editing_a_training_module_invalidates_the_seeds_and_stales_the_record(chapter, module):
    entry, notebook = ENTRIES[chapter]
    change = edited(module, "\nEDITED_FOR_A_TEST = 1\n")
    assert training_code(entry, change).sha256 != today(entry, notebook)[0]
    assert notebook_code(ROOT / notebook, change).sha256 != today(entry, notebook)[1]


@pytest.mark.parametrize("module, stales_the_record", [(m, True) for m in REPORTING] + [(m, False) for m in UNUSED])
def test_editing_a_module_outside_the_training_code_never_invalidates_seeds(module, stales_the_record):
    """A reporting module stales the record only; a module no notebook imports changes nothing."""
    for entry, notebook in ENTRIES.values():
        change = edited(module, "\nEDITED_FOR_A_TEST = 1\n")
        assert training_code(entry, change).sha256 == today(entry, notebook)[0]
        assert (notebook_code(ROOT / notebook, change).sha256 != today(entry, notebook)[1]) == stales_the_record


def test_comments_docstrings_and_error_messages_change_nothing():
    path = "shared/reprobook/data.py"
    text = (ROOT / path).read_text()
    reworded = text.replace('"""Data loading', '"""Reworded: data loading', 1).replace(
        "refusing to parse an unverified file", "will not parse an unverified file") + "\n# a comment\n"
    assert reworded != text
    entry = ENTRIES["scan"][0]
    assert training_code(entry, Sources(ROOT, overrides={path: reworded})).sha256 == training_code(entry).sha256


def test_edits_inside_definitions_moves_and_the_store_call_count():
    entry, path = ENTRIES["gat"][0], "replications/gat/gat_protocol.py"
    text = (ROOT / path).read_text()
    protocol = 'max_epochs=max_epochs or h["max_epochs"], stopping=stopping)'
    moved = text.replace('DATASETS = ("Cora", "CiteSeer", "PubMed")\nMODELS = ("GAT", "GCN")',
                         'MODELS = ("GAT", "GCN")\nDATASETS = ("Cora", "CiteSeer", "PubMed")')
    edits = {"inside a function": text.replace(protocol, 'max_epochs=h["max_epochs"], stopping=stopping)'),
             "two statements swapped": moved,
             "a statement deleted": text.replace('    ("GAT", "CiteSeer"): {"stopping": "accuracy"},\n', ""),
             "what the store trains": text.replace("seeds, train_batch, batch_size=", "seeds, lambda s: train_batch(s[::-1]), batch_size=")}
    for what, edit in edits.items():
        assert edit != text, what
        assert training_code(entry, Sources(ROOT, overrides={path: edit})).sha256 != training_code(entry).sha256, what
    filed = text.replace("batch_size=SEEDS_PER_BATCH[device.type]", "batch_size=1")     # how results are filed
    assert training_code(entry, Sources(ROOT, overrides={path: filed})).sha256 == training_code(entry).sha256


def test_after_a_reporting_change_re_executing_from_the_store_trains_nothing(tmp_path, monkeypatch):
    """A chapter's own training function (here one compiled as if it were in GAT's gat_protocol.py): the
    store gives its seeds back after an edit of a reporting module, and not after one of its model."""
    monkeypatch.setenv(runs.RUNS_ENV, str(tmp_path))
    monkeypatch.delenv(runs.FROM_STORE_ENV, raising=False)
    monkeypatch.setattr(runs, "_FIRST_CODE", {})
    calls = []
    train_batch = eval(compile("lambda seeds: calls.append(seeds) or [{'accuracy': 1.0} for _ in seeds]",
                               str(ROOT / ENTRIES["gat"][0]), "eval"), {"calls": calls})

    def run(change=None):
        monkeypatch.setattr(runs, "_FIRST_CODE", {})
        monkeypatch.setattr(runs, "training_code", lambda entry: training_code(entry, change))
        return runs.run_seeds("gat/test", {"lr": 0.1}, [0, 1], train_batch, batch_size=2, device=torch.device("cpu"),
                              log=lambda _: None)
    run()
    monkeypatch.setenv(runs.FROM_STORE_ENV, "1")
    assert all(r["resumed"] for r in run(edited("shared/reprobook/plotting.py", "\nEDITED_FOR_A_TEST = 1\n")))
    assert calls == [[0, 1]]
    with pytest.raises(runs.ReprobookError, match="not in the run store"):
        run(edited("replications/gat/gat_model.py", "\nEDITED_FOR_A_TEST = 1\n"))


def test_training_code_edited_while_a_process_runs_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv(runs.RUNS_ENV, str(tmp_path))
    monkeypatch.setattr(runs, "_FIRST_CODE", {})
    train_batch = eval(compile("lambda seeds: [{'accuracy': 1.0} for _ in seeds]", str(ROOT / ENTRIES["gat"][0]), "eval"))
    runs.run_seeds("gat/test", {}, [0], train_batch, batch_size=1, device=torch.device("cpu"), log=lambda _: None)
    change = edited("replications/gat/gat_model.py", "\nEDITED_FOR_A_TEST = 1\n")
    monkeypatch.setattr(runs, "training_code", lambda entry: training_code(entry, change))
    with pytest.raises(runs.ReprobookError, match="changed on disk while this process ran"):
        runs.run_seeds("gat/test", {}, [1], train_batch, batch_size=1, device=torch.device("cpu"), log=lambda _: None)


def test_a_training_function_outside_the_checkout_is_refused(tmp_path):
    with pytest.raises(runs.ReprobookError, match="not defined in a module of this checkout"):
        runs.run_seeds("x", {}, [0], eval(compile("lambda seeds: []", str(tmp_path / "elsewhere.py"), "eval")),
                       batch_size=1, device=torch.device("cpu"))


def committed_seeds() -> list[Path]:
    return sorted(p for p in ROOT.glob("replications/*/runs/**/seed-*.json") if not p.name.endswith(".started.json"))


@cache
def current_code(entry: str):
    return training_code(entry)


def test_every_committed_seed_was_made_by_the_training_code_that_runs_now():
    """A seed is read back only under the key of its configuration, device type and today's training
    code; one left under another key would be dead weight that no rerun can use."""
    assert committed_seeds()
    for path in committed_seeds():
        result = json.loads(path.read_text())
        code = result["training_code"]
        entry = code.get("entry") or ENTRIES[path.relative_to(ROOT).parts[1]][0]
        assert code["sha256"] == current_code(entry).sha256, f"{path}: trained by other code than today's"
        keys = {runs.store_key(result["config"], code["sha256"], device) for device in ("cpu", "cuda", "mps")}
        assert path.parent.name in keys, f"{path}: not under the key of its configuration"
        provenance = result["provenance"]
        assert re.fullmatch(r"[0-9a-f]{40}", provenance["commit"]) and provenance["uncommitted_changes"] is False


@cache
def unproven(entry: str, commit: str, entry_then: str) -> list[str]:
    return unproven_since(entry, commit, entry_then=entry_then)


def test_seeds_from_an_earlier_commit_are_proved_against_it():
    """Every statement of today's training code was already in the training code at the commit that
    trained each committed seed, and nothing that ran there for its effect is gone (SCAN's seeds were
    trained before the store's key took today's form)."""
    shallow = subprocess.run(["git", "rev-parse", "--is-shallow-repository"], cwd=ROOT, capture_output=True, text=True)
    assert shallow.stdout.strip() == "false", "the proof needs the repository's history (a full clone)"
    for path in committed_seeds():
        result = json.loads(path.read_text())
        entry = result["training_code"].get("entry") or ENTRIES[path.relative_to(ROOT).parts[1]][0]
        assert unproven(entry, result["provenance"]["commit"], trained_entry(result)) == [], path


def test_the_proof_sees_additions_and_removals_that_matter():
    entry, path, commit = ENTRIES["scan"][0], "shared/reprobook/device.py", "c818a041b10b155d1b0e36592835619fe2bd0d23"
    text = (ROOT / path).read_text()
    added = Sources(ROOT, overrides={path: text + "\nEXTRA = 1\n"})
    assert any(p.startswith("new since") and "EXTRA = 1" in p for p in unproven_since(entry, commit, added))
    removed = Sources(ROOT, overrides={path: text.replace("def device_description", "def renamed_description")})
    assert any("gone since" in p and "device_description" in p for p in unproven_since(entry, commit, removed))
