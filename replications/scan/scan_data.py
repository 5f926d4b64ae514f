"""SCAN (Lake and Baroni, ICML 2018): the authors' split files, read and encoded.

Each line of a split file is ``IN: <command> OUT: <actions>``. Files come from the authors' repository
through ``scan_file``, which checks each one's sha256 before it is read.
"""
from dataclasses import dataclass
from pathlib import Path

import torch

from reprobook.data import PINNED_SHA256, SCAN_URL, ensure_verified
from reprobook.errors import ReprobookError


def scan_file(split_file: str) -> Path:
    """One of SCAN's split files (e.g. ``simple_split/tasks_train_simple.txt``), fetched and checked."""
    relative = f"SCAN/{split_file}"
    if relative not in PINNED_SHA256:
        known = sorted(k.removeprefix("SCAN/") for k in PINNED_SHA256 if k.startswith("SCAN/"))
        raise ReprobookError(f"unknown SCAN file {split_file!r}; known files: {', '.join(known)}")
    return ensure_verified(relative, f"{SCAN_URL}/{split_file}")


# Every split of the paper: (training file, test file), relative to the repository's root.
SPLITS = {
    "simple": ("simple_split/tasks_train_simple.txt", "simple_split/tasks_test_simple.txt"),
    **{f"simple_p{p}": (f"simple_split/size_variations/tasks_train_simple_p{p}.txt",
                        f"simple_split/size_variations/tasks_test_simple_p{p}.txt") for p in (1, 2, 4, 8, 16, 32, 64)},
    "length": ("length_split/tasks_train_length.txt", "length_split/tasks_test_length.txt"),
    "addprim_jump": ("add_prim_split/tasks_train_addprim_jump.txt", "add_prim_split/tasks_test_addprim_jump.txt"),
    "addprim_turn_left": ("add_prim_split/tasks_train_addprim_turn_left.txt", "add_prim_split/tasks_test_addprim_turn_left.txt"),
}
PAD, SOS, EOS = "<pad>", "<sos>", "<eos>"


def read_pairs(split_file: str) -> list[tuple[list[str], list[str]]]:
    """(command tokens, action tokens) for every line of one split file."""
    pairs = []
    for number, line in enumerate(scan_file(split_file).read_text().splitlines(), start=1):
        if not line.startswith("IN: ") or " OUT: " not in line:
            raise ReprobookError(f"SCAN/{split_file}, line {number}: expected 'IN: ... OUT: ...'")
        command, actions = line[len("IN: "):].split(" OUT: ")
        pairs.append((command.split(), actions.split()))
    return pairs


@dataclass
class Vocabulary:
    tokens: list[str]

    @classmethod
    def of(cls, sequences) -> "Vocabulary":
        return cls([PAD, SOS, EOS] + sorted({token for sequence in sequences for token in sequence}))

    def __post_init__(self):
        self.index = {token: i for i, token in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: list[str]) -> list[int]:
        """Token ids followed by the end-of-sequence id."""
        try:
            return [self.index[token] for token in tokens] + [self.index[EOS]]
        except KeyError as error:
            raise ReprobookError(f"token {error.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> list[str]:
        """Tokens up to (without) the first end-of-sequence id."""
        out = []
        for i in ids:
            if int(i) == self.index[EOS]:
                break
            out.append(self.tokens[int(i)])
        return out


@dataclass
class Split:
    name: str
    train: list
    test: list
    commands: Vocabulary
    actions: Vocabulary


def load_split(name: str) -> Split:
    """A split's training and test pairs, with vocabularies built from both files (SCAN's vocabulary
    is fixed and small: 13 command words, 6 actions; building it from both only lets the model name a
    token it has never been trained to produce)."""
    if name not in SPLITS:
        raise ReprobookError(f"unknown SCAN split {name!r}; choose one of: {', '.join(SPLITS)}")
    train_file, test_file = SPLITS[name]
    train, test = read_pairs(train_file), read_pairs(test_file)
    return Split(name, train, test, Vocabulary.of(c for c, _ in train + test), Vocabulary.of(a for _, a in train + test))


def padded(sequences: list[list[int]], pad: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``[B, T]`` ids padded with ``pad``, and the lengths ``[B]``."""
    lengths = torch.tensor([len(s) for s in sequences])
    out = torch.full((len(sequences), int(lengths.max())), pad, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        out[row, :len(sequence)] = torch.tensor(sequence)
    return out, lengths
