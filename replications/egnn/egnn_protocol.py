"""The N-body protocol of the EGNN paper (Sec. 5.1; the authors' ``main_nbody.py`` and README).

Defaults are the paper's; the per-model learning rates sit in ``LEARNING_RATES``, in one visible place.
Adam, batch 100, 10,000 epochs over the 3,000 training systems, MSE on the predicted positions; every
5 epochs the validation and test MSE are measured, and the test MSE reported is the one at the epoch
of the lowest validation MSE (model selection never looks at the test split).

On a GPU a whole training step (forward, backward and Adam) is captured once as a CUDA graph and
replayed, since these models are far too small to keep a GPU busy one kernel launch at a time. The
arithmetic is the same as the eager step the CPU runs.

On a CPU one run takes hours (measured on 2026-12-02: about 1.9 s per epoch for the GNN and 2.4 s for
EGNN on one core, so 5 to 7 hours for 10,000 epochs), and a run that long may well be stopped before
it ends. So a CPU run keeps its whole state (weights, Adam's moments, its random generators, its best
state and curves) every ``CHECKPOINT_EVERY`` epochs in the run store beside its seed file, and a rerun
continues from there with the same arithmetic, as if it had never stopped.
"""
import base64
import hashlib
import os
import time
from pathlib import Path

import torch

import egnn_model
import nbody
from egnn_model import MODELS, neighbours
from reprobook.fingerprints import training_code
from reprobook.runs import protocol_folder, run_seeds, store_key
from reprobook.seeding import generator_for

PAPER_HYPERPARAMETERS = {"epochs": 10_000, "batch_size": 100, "hidden": 64, "layers": 4, "weight_decay": 1e-12,
                         "eval_every": 5, "lr": 5e-4}
LEARNING_RATES = {"EGNN": 5e-4, "GNN": 1e-3, "Radial Field": 2e-4, "Linear": 5e-4}
SEEDS_PER_BATCH = {"cpu": 1, "cuda": 5, "mps": 5}
TRAINING_PATH = {"cpu": "eager steps", "cuda": "one CUDA graph per training step (forward, backward, Adam)"}
CHECKPOINT_EVERY = {"cpu": 250}     # epochs (about 8 to 10 minutes of one CPU core); a GPU run takes minutes
NOT_RUN = {
    "SE(3)-Transformer": "needs the SE(3)-Transformer's spherical-harmonic layers (DGL and lie_learn), outside this book's stack",
    "TFN": "needs Tensor Field Network layers (DGL and lie_learn in the authors' code), outside this book's stack",
}


def hyperparameters(model: str) -> dict:
    return PAPER_HYPERPARAMETERS | {"lr": LEARNING_RATES[model]}


def to_device(splits: dict, device) -> dict:
    return {name: {key: value.to(device) for key, value in split.items() if key != "trajectory"}
            for name, split in splits.items()}


def evaluate(net, split: dict, others, num_runs: int) -> torch.Tensor:
    """MSE of every run on a whole split: ``[S]``."""
    with torch.no_grad():
        expand = lambda t: t.unsqueeze(0).expand(num_runs, *t.shape)
        prediction = net(expand(split["x"]), expand(split["v"]), expand(split["charges"]), others)
        return (prediction - split["target"]).square().mean((1, 2, 3))


def epoch_batches(num_train: int, batch_size: int, generators) -> torch.Tensor:
    """``[batches, S, batch_size]``: each run's own shuffle of the training set, last partial batch dropped."""
    orders = torch.stack([torch.randperm(num_train, generator=g, device=g.device) for g in generators])
    usable = num_train // batch_size * batch_size
    return orders[:, :usable].reshape(len(generators), -1, batch_size).transpose(0, 1)


def train(model: str, seeds: list[int], splits: dict, device, epochs: int | None = None, log=print,
          checkpoint: Path | None = None) -> list[dict]:
    """Train ``len(seeds)`` runs of one model side by side; one result dict per run. With ``checkpoint``
    (a file) and a device in ``CHECKPOINT_EVERY``, the runs' state is kept there and training resumes from it."""
    h = hyperparameters(model) | ({"epochs": epochs} if epochs else {})
    generators = [generator_for(seed, device) for seed in seeds]
    net = MODELS[model](generators, h["hidden"], h["layers"]).to(device)
    others = neighbours(splits["train"]["x"].shape[1], device)
    train_set = splits["train"]
    capture = device.type == "cuda"
    optimizer = torch.optim.Adam(net.parameters(), lr=h["lr"], weight_decay=h["weight_decay"], capturable=capture)
    num_runs, batch = len(seeds), h["batch_size"]
    index = torch.zeros(num_runs, batch, dtype=torch.long, device=device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        x, v, q, target = (train_set[key][index] for key in ("x", "v", "charges", "target"))
        # The mean over each run's batch, summed over runs: run s's gradient is its own loss's.
        loss = (net(x, v, q, others) - target).square().mean((1, 2, 3)).sum()
        loss.backward()
        optimizer.step()

    graph, best_state = None, None
    best_val = torch.full((num_runs,), float("inf"), device=device)
    curve_epochs, val_curve, test_curve = [], [], []
    first_epoch, resumed_at, seconds_before = 0, [], 0.0
    every = CHECKPOINT_EVERY.get(device.type) if checkpoint else None
    if every and checkpoint.is_file():
        kept = torch.load(checkpoint, map_location=device, weights_only=True)
        net.load_state_dict(kept["net"])
        optimizer.load_state_dict(kept["optimizer"])
        for generator, state in zip(generators, kept["generators"]):
            generator.set_state(state)
        best_val, best_state = kept["best_val"], kept["best_state"]
        curve_epochs, val_curve, test_curve = kept["curve_epochs"], kept["val_curve"], kept["test_curve"]
        first_epoch, seconds_before = kept["epoch"], kept["seconds"]
        resumed_at = [*kept["resumed_at"], first_epoch]
        log(f"{model}: resumed at epoch {first_epoch} from {checkpoint.name}")
    began = time.perf_counter()
    for epoch in range(first_epoch, h["epochs"]):
        net.train()
        for batch_index in epoch_batches(train_set["x"].shape[0], batch, generators):
            index.copy_(batch_index)
            if graph is not None:
                graph.replay()
            elif capture:
                graph = captured(step, device)
            else:
                step()
        if epoch % h["eval_every"] == 0 or epoch == h["epochs"] - 1:
            net.eval()
            curve_epochs.append(epoch)
            val_curve.append(evaluate(net, splits["val"], others, num_runs))
            test_curve.append(evaluate(net, splits["test"], others, num_runs))
            improved = val_curve[-1] < best_val
            best_val = torch.where(improved, val_curve[-1], best_val)
            best_state = {name: torch.where(improved.view(-1, *[1] * (p.dim() - 1)), p.detach(), best_state[name])
                          if best_state else p.detach().clone() for name, p in net.state_dict().items()}
        if epoch % 1000 == 999:
            log(f"{model}: epoch {epoch + 1}, val MSE {val_curve[-1].min().item():.5f}, "
                f"{time.perf_counter() - began:.0f} s")
        if every and (epoch + 1) % every == 0 and epoch + 1 < h["epochs"]:
            partial = checkpoint.with_suffix(".part")
            torch.save({"epoch": epoch + 1, "net": net.state_dict(), "optimizer": optimizer.state_dict(),
                        "generators": [g.get_state() for g in generators], "best_val": best_val, "best_state": best_state,
                        "curve_epochs": curve_epochs, "val_curve": val_curve, "test_curve": test_curve,
                        "resumed_at": resumed_at, "seconds": seconds_before + time.perf_counter() - began}, partial)
            os.replace(partial, checkpoint)
    if checkpoint:
        checkpoint.unlink(missing_ok=True)
    val, test = torch.stack(val_curve, 1).cpu(), torch.stack(test_curve, 1).cpu()        # [S, evaluations]
    best = val.argmin(1)
    return [{"test_mse": float(test[s, best[s]]), "val_mse": float(val[s, best[s]]), "best_epoch": curve_epochs[best[s]],
             "curve_epochs": curve_epochs, "val_curve": val[s].tolist(), "test_curve": test[s].tolist(),
             "best_state": encode_state({name: p[s] for name, p in best_state.items()}),
             "resumed_at_epochs": resumed_at, "seconds_before_resuming": seconds_before / num_runs}
            for s in range(num_runs)]


def captured(step, device) -> torch.cuda.CUDAGraph:
    """Run ``step`` once for real on a side stream (building Adam's state), then record it as a CUDA graph."""
    warmup = torch.cuda.Stream(device)
    warmup.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(warmup):
        step()
    torch.cuda.current_stream(device).wait_stream(warmup)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    return graph


def encode_state(state: dict) -> dict:
    """A run's parameters as float32 bytes in base64, compact enough for the run store's JSON."""
    return {name: {"shape": list(t.shape), "float32": base64.b64encode(t.detach().float().cpu().numpy().tobytes()).decode()}
            for name, t in state.items()}


def decode_state(encoded: dict) -> dict:
    return {name: torch.frombuffer(bytearray(base64.b64decode(e["float32"])), dtype=torch.float32).reshape(e["shape"])
            for name, e in encoded.items()}


def data_sha256(splits: dict) -> str:
    """sha256 of every tensor of the splits, in a fixed order: the data behind a stored seed."""
    digest = hashlib.sha256()
    for name in sorted(splits):
        for key in sorted(splits[name]):
            value = splits[name][key]
            if isinstance(value, torch.Tensor):
                digest.update(f"{name}/{key}".encode() + value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def run_protocol(model: str, seeds: list[int], splits: dict, device, epochs: int | None = None, log=print) -> list[dict]:
    """Per-seed results of one model, resuming from stored seeds, and a CPU run from its last checkpoint."""
    config = {"model": model, "hyperparameters": hyperparameters(model), "epochs": epochs,
              "data": {name: int(split["x"].shape[0]) for name, split in splits.items()},
              "data_sha256": data_sha256(splits), "path": TRAINING_PATH.get(device.type, "eager steps")}
    on_device = to_device(splits, device)
    # beside the seed files: the same configuration and training code, or no resuming
    folder = protocol_folder(f"egnn/{model}") / store_key(config, training_code(Path(__file__)).sha256, device.type)

    def train_batch(batch):
        folder.mkdir(parents=True, exist_ok=True)
        checkpoint = folder / f"seeds-{'-'.join(map(str, batch))}.checkpoint.pt"
        return train(model, batch, on_device, device, epochs, log, checkpoint)

    return run_seeds(f"egnn/{model}", config, seeds, train_batch, batch_size=SEEDS_PER_BATCH[device.type], device=device, log=log)


def load_trained(model: str, result: dict, device) -> torch.nn.Module:
    """One stored run, at its best validation epoch, as a single-run model for plots."""
    net = MODELS[model]([generator_for(0, device)], PAPER_HYPERPARAMETERS["hidden"], PAPER_HYPERPARAMETERS["layers"])
    net.load_state_dict({name: value.unsqueeze(0) for name, value in decode_state(result["best_state"]).items()})
    return net.to(device).eval()


def forward_seconds(model: str, splits: dict, device, repeats: int = 200) -> float:
    """Mean wall time of one forward pass on a batch of 100 systems, one run, as the paper times it."""
    net = MODELS[model]([generator_for(0, device)], PAPER_HYPERPARAMETERS["hidden"], PAPER_HYPERPARAMETERS["layers"]).to(device).eval()
    test = {key: value[:PAPER_HYPERPARAMETERS["batch_size"]].unsqueeze(0).to(device)
            for key, value in splits["test"].items() if key != "trajectory"}
    others = neighbours(test["x"].shape[2], device)
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.no_grad():
        for _ in range(10):
            net(test["x"], test["v"], test["charges"], others)
        synchronize()
        began = time.perf_counter()
        for _ in range(repeats):
            net(test["x"], test["v"], test["charges"], others)
        synchronize()
    return (time.perf_counter() - began) / repeats
