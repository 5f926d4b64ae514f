"""DAGNN's Table 3 data: the co-authorship and co-purchase graphs of Shchur et al. (2018), their largest
connected component, and the random per-class splits drawn anew for each run."""
import torch

from reprobook.data import _copy_in, cache_dir, sha256_of
from reprobook.errors import ReprobookError
from reprobook.training import NodeClassificationData


# The co-authorship and co-purchase graphs of Shchur et al. (2018), as PyG's Coauthor and Amazon load them:
# our name -> (PyG loader, its name, the raw file at SHCHUR_URL).
SHCHUR_URL = "https://github.com/shchur/gnn-benchmark/raw/master/data/npz"


SHCHUR_GRAPHS = {
    "CoauthorCS": ("Coauthor", "CS", "ms_academic_cs.npz"),
    "CoauthorPhysics": ("Coauthor", "Physics", "ms_academic_phy.npz"),
    "AmazonComputers": ("Amazon", "Computers", "amazon_electronics_computers.npz"),
    "AmazonPhoto": ("Amazon", "Photo", "amazon_electronics_photo.npz"),
}


def shchur_graph(name: str):
    """One of the Coauthor or Amazon graphs (Shchur et al., 2018) with row-normalised features, and the
    sha256 of the raw file it was read from.

    No checksum is pinned for these files: none could be checked against their source yet. They are NumPy
    archives that PyG opens with pickling disabled (``np.load``'s default), so an unverified file cannot
    run code; the sha256 goes into the run's record instead, naming the bytes behind the result.
    """
    from torch_geometric import datasets
    from torch_geometric.transforms import NormalizeFeatures

    if name not in SHCHUR_GRAPHS:
        raise ReprobookError(f"unknown Coauthor/Amazon graph {name!r}; choose one of: {', '.join(SHCHUR_GRAPHS)}")
    loader, pyg_name, filename = SHCHUR_GRAPHS[name]
    relative = f"{loader}/{pyg_name}/raw/{filename}"
    path = cache_dir() / relative
    if not path.is_file():
        _copy_in(relative, f"{SHCHUR_URL}/{filename}", path)
    dataset = getattr(datasets, loader)(str(cache_dir() / loader), pyg_name, transform=NormalizeFeatures())
    return dataset[0], sha256_of(path)


def largest_connected_component(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """The nodes (sorted ids) of the largest connected component, edges taken as undirected."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    row, col = edge_index.cpu().numpy()
    graph = sp.coo_matrix((np.ones(row.size), (row, col)), shape=(num_nodes, num_nodes))
    _, component = connected_components(graph, directed=False)
    largest = np.bincount(component).argmax()
    return torch.from_numpy(np.flatnonzero(component == largest))


def per_class_split(y: torch.Tensor, train_per_class: int, val_per_class: int, generator: torch.Generator,
                    nodes: torch.Tensor | None = None) -> NodeClassificationData:
    """A random split in the style of Shchur et al. (2018): of each class's nodes (among ``nodes``, all by
    default), in an order drawn from ``generator``, the first ``train_per_class`` train, the next
    ``val_per_class`` validate, and every other node of ``nodes`` is a test node."""
    nodes = torch.arange(y.numel()) if nodes is None else nodes.cpu()
    labels = y.cpu()[nodes]
    masks = [torch.zeros(y.numel(), dtype=torch.bool) for _ in range(3)]
    for c in labels.unique():
        members = nodes[labels == c]
        members = members[torch.randperm(members.numel(), generator=generator)]
        parts = (members[:train_per_class], members[train_per_class:train_per_class + val_per_class],
                 members[train_per_class + val_per_class:])
        for mask, part in zip(masks, parts):
            mask[part] = True
    return NodeClassificationData(y, *(mask.to(y.device) for mask in masks))
