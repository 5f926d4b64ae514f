"""End-To-End Memory Network (Sukhbaatar, Szlam, Weston and Fergus, 2015), Sections 2.1, 2.2 and 4.1, for bAbI.

A question's story sentences x_i (words x_ij) are written into memory, the question q is embedded into an
internal state u, and K hops each read the memory:

Section 2.1, one hop:
* eq. (1)    p_i = Softmax(u^T m_i)               attention over the memory slots
* eq. (2)    o   = Σ_i p_i c_i                    the memory's output
* eq. (3)    â   = Softmax(W (o + u))             the answer, one word of the vocabulary
Section 2.2, K hops: u^{k+1} = u^k + o^k, and eq. (3) reads o^K + u^K.

Sentence representation (Section 4.1, position encoding, PE): m_i = Σ_j l_j ⊙ A x_ij with
l_kj = (1 − j/J) − (k/d)(1 − 2j/J), J the sentence's number of words, d the embedding dimension; the question
u = Σ_j l_j ⊙ B q_j likewise. The authors' code weights the words by 1 + 4(k − (d+1)/2)(j − (J+1)/2)/(dJ),
which is 2 l_kj up to terms of order 1/J and 1/d: we keep the paper's formula at the code's scale, 2 l. (At the
paper's own scale, with the N(0, 0.1) initialisation and empty slots masked, no restart of task 16 fit its
training set.) Temporal encoding (Section 4.1): m_i = Σ_j l_j ⊙ A x_ij + T_A(i) and
c_i = Σ_j l_j ⊙ C x_ij + T_C(i), slot i counted from the most recent sentence.

Empty memory slots (a story shorter than the memory) are zero vectors, as in the authors' code: no words and no
temporal vector. The softmax of eq. (1) runs over every slot, so an empty one takes the weight of a score of 0.

Adjacent weight tying (Section 2.2): A^{k+1} = C^k, W^T = C^K and B = A^1. The K hops therefore hold K + 1
embedding matrices E_0 … E_K (A^k = E_{k−1}, C^k = E_k), and as many temporal matrices, tied the same way.

Linear start (LS, Section 4.2) removes the softmax of eq. (1) from every hop: ``forward(..., linear=True)``
then reads p_i = u^T m_i.
"""
import math

import torch

PAD = 0          # the empty word; its position weight l is 0, so its embedding is never read and never trains
# The authors' code's position encoding is twice the paper's l_kj (to terms of order 1/J and 1/d); see above.
CODE_SCALE_OF_PE = 2.0


def position_encoding(lengths: torch.Tensor, max_words: int, dim: int) -> torch.Tensor:
    """``l [..., max_words, dim]`` of Section 4.1 for sentences of ``lengths [...]`` words:
    l_kj = (1 − j/J) − (k/d)(1 − 2j/J), j = 1..J the word's position, k = 1..d the dimension;
    zero beyond a sentence's last word (and for an empty slot, J = 0)."""
    J = lengths.to(torch.float32).clamp(min=1).unsqueeze(-1).unsqueeze(-1)          # [..., 1, 1]
    j = torch.arange(1, max_words + 1, dtype=torch.float32, device=lengths.device).view(-1, 1)
    k = torch.arange(1, dim + 1, dtype=torch.float32, device=lengths.device).view(1, -1)
    l = (1 - j / J) - (k / dim) * (1 - 2 * j / J)
    return l * (j <= lengths.unsqueeze(-1).unsqueeze(-1)).to(l.dtype)


class MemN2N(torch.nn.Module):
    """``forward(memory [B, M, L], query [B, Lq])`` → answer logits ``[B, V]`` (the softmax of eq. 3 is in the loss)."""

    def __init__(self, vocabulary_size: int, dim: int, hops: int, memory_size: int, generator: torch.Generator,
                 init_std: float = 0.1):
        super().__init__()
        self.dim, self.hops, self.memory_size = dim, hops, memory_size
        normal = lambda *shape: torch.nn.Parameter(torch.randn(*shape, generator=generator) * init_std)
        # Section 4.2: weights initialised from N(0, 0.1) (0.1 the standard deviation, as in the authors' code).
        self.embeddings = torch.nn.ParameterList([normal(vocabulary_size, dim) for _ in range(hops + 1)])
        self.temporal = torch.nn.ParameterList([normal(memory_size, dim) for _ in range(hops + 1)])

    # Adjacent weight tying (Section 2.2), k = 1..K.
    def A(self, k: int) -> torch.Tensor:
        return self.embeddings[k - 1]

    def C(self, k: int) -> torch.Tensor:
        return self.embeddings[k]

    def T_A(self, k: int) -> torch.Tensor:
        return self.temporal[k - 1]

    def T_C(self, k: int) -> torch.Tensor:
        return self.temporal[k]

    @property
    def B(self) -> torch.Tensor:
        return self.A(1)

    @property
    def W(self) -> torch.Tensor:
        """The answer matrix of eq. (3), [V, d]: W^T = C^K."""
        return self.C(self.hops)

    def embed(self, words: torch.Tensor, matrix: torch.Tensor, l: torch.Tensor) -> torch.Tensor:
        """Σ_j l_j ⊙ E x_j (Section 4.1, PE) for word ids ``[..., L]`` and their encoding ``l [..., L, d]`` → ``[..., d]``."""
        return (l * matrix[words]).sum(-2)

    def encoding(self, words: torch.Tensor) -> torch.Tensor:
        """The position encoding of every sentence of ``words [..., L]``: Section 4.1's l at the code's scale."""
        return CODE_SCALE_OF_PE * position_encoding((words != PAD).sum(-1), words.shape[-1], self.dim)

    def forward(self, memory: torch.Tensor, query: torch.Tensor, *, linear: bool = False, time=None,
                return_attention: bool = False):
        """``time [B, M]``: the temporal index of each slot (default: the slot itself, 0 the most recent sentence;
        random noise draws others in training). ``linear``: linear start, no softmax in eq. (1)."""
        occupied = (memory != PAD).any(-1)                                  # [B, M]: slots that hold a sentence
        if time is None:
            time = torch.arange(memory.shape[1], device=memory.device).expand(memory.shape[0], -1)
        # Only the occupied slots are embedded (most slots of a batch are empty); the rest stay zero vectors.
        sentences, sentence_time = memory[occupied], time[occupied]
        l_sentences, read = self.encoding(sentences), {}

        def memory_vectors(E: torch.Tensor, T: torch.Tensor) -> torch.Tensor:
            """Σ_j l_j ⊙ E x_ij + T(i) for every slot i; computed once per matrix (tied matrices share it)."""
            key = (id(E), id(T))
            if key not in read:
                vectors = torch.zeros(*occupied.shape, self.dim, dtype=E.dtype, device=E.device)
                read[key] = vectors.index_put((occupied,), self.embed(sentences, E, l_sentences) + T[sentence_time])
            return read[key]

        u = self.embed(query, self.B, self.encoding(query))               # u = Σ_j l_j ⊙ B q_j
        attention = []
        for k in range(1, self.hops + 1):
            m = memory_vectors(self.A(k), self.T_A(k))                      # m_i = Σ_j l_j ⊙ A x_ij + T_A(i)
            c = memory_vectors(self.C(k), self.T_C(k))                      # c_i = Σ_j l_j ⊙ C x_ij + T_C(i)
            scores = torch.einsum("bd,bmd->bm", u, m)                       # u^T m_i
            p = scores if linear else torch.softmax(scores, dim=-1)        # eq. (1); linear start: p_i = u^T m_i
            o = torch.einsum("bm,bmd->bd", p, c)                            # eq. (2): o = Σ_i p_i c_i
            u = u + o                                                       # Section 2.2: u^{k+1} = u^k + o^k
            attention.append(p)
        logits = u @ self.W.T                                               # eq. (3): W (o^K + u^K)
        return (logits, attention) if return_attention else logits


def random_time(occupied: torch.Tensor, noise: float, memory_size: int, generator: torch.Generator) -> torch.Tensor:
    """Random noise (RN, Section 4.1): "at training time we can randomly add 10 % of empty memories to the
    stories". For a story of n sentences, up to ceil(noise · n) empty memories are placed among its sentences at
    random; each sentence's temporal index is then its place in the lengthened story (0 the most recent),
    capped at the last row of T (as the authors' code does)."""
    counts = occupied.sum(-1).tolist()
    time = torch.zeros(occupied.shape, dtype=torch.long)
    for b, n in enumerate(counts):
        if n == 0:
            continue
        blanks = int(torch.randint(0, math.ceil(round(noise * n, 9)) + 1, (1,), generator=generator))
        places = torch.randperm(n + blanks, generator=generator)[:n].sort().values
        time[b, :n] = places.clamp(max=memory_size - 1)
    return time.to(occupied.device)
