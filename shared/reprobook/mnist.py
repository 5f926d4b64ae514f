"""MNIST (LeCun, Cortes and Burges) from its four raw IDX files, each checked against its pinned sha256
before it is parsed.

The files come from the offline mirror when ``REPROBOOK_OFFLINE_MIRROR`` is set, else from the address
torchvision's ``MNIST`` downloads first (gzip-compressed; the pins are of the decompressed bytes, the
files the IDX format defines). Chapters choose their own scaling and validation split.
The files: ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (60,000), ``t10k-images-idx3-ubyte``
and ``t10k-labels-idx1-ubyte`` (10,000).
"""
import gzip
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

from .data import MIRROR_ENV, cache_dir, mirror_dir, sha256_of
from .errors import ReprobookError

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist"
# sha256 of the decompressed IDX files (identical to the files at yann.lecun.com/exdb/mnist once gunzipped).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def _fetch(relative: str, url: str, target: Path) -> None:
    """The decompressed file from the mirror or from ``url`` (gzip), written atomically to ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, prefix=".part-") as tmp:
        partial = Path(tmp.name)
    try:
        mirror = mirror_dir()
        if mirror is not None:
            if not (mirror / relative).is_file():
                raise ReprobookError(f"missing data file {relative}: not in the offline mirror that {MIRROR_ENV} names "
                                     f"(its canonical address is {url}; unset {MIRROR_ENV} to download it)")
            shutil.copyfile(mirror / relative, partial)
        else:
            try:
                with urllib.request.urlopen(url, timeout=60) as response, gzip.open(response) as unpacked, \
                        open(partial, "wb") as out:
                    shutil.copyfileobj(unpacked, out)
            except OSError as error:
                raise ReprobookError(f"could not download data file {relative} from {url} ({error}); offline, "
                                     f"point {MIRROR_ENV} at a folder that holds {relative}") from None
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def mnist_file(name: str) -> Path:
    """The cached IDX file ``name``, fetched if missing or if it fails its sha256 check."""
    relative, url = f"MNIST/raw/{name}", f"{MNIST_URL}/{name}.gz"
    path = cache_dir() / relative
    if path.is_file() and sha256_of(path) == MNIST_SHA256[name]:
        return path
    _fetch(relative, url, path)
    if (actual := sha256_of(path)) != MNIST_SHA256[name]:
        path.unlink()
        raise ReprobookError(f"data file {relative} has sha256 {actual}, expected {MNIST_SHA256[name]}; removed it")
    return path


def read_idx(path: Path) -> np.ndarray:
    """An IDX array: a magic number whose last byte is the number of dimensions, big-endian sizes, uint8 data."""
    raw = path.read_bytes()
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)

