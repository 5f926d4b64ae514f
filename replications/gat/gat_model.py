"""Graph Attention Networks (Veličković et al., ICLR 2018), written out to read like the paper.

Every module here trains S runs side by side (see ``reprobook.seedbatch``): parameters are ``[S, ...]``
and node tensors ``[N, S, ...]``. With S = 1 it is an ordinary single GAT; a test checks a layer
against ``torch_geometric.nn.GATConv`` on the same weights.
"""
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.utils import add_self_loops, scatter, softmax

from reprobook.graphs import propagate
from reprobook.seedbatch import SparseFeatures, dropout, glorot_


class GATLayer(nn.Module):
    """One graph attentional layer with K heads, for S runs at once.

    For every edge j -> i (self-loops included, Sec. 2.1):

    * Eq. (1)-(3): e_ij = LeakyReLU(a^T [W h_i || W h_j]) with negative slope 0.2, and
      alpha_ij = softmax over j in N_i of e_ij. We split a = [a_dst || a_src], so
      a^T [W h_i || W h_j] = a_dst . W h_i + a_src . W h_j.
    * Eq. (4)-(5): h'_i = || over heads k of sigma( sum_j alpha^k_ij W^k h_j ) (hidden layer), or
    * Eq. (6): h'_i = sigma( mean over k of sum_j alpha^k_ij W^k h_j ) (output layer, ``concat=False``).

    The nonlinearity sigma is applied by the caller. Dropout with probability ``dropout`` is applied
    to the normalised attention coefficients (Sec. 3.3), so each node sees a sampled neighbourhood.
    """

    def __init__(self, generators, in_features: int, out_features: int, heads: int, concat: bool, dropout: float):
        super().__init__()
        self.generators = generators
        num_runs = len(generators)
        self.heads, self.out_features, self.concat, self.dropout = heads, out_features, concat, dropout
        self.weight = nn.Parameter(torch.empty(num_runs, in_features, heads * out_features))   # W^k, all heads
        self.att_src = nn.Parameter(torch.empty(num_runs, heads, out_features))                # a, neighbour half
        self.att_dst = nn.Parameter(torch.empty(num_runs, heads, out_features))                # a, centre half
        self.bias = nn.Parameter(torch.zeros(num_runs, heads * out_features if concat else out_features))
        # Glorot init per head, as each head is its own W^k in the authors' code.
        glorot_(self.weight, in_features, out_features, generators)
        glorot_(self.att_src, out_features, 1, generators)
        glorot_(self.att_dst, out_features, 1, generators)

    def forward(self, x, edge_index: torch.Tensor, input_multipliers=None, return_attention: bool = False):
        """``x``: ``SparseFeatures`` or ``[N, S, in]``; ``edge_index`` must contain self-loops."""
        if isinstance(x, SparseFeatures):
            wh = x.matmul(self.weight, input_multipliers)                        # W h_j, [N, S, K*F']
        else:
            wh = torch.einsum("nsi,sio->nso", x, self.weight)
        num_nodes, num_runs = wh.shape[:2]
        wh = wh.view(num_nodes, num_runs, self.heads, self.out_features)
        source, target = edge_index
        score_src = (wh * self.att_src).sum(-1)                                 # a_src . W h_j, [N, S, K]
        score_dst = (wh * self.att_dst).sum(-1)                                 # a_dst . W h_i
        e = F.leaky_relu(score_dst.index_select(0, target) + score_src.index_select(0, source), 0.2)  # Eq. (3), [E, S, K]
        alpha = softmax(e, target, num_nodes=num_nodes)                         # Eq. (2)
        attention = alpha
        alpha = dropout(alpha, self.dropout, self.generators, seed_dim=1, training=self.training)
        messages = alpha.unsqueeze(-1) * wh.index_select(0, source)             # alpha_ij W h_j
        out = scatter(messages, target, dim=0, dim_size=num_nodes, reduce="sum")  # [N, S, K, F']
        out = out.reshape(num_nodes, num_runs, -1) if self.concat else out.mean(dim=2)  # Eq. (4) / (6)
        out = out + self.bias
        return (out, attention) if return_attention else out


class GAT(nn.Module):
    """The transductive GAT of Sec. 3.3: K = 8 heads of F' = 8 features with ELU, then a softmax
    classifier of ``output_heads`` heads (1 on Cora and CiteSeer, 8 averaged on PubMed). Dropout
    p = 0.6 on both layers' inputs and on the attention coefficients."""

    def __init__(self, generators, in_features: int, num_classes: int, hidden: int = 8, heads: int = 8,
                 output_heads: int = 1, dropout: float = 0.6):
        super().__init__()
        self.generators, self.dropout = generators, dropout
        self.hidden_layer = GATLayer(generators, in_features, hidden, heads, concat=True, dropout=dropout)
        self.output_layer = GATLayer(generators, hidden * heads, num_classes, output_heads, concat=False, dropout=dropout)

    def forward(self, x: SparseFeatures, edge_index: torch.Tensor, return_attention: bool = False):
        multipliers = x.dropout_multipliers(self.dropout, self.generators, self.training)
        h, attention_1 = self.hidden_layer(x, edge_index, multipliers, return_attention=True)
        h = F.elu(h)                                                            # Eq. (5), sigma = ELU
        h = dropout(h, self.dropout, self.generators, seed_dim=1, training=self.training)
        logits, attention_2 = self.output_layer(h, edge_index, return_attention=True)
        return (logits, (attention_1, attention_2)) if return_attention else logits


class GCN(nn.Module):
    """The GCN baseline (Kipf and Welling, ICLR 2017), Eq. (9) of their paper:
    Z = softmax(Â ReLU(Â X W0) W1), with Â = D^-1/2 (A + I) D^-1/2, 16 hidden units, dropout 0.5 on
    both layers' inputs (sparse dropout on X), Glorot init and no bias, as in the authors' code."""

    def __init__(self, generators, in_features: int, num_classes: int, hidden: int = 16, dropout: float = 0.5):
        super().__init__()
        self.generators, self.dropout = generators, dropout
        num_runs = len(generators)
        self.weight_0 = nn.Parameter(torch.empty(num_runs, in_features, hidden))
        self.weight_1 = nn.Parameter(torch.empty(num_runs, hidden, num_classes))
        glorot_(self.weight_0, in_features, hidden, generators)
        glorot_(self.weight_1, hidden, num_classes, generators)

    def forward(self, x: SparseFeatures, adjacency: torch.Tensor):
        multipliers = x.dropout_multipliers(self.dropout, self.generators, self.training)
        h = F.relu(propagate(adjacency, x.matmul(self.weight_0, multipliers)))  # ReLU(Â X W0)
        h = dropout(h, self.dropout, self.generators, seed_dim=1, training=self.training)
        return propagate(adjacency, torch.einsum("nsi,sio->nso", h, self.weight_1))  # Â H W1


def with_self_loops(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """N_i includes i itself (Sec. 2.1)."""
    return add_self_loops(edge_index, num_nodes=num_nodes)[0]
