"""Full-batch node classification for several runs side by side, with no host sync in the inner loop.

``fit_node_classifier`` trains the runs of one batch until every run has stopped. The early-stopping
state lives on the device as one entry per run and is read back only every ``sync_every`` epochs.
A stopping rule has ``step(val_loss, val_accuracy) -> checkpoint mask`` and a ``stopped`` mask; the
default is the GAT authors' (``PatienceOnLossAndAccuracy``); a chapter brings any other rule of its
paper (``gat_protocol.PatienceOnAccuracy``, ``dagnn_protocol.WindowedValidationLoss``).
"""
from dataclasses import dataclass
import torch
import torch.nn.functional as F


def masked_loss_and_accuracy(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor):
    """Per-run mean cross-entropy and accuracy over the nodes in ``mask``; logits are ``[N, S, C]``."""
    selected = logits[mask]                                   # [M, S, C]
    targets = y[mask]                                         # [M]
    num_classes = selected.shape[-1]
    loss = F.cross_entropy(selected.reshape(-1, num_classes),
                           targets.repeat_interleave(selected.shape[1]), reduction="none")
    loss = loss.view(selected.shape[0], -1).mean(0)           # [S]
    accuracy = (selected.argmax(-1) == targets[:, None]).float().mean(0)
    return loss, accuracy


class PatienceOnLossAndAccuracy:
    """The GAT authors' early stopping (``execute_cora.py`` in PetarV-/GAT), one state per run.

    An epoch that improves validation accuracy *or* loss resets the patience counter; the model is
    checkpointed only when it improves both. Training stops after ``patience`` epochs without either.
    The reported test accuracy is the checkpoint's.
    """

    def __init__(self, num_runs: int, patience: int, device):
        self.patience = patience
        self.best_accuracy = torch.zeros(num_runs, device=device)
        self.best_loss = torch.full((num_runs,), float("inf"), device=device)
        self.bad_epochs = torch.zeros(num_runs, dtype=torch.long, device=device)
        self.stopped = torch.zeros(num_runs, dtype=torch.bool, device=device)

    def step(self, val_loss: torch.Tensor, val_accuracy: torch.Tensor) -> torch.Tensor:
        """Update with this epoch's validation metrics; return which runs checkpoint now."""
        better_accuracy = val_accuracy >= self.best_accuracy
        better_loss = val_loss <= self.best_loss
        active = ~self.stopped
        checkpoint = active & better_accuracy & better_loss
        improved = active & (better_accuracy | better_loss)
        self.best_accuracy = torch.where(active, torch.maximum(self.best_accuracy, val_accuracy), self.best_accuracy)
        self.best_loss = torch.where(active, torch.minimum(self.best_loss, val_loss), self.best_loss)
        self.bad_epochs = torch.where(improved, 0, self.bad_epochs + active.long())
        self.stopped = self.stopped | (self.bad_epochs >= self.patience)
        return checkpoint


@dataclass
class NodeClassificationData:
    y: torch.Tensor
    train_mask: torch.Tensor
    val_mask: torch.Tensor
    test_mask: torch.Tensor


def fit_node_classifier(net: torch.nn.Module, inputs: tuple, optimizer: torch.optim.Optimizer,
                        data: NodeClassificationData, *, num_runs: int, max_epochs: int, patience: int | None = None,
                        stopping=None, sync_every: int = 25) -> dict:
    """Train the ``num_runs`` runs of ``net`` side by side; return per-run results and each run's
    checkpointed parameters.

    ``net(*inputs)`` returns logits ``[N, S, C]``, and every parameter of ``net`` is ``[S, ...]``, one
    slice per run. Each run's loss is its own mean over training nodes; the optimiser steps on their sum,
    which gives every run exactly the gradient it would get alone. ``stopping`` defaults to the GAT
    authors' rule with the given ``patience``.
    """
    device = data.y.device
    parameters = dict(net.named_parameters())

    def forward(training: bool) -> torch.Tensor:
        net.train(training)
        return net(*inputs)

    stopping = stopping or PatienceOnLossAndAccuracy(num_runs, patience, device)
    checkpoint = {name: p.detach().clone() for name, p in parameters.items()}
    zeros = lambda: torch.zeros(num_runs, device=device)
    best = {"test_accuracy": zeros(), "val_accuracy": zeros(), "val_loss": zeros(), "train_loss": zeros()}
    best_epoch = torch.zeros(num_runs, dtype=torch.long, device=device)
    epochs_run = torch.zeros(num_runs, dtype=torch.long, device=device)
    history = []
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        optimizer.zero_grad(set_to_none=True)
        logits = forward(True)
        train_loss, _ = masked_loss_and_accuracy(logits, data.y, data.train_mask)
        train_loss.sum().backward()
        optimizer.step()
        with torch.no_grad():
            logits = forward(False)
            val_loss, val_accuracy = masked_loss_and_accuracy(logits, data.y, data.val_mask)
            _, test_accuracy = masked_loss_and_accuracy(logits, data.y, data.test_mask)
            active = ~stopping.stopped
            epochs_run += active.long()
            saved = stopping.step(val_loss, val_accuracy)
            for name, value in (("test_accuracy", test_accuracy), ("val_accuracy", val_accuracy),
                                ("val_loss", val_loss), ("train_loss", train_loss.detach())):
                best[name] = torch.where(saved, value, best[name])
            best_epoch = torch.where(saved, epoch, best_epoch)
            for name, p in parameters.items():
                checkpoint[name] = torch.where(saved.view(-1, *([1] * (p.dim() - 1))), p.detach(), checkpoint[name])
            history.append(torch.stack([train_loss.detach(), val_loss, val_accuracy]))
        if epoch % sync_every == 0 and bool(stopping.stopped.all()):
            break
    curves = torch.stack(history).cpu()                       # [epochs, 3, S]
    results = []
    for s in range(num_runs):
        stop = int(epochs_run[s])
        results.append({
            "test_accuracy": float(best["test_accuracy"][s]),
            "val_accuracy": float(best["val_accuracy"][s]),
            "val_loss": float(best["val_loss"][s]),
            "best_epoch": int(best_epoch[s]),
            "epochs": stop,
            "curves": {"train_loss": curves[:stop, 0, s].tolist(), "val_loss": curves[:stop, 1, s].tolist(),
                       "val_accuracy": curves[:stop, 2, s].tolist()},
        })
    return {"runs": results, "checkpoint": checkpoint, "epochs_trained": epoch}
