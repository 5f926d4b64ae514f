"""The SCAN protocol of Lake and Baroni (2018), Sec. 3, and the architectures the paper names.

Training: 100,000 updates, each on one command-action pair drawn with replacement from the training
set; Adam (lr 0.001, default betas); gradient norm clipped at 5; on each update, teacher forcing with
probability 1/2. Evaluation: greedy decoding, exact match of the whole action sequence. 5 runs.

The per-experiment "top-performing" architectures below are as we read them from the paper's text
in public copies; the chapter's claims file marks them unconfirmed.
"""
import sys
import time

import torch

import scan_data
import seq2seq_model
from reprobook.runs import run_seeds, source_fingerprint
from scan_data import EOS, SOS, Split, load_split, padded
from seq2seq_model import Seq2Seq

PAPER_PROTOCOL = {"updates": 100_000, "lr": 0.001, "clip_norm": 5.0, "teacher_forcing": 0.5, "runs": 5}
MAX_ACTIONS = 50             # SCAN's longest action sequence is 48 actions, plus EOS
ARCHITECTURES = {
    "overall-best": {"cell": "LSTM", "layers": 2, "hidden": 200, "dropout": 0.5, "attention": False},
    "top: simple": {"cell": "LSTM", "layers": 2, "hidden": 200, "dropout": 0.0, "attention": False},
    "top: length": {"cell": "GRU", "layers": 1, "hidden": 50, "dropout": 0.5, "attention": True},
    "top: jump": {"cell": "LSTM", "layers": 1, "hidden": 100, "dropout": 0.1, "attention": True},
    "top: turn left": {"cell": "GRU", "layers": 1, "hidden": 100, "dropout": 0.1, "attention": True},
}


def build(split: Split, architecture: str) -> Seq2Seq:
    return Seq2Seq(len(split.commands), len(split.actions), **ARCHITECTURES[architecture])


def encoded_pairs(split: Split, pairs, device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(torch.tensor(split.commands.encode(c), device=device), torch.tensor(split.actions.encode(a), device=device))
            for c, a in pairs]


def train_run(split: Split, architecture: str, seed: int, updates: int, device, log=print) -> tuple[Seq2Seq, dict]:
    """One run: its initialisation, dropout, sampling and teacher-forcing coins all come from ``seed``."""
    sos, eos = split.actions.index[SOS], split.actions.index[EOS]
    pairs = encoded_pairs(split, split.train, device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        model = build(split, architecture).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=PAPER_PROTOCOL["lr"])
        draws = torch.randint(len(pairs), (updates,)).tolist()
        forced = (torch.rand(updates) < PAPER_PROTOCOL["teacher_forcing"]).tolist()
        model.train()
        began, losses = time.perf_counter(), []
        for update, (index, teacher_forcing) in enumerate(zip(draws, forced)):
            command, action = pairs[index]
            optimizer.zero_grad(set_to_none=True)
            loss = model.loss(command, action, teacher_forcing, sos, eos)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), PAPER_PROTOCOL["clip_norm"])
            optimizer.step()
            if update % 1000 == 0:
                losses.append(float(loss.detach()) / len(action))
            if update % 20_000 == 19_999:
                log(f"{split.name}/{architecture} seed {seed}: {update + 1} updates, {time.perf_counter() - began:.0f} s")
    model.eval()
    return model, {"loss_curve": losses, "updates_per_second": updates / (time.perf_counter() - began)}


def predict(model: Seq2Seq, split: Split, pairs, oracle: bool = False, batch: int = 512) -> list[list[str]]:
    """Greedy predictions (action tokens) for a list of pairs, decoded in batches."""
    device = next(model.parameters()).device
    sos, eos = split.actions.index[SOS], split.actions.index[EOS]
    predictions = []
    for start in range(0, len(pairs), batch):
        chunk = pairs[start:start + batch]
        commands, lengths = padded([split.commands.encode(c) for c, _ in chunk])
        oracle_lengths = torch.tensor([len(a) for _, a in chunk], device=device) if oracle else None
        ids = model.greedy(commands.to(device), lengths, sos, eos, MAX_ACTIONS, oracle_lengths)
        predictions += [split.actions.decode(row) for row in ids]
    return predictions


def exact_match(predictions: list[list[str]], pairs) -> list[bool]:
    """Whether each predicted action sequence equals the truth as a whole."""
    return [prediction == actions for prediction, (_, actions) in zip(predictions, pairs)]


def evaluate(model: Seq2Seq, split: Split, oracle: bool = False, failures: int = 12) -> dict:
    predictions = predict(model, split, split.test, oracle)
    correct = exact_match(predictions, split.test)
    by_length = {}
    for ok, (_, actions) in zip(correct, split.test):
        hits = by_length.setdefault(str(len(actions)), [0, 0])    # str: as the run store's JSON keeps it
        hits[0] += ok
        hits[1] += 1
    wrong = [(" ".join(c), " ".join(a), " ".join(p)) for ok, (c, a), p in zip(correct, split.test, predictions) if not ok]
    return {"accuracy": 100 * sum(correct) / len(correct), "by_target_length": by_length, "failures": wrong[:failures]}


def run_protocol(split_name: str, architecture: str, seeds: list[int], device, updates: int | None = None,
                 oracle: bool = False, log=print) -> list[dict]:
    """Per-seed test accuracy (%) of one architecture on one split, resuming from stored seeds."""
    split = load_split(split_name)
    updates = updates or PAPER_PROTOCOL["updates"]

    def train_one(batch):
        model, training = train_run(split, architecture, batch[0], updates, device, log)
        result = evaluate(model, split) | training
        result["train_accuracy"] = 100 * sum(exact_match(predict(model, split, split.train[:2000]), split.train[:2000])) / min(2000, len(split.train))
        if oracle:
            result["oracle"] = evaluate(model, split, oracle=True)
        return [result]

    config = {"split": split_name, "architecture": ARCHITECTURES[architecture], "protocol": PAPER_PROTOCOL,
              "updates": updates, "oracle": oracle}
    return run_seeds(f"scan/{split_name}/{architecture}", config, seeds, train_one, batch_size=1,
                     fingerprint=source_fingerprint(scan_data, seq2seq_model, sys.modules[__name__]), device_type=device.type, log=log)
