"""Iterative magnitude pruning with resetting (Frankle and Carbin, 2019, Section 2; Appendix G) on MNIST.

One *trial* is one seed: its θ0, then round after round of (train for 50,000 iterations, prune the
lowest-magnitude surviving weights layer by layer, reset the survivors to θ0). The winning ticket of
round k is trained from ``m_k ⊙ θ0``; its control, from ``m_k ⊙ θ0'`` with a fresh θ0' (random
re-initialisation). Each trained round of each trial is one seed file in the run store, carrying the
mask of the next round, so an interrupted run continues at the round it stopped in.

The paper's hyperparameters are ``PAPER_HYPERPARAMETERS``; the other setting, ``repository``, changes only
the optimiser to the one the authors' repository uses (google-research/lottery-ticket-hypothesis, mnist_fc).
"""
import base64
import hashlib
import zlib

import numpy as np
import torch
import torch.nn.functional as F

from reprobook.runs import run_seeds
from reprobook.seeding import generator_for

from lottery_data import mnist_splits
from lottery_model import LAYER_SIZES, LeNet, full_masks, initial_weights, percent_remaining, prune

# Appendix G.1: Adam at 1.2e-3, minibatches of 60, 50,000 iterations, validation every 100 iterations.
PAPER_HYPERPARAMETERS = {"optimizer": "adam", "lr": 1.2e-3, "batch_size": 60, "iterations": 50_000, "eval_every": 100}
SETTINGS = {
    "paper": {},
    # google-research/lottery-ticket-hypothesis, mnist_fc: plain gradient descent at 0.1.
    "repository": {"optimizer": "sgd", "lr": 0.1},
}
# Trials trained side by side. On a CPU each trial's products already keep a core busy, so this gains
# little there (benchmarks/lottery_trials.py); on a GPU it fills the device.
TRIALS_PER_BATCH = {"cpu": 5, "cuda": 25, "mps": 25}
# The paper's rounds: P_m from 100 % down to 3.6 % (round 15); its random re-initialisations at the sizes
# its Figure 3 labels (51.3, 21.1, 7.0 and 3.6 %).
ROUNDS = range(16)
REINIT_ROUNDS = (3, 7, 12, 15)
# Each trial's random streams: θ0, the order of the minibatches, and θ0' of the control at round k.
THETA0_STREAM, ORDER_STREAM, REINIT_STREAM = 0, 1, 2
STREAMS_PER_TRIAL = 1000


def hyperparameters(setting: str, iterations: int | None = None, eval_every: int | None = None) -> dict:
    h = PAPER_HYPERPARAMETERS | SETTINGS[setting]
    return h | {k: v for k, v in {"iterations": iterations, "eval_every": eval_every}.items() if v}


def stream(seed: int, which: int) -> torch.Generator:
    return generator_for(seed * STREAMS_PER_TRIAL + which)


def pack_masks(masks: list[torch.Tensor]) -> str:
    """One trial's masks as compressed bits in base64: the run store keeps the next round's mask."""
    bits = np.packbits(torch.cat([m.reshape(-1) for m in masks]).bool().cpu().numpy())
    return base64.b64encode(zlib.compress(bits.tobytes(), 9)).decode()


def unpack_masks(packed: str) -> list[torch.Tensor]:
    sizes = list(zip(LAYER_SIZES[:-1], LAYER_SIZES[1:]))
    bits = np.unpackbits(np.frombuffer(zlib.decompress(base64.b64decode(packed)), dtype=np.uint8))
    flat, masks, start = torch.from_numpy(bits.astype(np.float32)), [], 0
    for n_in, n_out in sizes:
        masks.append(flat[start:start + n_in * n_out].reshape(n_in, n_out))
        start += n_in * n_out
    return masks


def data_sha256(splits: dict) -> str:
    digest = hashlib.sha256()
    for name in sorted(splits):
        for tensor in splits[name]:
            digest.update(name.encode() + tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def optimizer_for(h: dict, parameters):
    if h["optimizer"] == "adam":
        return torch.optim.Adam(parameters, lr=h["lr"])
    return torch.optim.SGD(parameters, lr=h["lr"])


def evaluate(net: LeNet, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-trial mean cross-entropy and accuracy (%) on one split, the same images for every trial."""
    with torch.no_grad():
        logits = net.forward(x.expand(len(net.weights[0]), -1, -1))
        loss = F.cross_entropy(logits.transpose(1, 2), y.expand(logits.shape[0], -1), reduction="none").mean(1)
        return loss, 100.0 * (logits.argmax(-1) == y).float().mean(1)


def train(seeds: list[int], theta0: list[torch.Tensor], masks: list[torch.Tensor], h: dict, splits: dict, device,
          prune_round: int | None = None) -> list[dict]:
    """Train ``m ⊙ θ0`` of each trial for ``h["iterations"]`` minibatches; per trial, the early-stopping
    iteration (minimum validation loss) and the test accuracy there and at the last iteration. With
    ``prune_round`` k, also the masks of round k + 1, pruned from the weights trained to the last iteration."""
    net = LeNet([w.to(device) for w in theta0], [m.to(device) for m in masks])
    optimizer = optimizer_for(h, net.parameters())
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = ((x.to(device), y.to(device)) for x, y in
                                                            (splits["train"], splits["val"], splits["test"]))
    orders = [stream(seed, ORDER_STREAM) for seed in seeds]
    batch, per_epoch = h["batch_size"], len(y_train) // h["batch_size"]
    num_trials = len(seeds)
    best_loss = torch.full((num_trials,), float("inf"), device=device)
    best_iteration = torch.zeros(num_trials, dtype=torch.long, device=device)
    best_state = [p.detach().clone() for p in net.parameters()]
    val_curve = []
    for iteration in range(h["iterations"]):
        if iteration % per_epoch == 0:    # each trial's own shuffle of the training set, last partial batch dropped
            epoch = torch.stack([torch.randperm(len(y_train), generator=g)[:per_epoch * batch] for g in orders]).to(device)
            epoch = epoch.view(num_trials, per_epoch, batch)
        index = epoch[:, iteration % per_epoch]
        logits = net.forward(x_train[index])
        # each trial's mean over its minibatch, summed over trials: trial t's gradient is its own loss's
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y_train[index].reshape(-1), reduction="sum") / batch
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if (iteration + 1) % h["eval_every"] == 0:
            val_loss, _ = evaluate(net, x_val, y_val)
            val_curve.append(val_loss)
            improved = val_loss < best_loss
            best_loss = torch.where(improved, val_loss, best_loss)
            best_iteration = torch.where(improved, iteration + 1, best_iteration)
            for kept, p in zip(best_state, net.parameters()):
                kept.copy_(torch.where(improved.view(-1, 1, 1), p.detach(), kept))
    _, final_accuracy = evaluate(net, x_test, y_test)
    if prune_round is not None:
        next_masks = prune([w.detach().cpu() for w in net.weights], [m.cpu() for m in net.masks], prune_round)
    with torch.no_grad():
        for p, kept in zip(net.parameters(), best_state):
            p.copy_(kept)
    _, early_accuracy = evaluate(net, x_test, y_test)
    curve = torch.stack(val_curve, 1).cpu()
    return [{"early_stop_iteration": int(best_iteration[t]), "test_accuracy": float(early_accuracy[t]),
             "val_loss": float(best_loss[t]), "final_test_accuracy": float(final_accuracy[t]),
             "val_loss_curve": [round(v, 5) for v in curve[t].tolist()]}
            | ({"next_masks": pack_masks([m[t] for m in next_masks])} if prune_round is not None else {})
            for t in range(num_trials)]


class Trials:
    """The rounds of one setting's trials on one device, each trained once and read back after."""

    def __init__(self, setting: str, device, iterations: int | None = None, eval_every: int | None = None, log=print):
        self.setting, self.device, self.log = setting, device, log
        self.h = hyperparameters(setting, iterations, eval_every)
        self.splits = mnist_splits()
        self.config = {"setting": setting, "hyperparameters": self.h, "data_sha256": data_sha256(self.splits)}

    def masks(self, seeds: list[int], k: int) -> list[torch.Tensor]:
        """``[T, in, out]`` masks of round k of each trial (round 0: every weight)."""
        if k == 0:
            return full_masks(len(seeds))
        previous = self.ticket(seeds, k - 1)
        per_trial = [unpack_masks(run["next_masks"]) for run in previous]
        return [torch.stack(layer) for layer in zip(*per_trial)]

    def _run(self, kind: str, seeds: list[int], k: int) -> list[dict]:
        def train_batch(batch):
            theta0 = initial_weights([stream(seed, THETA0_STREAM if kind == "ticket" else REINIT_STREAM + k)
                                      for seed in batch])
            return train(batch, theta0, self.masks(batch, k), self.h, self.splits, self.device,
                         prune_round=k if kind == "ticket" else None)

        runs = run_seeds(f"lottery_ticket/{self.setting}/{kind}/round-{k}", self.config | {"round": k, "init": kind},
                         seeds, train_batch, batch_size=TRIALS_PER_BATCH[self.device.type], device=self.device, log=self.log)
        return [run | {"round": k, "percent_remaining": percent_remaining(k)} for run in runs]

    def ticket(self, seeds: list[int], k: int) -> list[dict]:
        """Round k's winning tickets, ``m_k ⊙ θ0`` trained (round 0: the unpruned network)."""
        return self._run("ticket", seeds, k)

    def reinitialised(self, seeds: list[int], k: int) -> list[dict]:
        """Round k's masks with a fresh θ0' ∼ Glorot: the random re-initialisation control."""
        return self._run("reinit", seeds, k)


def experiment(trials: Trials, seeds: list[int], rounds=ROUNDS, reinit_rounds=REINIT_ROUNDS) -> dict:
    """``{"ticket": {k: runs}, "reinit": {k: runs}}``: every round of the trials, and the controls."""
    found = {"ticket": {}, "reinit": {}}
    for k in rounds:
        found["ticket"][k] = trials.ticket(seeds, k)
        if k in reinit_rounds:
            found["reinit"][k] = trials.reinitialised(seeds, k)
    return found
