"""The antiderivative experiment of Lu et al. (2021), with the settings of the authors' ``deeponet_pde.py``.

A run is one model (the unstacked DeepONet or the FNN) trained from one seed on ``train_size``
triplets: Adam at 0.001 on the mean squared error, full batch, 50,000 steps. As DeepXDE's
``ModelCheckpoint(save_better_only=True, period=1000)`` does in the authors' script, the weights kept are
those of the step, among every 1000th and the last, with the lowest *training* loss; the test set is only read to
report. Each seed draws its own training functions and its own initialisation; every run is tested on
the same 100,000 test triplets.
"""
from functools import lru_cache

import numpy as np
import torch

from reprobook.runs import run_seeds
from reprobook.seeding import generator_for

from deeponet_data import antiderivative, operator_triplets
from deeponet_model import MODELS

# deeponet_pde.py (antiderivative): GRF(length_scale=0.2), m = 100, num_train = 10000, num_test = 100000,
# lr = 0.001, epochs = 50000 (full-batch Adam steps), checkpoints every 1000 steps.
PAPER_HYPERPARAMETERS = {"length_scale": 0.2, "sensors": 100, "train_size": 10_000, "test_size": 100_000,
                         "lr": 1e-3, "steps": 50_000, "check_every": 1_000}
# Streams of the random number generator: the training functions of seed s come from [TRAIN_STREAM, s].
TRAIN_STREAM = 1
TEST_STREAM = 2


def training_set(seed: int, size: int, h: dict) -> tuple[np.ndarray, ...]:
    return operator_triplets(antiderivative, size, h["sensors"], h["length_scale"], np.random.default_rng([TRAIN_STREAM, seed]))


@lru_cache(maxsize=1)  # every run of a process is tested on the same set
def test_set(size: int, sensors: int, length_scale: float) -> tuple[np.ndarray, ...]:
    return operator_triplets(antiderivative, size, sensors, length_scale, np.random.default_rng([TEST_STREAM]))


def mse(net, u, y, s) -> float:
    with torch.no_grad():
        return float(((net(u, y) - s) ** 2).mean())


def train_run(model: str, seed: int, train_data, test_data, h: dict, device) -> dict:
    u, y, s = (torch.from_numpy(a).to(device) for a in train_data)
    test = [torch.from_numpy(a).to(device) for a in test_data]
    net = MODELS[model](h["sensors"], generator_for(seed)).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=h["lr"])
    curve = {"step": [], "train_mse": [], "test_mse": []}
    best_loss, best_state, best_step = float("inf"), None, 0
    for step in range(h["steps"] + 1):
        if step % h["check_every"] == 0 or step == h["steps"]:
            train_mse = mse(net, u, y, s)
            curve["step"].append(step)
            curve["train_mse"].append(train_mse)
            curve["test_mse"].append(mse(net, *test))
            if train_mse < best_loss:
                best_loss, best_step = train_mse, step
                best_state = {name: value.clone() for name, value in net.state_dict().items()}
        if step == h["steps"]:
            break
        optimizer.zero_grad()
        loss = ((net(u, y) - s) ** 2).mean()
        loss.backward()
        optimizer.step()
    net.load_state_dict(best_state)
    return {"test_mse": mse(net, *test), "train_mse": best_loss, "best_step": best_step, "curve": curve}


def run_models(model: str, train_size: int, seeds: list[int], device, steps: int | None = None,
               test_size: int | None = None, log=print) -> list[dict]:
    """``model`` trained on ``train_size`` triplets from each seed, each run once and then read back from
    the run store. ``steps`` and ``test_size`` default to the paper's (the smoke tier asks for fewer)."""
    h = PAPER_HYPERPARAMETERS | {"train_size": train_size} | ({"steps": steps} if steps else {}) | (
        {"test_size": test_size} if test_size else {})
    config = {"hyperparameters": h, "model": model, "train_stream": TRAIN_STREAM, "test_stream": TEST_STREAM}

    def train_batch(batch):
        test_data = test_set(h["test_size"], h["sensors"], h["length_scale"])
        return [train_run(model, seed, training_set(seed, train_size, h), test_data, h, device) for seed in batch]

    return run_seeds(f"deeponet/{model}-{train_size}", config, seeds, train_batch, batch_size=1, device=device, log=log)
