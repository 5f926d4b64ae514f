"""``reprobook rekey``: a committed seed filed under the key of older training code moves to today's key
only when the proof finds today's training code in the code that trained it."""
import json
import shutil
from pathlib import Path

from reprobook.fingerprints import Sources, training_code
from reprobook.rekey import rekey, trained_entry
from reprobook.runs import store_key

ROOT = Path(__file__).resolve().parents[1]


def a_committed_seed() -> Path:
    return sorted((ROOT / "replications" / "scan" / "runs").glob("**/seed-0.json"))[0]


def filed_under_its_training_commit(store: Path, result: dict) -> Path:
    """The seed as the store held it when it was trained: keyed by the training code at its commit."""
    entry, commit = trained_entry(result), result["provenance"]["commit"]
    then = training_code(entry, Sources(ROOT, commit))
    old = dict(result, training_code=then.as_dict(), rekeyed=[])
    path = store / "scan" / "protocol" / store_key(result["config"], then.sha256, "cpu") / "seed-0.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(old))
    (path.parent / "seed-1.started.json").write_text(json.dumps({"status": "failed: stopped"}))
    return path


def test_a_provable_seed_moves_to_todays_key_with_its_markers(tmp_path):
    committed = a_committed_seed()
    result = json.loads(committed.read_text())
    old = filed_under_its_training_commit(tmp_path, result)
    moved, refused = rekey(tmp_path)
    assert refused == [] and len(moved) == 2
    new = old.parent.parent / committed.parent.name / "seed-0.json"           # the key the book's own seed has
    assert not old.exists() and new.is_file() and (new.parent / "seed-1.started.json").is_file()
    again = json.loads(new.read_text())
    assert again["training_code"]["sha256"] == result["training_code"]["sha256"]
    assert again["rekeyed"][-1]["from_key"] == old.parent.name and again["accuracy"] == result["accuracy"]
    assert rekey(tmp_path) == ([], [])                                           # current now: nothing to do


def test_a_seed_whose_commit_is_unknown_stays_and_is_named(tmp_path):
    result = json.loads(a_committed_seed().read_text())
    old = filed_under_its_training_commit(tmp_path, result)
    tampered = json.loads(old.read_text())
    tampered["provenance"]["commit"] = "0" * 40
    old.write_text(json.dumps(tampered))
    moved, refused = rekey(tmp_path)
    assert moved == [] and len(refused) == 1 and "seed-0.json" in refused[0] and old.is_file()


def test_a_seed_under_a_key_that_is_not_its_own_is_refused(tmp_path):
    path = tmp_path / "scan" / "protocol" / "0123456789abcdef" / "seed-0.json"
    path.parent.mkdir(parents=True)
    shutil.copy(a_committed_seed(), path)
    moved, refused = rekey(tmp_path)
    assert moved == [] and "not the key of its configuration" in refused[0]
