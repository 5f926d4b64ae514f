"""SCAN chapter: the authors' split files, the vocabulary, greedy decoding and exact match.

The split files come through the loader: from the internet, or offline from REPROBOOK_OFFLINE_MIRROR
(CI sets it); without either, the data tests fail with the loader's message naming the file.
"""
import pytest
import torch

import scan_data
from reprobook.errors import ReprobookError
import seq2seq_runs  # noqa: E402
from seq2seq_model import Seq2Seq  # noqa: E402

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
    from scan_data import scan_file
    with pytest.raises(ReprobookError, match="unknown SCAN file"):
        scan_file("simple_split/nope.txt")



def toy_split(name="toy", first=0):
    """A split small enough to train in a test (40 pairs from ``first`` on), with SCAN's vocabulary."""
    simple = scan_data.load_split("simple")
    return scan_data.Split(name, simple.train[first:first + 40], simple.test[:20], simple.commands, simple.actions)


TOY_NETWORKS = {"LSTM, 2 layers, dropout": dict(cell="LSTM", layers=2, hidden=16, dropout=0.5, attention=False),
                "GRU, attention, dropout": dict(cell="GRU", layers=1, hidden=16, dropout=0.5, attention=True),
                "LSTM, 2 layers, attention": dict(cell="LSTM", layers=2, hidden=16, dropout=0.1, attention=True)}
TOY_PROTOCOL = {"lr": 0.001, "clip_norm": 5.0, "teacher_forcing": 0.5}


@pytest.mark.parametrize("network", list(TOY_NETWORKS))
def test_runs_side_by_side_train_as_each_run_alone(network):
    """Run k's initialisation, pairs, coins and dropout masks come from its own generator: training it
    beside another run (here on another split) changes nothing about it."""
    config, cpu = TOY_NETWORKS[network], torch.device("cpu")
    splits = [toy_split("a"), toy_split("b", first=40)]
    together, _ = seq2seq_runs.train_side_by_side(splits, [3, 4], config, TOY_PROTOCOL, 40, cpu, log=lambda _: None)
    for run, (split, seed) in enumerate(zip(splits, [3, 4])):
        alone, _ = seq2seq_runs.train_side_by_side([split], [seed], config, TOY_PROTOCOL, 40, cpu, log=lambda _: None)
        for name, parameter in alone.named_parameters():
            torch.testing.assert_close(getattr(together, name)[run], parameter[0], atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_the_cells_are_pytorchs(cell):
    """cell_step computes nn.LSTM's / nn.GRU's step from the same weights (stored transposed)."""
    torch.manual_seed(0)
    reference = {"LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[cell](5, 7, batch_first=True)
    x, h = torch.randn(3, 1, 5), torch.randn(1, 3, 7)
    state = (h, torch.randn(1, 3, 7)) if cell == "LSTM" else h
    expected, _ = reference(x, state)
    weights = [reference.weight_ih_l0.T[None], reference.weight_hh_l0.T[None], reference.bias_ih_l0[None, None],
               reference.bias_hh_l0[None, None]]
    ours_state = tuple(s[0][None] for s in state) if cell == "LSTM" else state[0][None]
    output, _ = seq2seq_runs.cell_step(cell, x[:, 0][None], ours_state, *weights)
    torch.testing.assert_close(output[0], expected[:, 0])


def test_the_attention_softmax_reads_the_state_and_the_context():
    """Supplementary of the paper: the output layer reads [g_i; c_i]. Its weights have 2H rows, and
    the context's half matters."""
    split, config = toy_split(), TOY_NETWORKS["GRU, attention, dropout"]
    model = seq2seq_runs.Seq2SeqRuns([torch.Generator().manual_seed(0)], len(split.commands), len(split.actions), **config).eval()
    assert model.out_weight.shape[1] == 2 * config["hidden"]
    ids, lengths = scan_data.padded([split.commands.encode(c) for c, _ in split.test[:4]])
    sos = split.actions.index[scan_data.SOS]
    memory, state = model.encode(ids[None], lengths[None])
    mask = (torch.arange(ids.shape[1]) < lengths[:, None])[None]
    previous = torch.full((1, 4), sos)
    before, _ = model.decoder_step(previous, state, memory, model.memory_keys(memory), mask)
    with torch.no_grad():
        model.out_weight[:, config["hidden"]:] += 1.0
    after, _ = model.decoder_step(previous, state, memory, model.memory_keys(memory), mask)
    assert not torch.allclose(before, after)


def test_a_free_running_update_stops_at_the_runs_first_eos():
    """Without teacher forcing the loss ends where the run first says EOS (the tutorial's early stop);
    with it, every target counts."""
    split = toy_split()
    model = seq2seq_runs.Seq2SeqRuns([torch.Generator().manual_seed(0)] * 2, len(split.commands), len(split.actions),
                                     **TOY_NETWORKS["LSTM, 2 layers, attention"]).eval()
    sos, eos = split.actions.index[scan_data.SOS], split.actions.index[scan_data.EOS]
    with torch.no_grad():                       # EOS is always the most likely action
        model.out_bias[:, 0, eos] = 10.0
    command = torch.tensor([split.commands.encode(["jump", "twice"])] * 2)
    action = torch.tensor([split.actions.encode(["I_JUMP", "I_JUMP"])] * 2)
    loss = model.loss(command, torch.tensor([3, 3]), action, torch.tensor([3, 3]), torch.tensor([False, True]), sos, eos)
    memory, state = model.encode(command[:, None], torch.tensor([[3], [3]]))
    mask = torch.ones(2, 1, 3, dtype=torch.bool)
    logits, _ = model.decoder_step(torch.full((2, 1), sos), state, memory, model.memory_keys(memory), mask)
    first_step = -logits[0, 0].log_softmax(-1)[action[0, 0]]
    torch.testing.assert_close(loss[0], first_step)
    assert loss[1] > loss[0]


def test_each_run_is_clipped_on_its_own_gradient_norm():
    split = toy_split()
    model = seq2seq_runs.Seq2SeqRuns([torch.Generator().manual_seed(0)] * 2, len(split.commands), len(split.actions),
                                     **TOY_NETWORKS["GRU, attention, dropout"])
    for parameter in model.parameters():
        parameter.grad = torch.stack([torch.full(parameter.shape[1:], 10.0), torch.full(parameter.shape[1:], 1e-4)])
    small = [p.grad[1].clone() for p in model.parameters()]
    seq2seq_runs.clip_each_run(model, 5.0)
    norms = torch.stack([p.grad.flatten(1).pow(2).sum(1) for p in model.parameters()]).sum(0).sqrt()
    torch.testing.assert_close(norms[0], torch.tensor(5.0), rtol=1e-4, atol=1e-4)
    for parameter, before in zip(model.parameters(), small):
        torch.testing.assert_close(parameter.grad[1], before)


@pytest.mark.parametrize("network", list(TOY_NETWORKS))
def test_greedy_decoding_stops_at_end_of_sequence(network):
    split = toy_split()
    model = seq2seq_runs.Seq2SeqRuns([torch.Generator().manual_seed(s) for s in (0, 1)], len(split.commands),
                                     len(split.actions), **TOY_NETWORKS[network]).eval()
    eos = split.actions.index[scan_data.EOS]
    with torch.no_grad():                       # make EOS the only thing the decoder ever says
        model.out_bias[:, 0, eos] = 50.0
    ids, lengths = scan_data.padded([split.commands.encode(["jump", "twice"]), split.commands.encode(["jump"])])
    out = model.greedy(ids, lengths, split.actions.index[scan_data.SOS], eos)
    assert out.shape == (2, 2, 1) and bool((out == eos).all())
    assert split.actions.decode(out[0, 0]) == []


def test_the_oracle_forces_the_right_length():
    split = toy_split()
    model = seq2seq_runs.Seq2SeqRuns([torch.Generator().manual_seed(s) for s in (0, 1)], len(split.commands),
                                     len(split.actions), **TOY_NETWORKS["GRU, attention, dropout"]).eval()
    eos = split.actions.index[scan_data.EOS]
    ids, lengths = scan_data.padded([split.commands.encode(["jump"])] * 3)
    out = model.greedy(ids, lengths, split.actions.index[scan_data.SOS], eos, oracle_lengths=torch.tensor([1, 4, 7]))
    assert [[len(split.actions.decode(row)) for row in run] for run in out] == [[1, 4, 7], [1, 4, 7]]


def test_scores_are_exact_match_on_whole_sequences():
    pairs = [(["x"], ["I_JUMP", "I_JUMP"]), (["y"], ["I_WALK"]), (["z"], ["I_RUN"])]
    result = seq2seq_runs.scores([["I_JUMP", "I_JUMP"], ["I_WALK", "I_WALK"], []], pairs)
    assert result["accuracy"] == pytest.approx(100 / 3)
    assert result["by_target_length"] == {"2": [1, 1], "1": [0, 2]}
    assert [f[0] for f in result["failures"]] == ["y", "z"]


@pytest.mark.parametrize("network", ["LSTM, 2 layers", "GRU, 2 layers", "GRU, attention", "LSTM, 2 layers, attention"])
@pytest.mark.parametrize("teacher_forcing", [True, False])
def test_the_side_by_side_network_computes_the_plain_pytorch_network(network, teacher_forcing):
    """With the weights of the nn.LSTM / nn.GRU network of seq2seq_model.py, one run of Seq2SeqRuns has
    the same loss and the same greedy outputs, with and without attention."""
    cell, layers, attention = network.split(", ")[0], 2 if "2 layers" in network else 1, "attention" in network
    split = toy_split()
    torch.manual_seed(0)
    plain = Seq2Seq(len(split.commands), len(split.actions), cell, layers, 16, 0.0, attention).eval()
    runs = seq2seq_runs.Seq2SeqRuns([torch.Generator()], len(split.commands), len(split.actions), cell, layers, 16, 0.0, attention).eval()
    with torch.no_grad():
        runs.command_embedding[0] = plain.command_embedding.weight
        runs.action_embedding[0] = plain.action_embedding.weight
        for prefix, rnn in (("encoder", plain.encoder), ("decoder", plain.decoder)):
            for layer in range(layers):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    value = getattr(rnn, f"{name}_l{layer}")
                    getattr(runs, f"{prefix}_{name}_{layer}")[0] = value.T if name.startswith("weight") else value
        if attention:
            runs.attention_query[0], runs.attention_score[0] = plain.attention.query.weight.T, plain.attention.score.weight.T
            runs.attention_key[0], runs.attention_key_bias[0] = plain.attention.key.weight.T, plain.attention.key.bias
        runs.out_weight[0], runs.out_bias[0] = plain.out.weight.T, plain.out.bias
    sos, eos = split.actions.index[scan_data.SOS], split.actions.index[scan_data.EOS]
    for command, action in split.train[:5]:
        command, action = torch.tensor(split.commands.encode(command)), torch.tensor(split.actions.encode(action))
        expected = plain.loss(command, action, teacher_forcing, sos, eos)
        ours = runs.loss(command[None], torch.tensor([len(command)]), action[None], torch.tensor([len(action)]),
                         torch.tensor([teacher_forcing]), sos, eos)
        torch.testing.assert_close(ours[0], expected)
    ids, lengths = scan_data.padded([split.commands.encode(c) for c, _ in split.test])
    expected = plain.greedy(ids, lengths, sos, eos, max_length=seq2seq_runs.MAX_ACTIONS)
    ours = runs.greedy(ids, lengths, sos, eos)[0]
    # Compared row by row: pytest's diff of two long lists takes over a minute when a mutant breaks them.
    mismatched = [i for i, (a, b) in enumerate(zip(ours, expected)) if split.actions.decode(a) != split.actions.decode(b)]
    assert len(ours) == len(expected) and not mismatched, f"{len(mismatched)} of {len(expected)} greedy outputs differ, first: {mismatched[:5]}"


def test_seeds_for_a_claim_the_tier_does_not_run_are_refused():
    from scan_report import check_seeds_per_claim

    assert check_seeds_per_claim({"length-top": [0, 2]}, ["length-overall-best", "length-top"]) == {"length-top": [0, 2]}
    with pytest.raises(ReprobookError, match="'length-top' is not a claim of this tier; it runs \\['length-overall-best'\\]"):
        check_seeds_per_claim({"length-top": [0]}, ["length-overall-best"])
    with pytest.raises(ReprobookError, match="needs a list of non-negative seeds"):
        check_seeds_per_claim({"length-overall-best": 3}, ["length-overall-best"])
