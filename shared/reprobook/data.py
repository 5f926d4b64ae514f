"""Data loading: the standard loaders, a local cache, pinned sha256 checksums and an offline mirror.

Every raw file is checked against its pinned checksum before a loader parses or unpickles it. A file
that fails the check is deleted and fetched again; a fresh copy that still fails is an error.

Settings (environment variables):

* ``REPROBOOK_DATA``: the cache folder (default: ``~/.cache/reprobook/data``, or under ``XDG_CACHE_HOME``).
* ``REPROBOOK_OFFLINE_MIRROR``: a folder laid out like the cache's raw files (``Planetoid/Cora/raw/...``).
  When set, files come from there instead of the internet; real users leave it unset.
"""
import hashlib
import os
import shutil
import tempfile
import urllib.request
import warnings
from pathlib import Path

from .errors import ReprobookError

CACHE_ENV = "REPROBOOK_DATA"
MIRROR_ENV = "REPROBOOK_OFFLINE_MIRROR"

PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data"
PLANETOID_SUFFIXES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")

# sha256 of the files at PLANETOID_URL (kimiyoung/planetoid, commit af6abf4), the bytes PyG downloads.
PINNED_SHA256 = {
    "Planetoid/Cora/raw/ind.cora.allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
    "Planetoid/Cora/raw/ind.cora.ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
    "Planetoid/Cora/raw/ind.cora.graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
    "Planetoid/Cora/raw/ind.cora.test.index": "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
    "Planetoid/Cora/raw/ind.cora.tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
    "Planetoid/Cora/raw/ind.cora.ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
    "Planetoid/Cora/raw/ind.cora.x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
    "Planetoid/Cora/raw/ind.cora.y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
    "Planetoid/CiteSeer/raw/ind.citeseer.allx": "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
    "Planetoid/CiteSeer/raw/ind.citeseer.ally": "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
    "Planetoid/CiteSeer/raw/ind.citeseer.graph": "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
    "Planetoid/CiteSeer/raw/ind.citeseer.test.index": "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
    "Planetoid/CiteSeer/raw/ind.citeseer.tx": "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
    "Planetoid/CiteSeer/raw/ind.citeseer.ty": "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
    "Planetoid/CiteSeer/raw/ind.citeseer.x": "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
    "Planetoid/CiteSeer/raw/ind.citeseer.y": "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
}


def cache_dir() -> Path:
    """The data cache: ``$REPROBOOK_DATA``, else the user's cache folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reprobook" / "data"


def mirror_dir() -> Path | None:
    value = os.environ.get(MIRROR_ENV)
    return Path(value).expanduser() if value else None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_in(relative: str, url: str, target: Path) -> None:
    """Copy one file from the mirror (when set) or the canonical address into ``target``, atomically."""
    mirror = mirror_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, prefix=".part-") as tmp:
        partial = Path(tmp.name)
    try:
        if mirror is not None:
            source = mirror / relative
            if not source.is_file():
                raise ReprobookError(
                    f"missing data file {relative}: not in the offline mirror {MIRROR_ENV}={mirror} "
                    f"(its canonical address is {url}; unset {MIRROR_ENV} to download it)")
            shutil.copyfile(source, partial)
        else:
            try:
                with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
                    shutil.copyfileobj(response, out)
            except OSError as error:
                raise ReprobookError(
                    f"could not download data file {relative} from {url} ({error}); offline, point "
                    f"{MIRROR_ENV} at a folder that holds {relative}") from None
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def ensure_verified(relative: str, url: str) -> Path:
    """Return the cached path of ``relative``, fetched if needed, whose sha256 matches its pin.

    A cached copy that fails the check (corrupt, partial, tampered with) is removed and fetched again.
    """
    expected = PINNED_SHA256.get(relative)
    if expected is None:
        raise ReprobookError(
            f"no pinned sha256 for {relative}: refusing to parse an unverified file (add its checksum to "
            "reprobook.data.PINNED_SHA256 after checking it against the source)")
    path = cache_dir() / relative
    if path.is_file():
        if sha256_of(path) == expected:
            return path
        warnings.warn(f"{path} failed its sha256 check; removing it and fetching it again")
        path.unlink()
    _copy_in(relative, url, path)
    actual = sha256_of(path)
    if actual != expected:
        path.unlink()
        raise ReprobookError(f"data file {relative} from {url} has sha256 {actual}, expected {expected}; removed it")
    return path


def planetoid(name: str):
    """One of the Planetoid citation graphs (Yang et al., 2016) with its public split, as PyG loads it.

    Features are row-normalised (``NormalizeFeatures``), as in the GCN and GAT authors' preprocessing.
    """
    from torch_geometric.datasets import Planetoid
    from torch_geometric.transforms import NormalizeFeatures

    canonical = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
    if name.lower() not in canonical:
        raise ReprobookError(f"unknown Planetoid data set {name!r}; choose one of: {', '.join(canonical.values())}")
    name = canonical[name.lower()]
    for suffix in PLANETOID_SUFFIXES:
        filename = f"ind.{name.lower()}.{suffix}"
        ensure_verified(f"Planetoid/{name}/raw/{filename}", f"{PLANETOID_URL}/{filename}")
    return Planetoid(str(cache_dir() / "Planetoid"), name, transform=NormalizeFeatures())
