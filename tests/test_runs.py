"""The run store: finished seeds are kept, a rerun trains only the missing ones, and any change to the
configuration, the code or the device type starts afresh."""
import pytest

from reprobook import runs


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv(runs.RUNS_ENV, str(tmp_path))
    return tmp_path


def trainer(calls):
    def train_batch(seeds):
        calls.append(list(seeds))
        return [{"accuracy": 50.0 + seed} for seed in seeds]
    return train_batch


def run(calls, seeds, config=None, fingerprint="code-a", device_type="cpu"):
    return runs.run_seeds("scan/length/top: length", config or {"lr": 0.001}, seeds, trainer(calls), batch_size=2,
                          fingerprint=fingerprint, device_type=device_type, log=lambda _: None)


def test_a_rerun_trains_only_the_missing_seeds(store):
    calls = []
    first = run(calls, [0, 1, 2])
    assert calls == [[0, 1], [2]] and not any(r["resumed"] for r in first)
    second = run(calls, [0, 1, 2, 3, 4])
    assert calls[2:] == [[3, 4]]
    assert [r["resumed"] for r in second] == [True, True, True, False, False]
    assert [r["accuracy"] for r in second] == [50.0, 51.0, 52.0, 53.0, 54.0]


@pytest.mark.parametrize("change", [{"config": {"lr": 0.01}}, {"fingerprint": "code-b"}, {"device_type": "cuda"}])
def test_another_configuration_code_or_device_never_reuses_a_seed(store, change):
    calls = []
    run(calls, [0])
    run(calls, [0], **change)
    assert calls == [[0], [0]]


def test_stored_seeds_have_portable_paths(store):
    run([], [0])
    (path,) = store.rglob("seed-0.json")
    assert ":" not in str(path.relative_to(store)) and " " not in str(path.relative_to(store))
