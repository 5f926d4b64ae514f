"""Seeding: one global call for the code that uses torch's default stream, and one private stream per run."""
import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch's default generators (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def generator_for(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A private random stream for one run, so that runs trained side by side never share draws."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator
