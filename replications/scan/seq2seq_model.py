"""The networks of Lake and Baroni (2018), Sec. 3, written plainly: one run, PyTorch's nn.LSTM / nn.GRU.

The chapter trains ``seq2seq_runs.Seq2SeqRuns``, the same networks written for several runs side by
side. This plain version is what that one is checked against (``tests/test_scan.py``: same weights,
same loss, same greedy outputs) and the straightforward training loop that
``benchmarks/scan_speed.py`` times ours against.

An encoder RNN reads the command; its final state starts a decoder RNN that writes the actions one
at a time, each step's input being the previous action (the paper's Figure 2). Cells are LSTMs or
GRUs of 1 or 2 layers; dropout acts on the embeddings and between layers. With ``attention``
(Bahdanau et al., 2015) the decoder step reads the context ``c_i`` computed from its previous state
``g_{i-1}`` alongside the previous action, and the output softmax reads ``[g_i; c_i]`` (the paper's
Supplementary Materials).
"""
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class AdditiveAttention(nn.Module):
    """a_j = softmax_j(v^T tanh(W g + U h_j + b)); c = sum_j a_j h_j, over the command's real tokens."""

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
        readout = hidden * (2 if attention else 1)
        self.cell = cell
        self.command_embedding = nn.Embedding(command_vocab, hidden)
        self.encoder = rnn(hidden, hidden, layers, dropout=between, batch_first=True)
        self.action_embedding = nn.Embedding(action_vocab, hidden)
        self.attention = AdditiveAttention(hidden) if attention else None
        self.decoder = rnn(readout, hidden, layers, dropout=between, batch_first=True)
        self.out = nn.Linear(readout, action_vocab)
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
            context = self.attention((state[0] if self.cell == "LSTM" else state)[-1], memory, mask)
            x = torch.cat([x, context], dim=-1)
        output, state = self.decoder(x.unsqueeze(1), state)
        readout = torch.cat([output[:, 0], context], -1) if self.attention is not None else output[:, 0]
        return F.log_softmax(self.out(readout), dim=-1), state

    def loss(self, command: torch.Tensor, action: torch.Tensor, teacher_forcing: bool, sos: int, eos: int) -> torch.Tensor:
        """Summed negative log-likelihood of one pair (1-D id tensors, ``action`` ending in EOS).

        With teacher forcing each step reads the true previous action; without it, the model's own
        previous output, and the sequence ends early where the model says EOS (as in PyTorch's seq2seq
        tutorial, which the paper built on).
        """
        memory, mask, state = self.encode(command.unsqueeze(0), torch.tensor([len(command)]))
        total, previous = 0.0, torch.tensor([sos], device=action.device)
        for target in action:
            log_probs, state = self.step(previous, state, memory, mask)
            total = total - log_probs[0, target]
            previous = target.view(1) if teacher_forcing else log_probs.argmax(-1).detach()
            if not teacher_forcing and int(previous) == eos:
                break
        return total

    @torch.no_grad()
    def greedy(self, commands: torch.Tensor, lengths: torch.Tensor, sos: int, eos: int, max_length: int) -> torch.Tensor:
        """Greedy decoding of a batch: ``[B, <= max_length]`` ids; a row stops at its first EOS."""
        memory, mask, state = self.encode(commands, lengths)
        previous = torch.full((commands.shape[0],), sos, dtype=torch.long, device=commands.device)
        finished = torch.zeros_like(previous, dtype=torch.bool)
        steps = []
        for _ in range(max_length):
            log_probs, state = self.step(previous, state, memory, mask)
            previous = log_probs.argmax(-1).masked_fill(finished, eos)
            steps.append(previous)
            finished |= previous == eos
            if bool(finished.all()):
                break
        return torch.stack(steps, 1)
