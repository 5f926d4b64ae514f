"""MNIST for the lottery ticket (files checked by ``reprobook.mnist``): each image scaled to unit L2 norm,
and the paper's split, 5,000 training images held out for validation."""
import numpy as np
import torch

from reprobook.mnist import mnist_file, read_idx

VALIDATION_SIZE = 5_000
SPLIT_SEED = 0          # the one random choice of the 5,000 validation images, shared by every trial


def images(name: str) -> torch.Tensor:
    """Images as float32 rows of 784 pixels, each row scaled to unit L2 norm (the authors' repository's
    preprocessing; the paper does not state one)."""
    pixels = torch.from_numpy(read_idx(mnist_file(name)).reshape(-1, 28 * 28).astype(np.float32))
    return torch.nn.functional.normalize(pixels, dim=1)


def mnist_splits() -> dict:
    """``{"train", "val", "test"}`` of ``(x, y)``: 55,000 / 5,000 of the training set, and the 10,000 test images."""
    x, y = images("train-images-idx3-ubyte"), torch.from_numpy(read_idx(mnist_file("train-labels-idx1-ubyte")).astype(np.int64))
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(SPLIT_SEED))
    val, train = order[:VALIDATION_SIZE], order[VALIDATION_SIZE:]
    test_x = images("t10k-images-idx3-ubyte")
    test_y = torch.from_numpy(read_idx(mnist_file("t10k-labels-idx1-ubyte")).astype(np.int64))
    return {"train": (x[train], y[train]), "val": (x[val], y[val]), "test": (test_x, test_y)}
