"""MemN2N's defining rules: the position encoding's closed form (Section 4.1), adjacent weight tying (Section 2.2),
the forward pass of eq. (1)-(3) against a plain re-statement of them, linear start (Section 4.2: the softmax
removed, and nothing else; the authors' schedule of it), the authors' gradient clipping, random noise in the temporal indices, and
the bAbI parser against counts taken from the files independently."""
import math
from types import SimpleNamespace

import pytest
import torch

import memn2n_protocol
from conftest import mirror_has
from memn2n_data import (BABI_SHA256, FOLDER, NIL, TASKS, Question, Vocabulary, babi_file, encode, file_name,
                         parse_babi, read_task, training_split)
from memn2n_model import CODE_SCALE_OF_PE, MemN2N, position_encoding, random_time
from memn2n_protocol import chosen, failed_tasks, hyperparameters, mean_error, train_run, trials
from reprobook.chapters import get_chapter
from reprobook.contract import contract_problems
from reprobook.errors import ReprobookError

needs_babi = pytest.mark.skipif(not mirror_has(f"{FOLDER}/en"), reason="the bAbI tasks are not in the offline mirror")


def test_the_chapter_follows_the_contract():
    assert contract_problems(get_chapter("memn2n")) == []


def test_the_position_encoding_is_the_papers_closed_form():
    """l_kj = (1 − j/J) − (k/d)(1 − 2j/J) for j = 1..J, k = 1..d (Section 4.1), zero past the sentence's end."""
    d, width = 5, 7
    lengths = torch.tensor([1, 3, 7, 0])
    l = position_encoding(lengths, width, d)
    assert l.shape == (4, width, d)
    for s, J in enumerate(lengths.tolist()):
        for j in range(1, width + 1):
            for k in range(1, d + 1):
                expected = (1 - j / J) - (k / d) * (1 - 2 * j / J) if j <= J else 0.0
                assert float(l[s, j - 1, k - 1]) == pytest.approx(expected, abs=1e-6), (J, j, k)


def small_model(hops=3, vocabulary=9, dim=4, memory_size=6, seed=0):
    return MemN2N(vocabulary, dim, hops, memory_size, torch.Generator().manual_seed(seed))


def test_adjacent_tying_makes_the_named_matrices_the_same_tensors():
    """Section 2.2: A^{k+1} = C^k, B = A^1, W^T = C^K (and the temporal matrices tied the same way): K + 1
    embedding matrices in all, and a hop's A and C are never the same matrix."""
    for hops in (1, 2, 3):
        model = small_model(hops)
        for k in range(1, hops):
            assert model.A(k + 1) is model.C(k) and model.T_A(k + 1) is model.T_C(k)
        assert model.B is model.A(1)
        assert model.W is model.C(hops)
        assert all(model.A(k) is not model.C(k) for k in range(1, hops + 1))
        assert len(list(model.parameters())) == 2 * (hops + 1)


def story_batch(seed=0, batch=5, memory_size=6, width=4, vocabulary=9):
    """Random stories of 1 to ``memory_size`` sentences of 1 to ``width`` words (id 0 pads), random queries."""
    g = torch.Generator().manual_seed(seed)
    memory = torch.zeros(batch, memory_size, width, dtype=torch.long)
    for b in range(batch):
        for slot in range(int(torch.randint(1, memory_size + 1, (1,), generator=g))):
            n = int(torch.randint(1, width + 1, (1,), generator=g))
            memory[b, slot, :n] = torch.randint(1, vocabulary, (n,), generator=g)
    query = torch.randint(1, vocabulary, (batch, 3), generator=g)
    query[0, 2] = 0
    return memory, query


def by_the_paper(model, memory, query, linear):
    """Eq. (1)-(3) and Section 4.1, one question at a time, written out plainly; the position encoding at the
    authors' code's scale (twice the paper's l), and an empty slot a zero vector that the softmax still weighs,
    as in the authors' code."""
    d = model.dim

    def sentence_vector(words, E):
        words = [w for w in words.tolist() if w != 0]
        J = len(words)
        return sum(2 * torch.tensor([(1 - j / J) - (k / d) * (1 - 2 * j / J) for k in range(1, d + 1)]) * E[w]
                   for j, w in enumerate(words, start=1))

    def slot_vector(words, E, T, i):
        return sentence_vector(words, E) + T[i] if bool((words != 0).any()) else torch.zeros(d)

    out = []
    for b in range(memory.shape[0]):
        slots = range(memory.shape[1])
        u = sentence_vector(query[b], model.B)
        for k in range(1, model.hops + 1):
            m = torch.stack([slot_vector(memory[b, i], model.A(k), model.T_A(k), i) for i in slots])
            c = torch.stack([slot_vector(memory[b, i], model.C(k), model.T_C(k), i) for i in slots])
            scores = m @ u
            p = scores if linear else torch.exp(scores) / torch.exp(scores).sum()    # eq. (1)
            u = u + p @ c                                                           # eq. (2), Section 2.2
        out.append(model.W @ u)                                                     # eq. (3), before its softmax
    return torch.stack(out)


@pytest.mark.parametrize("linear", [False, True], ids=["softmax", "linear-start"])
def test_the_forward_pass_is_equations_1_to_3(linear):
    model = small_model()
    memory, query = story_batch()
    with torch.no_grad():
        assert torch.allclose(model(memory, query, linear=linear), by_the_paper(model, memory, query, linear), atol=1e-5)


def test_the_model_uses_the_position_encoding_at_the_authors_scale():
    """The authors' code's weights 1 + 4(k − (d+1)/2)(j − (J+1)/2)/(dJ) are twice the paper's l_kj to terms of
    order 1/J and 1/d: the model reads sentences with 2 l."""
    assert CODE_SCALE_OF_PE == 2.0
    d, J = 20, 12
    j = torch.arange(1, J + 1, dtype=torch.float32).view(-1, 1)
    k = torch.arange(1, d + 1, dtype=torch.float32).view(1, -1)
    code = 1 + 4 * (k - (d + 1) / 2) * (j - (J + 1) / 2) / (d * J)
    paper = position_encoding(torch.tensor(J), J, d)
    assert float((code - CODE_SCALE_OF_PE * paper).abs().max()) <= 1 / J + 1 / d + 1 / (d * J) + 1e-6
    model = small_model(dim=d, vocabulary=30)
    words = torch.arange(1, J + 1).view(1, J)
    assert torch.allclose(model.encoding(words)[0], CODE_SCALE_OF_PE * paper)


def test_linear_start_removes_the_softmax_and_changes_nothing_else():
    """At the first hop both modes see the same scores u^T m_i: linear start reads them as they are (they need not
    sum to one), the softmax normalises them over every slot; an empty slot is a zero vector, so its score is 0:
    nothing under linear start, exp(0) before the softmax's normalisation."""
    model = small_model()
    memory, query = story_batch(seed=1)
    occupied = (memory != 0).any(-1)
    assert not bool(occupied.all())
    with torch.no_grad():
        _, linear = model(memory, query, linear=True, return_attention=True)
        _, soft = model(memory, query, linear=False, return_attention=True)
    assert torch.allclose(soft[0], torch.softmax(linear[0], -1), atol=1e-6)
    assert bool((linear[0][~occupied] == 0).all())
    empty = soft[0][~occupied]
    assert bool((empty > 0).all()) and torch.allclose(empty, (1 / torch.exp(linear[0]).sum(-1, keepdim=True)).expand_as(soft[0])[~occupied])
    assert torch.allclose(soft[0].sum(-1), torch.ones(len(memory)))
    assert not torch.allclose(linear[0].sum(-1), torch.ones(len(memory)))


def tiny_data(questions=40, seed=0):
    """A made-up task: short stories of 'a b' sentences, a one-word query, the answer a word of the story."""
    g = torch.Generator().manual_seed(seed)
    words = [f"w{i}" for i in range(8)]
    made = []
    for n in range(questions):
        story = tuple((words[int(i)], words[int(j)]) for i, j in torch.randint(0, 8, (int(torch.randint(1, 5, (1,), generator=g)), 2), generator=g))
        made.append(Question(1, n, story, (story[-1][0],), story[-1][1], (len(story) - 1,)))
    vocabulary = Vocabulary(made)
    enc = lambda qs: encode(qs, vocabulary, 6)
    return SimpleNamespace(vocabulary=vocabulary, train=enc(made[:24]), val=enc(made[24:32]), test=enc(made[32:]))


def test_linear_start_trains_its_epochs_without_softmax_then_a_whole_schedule_with_it(monkeypatch):
    """The authors' train_linear_start.m: ls_epochs epochs without the softmax at ls_lr (one rate throughout),
    then ``epochs`` epochs with it, from ls_lr again and halved every lr_halve_every."""
    rates, modes = [], []
    real_step, real_forward = torch.optim.SGD.step, MemN2N.forward

    def recording_step(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return real_step(self, *args, **kwargs)

    def recording_forward(self, memory, query, *, linear=False, **kwargs):
        if torch.is_grad_enabled():
            modes.append(linear)
        return real_forward(self, memory, query, linear=linear, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", recording_step)
    monkeypatch.setattr(MemN2N, "forward", recording_forward)
    data = tiny_data()
    h = hyperparameters("pe-ls-rn", epochs=4, ls_epochs=3, lr_halve_every=2, dim=4, batch_size=8, memory_size=6)
    first = train_run(3, data, h, torch.device("cpu"))
    per_epoch = slice(None, None, 3)                          # 24 questions / 8 = 3 minibatches per epoch
    assert modes[per_epoch] == [True] * 3 + [False] * 4
    assert rates[per_epoch] == [0.005] * 3 + [0.005, 0.005, 0.0025, 0.0025]
    assert len(first["val_loss_curve"]) == 7
    assert train_run(3, data, h, torch.device("cpu")) == first, "the same seed gave another run"
    rates.clear(), modes.clear()
    train_run(3, data, h | {"linear_start": False}, torch.device("cpu"))
    assert modes[per_epoch] == [False] * 4 and rates[0] == 0.01


def test_each_matrix_is_clipped_alone_by_its_largest_singular_value():
    """The authors' Weight.m: a matrix whose gradient has norm (MATLAB's, the spectral norm) above the limit is
    rescaled to it, the others are left as they are; a time table is part of its embedding table."""
    model = MemN2N(9, 4, 2, 5, torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(1)
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=g)
    model.embeddings[1].grad *= 100
    model.temporal[1].grad *= 100
    before = [p.grad.clone() for p in model.parameters()]
    limit = float(torch.linalg.matrix_norm(torch.cat([model.embeddings[0].grad, model.temporal[0].grad]), ord=2)) * 1.5
    memn2n_protocol.clip_each_matrix(model, limit)
    joined = lambda k: torch.cat([model.embeddings[k].grad, model.temporal[k].grad])
    assert torch.allclose(joined(1), torch.cat([before[1], before[4]]) * limit / torch.linalg.matrix_norm(torch.cat([before[1], before[4]]), ord=2))
    assert math.isclose(float(torch.linalg.matrix_norm(joined(1), ord=2)), limit, rel_tol=1e-5)
    assert float(torch.linalg.norm(joined(1))) > limit, "the Frobenius norm, not the spectral one, was clipped"
    for k in (0, 2):
        assert torch.equal(model.embeddings[k].grad, before[k]) and torch.equal(model.temporal[k].grad, before[3 + k])


def test_random_noise_spreads_the_temporal_indices_by_at_most_a_tenth():
    """RN: up to ceil(0.1 n) empty memories among a story's n sentences; the order of the sentences is kept."""
    occupied = torch.zeros(200, 50, dtype=torch.bool)
    lengths = torch.randint(1, 51, (200,), generator=torch.Generator().manual_seed(0))
    for b, n in enumerate(lengths.tolist()):
        occupied[b, :n] = True
    time = random_time(occupied, 0.1, 50, torch.Generator().manual_seed(1))
    gaps = []
    for b, n in enumerate(lengths.tolist()):
        t = time[b, :n]
        assert int(t[0]) >= 0 and int(t.max()) <= 49
        uncapped = t[t < 49]
        assert bool((uncapped[1:] > uncapped[:-1]).all()), "the sentences' order changed"
        assert int(t[-1]) <= n - 1 + math.ceil(0.1 * n)
        gaps.append(int(t[-1]) - (n - 1))
    assert max(gaps) > 0, "no empty memory was ever added"


def test_memory_holds_the_last_50_sentences_most_recent_first():
    story = tuple((f"s{i}",) for i in range(60))
    q = Question(1, 0, story, ("where",), "s59", (59,))
    vocabulary = Vocabulary([q])
    memory = encode([q], vocabulary, 50).memory[0]
    assert [vocabulary.words[int(w)] for w in memory[:, 0]] == [f"s{i}" for i in range(59, 9, -1)]


def test_the_parser_reads_questions_stories_and_supporting_facts():
    text = ("1 Mary moved to the bathroom.\n2 John went to the hallway.\n3 Where is Mary? \tbathroom\t1\n"
            "4 Daniel went back to the hallway.\n5 Where is Daniel? \thallway\t4\n1 Sandra got the milk there.\n"
            "2 What is Sandra carrying?\tmilk\t1\n")
    first, second, third = parse_babi(text, 1)
    assert first.sentences == (("mary", "moved", "to", "the", "bathroom"), ("john", "went", "to", "the", "hallway"))
    assert first.query == ("where", "is", "mary") and first.answer == "bathroom" and first.supporting == (0,)
    assert len(second.sentences) == 3 and second.supporting == (2,) and second.story_index == 0
    assert third.story_index == 1 and third.sentences == (("sandra", "got", "the", "milk", "there"),)


@needs_babi
def test_every_task_file_parses_to_the_counts_found_in_it_directly():
    """Stories, questions and supporting facts per file, counted from the raw lines (a story starts at ID 1, a
    question line holds tabs, its third field lists the supporting lines); every answer has a vocabulary id."""
    for task in TASKS:
        parsed = {split: read_task(task, split) for split in ("train", "test")}
        vocabulary = Vocabulary(parsed["train"] + parsed["test"])
        for split, questions in parsed.items():
            lines = babi_file(task, split).read_text().splitlines()
            question_lines = [line for line in lines if "\t" in line]
            assert len(questions) == len(question_lines) == 1000
            assert len({q.story_index for q in questions}) == sum(line.split(" ", 1)[0] == "1" for line in lines)
            assert sum(len(q.supporting) for q in questions) == sum(len(line.split("\t")[2].split()) for line in question_lines)
            assert [q.answer for q in questions] == [line.split("\t")[1].strip().lower() for line in question_lines]
            for q in questions:
                assert q.answer in vocabulary.index and vocabulary.index[q.answer] != vocabulary.index[NIL]
                assert all(0 <= s < len(q.sentences) for s in q.supporting)


@needs_babi
def test_a_supporting_fact_is_the_sentence_its_line_names():
    q = read_task(2, "train")[0]        # "Where is the football? garden 3 6"
    assert q.sentences[q.supporting[0]] == ("mary", "got", "the", "football", "there")
    assert q.sentences[q.supporting[1]] == ("mary", "went", "back", "to", "the", "garden")


@needs_babi
def test_a_file_that_fails_its_checksum_is_fetched_again(tmp_path, monkeypatch):
    monkeypatch.setenv("REPROBOOK_DATA", str(tmp_path))
    cached = tmp_path / FOLDER / file_name(1, "test")
    cached.parent.mkdir(parents=True)
    cached.write_text("1 tampered.\n")
    path = babi_file(1, "test")
    assert path == cached and "tampered" not in path.read_text()


def test_a_missing_mirror_file_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("REPROBOOK_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("REPROBOOK_OFFLINE_MIRROR", str(tmp_path / "empty"))
    with pytest.raises(ReprobookError, match="not in the offline mirror"):
        babi_file(3, "train")
    with pytest.raises(ReprobookError, match="unknown bAbI task"):
        babi_file(21, "train")
    assert len(BABI_SHA256) == 40


def test_the_validation_split_is_the_last_tenth():
    questions = list(range(1000))
    train, val = training_split(questions, 0.1)
    assert train == list(range(900)) and val == list(range(900, 1000))


def test_the_kept_restart_has_the_lowest_training_error_and_a_trial_is_ten_restarts():
    runs = [{"seed": s, "train_error": e, "val_error": v} for s, (e, v) in enumerate([(1.0, 0.0), (0.0, 3.0), (0.0, 2.0), (0.0, 2.0)])]
    assert chosen(runs)["seed"] == 2
    assert [len(t) for t in trials(list(range(30)), 10)] == [10, 10, 10] and trials(list(range(30)), 10)[1][0] == 10
    errors = {1: 0.0, 2: 5.0, 3: 5.1, 4: 40.0}
    assert failed_tasks(errors) == 2 and mean_error(errors) == pytest.approx(12.525)
