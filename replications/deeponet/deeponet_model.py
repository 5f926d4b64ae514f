"""The unstacked DeepONet of Lu et al. (2021) and the fully connected network it is compared with.

A DeepONet approximates an operator G at a point y from the input function's values at m sensors,
u = (u(x₁), …, u(x_m)) (the paper's Eq. 2, unstacked, with the bias b₀):

    G(u)(y) ≈ Σ_{k=1}^{p} b_k(u) t_k(y) + b₀

one *branch* network computing (b₁, …, b_p) from u and one *trunk* network computing (t₁, …, t_p)
from y. As in the authors' code (DeepXDE 0.11.2's ``OpNN``, with ``stacked=False``), the branch's last
layer is linear and the trunk applies its activation on every layer, the last included.

The fully connected baseline (FNN) takes u and y concatenated and outputs G(u)(y).

Weights are drawn as TensorFlow 1's "Glorot normal" draws them (a normal truncated at two standard
deviations, rescaled to Glorot's variance), biases start at zero.
"""
import math

import torch
from torch import nn

# The authors' deeponet_pde.py for the antiderivative: branch [m, 40, 40], trunk [1, 40, 40], FNN [m + 1, 100, 100, 1].
BRANCH_WIDTHS = (40, 40)
TRUNK_WIDTHS = (40, 40)
FNN_WIDTHS = (100, 100)
# TensorFlow's truncated normal has this standard deviation for a unit normal cut at ±2.
_TRUNCATED_STD = 0.87962566103423978


def glorot_normal_(weight: torch.Tensor, generator: torch.Generator) -> None:
    """TensorFlow 1's ``glorot_normal_initializer``: truncated normal of variance 2 / (fan_in + fan_out)."""
    fan_out, fan_in = weight.shape
    std = math.sqrt(2.0 / (fan_in + fan_out)) / _TRUNCATED_STD
    with torch.no_grad():
        nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std, generator=generator)


def layers(widths: tuple[int, ...], generator: torch.Generator) -> nn.ModuleList:
    modules = nn.ModuleList(nn.Linear(n_in, n_out) for n_in, n_out in zip(widths[:-1], widths[1:]))
    for layer in modules:
        glorot_normal_(layer.weight, generator)
        nn.init.zeros_(layer.bias)
    return modules


def mlp(x: torch.Tensor, modules: nn.ModuleList, activate_last: bool) -> torch.Tensor:
    for index, layer in enumerate(modules):
        x = layer(x)
        if activate_last or index < len(modules) - 1:
            x = torch.relu(x)
    return x


class DeepONet(nn.Module):
    def __init__(self, sensors: int, generator: torch.Generator, branch_widths=BRANCH_WIDTHS,
                 trunk_widths=TRUNK_WIDTHS, point_dim: int = 1):
        super().__init__()
        if branch_widths[-1] != trunk_widths[-1]:
            raise ValueError("the branch and trunk networks must end in the same width p")
        self.branch = layers((sensors, *branch_widths), generator)
        self.trunk = layers((point_dim, *trunk_widths), generator)
        self.b0 = nn.Parameter(torch.zeros(1))

    def forward(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Eq. 2: ``Σ_k b_k(u) t_k(y) + b₀``, one value per row, ``[batch, 1]``."""
        b = mlp(u, self.branch, activate_last=False)
        t = mlp(y, self.trunk, activate_last=True)
        return (b * t).sum(-1, keepdim=True) + self.b0


class FNN(nn.Module):
    def __init__(self, sensors: int, generator: torch.Generator, widths=FNN_WIDTHS, point_dim: int = 1):
        super().__init__()
        self.net = layers((sensors + point_dim, *widths, 1), generator)

    def forward(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return mlp(torch.cat([u, y], -1), self.net, activate_last=False)


MODELS = {"DeepONet": DeepONet, "FNN": FNN}
