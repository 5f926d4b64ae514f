"""The DeepONet chapter's defining properties: the targets are antiderivatives (closed forms, to the
solver's tolerance), the input functions have the RBF kernel's covariance, and the DeepONet's output is
the dot product of its branch and trunk outputs plus b₀ (the paper's Eq. 2), the trunk activated on its
last layer as in the authors' code."""
import math

import numpy as np
import pytest
import torch

from deeponet_data import GaussianRandomField, antiderivative, hermite, operator_triplets, solve, zero_prediction_mse
from deeponet_model import DeepONet, FNN, glorot_normal_, mlp
from reprobook.chapters import get_chapter
from reprobook.contract import contract_problems


def test_the_chapter_follows_the_contract():
    assert contract_problems(get_chapter("deeponet")) == []


@pytest.mark.parametrize("u, s", [
    (lambda x: np.cos(np.pi * x), lambda x: np.sin(np.pi * x) / np.pi),
    (lambda x: x, lambda x: x ** 2 / 2),
    (lambda x: np.exp(-3 * x), lambda x: (1 - np.exp(-3 * x)) / 3),
])
def test_the_targets_are_antiderivatives_to_the_solvers_tolerance(u, s):
    grid = np.linspace(0.0, 1.0, 1000)
    values, slopes = solve(antiderivative, grid, u(grid)[None, :])
    points = np.array([0.0, 0.00037, 0.123456, 0.5, 0.77777, 1.0])   # on and between grid points
    found = hermite(grid, values.repeat(len(points), 0), slopes.repeat(len(points), 0), points)
    np.testing.assert_allclose(found, s(points), rtol=0, atol=1e-8)


def test_the_field_has_the_rbf_kernels_covariance():
    field = GaussianRandomField(length_scale=0.2)
    samples = field.sample(20_000, np.random.default_rng(0))
    at = [0, 100, 200, 500, 999]                     # x = 0, 0.1, 0.2, 0.5, 1
    empirical = np.cov(samples[:, at].T)
    distance = field.grid[at][:, None] - field.grid[at][None, :]
    expected = np.exp(-distance ** 2 / (2 * 0.2 ** 2))
    # the standard error of a sample covariance of unit-variance Gaussians is at most √(2/n) = 0.01
    np.testing.assert_allclose(empirical, expected, rtol=0, atol=0.04)
    assert abs(float(samples.mean())) < 0.03


def test_triplets_read_the_function_at_the_sensors_and_integrate_it_up_to_y():
    u, y, s = operator_triplets(antiderivative, 50, 100, 0.2, np.random.default_rng(1))
    assert u.shape == (50, 100) and y.shape == (50, 1) and s.shape == (50, 1)
    assert ((y >= 0) & (y <= 1)).all()
    # the trapezoidal rule over the sensors, up to each y, agrees with the targets to its own error
    sensors = np.linspace(0.0, 1.0, 100)
    for row in range(50):
        inside = sensors <= y[row, 0]
        x = np.append(sensors[inside], y[row, 0])
        values = np.append(u[row, inside], np.interp(y[row, 0], sensors, u[row]))
        assert abs(np.trapezoid(values, x) - s[row, 0]) < 2e-3


def test_the_mse_of_predicting_zero_is_the_antiderivatives_mean_square():
    _, _, s = operator_triplets(antiderivative, 20_000, 100, 0.2, np.random.default_rng(2))
    assert float((s.astype(np.float64) ** 2).mean()) == pytest.approx(zero_prediction_mse(0.2), rel=0.05)


def test_the_deeponet_is_the_dot_product_of_branch_and_trunk_plus_b0():
    net = DeepONet(sensors=100, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        net.b0.fill_(0.7)
    u, y = torch.randn(8, 100), torch.rand(8, 1)
    b = mlp(u, net.branch, activate_last=False)
    t = mlp(y, net.trunk, activate_last=True)
    torch.testing.assert_close(net(u, y), (b * t).sum(-1, keepdim=True) + 0.7)
    # the authors' OpNN: the trunk's last layer is activated, the branch's is linear
    assert (t >= 0).all() and (b < 0).any()
    assert net.trunk[-1].out_features == net.branch[-1].out_features == 40


def test_the_fnn_reads_the_function_and_the_point_together():
    net = FNN(sensors=100, generator=torch.Generator().manual_seed(0))
    assert net.net[0].in_features == 101
    u, y = torch.randn(4, 100), torch.rand(4, 1)
    moved = y + 0.5
    assert not torch.allclose(net(u, y), net(u, moved))


def test_glorot_normal_is_tensorflows_truncated_normal():
    weight = torch.empty(400, 600)
    glorot_normal_(weight, torch.Generator().manual_seed(0))
    std = math.sqrt(2.0 / (400 + 600))
    assert float(weight.std()) == pytest.approx(std, rel=0.02)
    assert float(weight.abs().max()) <= 2 * std / 0.87962566103423978 + 1e-6
