"""LeNet-300-100 with a pruning mask per layer, several trials side by side, and layer-wise magnitude pruning
(Frankle and Carbin, 2019, Section 2 and Appendix G).

Every tensor of a trial carries a leading *trial axis*: weights are ``[T, in, out]``, masks likewise,
inputs ``[T, batch, 784]``. Trial ``t`` draws from its own generators and shares no arithmetic with
the trials beside it: trained among others it gives what it gives alone (a unit test checks it). A layer computes ``x (m ⊙ W) + b``: the mask multiplies the weights
in the forward pass, so a pruned weight gets a zero gradient and Adam, whose moments then stay zero,
never moves it.
"""
import torch

LAYER_SIZES = (784, 300, 100, 10)
# The paper's layer-wise rates: each round prunes 20 % of each hidden layer's surviving weights and 10 %
# of the output layer's. Biases are not pruned.
PRUNE_RATES = (0.2, 0.2, 0.1)


def gaussian_glorot(fan_in: int, fan_out: int, generators: list[torch.Generator]) -> torch.Tensor:
    """``[T, fan_in, fan_out]`` drawn from N(0, 2 / (fan_in + fan_out)) (Glorot and Bengio, 2010, Gaussian form)."""
    std = (2.0 / (fan_in + fan_out)) ** 0.5
    return torch.stack([torch.randn(fan_in, fan_out, generator=g) * std for g in generators])


class LeNet:
    """LeNet-300-100 for T trials: ``forward(x)`` maps ``[T, B, 784]`` to logits ``[T, B, 10]``."""

    def __init__(self, weights: list[torch.Tensor], masks: list[torch.Tensor]):
        self.masks = [m.clone() for m in masks]
        self.weights = [torch.nn.Parameter(w * m) for w, m in zip(weights, self.masks)]
        self.biases = [torch.nn.Parameter(torch.zeros(w.shape[0], 1, w.shape[2])) for w in weights]

    def parameters(self) -> list[torch.nn.Parameter]:
        return [*self.weights, *self.biases]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.weights) - 1
        for i, (w, m, b) in enumerate(zip(self.weights, self.masks, self.biases)):
            x = torch.baddbmm(b, x, m * w)
            if i < last:
                x = torch.relu(x)
        return x


def initial_weights(generators: list[torch.Generator]) -> list[torch.Tensor]:
    """θ0 of every trial, layer by layer, each from the trial's own stream."""
    return [gaussian_glorot(n_in, n_out, generators) for n_in, n_out in zip(LAYER_SIZES[:-1], LAYER_SIZES[1:])]


def full_masks(num_trials: int) -> list[torch.Tensor]:
    return [torch.ones(num_trials, n_in, n_out) for n_in, n_out in zip(LAYER_SIZES[:-1], LAYER_SIZES[1:])]


def weights_kept(layer_size: int, rate: float, rounds: int) -> int:
    """How many of a layer's weights survive ``rounds`` rounds at ``rate``: the closed form n (1 - rate)^k,
    to the nearest weight."""
    return round(layer_size * (1.0 - rate) ** rounds)


def prune_layer(weight: torch.Tensor, mask: torch.Tensor, keep: int) -> torch.Tensor:
    """The next mask of one layer: of each trial's surviving weights, the ``keep`` of largest magnitude."""
    num_trials = weight.shape[0]
    scores = torch.where(mask.bool(), weight.abs(), torch.tensor(-1.0)).reshape(num_trials, -1)
    chosen = scores.topk(keep, dim=1).indices
    return torch.zeros_like(scores).scatter_(1, chosen, 1.0).reshape(mask.shape)


def prune(weights: list[torch.Tensor], masks: list[torch.Tensor], rounds_done: int) -> list[torch.Tensor]:
    """The masks after pruning round ``rounds_done + 1`` from trained ``weights`` (Section 2, step 3)."""
    return [prune_layer(w, m, weights_kept(w.shape[1] * w.shape[2], rate, rounds_done + 1))
            for w, m, rate in zip(weights, masks, PRUNE_RATES)]


def percent_remaining(rounds: int) -> float:
    """P_m after ``rounds`` rounds: the surviving share of all weights (biases excluded), in %."""
    sizes = [n_in * n_out for n_in, n_out in zip(LAYER_SIZES[:-1], LAYER_SIZES[1:])]
    return 100.0 * sum(weights_kept(n, rate, rounds) for n, rate in zip(sizes, PRUNE_RATES)) / sum(sizes)
