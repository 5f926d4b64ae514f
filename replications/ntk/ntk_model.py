"""The fully connected network in the NTK parametrisation of Jacot, Gabriel and Hongler (2018), its
empirical neural tangent kernel, and the kernel's infinite-width limit in closed form for the ReLU.

Section 2: layer l + 1's preactivations are ``α̃(l+1) = W(l) α(l) / √n_l + β b(l)``, ``α(l) = σ(α̃(l))``,
every weight and bias drawn from N(0, 1) and nothing else rescaled. A network of depth L has L weight
matrices: n_0 inputs, L − 1 hidden layers of width n and one output (n_L = 1).

Section 4: the neural tangent kernel ``Θ(x, x') = Σ_p ∂_p f(x) ∂_p f(x')`` (a sum over every parameter).
Theorem 1: as the widths grow it tends to ``Θ(L)``, given by the recursion

    Σ(1)(x, x') = x·x' / n_0 + β²
    Σ(l+1)(x, x') = E_{f ~ N(0, Σ(l))}[σ(f(x)) σ(f(x'))] + β²
    Θ(1) = Σ(1),   Θ(l+1) = Θ(l) Σ̇(l+1) + Σ(l+1),   Σ̇(l+1)(x, x') = E_{f ~ N(0, Σ(l))}[σ̇(f(x)) σ̇(f(x'))]

and for the ReLU both expectations have closed forms (the arc-cosine kernels of Cho and Saul, 2009).
"""
import math

import torch
from torch.func import functional_call, jvp, vjp

DEPTH = 4
BETA = 0.1


def layer_sizes(inputs: int, width: int, depth: int = DEPTH) -> tuple[int, ...]:
    """``(n_0, n, ..., n, 1)``: the paper's equal hidden widths (Section 6)."""
    return (inputs, *([width] * (depth - 1)), 1)


def init_params(sizes: tuple[int, ...], generator: torch.Generator) -> dict:
    """Every weight and bias from N(0, 1) (Section 2); ``W{l}`` is ``[n_{l+1}, n_l]``."""
    params = {}
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"W{layer}"] = torch.randn(n_out, n_in, generator=generator)
        params[f"b{layer}"] = torch.randn(n_out, generator=generator)
    return params


def network(params: dict, x: torch.Tensor, beta: float = BETA) -> torch.Tensor:
    """The network function ``f(x)``, one value per row of ``x`` (Section 2's recursion)."""
    layers = len(params) // 2
    out = x
    for layer in range(layers):
        weight = params[f"W{layer}"]
        out = out @ weight.T / math.sqrt(weight.shape[1]) + beta * params[f"b{layer}"]
        if layer < layers - 1:
            out = torch.relu(out)
    return out.squeeze(-1)


class _Network(torch.nn.Module):
    """A shell for ``torch.func.functional_call``: the parameters come from the caller."""

    def __init__(self, beta: float):
        super().__init__()
        self.beta = beta

    def forward(self, x, params):
        return network(params, x, self.beta)


def empirical_ntk(params: dict, x1: torch.Tensor, x2: torch.Tensor, beta: float = BETA) -> torch.Tensor:
    """``Θ(x1_i, x2_j)`` as a ``[len(x1), len(x2)]`` matrix: for each column, the gradient of ``f(x2_j)``
    (one vector-Jacobian product) pushed forward through ``f`` at every ``x1`` (one Jacobian-vector
    product), so no Jacobian is ever held whole."""
    shell = _Network(beta)
    _, pull_back = vjp(lambda p: functional_call(shell, {}, (x2, p)), params)
    columns = []
    for j in range(len(x2)):
        cotangent = torch.zeros(len(x2), dtype=x2.dtype, device=x2.device)
        cotangent[j] = 1.0
        (gradient,) = pull_back(cotangent)
        _, column = jvp(lambda p: functional_call(shell, {}, (x1, p)), (params,), (gradient,))
        columns.append(column)
    return torch.stack(columns, dim=1)


def relu_expectations(var1: torch.Tensor, var2: torch.Tensor, cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``E[σ(u) σ(v)]`` and ``E[σ̇(u) σ̇(v)]`` for (u, v) centred Gaussian with these variances and
    covariance, σ the ReLU: ``√(var1 var2) (sin θ + (π − θ) cos θ) / 2π`` and ``(π − θ) / 2π``,
    θ the angle whose cosine is the correlation."""
    scale = torch.sqrt(var1 * var2)
    angle = torch.arccos(torch.clamp(cov / scale, -1.0, 1.0))
    return (scale * (torch.sin(angle) + (math.pi - angle) * torch.cos(angle)) / (2 * math.pi),
            (math.pi - angle) / (2 * math.pi))


def limiting_kernels(x1: torch.Tensor, x2: torch.Tensor, depth: int = DEPTH,
                     beta: float = BETA) -> tuple[torch.Tensor, torch.Tensor]:
    """``(Σ(L), Θ(L))`` on every pair (Theorem 1's recursion), in float64: the limit's Gaussian-process
    covariance of the network at initialisation, and the limiting NTK."""
    x1, x2 = x1.double(), x2.double()
    inputs = x1.shape[1]
    cross = x1 @ x2.T / inputs + beta ** 2
    var1 = (x1 * x1).sum(1, keepdim=True) / inputs + beta ** 2
    var2 = ((x2 * x2).sum(1) / inputs + beta ** 2)[None, :]
    kernel = cross
    for _ in range(depth - 1):
        expectation, derivative_expectation = relu_expectations(var1, var2, cross)
        cross = expectation + beta ** 2
        # E[σ(u)²] = var / 2 for the ReLU
        var1, var2 = var1 / 2 + beta ** 2, var2 / 2 + beta ** 2
        kernel = kernel * derivative_expectation + cross
    return cross, kernel


def kernel_regression(train_x: torch.Tensor, train_y: torch.Tensor, x: torch.Tensor, depth: int = DEPTH,
                      beta: float = BETA) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of the network function at ``x`` after training to convergence in the
    infinite-width limit (Section 5): ``f_∞(x) = f_0(x) + Θ(x, X) Θ(X, X)⁻¹ (Y − f_0(X))`` with ``f_0`` the
    Gaussian process of covariance Σ(L), so ``f_∞(x)`` is Gaussian with mean ``Θ(x, X) Θ(X, X)⁻¹ Y``."""
    sigma_xx, _ = limiting_kernels(x, x, depth, beta)
    sigma_xX, theta_xX = limiting_kernels(x, train_x, depth, beta)
    sigma_XX, theta_XX = limiting_kernels(train_x, train_x, depth, beta)
    weights = torch.linalg.solve(theta_XX, theta_xX.T).T  # Θ(x, X) Θ(X, X)⁻¹
    mean = weights @ train_y.double()
    covariance = sigma_xx - weights @ sigma_xX.T - sigma_xX @ weights.T + weights @ sigma_XX @ weights.T
    return mean, torch.sqrt(torch.clamp(torch.diagonal(covariance), min=0.0))
