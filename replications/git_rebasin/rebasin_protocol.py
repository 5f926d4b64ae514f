"""Git Re-Basin's MNIST MLP experiment: pairs of models trained from different seeds, matched, and the loss
and accuracy along the linear path between them (Section 5.1, Figure 2), the barrier over training
(Section 5.2, Figure 3) and against width.

One *pair* is one seed of the run store: seed s trains models A and B from streams 2s and 2s + 1, side
by side, and at each observed epoch matches B to A by weight matching and measures the training-loss
barrier; after the last epoch it measures the whole path on the training and test sets for the naive
interpolation, weight matching and activation matching. The trained weights are not kept (3.7 MB per model).
"""
import hashlib

import torch
import torch.nn.functional as F

from reprobook.mnist import mnist_file, read_idx
from reprobook.runs import run_seeds
from reprobook.seeding import generator_for

from rebasin_model import (HIDDEN_LAYERS, activation_matching, init_params, interpolate, logits, loss_barrier,
                           permute, weight_matching, widths)

# Appendix A.3.1: Adam at 1e-3; the authors' mnist_mlp_train.py: minibatches of 500, 100 epochs, the final epoch's weights.
PAPER_HYPERPARAMETERS = {"lr": 1e-3, "batch_size": 500, "epochs": 100}
# Figure 3 follows the barrier over the first 25 epochs; ours at these, and at the end.
OBSERVED_EPOCHS = (1, 2, 5, 10, 25, 100)
# The authors' plot script: 25 points from Model A to Model B.
PATH_POINTS = 25
WIDTH_MULTIPLIERS = (0.125, 0.25, 0.5, 1.0)


def mnist_tensors(device) -> dict:
    """``{"train", "test"}`` of (images ``[N, 784]`` scaled to [0, 1], labels): the authors' ``ByteToFloat``."""
    found = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = (read_idx(mnist_file(f"{prefix}-{kind}")) for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"))
        found[split] = (torch.from_numpy(images.reshape(len(images), -1).astype("float32") / 255.0).to(device),
                        torch.from_numpy(labels.astype("int64")).to(device))
    return found


def data_sha256(splits: dict) -> str:
    digest = hashlib.sha256()
    for name in sorted(splits):
        for tensor in splits[name]:
            digest.update(name.encode() + tensor.cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def evaluate(params: dict, x: torch.Tensor, y: torch.Tensor, batch: int = 10_000) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (%) of one model on a whole split."""
    loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(y), batch):
            out = logits(params, x[start:start + batch])
            loss += float(F.cross_entropy(out, y[start:start + batch], reduction="sum"))
            correct += int((out.argmax(1) == y[start:start + batch]).sum())
    return loss / len(y), 100.0 * correct / len(y)


def path(a: dict, b: dict, splits: dict, points: int, which=("train", "test")) -> dict:
    """Loss and accuracy at ``points`` evenly spaced λ from A (λ = 0) to B (λ = 1), per split."""
    found = {f"{split}_{metric}": [] for split in which for metric in ("loss", "accuracy")}
    for weight in torch.linspace(0, 1, points).tolist():
        model = interpolate(a, b, weight)
        for split in which:
            loss, accuracy = evaluate(model, *splits[split])
            found[f"{split}_loss"].append(loss)
            found[f"{split}_accuracy"].append(accuracy)
    return found


def model_slice(stacked: dict, index: int) -> dict:
    return {name: value[index].detach() for name, value in stacked.items()}


def train_pair(seed: int, splits: dict, h: dict, sizes: tuple[int, ...], observed: tuple[int, ...], points: int,
               device) -> dict:
    """Train A and B of pair ``seed`` side by side (weights stacked on a leading model axis); observe them."""
    streams = [generator_for(2 * seed), generator_for(2 * seed + 1)]
    inits = [init_params(sizes, g) for g in streams]
    stacked = {name: torch.stack([p[name] for p in inits]).to(device).requires_grad_() for name in inits[0]}
    optimizer = torch.optim.Adam(stacked.values(), lr=h["lr"])
    x, y = splits["train"]
    batches = len(y) // h["batch_size"]
    matcher = generator_for(10_000 + seed)
    observations = []
    for epoch in range(1, h["epochs"] + 1):
        orders = torch.stack([torch.randperm(len(y), generator=g)[:batches * h["batch_size"]] for g in streams])
        orders = orders.view(2, batches, h["batch_size"]).to(device)
        for step in range(batches):
            index = orders[:, step]
            out = x[index]
            for layer in range(HIDDEN_LAYERS + 1):
                out = torch.baddbmm(stacked[f"b{layer}"][:, None], out, stacked[f"W{layer}"].transpose(1, 2))
                out = torch.relu(out) if layer < HIDDEN_LAYERS else out
            # each model's mean over its minibatch, summed: model m's gradient is its own loss's
            loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y[index].reshape(-1), reduction="sum") / h["batch_size"]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if epoch in observed:
            a, b = (model_slice(stacked, m) for m in (0, 1))
            perms, objectives = weight_matching({k: v.cpu() for k, v in a.items()}, {k: v.cpu() for k, v in b.items()}, matcher)
            matched = permute(b, [p.to(device) for p in perms])
            losses = path(a, matched, splits, points, which=("train",))["train_loss"]
            observations.append({"epoch": epoch, "train_barrier_weight_matching": loss_barrier(losses),
                                 "sweeps": len(objectives)})
    a, b = (model_slice(stacked, m) for m in (0, 1))
    weight_perms, _ = weight_matching({k: v.cpu() for k, v in a.items()}, {k: v.cpu() for k, v in b.items()}, matcher)
    activation_perms = activation_matching(a, b, x)
    paths = {"naive": path(a, b, splits, points),
             "weight matching": path(a, permute(b, [p.to(device) for p in weight_perms]), splits, points),
             "activation matching": path(a, permute(b, [p.to(device) for p in activation_perms]), splits, points)}
    return {"observations": observations, "paths": paths,
            "barriers": {method: {split: loss_barrier(found[f"{split}_loss"]) for split in ("train", "test")}
                         for method, found in paths.items()},
            "endpoint_test_accuracy": [evaluate(model, *splits["test"])[1] for model in (a, b)]}


def run_pairs(pairs: list[int], device, width_multiplier: float = 1.0, epochs: int | None = None,
              observed: tuple[int, ...] = OBSERVED_EPOCHS, examples: int | None = None, points: int = PATH_POINTS,
              log=print) -> list[dict]:
    """Each pair's results, trained once and then read back from the run store. ``examples`` keeps the
    first that many images of each split (the smoke tier)."""
    h = PAPER_HYPERPARAMETERS | ({"epochs": epochs} if epochs else {})
    observed = tuple(e for e in observed if e <= h["epochs"])
    splits = {name: (x[:examples], y[:examples]) for name, (x, y) in mnist_tensors(device).items()}
    sizes = widths(width_multiplier)
    config = {"hyperparameters": h, "sizes": list(sizes), "observed_epochs": list(observed),
              "path_points": points, "data_sha256": data_sha256(splits)}

    def train_batch(batch):
        return [train_pair(seed, splits, h, sizes, observed, points, device) for seed in batch]

    return run_seeds(f"git_rebasin/width-{width_multiplier:g}", config, pairs, train_batch, batch_size=1,
                     device=device, log=log)
