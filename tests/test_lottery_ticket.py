"""The lottery ticket's defining rules: the pruning schedule's closed form, magnitude pruning within each
layer, pruned weights that stay exactly zero through training, and the reset of survivors to θ0."""
import pytest
import torch

import lottery_protocol
from lottery_model import LAYER_SIZES, PRUNE_RATES, LeNet, full_masks, initial_weights, percent_remaining, prune
from lottery_protocol import REINIT_STREAM, THETA0_STREAM, Trials, optimizer_for, pack_masks, stream, unpack_masks
from reprobook.chapters import get_chapter
from reprobook.contract import contract_problems
from reprobook.errors import ReprobookError

LAYER_WEIGHTS = [n_in * n_out for n_in, n_out in zip(LAYER_SIZES[:-1], LAYER_SIZES[1:])]


def test_the_chapter_follows_the_contract():
    assert contract_problems(get_chapter("lottery_ticket")) == []


def pruned_rounds(rounds: int, trials: int = 2):
    """Masks after each of ``rounds`` rounds, pruning random 'trained' weights each round."""
    generator = torch.Generator().manual_seed(0)
    masks, history = full_masks(trials), []
    for k in range(rounds):
        trained = [torch.randn(m.shape, generator=generator) for m in masks]
        new = prune(trained, masks, k)
        history.append((trained, masks, new))
        masks = new
    return history


def test_the_weights_left_after_k_rounds_are_the_schedules_closed_form_per_layer_and_overall():
    """Layer l keeps n_l (1 - p_l)^k weights (to the nearest weight): 20 % per round of the hidden layers,
    10 % of the output layer; overall P_m = (265,200 · 0.8^k + 1,000 · 0.9^k) / 266,200."""
    for k, (_, _, masks) in enumerate(pruned_rounds(16), start=1):
        for mask, n, rate in zip(masks, LAYER_WEIGHTS, PRUNE_RATES):
            assert mask.sum(dim=(1, 2)).tolist() == [round(n * (1 - rate) ** k)] * mask.shape[0]
        kept = sum(float(m[0].sum()) for m in masks)
        assert abs(kept - (265_200 * 0.8 ** k + 1_000 * 0.9 ** k)) <= 1.5      # one rounding per layer
        assert percent_remaining(k) == pytest.approx(100 * kept / 266_200, abs=1e-12)
    # the sizes the paper's figures label: 51.3, 21.1, 13.5, 7.0 and 3.6 % after 3, 7, 9, 12 and 15 rounds
    assert [round(percent_remaining(k), 1) for k in (3, 7, 9, 12, 15)] == [51.3, 21.1, 13.5, 7.0, 3.6]


def test_pruning_removes_the_smallest_magnitudes_of_each_layer_and_never_revives_a_weight():
    for trained, before, after in pruned_rounds(4):
        for w, old, new in zip(trained, before, after):
            assert bool((new <= old).all()), "a pruned weight came back"
            for t in range(w.shape[0]):
                kept, dropped = w[t][new[t].bool()].abs(), w[t][(old[t] - new[t]).bool()].abs()
                assert kept.min() >= dropped.max(), "a weight of smaller magnitude survived a larger one"


def test_pruned_weights_stay_exactly_zero_through_training_with_their_gradients_and_adam_state():
    generator = torch.Generator().manual_seed(1)
    theta0 = initial_weights([torch.Generator().manual_seed(s) for s in (0, 1)])
    masks = [(torch.rand(w.shape, generator=generator) < 0.3).float() for w in theta0]
    net = LeNet(theta0, masks)
    optimizer = optimizer_for(lottery_protocol.PAPER_HYPERPARAMETERS, net.parameters())
    for _ in range(5):
        x, y = torch.rand(2, 60, 784, generator=generator), torch.randint(0, 10, (2, 60), generator=generator)
        loss = torch.nn.functional.cross_entropy(net.forward(x).reshape(-1, 10), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    for w, m, start in zip(net.weights, masks, theta0):
        pruned = ~m.bool()
        assert bool((w.detach()[pruned] == 0).all())
        assert bool((w.grad[pruned] == 0).all())
        state = optimizer.state[w]
        assert bool((state["exp_avg"][pruned] == 0).all() and (state["exp_avg_sq"][pruned] == 0).all())
        assert bool((w.detach()[~pruned] != start[~pruned]).any()), "the survivors did not train"


def test_a_winning_ticket_restarts_from_theta0_and_its_control_from_a_fresh_draw(tmp_path, monkeypatch):
    """Round k trains m_k ⊙ θ0 (the survivors equal θ0 bit for bit); its control m_k ⊙ θ0', θ0' a new draw."""
    monkeypatch.setenv("REPROBOOK_RUNS", str(tmp_path))
    trained_from = []
    real_train = lottery_protocol.train

    def recording_train(seeds, theta0, masks, *args, **kwargs):
        net = LeNet(theta0, masks)
        trained_from.append(([w.detach().clone() for w in net.weights], [m.clone() for m in masks]))
        return real_train(seeds, theta0, masks, *args, **kwargs)

    monkeypatch.setattr(lottery_protocol, "train", recording_train)
    monkeypatch.setattr(lottery_protocol, "mnist_splits", lambda: tiny_splits())
    trials = Trials("paper", torch.device("cpu"), iterations=4, eval_every=2, log=lambda _: None)
    trials.ticket([3], 1)
    trials.reinitialised([3], 1)
    theta0 = initial_weights([stream(3, THETA0_STREAM)])
    fresh = initial_weights([stream(3, REINIT_STREAM + 1)])
    (dense, full), (ticket, mask), (control, control_mask) = trained_from
    assert all(torch.equal(w, t) for w, t in zip(dense, theta0)) and all(bool(m.all()) for m in full)
    for w, m, t0, cm in zip(ticket, mask, theta0, control_mask):
        assert torch.equal(m, cm) and 0 < m.mean() < 1
        assert torch.equal(w[m.bool()], t0[m.bool()]), "a survivor was not reset to its value in θ0"
    for w, m, t0_fresh in zip(control, control_mask, fresh):
        assert torch.equal(w, t0_fresh * m)


def tiny_splits():
    generator = torch.Generator().manual_seed(0)
    make = lambda n: (torch.rand(n, 784, generator=generator), torch.randint(0, 10, (n,), generator=generator))
    return {"train": make(120), "val": make(30), "test": make(30)}


def test_masks_survive_the_run_store_bit_for_bit():
    masks = [m[0] for m in pruned_rounds(3)[-1][2]]
    assert all(torch.equal(a, b) for a, b in zip(unpack_masks(pack_masks(masks)), masks))


def test_a_trial_trained_beside_others_gives_what_it_gives_alone():
    """Trials side by side share no draw and no arithmetic: CI's determinism check retrains one trial alone."""
    h = lottery_protocol.hyperparameters("paper", iterations=6, eval_every=2)
    theta0 = initial_weights([stream(s, THETA0_STREAM) for s in (0, 1)])
    masks = [m for m in pruned_rounds(1)[0][2]]
    together = lottery_protocol.train([0, 1], theta0, masks, h, tiny_splits(), torch.device("cpu"), prune_round=1)
    alone = lottery_protocol.train([0], [w[:1] for w in theta0], [m[:1] for m in masks], h, tiny_splits(),
                                   torch.device("cpu"), prune_round=1)
    assert together[0] == alone[0]


def test_early_stopping_is_the_iteration_of_least_validation_loss_and_its_test_accuracy_is_that_states(monkeypatch):
    """Section 1: the early-stopping iteration is the iteration of minimum validation loss, and the test accuracy
    reported is the network's there (Appendix G.1: validation every eval_every iterations), not at the end."""
    splits = tiny_splits() | {"test": (torch.rand(40, 784), torch.randint(0, 10, (40,)))}
    scripted = iter([5.0, 3.0, 4.0, 2.0, 6.0, 7.0])          # least at the 4th evaluation: iteration 4 * 2
    seen = []                                                # the first weight of trial 0 at each evaluation

    def fake_evaluate(net, x, y):
        w = float(net.weights[0][0, 0, 0])
        if len(x) == len(splits["val"][0]):
            seen.append(w)
            return torch.tensor([next(scripted)]), torch.tensor([0.0])
        return torch.tensor([0.0]), torch.tensor([w])        # "accuracy": which state was tested

    monkeypatch.setattr(lottery_protocol, "evaluate", fake_evaluate)
    h = lottery_protocol.hyperparameters("paper", iterations=12, eval_every=2)
    theta0 = initial_weights([stream(0, THETA0_STREAM)])
    run, = lottery_protocol.train([0], theta0, full_masks(1), h, splits, torch.device("cpu"))
    assert run["early_stop_iteration"] == 8
    assert run["test_accuracy"] == seen[3] and run["final_test_accuracy"] == seen[5] != seen[3]
