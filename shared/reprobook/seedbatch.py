"""Several seeds of one protocol trained side by side as one batched model.

Every tensor that belongs to a run carries a *seed axis*: parameters are ``[S, ...]`` and node
tensors are ``[N, S, ...]`` (nodes first, so gathers along edges stay row-contiguous). Run ``s`` draws
its initialisation and every dropout mask from its own generator, in the same order and shapes as
a single run would, so seed ``s`` trained in a batch computes what seed ``s`` trained alone computes.
Losses are summed over seeds; Adam and L2 act elementwise, so each run's update depends only on its
own parameters and gradients.

Used by every chapter with repeated runs on a fixed graph (GAT, DAGNN).
"""
import math

import torch

from .errors import ReprobookError


def _uniform_(tensor: torch.Tensor, bound: float, generator: torch.Generator) -> None:
    """U(-bound, bound) into ``tensor`` from ``generator``, drawn where the generator lives (a CUDA
    generator cannot fill a CPU tensor; models are built on the CPU and moved afterwards). The draws
    are the ones ``tensor.uniform_(..., generator=generator)`` makes on the generator's device."""
    if tensor.device == generator.device:
        tensor.uniform_(-bound, bound, generator=generator)
    else:
        tensor.copy_(torch.empty(tensor.shape, dtype=tensor.dtype, device=generator.device).uniform_(-bound, bound, generator=generator))


def glorot_(weight: torch.Tensor, fan_in: int, fan_out: int, generators: list[torch.Generator]) -> None:
    """Glorot-uniform initialisation (Glorot and Bengio, 2010) of ``weight[s]`` from run ``s``'s stream."""
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        for s, generator in enumerate(generators):
            _uniform_(weight[s], bound, generator)


def linear_init_(weight: torch.Tensor, bias: torch.Tensor, fan_in: int, generators: list[torch.Generator]) -> None:
    """``torch.nn.Linear``'s default initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the weight
    (Kaiming-uniform with a = sqrt(5)) and the bias, of ``weight[s]`` and ``bias[s]`` from run ``s``'s stream."""
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        for s, generator in enumerate(generators):
            _uniform_(weight[s], bound, generator)
            _uniform_(bias[s], bound, generator)


def keep_mask(shape, p: float, generators: list[torch.Generator], seed_dim: int, device) -> torch.Tensor:
    """Inverted-dropout multipliers: 0 with probability ``p``, else ``1/(1-p)``; one draw per run.

    Run ``s`` draws ``torch.rand(shape)`` from its own generator, and the draws are stacked on
    ``seed_dim``: the same numbers a single run of that seed would draw.
    """
    draws = [torch.rand(shape, generator=g, device=device) for g in generators]
    return (torch.stack(draws, dim=seed_dim) >= p).to(torch.float32) / (1.0 - p)


def dropout(x: torch.Tensor, p: float, generators: list[torch.Generator], seed_dim: int, training: bool) -> torch.Tensor:
    """Dropout of a tensor that has a seed axis at ``seed_dim``, each run with its own mask."""
    if not training or p == 0.0:
        return x
    shape = x.shape[:seed_dim] + x.shape[seed_dim + 1:]
    return x * keep_mask(shape, p, generators, seed_dim, x.device)


class SparseFeatures:
    """A sparse node-feature matrix ``X`` (``[N, F]``) multiplied by one weight matrix per run.

    Bag-of-words features are mostly zeros (Cora: 98.7 %), so dropout is drawn on the non-zero
    entries only: identical in distribution to dropout on the dense matrix, since a dropped zero is
    still zero. The per-run products ``X_s W_s`` are one block-diagonal sparse product.
    """

    def __init__(self, x: torch.Tensor):
        x = x.to_sparse_csr() if x.layout != torch.sparse_csr else x
        self.num_nodes, self.num_features = x.shape
        self.crow = x.crow_indices()
        self.col = x.col_indices()
        self.values = x.values()
        self.nnz = self.values.numel()

    def to(self, device) -> "SparseFeatures":
        moved = object.__new__(SparseFeatures)
        moved.num_nodes, moved.num_features, moved.nnz = self.num_nodes, self.num_features, self.nnz
        moved.crow, moved.col, moved.values = self.crow.to(device), self.col.to(device), self.values.to(device)
        return moved

    def matmul(self, weight: torch.Tensor, multipliers: torch.Tensor | None = None) -> torch.Tensor:
        """``[X_s W_s for s]`` as ``[N, S, out]``; ``multipliers`` (``[S, nnz]``) scale X's non-zeros per run."""
        num_seeds, num_features, out = weight.shape
        if num_features != self.num_features:
            raise ReprobookError(f"weight expects {num_features} input features, the data has {self.num_features}")
        values = self.values.expand(num_seeds, -1) if multipliers is None else self.values * multipliers
        offsets = torch.arange(num_seeds, device=weight.device)
        crow = torch.cat([(self.crow[:-1] + offsets[:, None] * self.nnz).reshape(-1),
                          torch.tensor([num_seeds * self.nnz], device=weight.device)])
        col = (self.col + offsets[:, None] * num_features).reshape(-1)
        block = torch.sparse_csr_tensor(crow, col, values.reshape(-1),
                                        (num_seeds * self.num_nodes, num_seeds * num_features),
                                        check_invariants=False)
        return (block @ weight.reshape(num_seeds * num_features, out)).view(num_seeds, self.num_nodes, out).transpose(0, 1)

    def dropout_multipliers(self, p: float, generators: list[torch.Generator], training: bool) -> torch.Tensor | None:
        """Per-run dropout of the non-zero entries (``[S, nnz]``), or ``None`` when nothing is dropped."""
        if not training or p == 0.0:
            return None
        return keep_mask((self.nnz,), p, generators, 0, self.values.device)
