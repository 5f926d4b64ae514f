"""E(n) Equivariant Graph Neural Networks (Satorras, Hoogeboom and Welling, ICML 2021) and the
baselines of its N-body experiment that run on plain PyTorch.

Every model trains S runs side by side: parameters are ``[S, ...]`` and data tensors ``[S, B, N, ...]``
(run, system, particle). Each run draws its initialisation from its own generator, so run s trained
in a batch starts where run s trained alone starts. The graph of each system is complete (every
particle sees the other N - 1), so edges are gathered with one fixed index instead of an edge list.

Layer sizes, activations (SiLU) and initialisations follow the authors' ``models/gcl.py`` and
``n_body_system/model.py``.
"""
import torch
from torch import nn

from reprobook.seedbatch import glorot_, linear_init_


class SeedLinear(nn.Module):
    """``x W_s + b_s`` for run s: ``x`` is ``[S, ..., in]``; initialised like ``torch.nn.Linear``,
    or Glorot-uniform with a gain and no bias where the authors shrink a last layer."""

    def __init__(self, generators, in_features: int, out_features: int, bias: bool = True, glorot_gain: float | None = None):
        super().__init__()
        device = generators[0].device        # initialise where each run's generator lives
        self.weight = nn.Parameter(torch.empty(len(generators), in_features, out_features, device=device))
        self.bias = nn.Parameter(torch.empty(len(generators), 1, out_features, device=device)) if bias else None
        if glorot_gain is None:
            linear_init_(self.weight, self.bias, in_features, generators)
        else:                   # U(-g b, g b), b the Glorot bound: g times a Glorot-uniform draw
            glorot_(self.weight, in_features, out_features, generators)
            with torch.no_grad():
                self.weight.mul_(glorot_gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(x.shape[0], -1, x.shape[-1])
        out = torch.bmm(rows, self.weight) if self.bias is None else torch.baddbmm(self.bias, rows, self.weight)
        return out.reshape(*x.shape[:-1], out.shape[-1])


def mlp(generators, sizes: list[int], last_gain: float | None = None, last_bias: bool = True) -> nn.Sequential:
    """Linear layers with SiLU between them (none after the last)."""
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = index == len(sizes) - 2
        layers.append(SeedLinear(generators, fan_in, fan_out, bias=last_bias or not last,
                                 glorot_gain=last_gain if last else None))
        if not last:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


def neighbours(num_particles: int, device=None) -> torch.Tensor:
    """``[N, N-1]``: row i lists every j != i, the complete graph without self-loops."""
    index = torch.arange(num_particles, device=device)
    return torch.stack([torch.cat([index[:i], index[i + 1:]]) for i in range(num_particles)])


def pairs(values: torch.Tensor, others: torch.Tensor):
    """(value_i, value_j) for every edge: ``[S, B, N, F]`` -> two ``[S, B, N, N-1, F]``."""
    value_j = values[:, :, others]
    value_i = values.unsqueeze(3).expand_as(value_j)
    return value_i, value_j


def edge_attributes(x: torch.Tensor, charges: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """a_ij = [q_i q_j, ||x_i - x_j||^2] at the input positions: ``[S, B, N, N-1, 2]``."""
    q_i, q_j = pairs(charges.unsqueeze(-1), others)
    x_i, x_j = pairs(x, others)
    return torch.cat([q_i * q_j, (x_i - x_j).square().sum(-1, keepdim=True)], dim=-1)


class EquivariantLayer(nn.Module):
    """One E_GCL layer with the velocity extension (Sec. 3 and 3.2 of the paper):

    * Eq. (3): m_ij = phi_e(h_i, h_j, ||x_i - x_j||^2, a_ij)
    * Eq. (7): x_i <- x_i + C sum_{j != i} (x_i - x_j) phi_x(m_ij) + phi_v(h_i) v_i, with C = 1/(N-1)
      (the mean over neighbours; each term clamped to +-100 as in the authors' code)
    * Eq. (5): m_i = sum_{j != i} m_ij
    * Eq. (6): h_i <- h_i + phi_h(h_i, m_i)  (residual, ``recurrent=True`` in the authors' run)
    """

    def __init__(self, generators, hidden: int = 64, edge_features: int = 2):
        super().__init__()
        self.phi_e = nn.Sequential(*mlp(generators, [2 * hidden + 1 + edge_features, hidden, hidden]), nn.SiLU())
        self.phi_x = mlp(generators, [hidden, hidden, 1], last_gain=0.001, last_bias=False)
        self.phi_v = mlp(generators, [hidden, hidden, 1])
        self.phi_h = mlp(generators, [2 * hidden, hidden, hidden])

    def forward(self, h, x, v, a, others):
        h_i, h_j = pairs(h, others)
        x_i, x_j = pairs(x, others)
        difference = x_i - x_j
        m = self.phi_e(torch.cat([h_i, h_j, difference.square().sum(-1, keepdim=True), a], dim=-1))   # Eq. (3)
        shift = (difference * self.phi_x(m)).clamp(-100.0, 100.0).mean(3)                                 # Eq. (4)
        x = x + shift + self.phi_v(h) * v                                                                  # Eq. (7)
        h = h + self.phi_h(torch.cat([h, m.sum(3)], dim=-1))                                             # Eqs. (5), (6)
        return h, x


class EGNN(nn.Module):
    """h^0 = embedding(|v_i|); four equivariant layers; the prediction is the last layer's x."""

    def __init__(self, generators, hidden: int = 64, layers: int = 4):
        super().__init__()
        self.embedding = SeedLinear(generators, 1, hidden)
        self.layers = nn.ModuleList(EquivariantLayer(generators, hidden) for _ in range(layers))

    def forward(self, x, v, charges, others):
        a = edge_attributes(x, charges, others)
        h = self.embedding(v.norm(dim=-1, keepdim=True))
        for layer in self.layers:
            h, x = layer(h, x, v, a, others)
        return x


class GNNLayer(nn.Module):
    """The GCL layer of the GNN baseline (Table 1, first column): m_ij = phi_e(h_i, h_j, a_ij),
    h_i <- h_i + phi_h(h_i, sum_j m_ij)."""

    def __init__(self, generators, hidden: int = 64):
        super().__init__()
        self.phi_e = nn.Sequential(*mlp(generators, [2 * hidden + 1, hidden, hidden]), nn.SiLU())
        self.phi_h = mlp(generators, [2 * hidden, hidden, hidden])

    def forward(self, h, charge_products, others):
        h_i, h_j = pairs(h, others)
        m = self.phi_e(torch.cat([h_i, h_j, charge_products], dim=-1))
        return h + self.phi_h(torch.cat([h, m.sum(3)], dim=-1))


class GNN(nn.Module):
    """Message passing on the concatenation [x_i, v_i], edge attribute q_i q_j; an MLP decodes the
    predicted position. Not equivariant: its input is raw coordinates."""

    def __init__(self, generators, hidden: int = 64, layers: int = 4):
        super().__init__()
        self.embedding = SeedLinear(generators, 6, hidden)
        self.layers = nn.ModuleList(GNNLayer(generators, hidden) for _ in range(layers))
        self.decoder = mlp(generators, [hidden, hidden, 3])

    def forward(self, x, v, charges, others):
        q_i, q_j = pairs(charges.unsqueeze(-1), others)
        h = self.embedding(torch.cat([x, v], dim=-1))
        for layer in self.layers:
            h = layer(h, q_i * q_j, others)
        return self.decoder(h)


class RadialFieldLayer(nn.Module):
    """Radial Field (Köhler et al., 2019; Table 1, second column) with the velocity term:
    x_i <- x_i + C sum_j (x_i - x_j) phi(||x_i - x_j||, a_ij) + phi_v(|v_i|) v_i, phi ending in tanh."""

    def __init__(self, generators, hidden: int = 64, edge_features: int = 2):
        super().__init__()
        self.phi = nn.Sequential(*mlp(generators, [1 + edge_features, hidden, 1], last_gain=0.001, last_bias=False), nn.Tanh())
        self.phi_v = mlp(generators, [1, hidden, 1])

    def forward(self, x, v, speed, a, others):
        x_i, x_j = pairs(x, others)
        difference = x_i - x_j
        radial = difference.square().sum(-1, keepdim=True).sqrt()
        x = x + (difference * self.phi(torch.cat([radial, a], dim=-1))).mean(3)
        return x + self.phi_v(speed) * v


class RadialField(nn.Module):
    def __init__(self, generators, hidden: int = 64, layers: int = 4):
        super().__init__()
        self.layers = nn.ModuleList(RadialFieldLayer(generators, hidden) for _ in range(layers))

    def forward(self, x, v, charges, others):
        a = edge_attributes(x, charges, others)
        speed = v.norm(dim=-1, keepdim=True)
        for layer in self.layers:
            x = layer(x, v, speed, a, others)
        return x


class LinearDynamics(nn.Module):
    """x + t v with one learned scalar t per run (initialised at 0.7, as in the authors' code)."""

    def __init__(self, generators, hidden: int = 64, layers: int = 4):
        super().__init__()
        self.time = nn.Parameter(torch.full((len(generators), 1, 1, 1), 0.7, device=generators[0].device))

    def forward(self, x, v, charges, others):
        return x + self.time * v


MODELS = {"EGNN": EGNN, "GNN": GNN, "Radial Field": RadialField, "Linear": LinearDynamics}


def random_orthogonal(dimension: int, generator: torch.Generator, reflection: bool) -> torch.Tensor:
    """A Haar-random rotation (det +1), or rotation composed with a reflection (det -1)."""
    q, r = torch.linalg.qr(torch.randn(dimension, dimension, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r))
    if (torch.det(q) < 0) != reflection:
        q[:, 0] = -q[:, 0]
    return q


def equivariance_error(net: nn.Module, x, v, charges, others, rotation, translation, permutation) -> torch.Tensor:
    """Per system, max |f(g.x) - g.f(x)| for g = (rotation, translation, particle permutation).

    Inputs are one run's ``[1, B, N, ...]``; velocities rotate but do not translate. Zero (to float
    rounding) for an E(n)-equivariant, permutation-equivariant model.
    """
    rotation, translation = rotation.to(x), translation.to(x)
    with torch.no_grad():
        moved = net(x[:, :, permutation] @ rotation.T + translation, v[:, :, permutation] @ rotation.T,
                    charges[:, :, permutation], others)
        expected = net(x, v, charges, others)[:, :, permutation] @ rotation.T + translation
    return (moved - expected).abs().amax((0, 2, 3))
