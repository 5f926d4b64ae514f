"""One figure style for the whole book, and the plots that several chapters draw."""
from pathlib import Path

import matplotlib.pyplot as plt

BOOK_STYLE = {
    "figure.dpi": 110, "savefig.dpi": 150, "savefig.bbox": "tight", "font.size": 10,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
    "legend.frameon": False,
}
PAPER_COLOR, OURS_COLOR, BASELINE_COLOR = "#444444", "#1f77b4", "#ff7f0e"


def use_book_style() -> None:
    plt.rcParams.update(BOOK_STYLE)


def save_figure(figure, folder: Path, name: str) -> Path:
    """Save ``figure`` as ``folder/name.png`` (the book's pages include these files)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    figure.savefig(path)
    return path


def accuracy_distribution(ax, values, paper_mean, paper_std=None, label="ours", color=OURS_COLOR, offset=0.0):
    """Our per-run results as a jittered strip with their mean, against the paper's mean ± std band."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(values))
    ax.scatter(offset + jitter, values, s=10, alpha=0.55, color=color, label=f"{label}: {values.mean():.1f} ± {values.std(ddof=1) if len(values) > 1 else 0:.1f}")
    ax.hlines(values.mean(), offset - 0.25, offset + 0.25, color=color, linewidth=2)
    if paper_std:
        ax.fill_between([offset - 0.3, offset + 0.3], paper_mean - paper_std, paper_mean + paper_std,
                        color=PAPER_COLOR, alpha=0.15, linewidth=0)
    ax.hlines(paper_mean, offset - 0.3, offset + 0.3, color=PAPER_COLOR, linestyle="--", linewidth=1.5)
