"""The data of Platonov et al. (2023): two of their heterophilous graphs, Minesweeper and Tolokers,
with their ten fixed 50/25/25 splits, as PyG's ``HeterophilousGraphDataset`` loads them (edges made
undirected). Each raw file is checked against its pinned sha256 before it is parsed.
"""
from reprobook.data import PINNED_SHA256, cache_dir, ensure_verified
from reprobook.errors import ReprobookError

URL = "https://github.com/yandex-research/heterophilous-graphs/raw/main/data"
# sha256 of the authors' files (yandex-research/heterophilous-graphs, commit a431395). The pins live
# with the one chapter that reads these files; registered with the shared checker, which refuses
# any file it has no pin for.
PINNED_SHA256 |= {
    "HeterophilousGraphDataset/minesweeper/raw/minesweeper.npz": "e664c8dacf1e8ac466c2c09ed4b237bd2c5541f47a6eae9c6092cb87f16412b3",
    "HeterophilousGraphDataset/tolokers/raw/tolokers.npz": "dacf3ac94cec53d03cd2adb5255c08b33dee1656c33ca8164a464bd9450a1667",
}
DATASETS = ("minesweeper", "tolokers")


def heterophilous_graph(name: str):
    """One graph as a PyG ``Data``: ``x``, binary ``y``, undirected ``edge_index`` and boolean masks
    ``[num_nodes, 10]`` (one column per split)."""
    from torch_geometric.datasets import HeterophilousGraphDataset

    if name not in DATASETS:
        raise ReprobookError(f"unknown data set {name!r}; choose one of: {', '.join(DATASETS)}")
    ensure_verified(f"HeterophilousGraphDataset/{name}/raw/{name}.npz", f"{URL}/{name}.npz")
    return HeterophilousGraphDataset(str(cache_dir() / "HeterophilousGraphDataset"), name)[0]
