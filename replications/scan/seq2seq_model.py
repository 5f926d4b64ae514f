"""The sequence-to-sequence networks of Lake and Baroni (2018), Sec. 3.

An encoder RNN reads the command; its final state starts a decoder RNN that writes the actions one
at a time, each step's input being the previous action (the paper's Figure 2). Cells are LSTMs or
GRUs of 1 or 2 layers; dropout acts on the embeddings and between layers; with ``attention`` the
decoder also reads an additive (Bahdanau et al., 2015) weighting of the encoder's outputs at every
step. The paper built on PyTorch's seq2seq tutorial; these choices follow it.
"""
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class AdditiveAttention(nn.Module):
    """a_j = softmax_j(v^T tanh(W s + U h_j)); context = sum_j a_j h_j, over the command's real tokens."""

    def __init__(self, hidden: int):
        super().__init__()
        self.query, self.key = nn.Linear(hidden, hidden, bias=False), nn.Linear(hidden, hidden)
        self.score = nn.Linear(hidden, 1, bias=False)

    def forward(self, query, memory, memory_mask):
        scores = self.score(torch.tanh(self.query(query).unsqueeze(1) + self.key(memory))).squeeze(-1)
        weights = scores.masked_fill(~memory_mask, float("-inf")).softmax(-1)
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1)


class Seq2Seq(nn.Module):
    def __init__(self, command_vocab: int, action_vocab: int, cell: str = "LSTM", layers: int = 2,
                 hidden: int = 200, dropout: float = 0.5, attention: bool = False):
        super().__init__()
        rnn = {"LSTM": nn.LSTM, "GRU": nn.GRU}[cell]
        between = dropout if layers > 1 else 0.0
        self.cell = cell
        self.command_embedding = nn.Embedding(command_vocab, hidden)
        self.encoder = rnn(hidden, hidden, layers, dropout=between, batch_first=True)
        self.action_embedding = nn.Embedding(action_vocab, hidden)
        self.attention = AdditiveAttention(hidden) if attention else None
        self.decoder = rnn(hidden * (2 if attention else 1), hidden, layers, dropout=between, batch_first=True)
        self.out = nn.Linear(hidden, action_vocab)
        self.drop = nn.Dropout(dropout)

    def encode(self, commands: torch.Tensor, lengths: torch.Tensor):
        """Encoder outputs ``[B, T, H]``, a mask of real tokens, and the final state at each command's end."""
        embedded = self.drop(self.command_embedding(commands))
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, state = self.encoder(packed)
        memory, _ = pad_packed_sequence(outputs, batch_first=True, total_length=commands.shape[1])
        mask = torch.arange(commands.shape[1], device=commands.device) < lengths.to(commands.device).unsqueeze(1)
        return memory, mask, state

    def step(self, previous: torch.Tensor, state, memory, mask):
        """One decoder step from the previous actions ``[B]``: log-probabilities ``[B, V]`` and the new state."""
        x = self.drop(self.action_embedding(previous))
        if self.attention is not None:
            top = (state[0] if self.cell == "LSTM" else state)[-1]
            x = torch.cat([x, self.attention(top, memory, mask)], dim=-1)
        output, state = self.decoder(x.unsqueeze(1), state)
        return F.log_softmax(self.out(output[:, 0]), dim=-1), state

    def loss(self, command: torch.Tensor, action: torch.Tensor, teacher_forcing: bool, sos: int, eos: int) -> torch.Tensor:
        """Summed negative log-likelihood of one pair (1-D id tensors, ``action`` ending in EOS).

        With teacher forcing each step reads the true previous action; without it, the model's own
        previous output, and the sequence ends early where the model says EOS (as in the tutorial).
        """
        memory, mask, state = self.encode(command.unsqueeze(0), torch.tensor([len(command)]))
        start = torch.tensor([sos], device=action.device)
        if teacher_forcing and self.attention is None:     # the whole decoder in one call
            previous = torch.cat([start, action[:-1]]).unsqueeze(0)
            output, _ = self.decoder(self.drop(self.action_embedding(previous)), state)
            return F.nll_loss(F.log_softmax(self.out(output[0]), dim=-1), action, reduction="sum")
        total, previous = 0.0, start
        for target in action:
            log_probs, state = self.step(previous, state, memory, mask)
            total = total - log_probs[0, target]
            previous = target.view(1) if teacher_forcing else log_probs.argmax(-1).detach()
            if not teacher_forcing and int(previous) == eos:
                break
        return total

    @torch.no_grad()
    def greedy(self, commands: torch.Tensor, lengths: torch.Tensor, sos: int, eos: int, max_length: int,
               oracle_lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Greedy decoding of a batch: ``[B, <= max_length]`` ids; a row stops at its first EOS.

        With ``oracle_lengths`` (the paper's oracle-length analysis, Sec. 4.2) EOS is ruled out until a
        row has produced that many actions, and forced right after.
        """
        memory, mask, state = self.encode(commands, lengths)
        previous = torch.full((commands.shape[0],), sos, dtype=torch.long, device=commands.device)
        finished = torch.zeros_like(previous, dtype=torch.bool)
        steps = []
        for t in range(max_length):
            log_probs, state = self.step(previous, state, memory, mask)
            if oracle_lengths is not None:
                log_probs[:, eos] = torch.where(t < oracle_lengths, float("-inf"), float("inf"))
            previous = log_probs.argmax(-1).masked_fill(finished, eos)
            steps.append(previous)
            finished |= previous == eos
            if bool(finished.all()):
                break
        return torch.stack(steps, 1)
