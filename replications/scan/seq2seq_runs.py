"""The networks of Lake and Baroni (2018), Sec. 3, as K independent runs trained side by side.

Every parameter carries a leading *run axis* (``[K, ...]``) and every recurrent step is one batched
matrix product over it (``torch.baddbmm``), so K runs of batch size 1 cost one pass of Python per
update instead of K. Run ``k`` draws its initialisation, its training pairs, its teacher-forcing coins
and its dropout masks from its own generator, in amounts that do not depend on K: run ``k`` trained
side by side computes what it computes trained alone (``tests/test_scan.py`` checks it). Runs side
by side may train on different splits of SCAN (all share one vocabulary), so one batch can hold every
run of one architecture.

The network, as the paper's Sec. 3 and Supplementary describe it: an encoder RNN reads the command; its
final state starts a decoder RNN that writes the actions, each step reading the previous action
(the paper's Figure 2). Cells are LSTMs or GRUs of 1 or 2 layers, with PyTorch's equations and
initialisation; dropout acts on the embeddings and between layers. With attention (Bahdanau et al.,
2015) the decoder step reads the context ``c_i`` computed from its previous state ``g_{i-1}``
alongside the previous action, and the output softmax reads ``[g_i; c_i]``, the new state and the
context, as the paper's Supplementary Materials describe its attention decoder.
"""
import math
import time
from pathlib import Path

import torch
from torch import nn

import scan_data
from reprobook.device import device_description
from reprobook.provenance import git_commit
from reprobook.runs import run_seeds
from scan_data import EOS, SOS, Split, load_split, padded

GATES = {"LSTM": 4, "GRU": 3}
# Runs trained side by side per batch (seeds of one split and architecture): a CPU gains nothing from
# more than one (benchmarks/scan_side_by_side.py), a GPU takes all five of the paper's runs at once.
RUNS_SIDE_BY_SIDE = {"cpu": 1, "cuda": 5, "mps": 5}
MAX_COMMAND = 10             # SCAN's longest command is 9 words, plus EOS
MAX_ACTIONS = 50             # SCAN's longest action sequence is 48 actions, plus EOS


def cell_step(cell: str, x, state, weight_ih, weight_hh, bias_ih, bias_hh):
    """One step of an LSTM or GRU layer for K runs: x ``[K, B, I]``, weights ``[K, I or H, G*H]``.

    The equations and gate order are PyTorch's ``nn.LSTM`` / ``nn.GRU`` (weights stored transposed).
    Returns the layer's output ``[K, B, H]`` and its new state.
    """
    if cell == "LSTM":
        h, c = state
        i, f, g, o = (torch.baddbmm(bias_ih, x, weight_ih) + torch.baddbmm(bias_hh, h, weight_hh)).chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)
    input_r, input_z, input_n = torch.baddbmm(bias_ih, x, weight_ih).chunk(3, -1)
    hidden_r, hidden_z, hidden_n = torch.baddbmm(bias_hh, state, weight_hh).chunk(3, -1)
    r, z = torch.sigmoid(input_r + hidden_r), torch.sigmoid(input_z + hidden_z)
    h = (1 - z) * torch.tanh(input_n + r * hidden_n) + z * state
    return h, h


def top_output(cell: str, state):
    return (state[-1][0] if cell == "LSTM" else state[-1])


def keep_where(active, new: list, old: list) -> list:
    """Per layer, the new state where ``active`` ``[K, B, 1]``, else the old one (LSTM states are pairs)."""
    def choose(n, o):
        return tuple(map(choose, n, o)) if isinstance(n, tuple) else torch.where(active, n, o)
    return [choose(n, o) for n, o in zip(new, old)]


class Seq2SeqRuns(nn.Module):
    def __init__(self, generators: list[torch.Generator], command_vocab: int, action_vocab: int, cell: str = "LSTM",
                 layers: int = 2, hidden: int = 200, dropout: float = 0.5, attention: bool = False):
        super().__init__()
        self.generators, self.cell, self.layers, self.hidden = generators, cell, layers, hidden
        self.dropout, self.attention = dropout, attention
        runs, gates, bound = len(generators), GATES[cell] * hidden, 1 / math.sqrt(hidden)
        parameters = {}     # name -> (shape, initialisation); the order fixes each run's stream of draws

        def rnn(prefix, first_input):
            for layer in range(layers):
                inputs = first_input if layer == 0 else hidden
                for name, shape in (("weight_ih", (inputs, gates)), ("weight_hh", (hidden, gates)),
                                    ("bias_ih", (1, gates)), ("bias_hh", (1, gates))):
                    parameters[f"{prefix}_{name}_{layer}"] = (shape, ("uniform", bound))

        parameters["command_embedding"] = ((command_vocab, hidden), ("normal",))
        rnn("encoder", hidden)
        parameters["action_embedding"] = ((action_vocab, hidden), ("normal",))
        if attention:       # nn.Linear's initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            parameters["attention_query"] = ((hidden, hidden), ("uniform", bound))
            parameters["attention_key"] = ((hidden, hidden), ("uniform", bound))
            parameters["attention_key_bias"] = ((1, hidden), ("uniform", bound))
            parameters["attention_score"] = ((hidden, 1), ("uniform", bound))
        rnn("decoder", hidden * (2 if attention else 1))
        readout = hidden * (2 if attention else 1)
        parameters["out_weight"] = ((readout, action_vocab), ("uniform", 1 / math.sqrt(readout)))
        parameters["out_bias"] = ((1, action_vocab), ("uniform", 1 / math.sqrt(readout)))
        for name, (shape, init) in parameters.items():
            value = torch.empty(runs, *shape)
            for run, generator in enumerate(generators):
                if init[0] == "normal":
                    value[run].normal_(generator=generator)
                else:
                    value[run].uniform_(-init[1], init[1], generator=generator)
            self.register_parameter(name, nn.Parameter(value))

    def layer_weights(self, prefix: str, layer: int):
        return [getattr(self, f"{prefix}_{name}_{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]

    def rnn_step(self, prefix: str, x, state: list, between):
        """One time step through every layer; ``between[l - 1]`` multiplies layer l's input (dropout)."""
        new_state = []
        for layer in range(self.layers):
            if layer > 0 and between is not None:
                x = x * between[layer - 1]
            x, layer_state = cell_step(self.cell, x, state[layer], *self.layer_weights(prefix, layer))
            new_state.append(layer_state)
        return x, new_state

    def zero_state(self, batch: int):
        zeros = self.command_embedding.new_zeros(len(self.generators), batch, self.hidden)
        return [(zeros, zeros) if self.cell == "LSTM" else zeros for _ in range(self.layers)]

    def encode(self, commands, lengths, keep=None):
        """commands ``[K, B, T]`` and lengths ``[K, B]``: memory ``[K, B, T, H]`` and the final state.

        ``keep``: ``[K, T, layers, B, H]`` dropout multipliers, or None when not training.
        """
        runs = torch.arange(commands.shape[0], device=commands.device)[:, None, None]
        embedded = self.command_embedding[runs, commands]
        state, outputs = self.zero_state(commands.shape[1]), []
        for t in range(commands.shape[2]):
            x, between = embedded[:, :, t], None
            if keep is not None:
                x, between = x * keep[:, t, 0], keep[:, t, 1:].unbind(1)
            output, new_state = self.rnn_step("encoder", x, state, between)
            state = keep_where((t < lengths).unsqueeze(-1), new_state, state)
            outputs.append(output)
        return torch.stack(outputs, 2), state

    def attend(self, query, memory, keys, memory_mask):
        """c = sum_j a_j h_j with a_j = softmax_j(v^T tanh(W g + U h_j + b)) over the command's tokens."""
        runs, batch, steps, hidden = memory.shape
        projected = torch.bmm(query, self.attention_query).unsqueeze(2)
        energy = torch.tanh(projected + keys).reshape(runs, batch * steps, hidden)
        scores = torch.bmm(energy, self.attention_score).reshape(runs, batch, steps)
        weights = scores.masked_fill(~memory_mask, float("-inf")).softmax(-1)
        return (weights.unsqueeze(-1) * memory).sum(2)

    def decoder_step(self, previous, state, memory, keys, memory_mask, keep=None):
        """From the previous actions ``[K, B]``: logits ``[K, B, V]`` and the new state. ``keep``:
        ``[K, layers, B, H]`` dropout multipliers for the embedding and each later layer's input."""
        runs = torch.arange(previous.shape[0], device=previous.device)[:, None]
        x, between = self.action_embedding[runs, previous], None
        if keep is not None:
            x, between = x * keep[:, 0], keep[:, 1:].unbind(1)
        if self.attention:
            context = self.attend(top_output(self.cell, state), memory, keys, memory_mask)
            x = torch.cat([x, context], -1)
        output, state = self.rnn_step("decoder", x, state, between)
        readout = torch.cat([output, context], -1) if self.attention else output
        return torch.baddbmm(self.out_bias, readout, self.out_weight), state

    def memory_keys(self, memory):
        if not self.attention:
            return None
        runs, batch, steps, hidden = memory.shape
        return (torch.bmm(memory.reshape(runs, batch * steps, hidden), self.attention_key)
                + self.attention_key_bias).reshape(runs, batch, steps, hidden)

    def dropout_multipliers(self, steps: int, device):
        """Each run's inverted-dropout multipliers for one update, ``[K, steps, layers, 1, H]``: one
        draw of a fixed shape from each run's generator, so a run's masks do not depend on K."""
        draws = [torch.rand(steps, self.layers, 1, self.hidden, generator=g, device=device) for g in self.generators]
        return (torch.stack(draws) >= self.dropout).float() / (1 - self.dropout)

    def loss(self, commands, command_lengths, actions, action_lengths, forced, sos: int, eos: int):
        """Each run's summed negative log-likelihood ``[K]`` of its one pair: commands ``[K, Tc]``, actions ``[K, Ta]``
        (each ending in EOS), ``forced`` ``[K]``: teacher forcing for this run's update.

        With teacher forcing each step reads the true previous action; without it, the run's own
        previous output, and the run's sequence ends where it first outputs EOS (as in the tutorial
        the paper built on). Padding past each run's lengths adds nothing.
        """
        runs, device = commands.shape[0], commands.device
        keep = None
        if self.training and self.dropout > 0:
            keep = self.dropout_multipliers(MAX_COMMAND + MAX_ACTIONS, device)
        memory, state = self.encode(commands.unsqueeze(1), command_lengths.unsqueeze(1),
                                    None if keep is None else keep[:, :commands.shape[1]])
        keys, memory_mask = self.memory_keys(memory), (torch.arange(commands.shape[1], device=device) < command_lengths[:, None]).unsqueeze(1)
        previous = torch.full((runs, 1), sos, dtype=torch.long, device=device)
        stopped = torch.zeros(runs, dtype=torch.bool, device=device)
        total = commands.new_zeros(runs, dtype=torch.float)
        for t in range(actions.shape[1]):
            logits, state = self.decoder_step(previous, state, memory, keys, memory_mask,
                                              None if keep is None else keep[:, MAX_COMMAND + t])
            log_probs = logits[:, 0].log_softmax(-1)
            counts = (t < action_lengths) & ~stopped
            total = total - log_probs.gather(1, actions[:, t:t + 1])[:, 0] * counts
            predicted = log_probs.argmax(-1).detach()
            stopped = stopped | (~forced & (predicted == eos))
            previous = torch.where(forced, actions[:, t], predicted).unsqueeze(1)
        return total

    @torch.no_grad()
    def greedy(self, commands, lengths, sos: int, eos: int, oracle_lengths=None):
        """Greedy decoding of the same commands ``[B, T]`` by every run: ``[K, B, <= MAX_ACTIONS]`` ids,
        a row stopping at its first EOS. With ``oracle_lengths`` ``[B]`` (the paper's oracle-length
        analysis, Sec. 4.2) EOS is ruled out until a row has that many actions, and forced right after."""
        runs = len(self.generators)
        memory, state = self.encode(commands.expand(runs, -1, -1), lengths.expand(runs, -1))
        keys = self.memory_keys(memory)
        memory_mask = (torch.arange(commands.shape[1], device=commands.device) < lengths[:, None]).expand(runs, -1, -1)
        previous = torch.full((runs, commands.shape[0]), sos, dtype=torch.long, device=commands.device)
        finished = torch.zeros_like(previous, dtype=torch.bool)
        steps = []
        for t in range(MAX_ACTIONS):
            logits, state = self.decoder_step(previous, state, memory, keys, memory_mask)
            if oracle_lengths is not None:
                logits[..., eos] = torch.where(t < oracle_lengths, float("-inf"), float("inf"))
            previous = logits.argmax(-1).masked_fill(finished, eos)
            steps.append(previous)
            finished |= previous == eos
            if bool(finished.all()):
                break
        return torch.stack(steps, -1)


def clip_each_run(model: Seq2SeqRuns, max_norm: float) -> None:
    """``clip_grad_norm_`` for every run on its own: run k's gradient norm is over run k's slices."""
    squares = sum(p.grad.pow(2).flatten(1).sum(1) for p in model.parameters())
    scale = (max_norm / (squares.sqrt() + 1e-6)).clamp(max=1.0)
    for p in model.parameters():
        p.grad.mul_(scale.view(-1, *[1] * (p.dim() - 1)))


def stacked_training_pairs(splits: list[Split]):
    """Every distinct split's training pairs, padded and stacked once, and where each run's split starts."""
    first, offsets, starts, commands, actions = splits[0], [], {}, [], []
    for split in splits:
        if split.commands.tokens != first.commands.tokens or split.actions.tokens != first.actions.tokens:
            raise ValueError("runs side by side must share one vocabulary")
        if split.name not in starts:
            starts[split.name] = len(commands)
            commands += [split.commands.encode(c) for c, _ in split.train]
            actions += [split.actions.encode(a) for _, a in split.train]
        offsets.append(starts[split.name])
    (commands, command_lengths), (actions, action_lengths) = padded(commands), padded(actions)
    if commands.shape[1] > MAX_COMMAND or actions.shape[1] > MAX_ACTIONS:
        raise ValueError("a training pair is longer than MAX_COMMAND / MAX_ACTIONS")
    return commands, command_lengths, actions, action_lengths, torch.tensor(offsets)


def train_side_by_side(splits: list[Split], seeds: list[int], model_config: dict, protocol: dict, updates: int,
                       device, log=print) -> tuple[Seq2SeqRuns, list[dict]]:
    """Train run k on ``splits[k]`` from seed ``seeds[k]``, all runs side by side.

    Each update draws one training pair per run, with replacement, and one teacher-forcing coin per
    run; Adam and gradient-norm clipping act on each run alone (``protocol``: lr, clip_norm,
    teacher_forcing), as in the paper's protocol for one run.
    """
    sos, eos = splits[0].actions.index[SOS], splits[0].actions.index[EOS]
    commands, command_lengths, actions, action_lengths, offsets = stacked_training_pairs(splits)
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    model = Seq2SeqRuns(generators, len(splits[0].commands), len(splits[0].actions), **model_config).to(device).train()
    if device.type != "cpu":    # dropout masks are drawn where they are used
        model.generators = [torch.Generator(device=device).manual_seed(seed) for seed in seeds]
    sizes = [len(split.train) for split in splits]
    draws = torch.stack([torch.randint(n, (updates,), generator=g, device=device).cpu() for n, g in zip(sizes, model.generators)])
    forced = torch.stack([torch.rand(updates, generator=g, device=device) < protocol["teacher_forcing"]
                          for g in model.generators]).cpu()
    rows = draws + offsets[:, None]     # [K, updates]: each run's pair for each update
    commands, actions = commands.to(device), actions.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=protocol["lr"])
    losses, began = [], time.perf_counter()
    for update in range(updates):
        row = rows[:, update]
        lengths = command_lengths[row], action_lengths[row]     # on the CPU: trimming costs no device sync
        optimizer.zero_grad(set_to_none=True)
        per_run = model.loss(commands[row.to(device), :int(lengths[0].max())], lengths[0].to(device),
                             actions[row.to(device), :int(lengths[1].max())], lengths[1].to(device),
                             forced[:, update].to(device), sos, eos)
        per_run.sum().backward()
        clip_each_run(model, protocol["clip_norm"])
        optimizer.step()
        if update % 1000 == 0:
            losses.append((per_run.detach().cpu() / lengths[1]).tolist())
        if update % 20_000 == 19_999:
            log(f"{len(seeds)} runs side by side: {update + 1} updates, {time.perf_counter() - began:.0f} s")
    model.eval()
    rate = updates / (time.perf_counter() - began)
    return model, [{"loss_curve": [step[k] for step in losses], "updates_per_second": rate} for k in range(len(seeds))]


def predict(model: Seq2SeqRuns, split: Split, pairs, oracle: bool = False, batch: int = 512) -> list[list[list[str]]]:
    """Every run's greedy predictions (action tokens) for a list of pairs: ``[run][pair]``."""
    device = model.out_bias.device
    sos, eos = split.actions.index[SOS], split.actions.index[EOS]
    predictions = [[] for _ in model.generators]
    for start in range(0, len(pairs), batch):
        chunk = pairs[start:start + batch]
        commands, lengths = padded([split.commands.encode(c) for c, _ in chunk])
        oracle_lengths = torch.tensor([len(a) for _, a in chunk], device=device) if oracle else None
        ids = model.greedy(commands.to(device), lengths.to(device), sos, eos, oracle_lengths).cpu()
        for run, rows in enumerate(ids):
            predictions[run] += [split.actions.decode(row) for row in rows]
    return predictions


def scores(predictions: list[list[str]], pairs, failures: int = 12) -> dict:
    """Exact match of whole action sequences: accuracy (%), hits per target length, the first failures."""
    correct = [prediction == actions for prediction, (_, actions) in zip(predictions, pairs)]
    by_length = {}
    for ok, (_, actions) in zip(correct, pairs):
        hits = by_length.setdefault(str(len(actions)), [0, 0])    # str: as the run store's JSON keeps it
        hits[0] += ok
        hits[1] += 1
    wrong = [(" ".join(c), " ".join(a), " ".join(p)) for ok, (c, a), p in zip(correct, pairs, predictions) if not ok]
    return {"accuracy": 100 * sum(correct) / len(correct), "by_target_length": by_length, "failures": wrong[:failures]}


def run_protocol(split_name: str, architecture: str, model_config: dict, protocol: dict, seeds: list[int], device,
                 updates: int | None = None, oracle: bool = False, log=print) -> list[dict]:
    """Per-seed results of one architecture on one split, trained side by side and resuming from
    stored seeds: test accuracy with its breakdown, training-set accuracy (first 2,000 pairs), the
    oracle-length decoding if asked, and where, on what and from which commit each seed was trained."""
    split = load_split(split_name)
    updates = updates or protocol["updates"]
    trained_by = {"device": device_description(device), "torch": torch.__version__,
                  **git_commit(Path(__file__).parent)}

    def train_batch(batch_seeds):
        model, training = train_side_by_side([split] * len(batch_seeds), batch_seeds, model_config, protocol,
                                             updates, device, log)
        test, train = predict(model, split, split.test), predict(model, split, split.train[:2000])
        oracle_test = predict(model, split, split.test, oracle=True) if oracle else None
        results = []
        for run in range(len(batch_seeds)):
            result = scores(test[run], split.test) | training[run] | {"trained_by": trained_by}
            result["train_accuracy"] = scores(train[run], split.train[:2000])["accuracy"]
            if oracle:
                result["oracle"] = scores(oracle_test[run], split.test)
            results.append(result)
        return results

    config = {"split": split_name, "architecture": model_config, "protocol": protocol, "updates": updates, "oracle": oracle}
    return run_seeds(f"scan/{split_name}/{architecture}", config, seeds, train_batch,
                     batch_size=RUNS_SIDE_BY_SIDE[device.type],
                     device=device, log=log)
