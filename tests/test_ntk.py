"""The NTK chapter's defining properties: the empirical kernel is the Gram matrix of the parameter
gradients (symmetric, positive semi-definite, equal to explicit per-example gradients); the closed-form
limit is Theorem 1's recursion, checked against Monte-Carlo estimates of its expectations and against
a wide network at initialisation; the limiting kernel regression interpolates its training points."""
import math

import torch

from ntk_model import (BETA, empirical_ntk, init_params, kernel_regression, layer_sizes, limiting_kernels, network,
                       relu_expectations)
from reprobook.chapters import get_chapter
from reprobook.contract import contract_problems


def circle(points: int) -> torch.Tensor:
    angles = torch.linspace(-math.pi, math.pi, points)
    return torch.stack([torch.cos(angles), torch.sin(angles)], 1)


def test_the_chapter_follows_the_contract():
    assert contract_problems(get_chapter("ntk")) == []


def test_the_empirical_kernel_is_the_gram_matrix_of_per_example_gradients():
    generator = torch.Generator().manual_seed(0)
    params = init_params(layer_sizes(2, 48), generator)
    x = torch.randn(7, 2, generator=generator)
    kernel = empirical_ntk(params, x, x)
    gradients = []
    for point in x:
        leaves = {name: value.clone().requires_grad_() for name, value in params.items()}
        found = torch.autograd.grad(network(leaves, point[None]).sum(), list(leaves.values()))
        gradients.append(torch.cat([g.flatten() for g in found]))
    gradients = torch.stack(gradients)
    torch.testing.assert_close(kernel, gradients @ gradients.T, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(kernel, kernel.T, rtol=1e-5, atol=1e-6)
    assert torch.linalg.eigvalsh(kernel.double()).min() > -1e-5 * kernel.diagonal().max()


def test_the_relu_expectations_match_monte_carlo():
    generator = torch.Generator().manual_seed(1)
    var1, var2, cov = torch.tensor(0.7, dtype=torch.float64), torch.tensor(1.3, dtype=torch.float64), torch.tensor(-0.4, dtype=torch.float64)
    chol = torch.linalg.cholesky(torch.stack([torch.stack([var1, cov]), torch.stack([cov, var2])]))
    u, v = (chol @ torch.randn(2, 2_000_000, generator=generator, dtype=torch.float64))
    expectation, derivative_expectation = relu_expectations(var1, var2, cov)
    assert abs(float(expectation) - float((torch.relu(u) * torch.relu(v)).mean())) < 2e-3
    assert abs(float(derivative_expectation) - float(((u > 0) & (v > 0)).double().mean())) < 2e-3


def test_the_closed_form_limit_is_theorem_1s_recursion_estimated_by_monte_carlo():
    """Σ and Θ of Theorem 1 for one pair of points, each expectation estimated from Gaussian samples."""
    generator = torch.Generator().manual_seed(2)
    x = torch.tensor([[1.0, 0.0], [math.cos(2.0), math.sin(2.0)]], dtype=torch.float64)
    sigma = x @ x.T / 2 + BETA ** 2
    theta = sigma.clone()
    for _ in range(3):
        f = torch.linalg.cholesky(sigma) @ torch.randn(2, 2_000_000, generator=generator, dtype=torch.float64)
        activations, derivatives = torch.relu(f), (f > 0).double()
        sigma = activations @ activations.T / f.shape[1] + BETA ** 2
        theta = theta * (derivatives @ derivatives.T / f.shape[1]) + sigma
    limit_sigma, limit_theta = limiting_kernels(x, x)
    torch.testing.assert_close(limit_sigma, sigma, rtol=5e-3, atol=1e-4)
    torch.testing.assert_close(limit_theta, theta, rtol=5e-3, atol=1e-4)


def test_a_wide_network_at_initialisation_has_the_limiting_kernel():
    """The empirical kernel's spread over initialisations falls like 1/√n; the tolerance is that spread,
    measured at n = 64 and scaled to n = 1024, for the mean of four initialisations, times four."""
    generator = torch.Generator().manual_seed(3)
    x = circle(9)
    _, limit = limiting_kernels(x[:1], x)

    def kernels(width, count):
        return torch.stack([empirical_ntk(init_params(layer_sizes(2, width), generator), x[:1], x)[0].double()
                            for _ in range(count)])

    spread_at_64 = kernels(64, 16).std(0)
    wide = kernels(1024, 4).mean(0)
    tolerance = 4 * spread_at_64 * math.sqrt(64 / 1024) / math.sqrt(4)
    assert ((wide - limit[0]).abs() < tolerance).all(), (wide, limit[0], tolerance)


def test_the_limiting_kernel_regression_interpolates_its_training_points():
    """Section 5: at t → ∞ the limit's network function equals the targets on the training set, surely."""
    train_x = circle(5)[:4]
    train_y = torch.tensor([0.3, -0.2, 0.5, 0.1])
    mean, std = kernel_regression(train_x, train_y, train_x)
    torch.testing.assert_close(mean, train_y.double(), rtol=0, atol=1e-8)
    assert float(std.max()) < 1e-5
