"""The MNIST MLP of Git Re-Basin (Ainsworth, Hayase and Srinivasa, 2023, Appendix A.3.1), its permutation
symmetry, weight matching (Section 3.2, Algorithm 1), activation matching (Section 3.1) and the loss
barrier along the linear path between two models (Definition 2.2).

A model is a dict of tensors in ``torch.nn.Linear``'s layout: ``W{l}`` is ``[out, in]``, ``b{l}`` is
``[out]``, for layers 0 to 3 (784-512-512-512-10, ReLU between layers). A permutation of hidden layer
l's units reorders the rows of ``W{l}`` and ``b{l}`` and the columns of ``W{l+1}``: the function is
unchanged (Section 2).
"""
import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

LAYER_SIZES = (784, 512, 512, 512, 10)
HIDDEN_LAYERS = len(LAYER_SIZES) - 2


def widths(multiplier: float) -> tuple[int, ...]:
    """The layer sizes with every hidden layer ``multiplier`` times as wide (the paper's width study)."""
    return (LAYER_SIZES[0], *(round(n * multiplier) for n in LAYER_SIZES[1:-1]), LAYER_SIZES[-1])


def init_params(sizes: tuple[int, ...], generator: torch.Generator) -> dict:
    """flax ``nn.Dense``'s defaults, as the authors' code uses them: LeCun-normal weights (variance 1/fan_in,
    truncated at two standard deviations and rescaled to keep that variance), zero biases."""
    params = {}
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        std = (1.0 / n_in) ** 0.5 / 0.87962566103423978
        weight = torch.empty(n_out, n_in)
        torch.nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std, generator=generator)
        params[f"W{layer}"], params[f"b{layer}"] = weight, torch.zeros(n_out)
    return params


def hidden_activations(params: dict, x: torch.Tensor) -> list[torch.Tensor]:
    """The post-ReLU activations of every hidden layer, ``[N, width]`` each."""
    found = []
    for layer in range(HIDDEN_LAYERS):
        x = torch.relu(F.linear(x, params[f"W{layer}"], params[f"b{layer}"]))
        found.append(x)
    return found


def logits(params: dict, x: torch.Tensor) -> torch.Tensor:
    last = HIDDEN_LAYERS
    return F.linear(hidden_activations(params, x)[-1], params[f"W{last}"], params[f"b{last}"])


def permute(params: dict, perms: list[torch.Tensor]) -> dict:
    """π(Θ): position i of hidden layer l holds the unit that was at ``perms[l][i]``."""
    out = dict(params)
    for layer, perm in enumerate(perms):
        out[f"W{layer}"] = out[f"W{layer}"][perm]
        out[f"b{layer}"] = out[f"b{layer}"][perm]
        out[f"W{layer + 1}"] = out[f"W{layer + 1}"][:, perm]
    return out


def _similarity(a: dict, b: dict, perms: list[torch.Tensor], layer: int) -> torch.Tensor:
    """``[n, n]``: how much unit i of A's layer agrees with unit j of B's, with B's other layers permuted
    by ``perms``: the terms of Σ_l <W_l^A, P_l W_l^B P_{l-1}^T> that involve P_layer."""
    w_b = b[f"W{layer}"] if layer == 0 else b[f"W{layer}"][:, perms[layer - 1]]
    following = b[f"W{layer + 1}"] if layer + 1 == HIDDEN_LAYERS else b[f"W{layer + 1}"][perms[layer + 1]]
    return (a[f"W{layer}"] @ w_b.T + torch.outer(a[f"b{layer}"], b[f"b{layer}"])
            + a[f"W{layer + 1}"].T @ following)


def matching_objective(a: dict, b: dict, perms: list[torch.Tensor]) -> float:
    """Σ over layers of <W^A, π(W^B)> and <b^A, π(b^B)>: what weight matching maximises (Eq. 2)."""
    permuted = permute(b, perms)
    return float(sum((a[name].double() * permuted[name].double()).sum() for name in a))


def weight_matching(a: dict, b: dict, generator: torch.Generator, max_sweeps: int = 100) -> tuple[list, list[float]]:
    """Algorithm 1: coordinate ascent over the layers' permutations, each step a linear assignment problem,
    the layers in a fresh random order every sweep, until a sweep improves none. Returns the permutations
    of B and the objective after each sweep."""
    width = [a[f"b{layer}"].numel() for layer in range(HIDDEN_LAYERS)]
    perms = [torch.arange(n) for n in width]
    objectives = []
    for _ in range(max_sweeps):
        improved = False
        for layer in torch.randperm(HIDDEN_LAYERS, generator=generator).tolist():
            scores = _similarity(a, b, perms, layer).double().numpy()
            _, best = linear_sum_assignment(scores, maximize=True)
            rows = np.arange(width[layer])
            if scores[rows, best].sum() > scores[rows, perms[layer].numpy()].sum() + 1e-12:
                perms[layer], improved = torch.from_numpy(best), True
        objectives.append(matching_objective(a, b, perms))
        if not improved:
            break
    return perms, objectives


def activation_matching(a: dict, b: dict, x: torch.Tensor) -> list[torch.Tensor]:
    """Section 3.1: per hidden layer, the assignment of B's units to A's that maximises Σ_i E[z_i^A z_π(i)^B]
    over the images ``x`` (the authors' code: all 60,000 training images)."""
    perms = []
    for z_a, z_b in zip(hidden_activations(a, x), hidden_activations(b, x)):
        _, best = linear_sum_assignment((z_a.T.double() @ z_b.double() / len(x)).cpu().numpy(), maximize=True)
        perms.append(torch.from_numpy(best))
    return perms


def interpolate(a: dict, b: dict, weight: float) -> dict:
    """(1 − λ) Θ_A + λ Θ_B."""
    return {name: (1 - weight) * a[name] + weight * b[name] for name in a}


def loss_barrier(losses: list[float]) -> float:
    """Definition 2.2: max over the path of the loss, minus the mean of the two end points' losses."""
    return max(losses) - 0.5 * (losses[0] + losses[-1])
