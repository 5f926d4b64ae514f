"""The numerical experiments of Jacot, Gabriel and Hongler (2018, Section 6) on inputs of the unit circle.

Every run is one initialisation of one width, trained by full-batch gradient descent on the
least-squares cost ``C(f) = ½ E_{x∼p_in}[(f(x) − f*(x))²]`` (Section 5), ``p_in`` the empirical
distribution of the training points, with the paper's learning rate 1.0 (so that ``t`` = steps).

- *Kernel runs* (Section 6.1, Figure 1, and our width study): ``Θ(x_0, x)`` for ``x_0 = (1, 0)`` and ``x``
  around the circle, at initialisation and after 200 steps on ``f*(x) = x_1 x_2`` at random N(0, 1) inputs.
- *Function runs* (Section 6.2, Figure 2): the network function around the circle after 1000 steps on
  four points of the circle.
"""
import math

import torch

from reprobook.runs import run_seeds
from reprobook.seeding import generator_for

from ntk_model import BETA, DEPTH, empirical_ntk, init_params, layer_sizes, network

PAPER_HYPERPARAMETERS = {"depth": DEPTH, "beta": BETA, "lr": 1.0}
# Section 6.1: "after 200 steps of gradient descent with learning rate 1.0"; Section 6.2: "for 1000 steps".
KERNEL_STEPS = 200
FUNCTION_STEPS = 1000
FIGURE_1_WIDTHS = (500, 10_000)
FIGURE_2_WIDTHS = (50, 1_000)
# Ours: the widths over which the kernel's spread and its change in training are fitted against n.
SCALING_WIDTHS = (50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000)
# Section 6.1's training set: "random N(0, 1) inputs", how many not stated.
KERNEL_TRAIN_POINTS = 100
# Section 6.2's "4 points of the unit circle": which, and their targets, not stated; ours, on f*(x) = x_1 x_2.
FUNCTION_TRAIN_ANGLES = (-2.2, -1.0, 1.0, 2.2)
# The angles at which kernels and functions are read, γ in [−π, π).
CIRCLE_POINTS = 64
DATA_SEED = 10_000


def on_circle(angles: torch.Tensor) -> torch.Tensor:
    """``x = (cos γ, sin γ)`` for each angle."""
    return torch.stack([torch.cos(angles), torch.sin(angles)], 1)


def circle_angles(points: int = CIRCLE_POINTS) -> torch.Tensor:
    return torch.arange(points) * (2 * math.pi / points) - math.pi


def anchor() -> torch.Tensor:
    """Section 6.1's ``x_0 = (1, 0)``, the kernel's first argument, as a batch of one point."""
    return on_circle(torch.zeros(1))


def target(x: torch.Tensor) -> torch.Tensor:
    """Section 6.1's ``f*(x) = x_1 x_2``."""
    return x[:, 0] * x[:, 1]


def kernel_training_set(points: int = KERNEL_TRAIN_POINTS) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(points, 2, generator=generator_for(DATA_SEED))
    return x, target(x)


def function_training_set() -> tuple[torch.Tensor, torch.Tensor]:
    x = on_circle(torch.tensor(FUNCTION_TRAIN_ANGLES))
    return x, target(x)


def initial_params(seed: int, width: int, device) -> dict:
    """Initialisation ``seed`` of width ``width``: its own stream, so that no two widths share draws."""
    params = init_params(layer_sizes(2, width), generator_for(1_000 * width + seed))
    return {name: value.to(device) for name, value in params.items()}


def gradient_descent(params: dict, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float,
                     beta: float) -> tuple[dict, list[float]]:
    """``steps`` full-batch steps ``θ ← θ − lr ∇C(θ)``; the cost before each step, and the trained parameters."""
    params = {name: value.clone().requires_grad_() for name, value in params.items()}
    costs = []
    for _ in range(steps):
        cost = 0.5 * ((network(params, x, beta) - y) ** 2).mean()
        gradients = torch.autograd.grad(cost, list(params.values()))
        with torch.no_grad():
            for value, gradient in zip(params.values(), gradients):
                value -= lr * gradient
        costs.append(float(cost.detach()))
    return {name: value.detach() for name, value in params.items()}, costs


def kernel_run(seed: int, width: int, steps: int, h: dict, device) -> dict:
    x, y = (t.to(device) for t in kernel_training_set())
    circle, x_0 = on_circle(circle_angles()).to(device), anchor().to(device)
    params = initial_params(seed, width, device)
    at_init = empirical_ntk(params, circle, x_0, h["beta"])[:, 0]
    trained, costs = gradient_descent(params, x, y, steps, h["lr"], h["beta"])
    after = empirical_ntk(trained, circle, x_0, h["beta"])[:, 0]
    return {"kernel_at_init": at_init.cpu().tolist(), "kernel_trained": after.cpu().tolist(), "costs": costs}


def function_run(seed: int, width: int, steps: int, h: dict, device) -> dict:
    x, y = (t.to(device) for t in function_training_set())
    circle = on_circle(circle_angles()).to(device)
    params = initial_params(seed, width, device)
    with torch.no_grad():
        at_init = network(params, circle, h["beta"])
    trained, costs = gradient_descent(params, x, y, steps, h["lr"], h["beta"])
    with torch.no_grad():
        after = network(trained, circle, h["beta"])
    return {"function_at_init": at_init.cpu().tolist(), "function_trained": after.cpu().tolist(), "costs": costs}


def run_kernels(width: int, seeds: list[int], device, steps: int = KERNEL_STEPS, log=print) -> list[dict]:
    """Section 6.1's runs at one width, each trained once and then read back from the run store."""
    h = PAPER_HYPERPARAMETERS
    config = {"hyperparameters": h, "width": width, "steps": steps, "train_points": KERNEL_TRAIN_POINTS,
              "circle_points": CIRCLE_POINTS, "data_seed": DATA_SEED}

    def train_batch(batch):
        return [kernel_run(seed, width, steps, h, device) for seed in batch]

    return run_seeds(f"ntk/kernel-width-{width}", config, seeds, train_batch, batch_size=1, device=device, log=log)


def run_functions(width: int, seeds: list[int], device, steps: int = FUNCTION_STEPS, log=print) -> list[dict]:
    """Section 6.2's runs at one width, each trained once and then read back from the run store."""
    h = PAPER_HYPERPARAMETERS
    config = {"hyperparameters": h, "width": width, "steps": steps, "train_angles": list(FUNCTION_TRAIN_ANGLES),
              "circle_points": CIRCLE_POINTS}

    def train_batch(batch):
        return [function_run(seed, width, steps, h, device) for seed in batch]

    return run_seeds(f"ntk/function-width-{width}", config, seeds, train_batch, batch_size=1, device=device, log=log)
