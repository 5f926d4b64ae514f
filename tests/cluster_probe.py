"""A training function for tests/test_cluster.py: its first attempt at a seed announces its process and
waits to be killed; a retry finds the announcement and returns at once."""
import os
import time
from pathlib import Path

from reprobook.runs import run_seeds


def train_probe(seeds: list[int], folder: str, device) -> list[dict]:
    def train_batch(batch):
        announcement = Path(folder) / f"attempt-{batch[0]}.pid"
        if not announcement.exists():
            announcement.write_text(str(os.getpid()))
            time.sleep(120)
        return [{"value": seed * 10} for seed in batch]

    return run_seeds("cluster-probe", {"folder": folder}, seeds, train_batch, batch_size=1, device=device, log=lambda _: None)
