"""The run store: finished seeds are kept with their provenance, a rerun trains only the missing ones,
any change to the configuration, the training code or the device type starts afresh, and no started
run disappears silently."""
import json

import pytest
import torch

from reprobook import runs
from reprobook.errors import ReprobookError
from reprobook.fingerprints import Fingerprint


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv(runs.RUNS_ENV, str(tmp_path))
    monkeypatch.delenv(runs.FROM_STORE_ENV, raising=False)
    return tmp_path


def trainer(calls):
    def train_batch(seeds):
        calls.append(list(seeds))
        return [{"accuracy": 50.0 + seed} for seed in seeds]
    return train_batch


def run(calls, seeds, config=None, device="cpu", train_batch=None):
    return runs.run_seeds("scan/length/top: length", config or {"lr": 0.001}, seeds, train_batch or trainer(calls),
                          batch_size=2, device=torch.device(device), log=lambda _: None)


def test_a_rerun_trains_only_the_missing_seeds(store):
    calls = []
    first = run(calls, [0, 1, 2])
    assert calls == [[0, 1], [2]] and not any(r["resumed"] for r in first)
    second = run(calls, [0, 1, 2, 3, 4])
    assert calls[2:] == [[3, 4]]
    assert [r["resumed"] for r in second] == [True, True, True, False, False]
    assert [r["accuracy"] for r in second] == [50.0, 51.0, 52.0, 53.0, 54.0]


def test_a_seed_keeps_its_provenance(store):
    (result,) = run([], [0])
    assert result["config"] == {"lr": 0.001}
    assert "tests/test_runs.py" in result["training_code"]["modules"]
    assert set(result["provenance"]) >= {"commit", "uncommitted_changes", "device", "versions", "started", "finished"}
    assert result["train_seconds"] >= 0 and result["earlier_attempts"] == []


def test_another_configuration_code_or_device_never_reuses_a_seed(store, monkeypatch):
    calls = []
    run(calls, [0])
    run(calls, [0], config={"lr": 0.01})
    run(calls, [0], device="meta")
    monkeypatch.setattr(runs, "_FIRST_CODE", {})
    monkeypatch.setattr(runs, "training_code",
                        lambda entry: Fingerprint("other code", ["tests/test_runs.py"], None, {}, "tests/test_runs.py"))
    run(calls, [0])
    assert calls == [[0], [0], [0], [0]]


def test_from_the_store_a_missing_seed_is_an_error_that_names_it(store, monkeypatch):
    calls = []
    run(calls, [0, 1])
    monkeypatch.setenv(runs.FROM_STORE_ENV, "1")
    assert [r["resumed"] for r in run(calls, [0, 1])] == [True, True]
    with pytest.raises(ReprobookError, match=r"seeds 2, 3 are not in the run store \(2 of 4 are\)"):
        run(calls, [0, 1, 2, 3])
    assert calls == [[0, 1]]


def test_a_failed_or_stopped_run_is_kept_and_counted(store):
    def crashing(seeds):
        raise FloatingPointError("loss is nan")

    def stopped(seeds):       # the machine goes away mid-run: the marker stays as it was written
        (marker,) = store.rglob("seed-0.started.json")
        left_behind.append(marker.read_text())
        raise KeyboardInterrupt
    left_behind = []
    with pytest.raises(FloatingPointError):
        run([], [0], train_batch=crashing)
    (marker,) = store.rglob("seed-0.started.json")
    assert json.loads(marker.read_text())["status"] == "failed: FloatingPointError: loss is nan"
    with pytest.raises(KeyboardInterrupt):
        run([], [0], train_batch=stopped)
    marker.write_text(left_behind[0])
    (result,) = run([], [0])
    assert [a["status"] for a in result["earlier_attempts"]] == ["failed: FloatingPointError: loss is nan", "started"]
    assert not list(store.rglob("seed-0.started.json"))
    assert runs.runs_asked_for()[-1] | {"key": None} == {"protocol": "scan/length/top: length", "key": None, "seed": 0,
                                                         "trained": True, "earlier_attempts": 2}


def test_stored_seeds_have_portable_paths(store):
    run([], [0])
    (path,) = store.rglob("seed-0.json")
    assert ":" not in str(path.relative_to(store)) and " " not in str(path.relative_to(store))
