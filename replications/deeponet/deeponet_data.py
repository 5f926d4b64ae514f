"""The data of Lu et al. (2021): input functions u drawn from a Gaussian random field on [0, 1], their
values at m equally spaced sensors, and the solution s(y) = G(u)(y) of

    ds/dx = g(s(x), u(x), x),   s(0) = 0,

at one random point y per function (the authors' ``ODESystem.gen_operator_data``). The antiderivative
operator, the one this chapter learns, is g = u.

As in the authors' code, each u is sampled on a grid of 1000 points (a Cholesky factor of the RBF
kernel), and read between the grid points through the cubic spline that interpolates it: the sensors
read the spline, and the ODE is solved with the spline as u. The ODE is solved once for a whole block of
functions (one vectorised system) on the grid, to a tight tolerance, and s(y) is read from the grid by
cubic Hermite interpolation with the exact derivative g.
"""
import numpy as np
from scipy.integrate import cumulative_trapezoid, solve_ivp, trapezoid
from scipy.interpolate import make_interp_spline

GRID_POINTS = 1000
# The authors' jitter on the kernel's diagonal, so that the Cholesky factor of a smooth kernel exists.
JITTER = 1e-13
# Tight enough that the targets' error (about 1e-10) is far below the errors being measured (1e-7 and up).
SOLVER_RTOL = 1e-10
SOLVER_ATOL = 1e-12
# Functions generated and solved at once; bounds the memory of a block to some hundred megabytes.
BLOCK = 10_000


def antiderivative(s, u):
    """``ds/dx = u``: ``G(u)(y) = ∫₀ʸ u(x) dx``."""
    return u


class GaussianRandomField:
    """Centred Gaussian process on [0, 1] with the RBF kernel ``k(x, x') = exp(−(x − x')² / 2l²)``,
    sampled on ``GRID_POINTS`` equally spaced points."""

    def __init__(self, length_scale: float, grid_points: int = GRID_POINTS):
        self.grid = np.linspace(0.0, 1.0, grid_points)
        self.covariance = rbf_kernel(self.grid, self.grid, length_scale)
        self.factor = np.linalg.cholesky(self.covariance + JITTER * np.eye(grid_points))

    def sample(self, count: int, rng: np.random.Generator) -> np.ndarray:
        """``count`` functions on the grid, ``[count, grid_points]``."""
        return (self.factor @ rng.standard_normal((len(self.grid), count))).T


def rbf_kernel(x1: np.ndarray, x2: np.ndarray, length_scale: float) -> np.ndarray:
    return np.exp(-((x1[:, None] - x2[None, :]) ** 2) / (2 * length_scale ** 2))


def zero_prediction_mse(length_scale: float, points: int = 2001) -> float:
    """The test MSE of predicting G(u)(y) = 0: ``E[s(y)²] = ∫₀¹ ∫₀^y ∫₀^y k(a, b) da db dy`` for the
    antiderivative s of the field and y uniform on [0, 1], by the trapezoidal rule."""
    x = np.linspace(0.0, 1.0, points)
    inner = cumulative_trapezoid(cumulative_trapezoid(rbf_kernel(x, x, length_scale), x, axis=0, initial=0),
                                 x, axis=1, initial=0)
    return float(trapezoid(np.diag(inner), x))


def solve(g, grid: np.ndarray, u_on_grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``s`` and ``ds/dx`` on the grid for every function (rows of ``u_on_grid``), ``u`` read through its
    cubic spline; ``[count, len(grid)]`` each."""
    spline = make_interp_spline(grid, u_on_grid.T, k=3)
    solution = solve_ivp(lambda x, s: g(s, spline(x)), (grid[0], grid[-1]), np.zeros(len(u_on_grid)),
                         method="RK45", t_eval=grid, rtol=SOLVER_RTOL, atol=SOLVER_ATOL)
    s = solution.y
    return s, g(s, u_on_grid)


def hermite(grid: np.ndarray, values: np.ndarray, slopes: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Row ``i``'s cubic Hermite interpolant (values and slopes on the grid) at ``points[i]``."""
    rows = np.arange(len(points))
    left = np.clip(np.searchsorted(grid, points, side="right") - 1, 0, len(grid) - 2)
    h = grid[left + 1] - grid[left]
    t = (points - grid[left]) / h
    return ((2 * t ** 3 - 3 * t ** 2 + 1) * values[rows, left] + (t ** 3 - 2 * t ** 2 + t) * h * slopes[rows, left]
            + (-2 * t ** 3 + 3 * t ** 2) * values[rows, left + 1] + (t ** 3 - t ** 2) * h * slopes[rows, left + 1])


def operator_triplets(g, count: int, sensors: int, length_scale: float,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` triplets ``(u at the sensors, y, G(u)(y))``, one function and one uniform y ∈ [0, 1] each:
    ``[count, sensors]``, ``[count, 1]``, ``[count, 1]`` (float32, as the networks take them)."""
    field = GaussianRandomField(length_scale)
    sensor_points = np.linspace(0.0, 1.0, sensors)
    u_sensors, ys, targets = [], [], []
    for start in range(0, count, BLOCK):
        block = min(BLOCK, count - start)
        u = field.sample(block, rng)
        y = rng.random(block)
        s, slopes = solve(g, field.grid, u)
        u_sensors.append(make_interp_spline(field.grid, u.T, k=3)(sensor_points).T)
        ys.append(y)
        targets.append(hermite(field.grid, s, slopes, y))
    return (np.concatenate(u_sensors).astype(np.float32), np.concatenate(ys)[:, None].astype(np.float32),
            np.concatenate(targets)[:, None].astype(np.float32))
