"""SCAN chapter: the authors' split files, the vocabulary, greedy decoding and exact match.

The split files come through the loader: from the internet, or offline from REPROBOOK_OFFLINE_MIRROR
(CI sets it); without either, the data tests fail with the loader's message naming the file.
"""
import sys
from pathlib import Path

import pytest
import torch

CHAPTER = Path(__file__).resolve().parents[1] / "replications" / "scan"
sys.path.insert(0, str(CHAPTER))

import scan_data  # noqa: E402
from reprobook.chapters import chapter_module  # noqa: E402
from reprobook.errors import ReprobookError  # noqa: E402
from seq2seq_model import Seq2Seq  # noqa: E402

protocol = chapter_module("scan", "protocol")

# Line counts of the authors' files (brendenlake/SCAN; the mirror's MANIFEST lists the same).
LINE_COUNTS = {"simple": (16728, 4182), "length": (16990, 3920), "addprim_jump": (14670, 7706),
               "addprim_turn_left": (21890, 1208)}


@pytest.mark.parametrize("name", list(LINE_COUNTS))
def test_every_split_reads_with_its_documented_line_counts(name):
    split = scan_data.load_split(name)
    assert (len(split.train), len(split.test)) == LINE_COUNTS[name]


def test_size_variations_partition_the_commands():
    total = len(scan_data.read_pairs("simple_split/tasks_train_simple.txt")) + len(scan_data.read_pairs("simple_split/tasks_test_simple.txt"))
    for percent in (1, 2, 4, 8, 16, 32, 64):
        split = scan_data.load_split(f"simple_p{percent}")
        assert len(split.train) + len(split.test) == total == 20910
        assert abs(len(split.train) / total - percent / 100) < 0.01


@pytest.mark.parametrize("name", list(scan_data.SPLITS))
def test_the_vocabulary_covers_every_token(name):
    split = scan_data.load_split(name)
    assert len(split.commands) == 3 + 13 and len(split.actions) == 3 + 6
    for command, actions in split.train + split.test:
        assert split.commands.decode(split.commands.encode(command)) == command
        assert split.actions.decode(split.actions.encode(actions)) == actions


def test_jump_appears_alone_only_in_training():
    split = scan_data.load_split("addprim_jump")
    with_jump = [command for command, _ in split.train if "jump" in command]
    assert with_jump and all(command == ["jump"] for command in with_jump)
    assert all("jump" in command for command, _ in split.test)


def test_unknown_split_and_unknown_file_are_clear_errors():
    with pytest.raises(ReprobookError, match="unknown SCAN split 'simpel'"):
        scan_data.load_split("simpel")
    from reprobook.data import scan_file
    with pytest.raises(ReprobookError, match="unknown SCAN file"):
        scan_file("simple_split/nope.txt")


def toy_vocabularies():
    commands = scan_data.Vocabulary.of([["jump", "twice"]])
    actions = scan_data.Vocabulary.of([["I_JUMP"]])
    return commands, actions


@pytest.mark.parametrize("attention", [False, True])
def test_greedy_decoding_stops_at_end_of_sequence(attention):
    commands, actions = toy_vocabularies()
    torch.manual_seed(0)
    model = Seq2Seq(len(commands), len(actions), "LSTM", 1, 8, 0.0, attention).eval()
    eos = actions.index[scan_data.EOS]
    with torch.no_grad():                       # make EOS the only thing the decoder ever says
        model.out.weight.zero_()
        model.out.bias.fill_(-10.0)
        model.out.bias[eos] = 10.0
    ids, lengths = scan_data.padded([commands.encode(["jump", "twice"]), commands.encode(["jump"])])
    out = model.greedy(ids, lengths, actions.index[scan_data.SOS], eos, max_length=50)
    assert out.shape == (2, 1) and bool((out == eos).all())
    assert actions.decode(out[0]) == []


def test_the_oracle_forces_the_right_length():
    commands, actions = toy_vocabularies()
    torch.manual_seed(0)
    model = Seq2Seq(len(commands), len(actions), "GRU", 1, 8, 0.0, True).eval()
    eos = actions.index[scan_data.EOS]
    ids, lengths = scan_data.padded([commands.encode(["jump"])] * 3)
    out = model.greedy(ids, lengths, actions.index[scan_data.SOS], eos, max_length=50,
                       oracle_lengths=torch.tensor([1, 4, 7]))
    assert [len(actions.decode(row)) for row in out] == [1, 4, 7]


def test_exact_match_is_on_whole_sequences():
    pairs = [(["x"], ["I_JUMP", "I_JUMP"]), (["y"], ["I_WALK"]), (["z"], ["I_RUN"])]
    predictions = [["I_JUMP", "I_JUMP"], ["I_WALK", "I_WALK"], ["I_RUN"][:0]]
    assert protocol.exact_match(predictions, pairs) == [True, False, False]


@pytest.mark.parametrize("teacher_forcing", [True, False])
def test_the_one_call_decoder_computes_the_step_by_step_loss(teacher_forcing):
    """Our fast path (the whole teacher-forced decoder in one call) equals the tutorial's per-step loop."""
    commands, actions = toy_vocabularies()
    torch.manual_seed(0)
    model = Seq2Seq(len(commands), len(actions), "LSTM", 2, 8, 0.0, False).eval()
    sos, eos = actions.index[scan_data.SOS], actions.index[scan_data.EOS]
    command = torch.tensor(commands.encode(["jump", "twice"]))
    action = torch.tensor(actions.encode(["I_JUMP", "I_JUMP"]))
    fast = model.loss(command, action, teacher_forcing, sos, eos)
    memory, mask, state = model.encode(command[None], torch.tensor([len(command)]))
    previous, slow = torch.tensor([sos]), 0.0
    for target in action:
        log_probs, state = model.step(previous, state, memory, mask)
        slow = slow - log_probs[0, target]
        previous = target.view(1) if teacher_forcing else log_probs.argmax(-1)
        if not teacher_forcing and int(previous) == eos:
            break
    torch.testing.assert_close(fast, slow)
