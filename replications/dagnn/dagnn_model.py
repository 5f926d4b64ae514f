"""Deep Adaptive Graph Neural Network (Liu, Gao and Ji, KDD 2020), and the models of its depth analysis.

As in the GAT chapter, every module trains S runs side by side (``reprobook.seedbatch``): parameters
are ``[S, ...]`` and node tensors ``[N, S, ...]``. Layers are initialised like ``torch.nn.Linear``,
as in the authors' code.
"""
import torch
import torch.nn.functional as F
from torch import nn

from reprobook.graphs import propagate
from reprobook.seedbatch import SparseFeatures, dropout, linear_init_


class SeedLinear(nn.Module):
    """``x W + b`` with one weight matrix per run; accepts ``SparseFeatures`` or ``[N, S, in]``."""

    def __init__(self, generators, in_features: int, out_features: int):
        super().__init__()
        num_runs = len(generators)
        self.weight = nn.Parameter(torch.empty(num_runs, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(num_runs, out_features))
        linear_init_(self.weight, self.bias, in_features, generators)

    def forward(self, x, input_multipliers=None):
        if isinstance(x, SparseFeatures):
            return x.matmul(self.weight, input_multipliers) + self.bias
        return torch.einsum("nsi,sio->nso", x, self.weight) + self.bias


class DAGNN(nn.Module):
    """Sec. 5 of the paper:

    * Eq. (9):  Z = MLP(X), two layers with ReLU and dropout (transformation, decoupled from propagation);
    * Eq. (10): H_l = Â^l Z for l = 0..K, stacked into H (K+1 hops), with Â = D^-1/2 (A + I) D^-1/2;
    * Eq. (11): S = sigmoid(H s), one retention score per node and hop from a learned projection s;
    * Eq. (12): X_out = softmax(squeeze(S~ H)): each node's hops combined with its own scores.

    With ``adaptive=False`` it is the decoupled model of the paper's analysis (Sec. 3.2): the same
    transformation, then K propagation steps, predicting from the last hop only.
    """

    def __init__(self, generators, in_features: int, num_classes: int, hidden: int = 64, K: int = 10,
                 dropout: float = 0.5, adaptive: bool = True):
        super().__init__()
        self.generators, self.K, self.dropout, self.adaptive = generators, K, dropout, adaptive
        self.transform_1 = SeedLinear(generators, in_features, hidden)
        self.transform_2 = SeedLinear(generators, hidden, num_classes)
        if adaptive:
            self.retention = SeedLinear(generators, num_classes, 1)        # the projection vector s

    def forward(self, x: SparseFeatures, adjacency: torch.Tensor, return_scores: bool = False):
        multipliers = x.dropout_multipliers(self.dropout, self.generators, self.training)
        z = F.relu(self.transform_1(x, multipliers))
        z = dropout(z, self.dropout, self.generators, seed_dim=1, training=self.training)
        z = self.transform_2(z)                                             # Eq. (9), [N, S, C]
        hops = [z]
        for _ in range(self.K):
            hops.append(propagate(adjacency, hops[-1]))                     # Eq. (10)
        if not self.adaptive:
            return hops[-1]
        h = torch.stack(hops, dim=2)                                        # [N, S, K+1, C]
        scores = torch.sigmoid(torch.einsum("nskc,sc->nsk", h, self.retention.weight[..., 0])
                               + self.retention.bias)                       # Eq. (11), [N, S, K+1]
        out = (scores.unsqueeze(-1) * h).sum(dim=2)                         # Eq. (12), before softmax
        return (out, scores) if return_scores else out


class CoupledGCN(nn.Module):
    """The over-smoothing baseline: ``depth`` graph convolutions, each a transformation *and* a
    propagation (Kipf and Welling's layer), ReLU and dropout between them, 64 hidden features."""

    def __init__(self, generators, in_features: int, num_classes: int, depth: int, hidden: int = 64,
                 dropout: float = 0.5):
        super().__init__()
        self.generators, self.dropout = generators, dropout
        sizes = [in_features] + [hidden] * (depth - 1) + [num_classes]
        self.layers = nn.ModuleList(SeedLinear(generators, a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x: SparseFeatures, adjacency: torch.Tensor):
        h = x
        multipliers = x.dropout_multipliers(self.dropout, self.generators, self.training)
        for index, layer in enumerate(self.layers):
            if index > 0:
                h = dropout(F.relu(h), self.dropout, self.generators, seed_dim=1, training=self.training)
            h = propagate(adjacency, layer(h, multipliers if index == 0 else None))
        return h


def smoothness_metric(x: torch.Tensor) -> torch.Tensor:
    """SMV (Sec. 3.1, Eqs. 2-4): the mean over node pairs of half the Euclidean distance between
    L2-normalised representations; 0 when all rows point the same way. ``x`` is ``[N, d]``."""
    unit = F.normalize(x, p=2, dim=1)
    distances = torch.cdist(unit, unit) / 2                                # D(x_i, x_j)
    n = x.shape[0]
    return distances.sum() / (n * (n - 1))                                 # mean over i of SMV_i
