"""Shared test set-up: chapter modules on the path, and whether the data can be had."""
import os
import re
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
# Every chapter's own modules, importable by their names (each chapter prefixes its modules with its id).
sys.path[:0] = sorted(str(folder) for folder in (ROOT / "replications").iterdir() if folder.is_dir())


# A folder of the machine that ran something: the checkout itself, or a typical absolute location.
MACHINE_PATH = re.compile(re.escape(str(ROOT)) + r"|(?<![\w.:/])/(?:home|root|tmp|work|Users|mnt|var|opt|srv|scratch)/")


def mirror_has(relative: str) -> bool:
    mirror = os.environ.get("REPROBOOK_OFFLINE_MIRROR")
    return bool(mirror) and (Path(mirror) / relative).exists()


@pytest.fixture
def small_graph():
    """A random undirected graph with self-loops: (features [N, F], edge_index)."""
    from torch_geometric.utils import add_self_loops, to_undirected

    generator = torch.Generator().manual_seed(0)
    num_nodes, num_features = 12, 6
    edge_index = torch.randint(0, num_nodes, (2, 30), generator=generator)
    edge_index = to_undirected(edge_index[:, edge_index[0] != edge_index[1]], num_nodes=num_nodes)
    edge_index, _ = add_self_loops(edge_index, num_nodes=num_nodes)
    features = torch.randn(num_nodes, num_features, generator=generator)
    return features, edge_index

