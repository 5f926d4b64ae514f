"""Git Re-Basin's defining properties: a permutation leaves the function unchanged, weight matching finds a
permutation it is given and never lowers its objective, and the loss barrier is Definition 2.2."""
import torch

from rebasin_model import (HIDDEN_LAYERS, activation_matching, init_params, interpolate, logits, loss_barrier, matching_objective,
                           permute, weight_matching, widths)
from reprobook.chapters import get_chapter
from reprobook.contract import contract_problems

SIZES = (784, 32, 24, 16, 10)


def test_the_chapter_follows_the_contract():
    assert contract_problems(get_chapter("git_rebasin")) == []


def random_perms(sizes, generator):
    return [torch.randperm(n, generator=generator) for n in sizes[1:-1]]


def test_a_permuted_model_computes_the_same_function():
    generator = torch.Generator().manual_seed(0)
    model = init_params(SIZES, generator)
    x = torch.rand(50, 784, generator=generator)
    permuted = permute(model, random_perms(SIZES, generator))
    assert any(not torch.equal(model[name], permuted[name]) for name in model)
    torch.testing.assert_close(logits(permuted, x), logits(model, x), rtol=1e-5, atol=1e-6)


def test_weight_matching_recovers_a_permutation_and_the_pair_has_no_barrier():
    generator = torch.Generator().manual_seed(1)
    a = init_params(SIZES, generator)
    a = {name: value + 0.01 * torch.rand(value.shape, generator=generator) for name, value in a.items()}   # non-zero biases
    hidden = random_perms(SIZES, generator)
    b = permute(a, hidden)
    perms, _ = weight_matching(a, b, torch.Generator().manual_seed(2))
    matched = permute(b, perms)
    assert all(torch.equal(matched[name], a[name]) for name in a), "B, permuted back, is not A"
    x = torch.rand(20, 784, generator=generator)
    losses = [float(torch.nn.functional.cross_entropy(logits(interpolate(a, matched, w), x), torch.zeros(20, dtype=torch.long)))
              for w in torch.linspace(0, 1, 5).tolist()]
    assert loss_barrier(losses) == 0.0


def test_activation_matching_recovers_a_permutation():
    """Section 3.1: B's units, matched by their activations to A's, go back to A's order."""
    generator = torch.Generator().manual_seed(5)
    a = init_params(SIZES, generator)
    hidden = random_perms(SIZES, generator)
    b = permute(a, hidden)
    x = torch.rand(200, 784, generator=generator)
    matched = permute(b, activation_matching(a, b, x))
    assert all(torch.equal(matched[name], a[name]) for name in a), "B, permuted back by its activations, is not A"


def test_weight_matching_never_lowers_its_objective_from_one_sweep_to_the_next():
    generator = torch.Generator().manual_seed(3)
    a, b = init_params(SIZES, generator), init_params(SIZES, generator)
    start = matching_objective(a, b, [torch.arange(n) for n in SIZES[1:-1]])
    _, objectives = weight_matching(a, b, torch.Generator().manual_seed(4))
    assert len(objectives) >= 2
    assert all(later >= earlier for earlier, later in zip([start, *objectives], objectives))
    assert objectives[-1] > start


def test_the_loss_barrier_is_the_highest_loss_on_the_path_above_the_mean_of_its_ends():
    assert loss_barrier([1.0, 3.0, 2.0]) == 1.5
    assert loss_barrier([1.0, 0.5, 2.0]) == 0.5        # a convex path: the barrier is the higher end's excess


def test_widths_scale_the_hidden_layers_only():
    assert widths(1.0) == (784, 512, 512, 512, 10) and widths(0.25) == (784, 128, 128, 128, 10)
    assert HIDDEN_LAYERS == 3
