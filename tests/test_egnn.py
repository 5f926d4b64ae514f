"""EGNN chapter: the N-body simulator, the defining equivariance of EGNN, and the batched training."""
import numpy as np
import pytest
import torch

import egnn_protocol
import nbody
from egnn_model import EGNN, GNN, MODELS, RadialField, equivariance_error, neighbours, random_orthogonal
from reprobook.errors import ReprobookError
from reprobook.seeding import generator_for



def reference_trajectory(charges, positions, velocities, params):
    """The simulation one system at a time, in float64, written as plainly as possible."""
    n, dt = len(charges), params.dt
    x, v = positions.copy(), velocities.copy()

    def forces(x):
        f = np.zeros_like(x)
        for i in range(n):
            for j in range(n):
                if i != j:
                    r = x[i] - x[j]
                    f[i] += charges[i] * charges[j] * r / np.sqrt(r @ r) ** 3
        return np.clip(f, -params.max_force, params.max_force)

    v = v + dt * forces(x)
    saved = []
    for step in range(1, params.steps):
        x = x + dt * v
        if step % params.save_every == 0:
            saved.append((x.copy(), v.copy()))
        v = v + dt * forces(x)
    return np.stack([s[0] for s in saved]), np.stack([s[1] for s in saved])


def test_batched_simulator_matches_the_one_system_reference():
    params = nbody.SimulationParameters(steps=1500)
    charges, positions, velocities = nbody.initial_state(3, params, torch.Generator().manual_seed(3))
    batched_x, batched_v = nbody.simulate(charges, positions, velocities, params)
    assert batched_x.shape == (3, params.steps // params.save_every - 1, 5, 3)
    for s in range(3):
        x, v = reference_trajectory(charges[s].numpy(), positions[s].numpy(), velocities[s].numpy(), params)
        np.testing.assert_allclose(batched_x[s].numpy(), x, rtol=0, atol=1e-10)
        np.testing.assert_allclose(batched_v[s].numpy(), v, rtol=0, atol=1e-10)


def test_initial_state_follows_the_generator():
    params = nbody.SimulationParameters()
    charges, positions, velocities = nbody.initial_state(4000, params, torch.Generator().manual_seed(0))
    assert set(charges.unique().tolist()) == {-1.0, 1.0} and abs(float(charges.mean())) < 0.03
    torch.testing.assert_close(velocities.norm(dim=-1), torch.full((4000, 5), 0.5, dtype=torch.float64))
    assert abs(float(positions.std()) - 1.0) < 0.02


def test_energy_is_conserved_without_the_clamp():
    """Like charges repel and never meet, so a fixed-step leapfrog must conserve their energy closely.
    (Opposite charges can pass arbitrarily close, where any fixed step loses accuracy.) Tolerance:
    relative drift below 2e-3 over the whole trajectory; we measured at most 9e-4."""
    params = nbody.SimulationParameters()
    charges, positions, velocities = nbody.initial_state(100, params, torch.Generator().manual_seed(0))
    charges = charges.abs()
    x, v = nbody.simulate(charges, positions, velocities, params, clamp=False)
    products = (charges.unsqueeze(-1) * charges.unsqueeze(-2)).unsqueeze(1)
    synchronised = v + 0.5 * params.dt * nbody.coulomb_forces(x, products, None)   # saved v lags half a step
    energy = nbody.total_energy(x, synchronised, charges.unsqueeze(1))
    initial = nbody.total_energy(positions, velocities, charges)
    drift = (energy - initial.unsqueeze(1)).abs().amax(1) / initial.abs()
    assert float(drift.max()) < 2e-3


def test_the_cache_never_reuses_data_made_with_other_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("REPROBOOK_DATA", str(tmp_path))
    sizes = nbody.SplitSizes(train=4, val=2, test=2)
    messages = []
    first = nbody.dataset(seed=0, sizes=sizes, params=nbody.SimulationParameters(steps=4200), log=messages.append)
    again = nbody.dataset(seed=0, sizes=sizes, params=nbody.SimulationParameters(steps=4200), log=messages.append)
    assert len(messages) == 1 and torch.equal(first["test"]["x"], again["test"]["x"])
    nbody.dataset(seed=0, sizes=sizes, params=nbody.SimulationParameters(steps=4300), log=messages.append)
    nbody.dataset(seed=1, sizes=sizes, params=nbody.SimulationParameters(steps=4200), log=messages.append)
    assert len(messages) == 3 and len(list((tmp_path / "nbody").glob("*.pt"))) == 3


def random_inputs(num_systems=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(1, num_systems, 5, 3, generator=generator, dtype=torch.float64)
    v = torch.randn(1, num_systems, 5, 3, generator=generator, dtype=torch.float64)
    q = torch.where(torch.rand(1, num_systems, 5, generator=generator) < 0.5, -1.0, 1.0).double()
    return x, v, q


@pytest.mark.parametrize("reflection", [False, True])
@pytest.mark.parametrize("model", [EGNN, RadialField])
def test_equivariant_models_commute_with_rotations_translations_and_relabelling(model, reflection):
    net = model([generator_for(0)], hidden=16).double().eval()
    generator = torch.Generator().manual_seed(7)
    for _ in range(5):
        rotation = random_orthogonal(3, generator, reflection)
        assert torch.allclose(rotation @ rotation.T, torch.eye(3, dtype=torch.float64))
        assert (torch.det(rotation) < 0) == reflection
        translation = torch.randn(3, generator=generator, dtype=torch.float64) * 3
        permutation = torch.randperm(5, generator=generator)
        error = equivariance_error(net, *random_inputs(), neighbours(5), rotation, translation, permutation)
        assert float(error.max()) < 1e-10


def test_the_gnn_baseline_is_not_equivariant():
    """The contrast: the same check fails by orders of magnitude for a GNN that reads raw coordinates."""
    net = GNN([generator_for(0)], hidden=16).double().eval()
    rotation = random_orthogonal(3, torch.Generator().manual_seed(7), reflection=False)
    error = equivariance_error(net, *random_inputs(), neighbours(5), rotation, torch.ones(3, dtype=torch.float64),
                               torch.arange(5))
    assert float(error.max()) > 1e-2


def test_the_gnn_is_still_permutation_equivariant():
    net = GNN([generator_for(0)], hidden=16).double().eval()
    error = equivariance_error(net, *random_inputs(), neighbours(5), torch.eye(3, dtype=torch.float64),
                               torch.zeros(3, dtype=torch.float64), torch.tensor([3, 1, 4, 0, 2]))
    assert float(error.max()) < 1e-10


def test_neighbours_is_the_complete_graph_without_self_loops():
    others = neighbours(5)
    assert others.shape == (5, 4)
    for i in range(5):
        assert sorted(others[i].tolist()) == [j for j in range(5) if j != i]


def tiny_splits():
    params = nbody.SimulationParameters(steps=4200)
    return {name: nbody.generate_split(size, seed, params) for seed, (name, size) in enumerate((("train", 200), ("val", 50), ("test", 50)))}


@pytest.mark.parametrize("model", list(MODELS))
def test_runs_trained_side_by_side_equal_runs_trained_alone(model):
    protocol = egnn_protocol
    splits = protocol.to_device(tiny_splits(), torch.device("cpu"))
    cpu = torch.device("cpu")
    together = protocol.train(model, [0, 1], splits, cpu, epochs=3, log=lambda *a: None)
    alone = [protocol.train(model, [seed], splits, cpu, epochs=3, log=lambda *a: None)[0] for seed in (0, 1)]
    for joint, single in zip(together, alone):
        np.testing.assert_allclose(joint["val_curve"], single["val_curve"], rtol=1e-4)
        assert joint["best_epoch"] == single["best_epoch"]
    assert together[0]["val_curve"] != together[1]["val_curve"]           # the seeds differ


def test_model_selection_reads_the_validation_curve_only():
    protocol = egnn_protocol
    splits = protocol.to_device(tiny_splits(), torch.device("cpu"))
    run = protocol.train("EGNN", [0], splits, torch.device("cpu"), epochs=11, log=lambda *a: None)[0]
    best = int(np.argmin(run["val_curve"]))
    assert run["curve_epochs"] == [0, 5, 10] and run["best_epoch"] == run["curve_epochs"][best]
    assert run["test_mse"] == pytest.approx(run["test_curve"][best])
    reloaded = protocol.load_trained("EGNN", run, torch.device("cpu"))
    test = splits["test"]
    with torch.no_grad():
        prediction = reloaded(test["x"][None], test["v"][None], test["charges"][None], neighbours(5))
    assert float((prediction - test["target"]).square().mean()) == pytest.approx(run["test_mse"], rel=1e-5)


def test_a_cpu_run_stopped_and_resumed_from_its_checkpoint_equals_one_never_stopped(tmp_path, monkeypatch):
    """Kept every 2 epochs, stopped during epoch 5, resumed from epoch 4: the same numbers, bit for bit."""
    protocol = egnn_protocol
    splits = protocol.to_device(tiny_splits(), torch.device("cpu"))
    cpu, quiet = torch.device("cpu"), (lambda *a: None)
    monkeypatch.setitem(protocol.CHECKPOINT_EVERY, "cpu", 2)
    never_stopped = protocol.train("EGNN", [0], splits, cpu, epochs=7, log=quiet, checkpoint=tmp_path / "a.pt")[0]
    assert not (tmp_path / "a.pt").exists() and never_stopped["resumed_at_epochs"] == []

    shuffles, real_batches = [], protocol.epoch_batches

    def stop_in_epoch_5(*args):
        shuffles.append(None)
        if len(shuffles) == 6:
            raise KeyboardInterrupt
        return real_batches(*args)

    monkeypatch.setattr(protocol, "epoch_batches", stop_in_epoch_5)
    with pytest.raises(KeyboardInterrupt):
        protocol.train("EGNN", [0], splits, cpu, epochs=7, log=quiet, checkpoint=tmp_path / "b.pt")
    assert torch.load(tmp_path / "b.pt", weights_only=True)["epoch"] == 4
    monkeypatch.setattr(protocol, "epoch_batches", real_batches)
    resumed = protocol.train("EGNN", [0], splits, cpu, epochs=7, log=quiet, checkpoint=tmp_path / "b.pt")[0]
    assert resumed["resumed_at_epochs"] == [4] and resumed["seconds_before_resuming"] > 0
    assert not (tmp_path / "b.pt").exists()
    for key in ("test_mse", "val_mse", "best_epoch", "curve_epochs", "val_curve", "test_curve", "best_state"):
        assert resumed[key] == never_stopped[key], key


def test_background_training_jobs_name_a_model_and_seeds():
    import egnn_train_runs
    assert egnn_train_runs.parse_job("Radial Field:0-1") == [("Radial Field", 0), ("Radial Field", 1)]
    assert egnn_train_runs.parse_job("EGNN:3") == [("EGNN", 3)]
    with pytest.raises(ReprobookError, match="MODEL:SEEDS"):
        egnn_train_runs.parse_job("SE(3)-Transformer:0")
