"""The batched early-stopping states follow the GAT authors' scalar rules exactly: execute_cora.py's
(loss and accuracy) and the CiteSeer variant of PetarV-/GAT issue 14 (accuracy alone)."""
import random

import pytest
import torch

from gat_protocol import PatienceOnAccuracy
from reprobook.training import PatienceOnLossAndAccuracy


def authors_rule(losses, accuracies, patience):
    """A transcription of the rule in the authors' execute_cora.py: (stop epoch, checkpoint epochs)."""
    best_acc, best_loss, bad, checkpoints = 0.0, float("inf"), 0, []
    for epoch, (loss, acc) in enumerate(zip(losses, accuracies)):
        if acc >= best_acc or loss <= best_loss:
            if acc >= best_acc and loss <= best_loss:
                checkpoints.append(epoch)
            best_acc, best_loss, bad = max(acc, best_acc), min(loss, best_loss), 0
        else:
            bad += 1
            if bad == patience:
                return epoch, checkpoints
    return None, checkpoints


def authors_accuracy_rule(losses, accuracies, patience):
    """Issue 14's variant: both of execute_cora.py's conditions test validation accuracy only."""
    best_acc, bad, checkpoints = 0.0, 0, []
    for epoch, acc in enumerate(accuracies):
        if acc >= best_acc:
            checkpoints.append(epoch)
            best_acc, bad = acc, 0
        else:
            bad += 1
            if bad == patience:
                return epoch, checkpoints
    return None, checkpoints


@pytest.mark.parametrize("rule, reference", [(PatienceOnLossAndAccuracy, authors_rule),
                                             (PatienceOnAccuracy, authors_accuracy_rule)])
def test_matches_the_authors_rule_on_random_curves(rule, reference):
    rng = random.Random(0)
    runs, epochs, patience = 16, 300, 7
    losses = [[1 / (1 + 0.02 * t) + rng.gauss(0, 0.05) for t in range(epochs)] for _ in range(runs)]
    accs = [[round(min(1, 0.3 + 0.002 * t + rng.gauss(0, 0.05)), 2) for t in range(epochs)] for _ in range(runs)]
    state = rule(runs, patience, "cpu")
    stopped_at = [None] * runs
    checkpoints = [[] for _ in range(runs)]
    for t in range(epochs):
        saved = state.step(torch.tensor([l[t] for l in losses]), torch.tensor([a[t] for a in accs]))
        for r in range(runs):
            if saved[r]:
                checkpoints[r].append(t)
            if state.stopped[r] and stopped_at[r] is None:
                stopped_at[r] = t
    for r in range(runs):
        expected_stop, expected_checkpoints = reference(
            torch.tensor(losses[r]).tolist(), torch.tensor(accs[r]).tolist(), patience)
        assert stopped_at[r] == expected_stop
        assert checkpoints[r] == expected_checkpoints
