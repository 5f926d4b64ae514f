"""The numbers our claims make of the paper's qualitative statements: how far an empirical kernel is from
the limit, how much it moves in training, how both fall with width, and how often trained networks fall
inside the limit's percentile band. Reporting only: nothing here trains."""
import numpy as np
from scipy.stats import norm

# Figure 2's band: the 10th to the 90th percentile of the limiting Gaussian.
BAND = (0.10, 0.90)
# Around a training point the band closes (the limit interpolates it); these angles are left out of the coverage.
NEAR_TRAINING_POINT = 0.2


def relative_rms(values, reference) -> float:
    """``‖values − reference‖ / ‖reference‖`` over the circle's angles."""
    values, reference = np.asarray(values, float), np.asarray(reference, float)
    return float(np.sqrt(np.mean((values - reference) ** 2) / np.mean(reference ** 2)))


def relative_bias(values, reference) -> float:
    """The mean of ``values − reference`` over the angles, relative to the mean of ``reference``."""
    values, reference = np.asarray(values, float), np.asarray(reference, float)
    return float(np.mean(values - reference) / np.mean(reference))


def log_log_slope(widths, values) -> float:
    """The least-squares slope of log(value) against log(width)."""
    return float(np.polyfit(np.log(widths), np.log(values), 1)[0])


def width_reaching(level: float, widths, values) -> float:
    """The width at which the power law fitted to ``values`` against ``widths`` reaches ``level``."""
    slope, intercept = np.polyfit(np.log(widths), np.log(values), 1)
    return float(np.exp((np.log(level) - intercept) / slope))


def band_coverage(function, mean, std, angles, train_angles) -> float:
    """The share (%) of the angles away from the training points at which ``function`` lies inside the
    limit's 10th-90th percentile band, ``mean + std Φ⁻¹(0.1 … 0.9)``."""
    angles = np.asarray(angles, float)
    gap = np.abs(np.angle(np.exp(1j * (angles[:, None] - np.asarray(train_angles, float)[None, :]))))
    far = gap.min(1) > NEAR_TRAINING_POINT
    low, high = (np.asarray(mean) + np.asarray(std) * norm.ppf(q) for q in BAND)
    inside = (np.asarray(function) >= low) & (np.asarray(function) <= high)
    return float(100.0 * inside[far].mean())
