"""Data loading: the standard loaders, a local cache, pinned sha256 checksums and an offline mirror.

Every raw file is checked against its pinned checksum before a loader parses or unpickles it. A file
that fails the check is deleted and fetched again; a fresh copy that still fails is an error.

Settings (environment variables):

* ``REPROBOOK_DATA``: the cache folder (default: ``~/.cache/reprobook/data``, or under ``XDG_CACHE_HOME``).
* ``REPROBOOK_OFFLINE_MIRROR``: a folder laid out like the cache's raw files (``Planetoid/Cora/raw/...``).
  When set, files come from there instead of the internet; real users leave it unset.

A relative path in these settings (and in ``REPROBOOK_RUNS``) is taken from the checkout's top folder,
not from the working directory: notebooks run with their chapter folder as working directory.
"""
import hashlib
import json
import os
import shutil
import tempfile
import urllib.request
import warnings
from pathlib import Path

from .errors import ReprobookError
from .paths import repo_root

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
    # PubMed: computed here from the canonical repository's bytes, except allx, which no source reachable
    # here would hand over (too large). Its value comes from two independent public listings whose other
    # seven PubMed values match the ones computed here. A wrong pin could only refuse the file.
    "Planetoid/PubMed/raw/ind.pubmed.allx": "508e538e2abdccdd54c4d3e9f49d638b4af7107d85845f66ddea5a5152658b7e",
    "Planetoid/PubMed/raw/ind.pubmed.ally": "0c37bbe3b5014ec365e9d393cf4791925e5ed94fb194305d74f064a8d7b50f0e",
    "Planetoid/PubMed/raw/ind.pubmed.graph": "5b89f0036ca22909471f1e6558eb42fa06e0c730a577bde5b058b40638f81dc9",
    "Planetoid/PubMed/raw/ind.pubmed.test.index": "b101d421688bbaecbd82e8a18f1e282378d6830f3a37666f28ebc47f844341b5",
    "Planetoid/PubMed/raw/ind.pubmed.tx": "4eb5f5d0f30f26497eb0ac6ac9719d09c67e284f1ed0385c93f3ef27a671da3d",
    "Planetoid/PubMed/raw/ind.pubmed.ty": "ee2e0d4819d9fbcc403689c3bf2e49face401b605932f093bc58ab6461130fdd",
    "Planetoid/PubMed/raw/ind.pubmed.x": "fbe9cb5c47200d1b7769a26e579be3b7130b556831f9d850e77c4c74f2599b33",
    "Planetoid/PubMed/raw/ind.pubmed.y": "e6c807633307a07ed659249006536a147c7999c797f11a2560752990181b41b3",
}
# sha256 of the SCAN split files (Lake and Baroni, 2018) at SCAN_URL (brendenlake/SCAN, commit c4b756c).
SCAN_URL = "https://raw.githubusercontent.com/brendenlake/SCAN/master"
PINNED_SHA256 |= {
    "SCAN/add_prim_split/tasks_test_addprim_jump.txt": "8147ae2651422c701162e174d9d66158daa57858a26b30317ac61797118ac7a5",
    "SCAN/add_prim_split/tasks_test_addprim_turn_left.txt": "15a82c2d25ac7c3c1fff7e18051fb085974ef3617de895c520d02144396a10e2",
    "SCAN/add_prim_split/tasks_train_addprim_jump.txt": "e3c78485692e028eed4205e1b8b3fd0e785ef2c12d45b5b89204dadf5b239e23",
    "SCAN/add_prim_split/tasks_train_addprim_turn_left.txt": "1b3fed86055dd7689d217f1b90cc8960aeb1cf200f4f209dc47935761b05304c",
    "SCAN/length_split/tasks_test_length.txt": "0760752ed34a75116ae11dcc1ee17526b7500060da1366540730fa24894d7db3",
    "SCAN/length_split/tasks_train_length.txt": "b034212dc7cf87ce62f3a067dd6ad49c4d5cd18d51d615d13825516bcb1ebbc2",
    "SCAN/simple_split/size_variations/tasks_test_simple_p1.txt": "8c87bf032c2521390f13ea17b726e42b9b40701324679dfa54868ace594ff77b",
    "SCAN/simple_split/size_variations/tasks_test_simple_p16.txt": "f2f2df8b8b2a9bc222d0eb14fe3114f4de7fd487662fb61f02243be661cb0c59",
    "SCAN/simple_split/size_variations/tasks_test_simple_p2.txt": "ff8e4b517eeb570aeafbbdab2036f4503082688da24abfb7acecad20b79ba953",
    "SCAN/simple_split/size_variations/tasks_test_simple_p32.txt": "2bac92d5f092df6f7265088719963c133520f0ba312a7bbeb17ee0ffc8ee2a6e",
    "SCAN/simple_split/size_variations/tasks_test_simple_p4.txt": "c9d91bc007b157657ec10cecf22f990556ae367e29f564ae407fcf2eeba906e8",
    "SCAN/simple_split/size_variations/tasks_test_simple_p64.txt": "754a68645431a35c76bc4902e242686759f03758e6ccefb533e4b60e268147de",
    "SCAN/simple_split/size_variations/tasks_test_simple_p8.txt": "d10b0a62bdbc6f470d62f6873c03f0c9df0a3151c55a36bb1dcb3c63531ba799",
    "SCAN/simple_split/size_variations/tasks_train_simple_p1.txt": "875a486ebef42d5cb601ea26107b9e6d6abbbacd9dcd822ebbc852054cc09ae6",
    "SCAN/simple_split/size_variations/tasks_train_simple_p16.txt": "302c01e9e5e3ed30bcaeac813be9c5cd67853a546548467030f523af86ab8821",
    "SCAN/simple_split/size_variations/tasks_train_simple_p2.txt": "3f20269e04e6700ed986f60b2f471aec64c795ccbb24e7d0e28c6932c0ddf96e",
    "SCAN/simple_split/size_variations/tasks_train_simple_p32.txt": "7324fd702a56753f041e069618dc3e0fcffe13639c0991ea45f71055eda9e5c9",
    "SCAN/simple_split/size_variations/tasks_train_simple_p4.txt": "f7ef57392e45c6eb92a92841b98d6d129ce9b6625a2b560da49f579e1a9a002d",
    "SCAN/simple_split/size_variations/tasks_train_simple_p64.txt": "5e8427016616c21d21a9f8a6826c9dcb1dbfe5dca30ad7e0786419b8f7ec6e0c",
    "SCAN/simple_split/size_variations/tasks_train_simple_p8.txt": "b65598c5c9354c6c53f5aa28b6a9af7097b5b1351d36405f3497a94de6021715",
    "SCAN/simple_split/tasks_test_simple.txt": "1fe1c8f5a19d0dc40e41bab94278f45f66f3dc415a978bd29855a23440610fc6",
    "SCAN/simple_split/tasks_train_simple.txt": "941bb8a088c5f53ceff12fde902dc008933cf0c4203cc672c47b5f79d73262dd",
}


def atomic_write_json(path: Path, payload) -> None:
    """Write JSON so that an interruption leaves either the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, prefix=f".{path.name}.", suffix=".part") as tmp:
        partial = Path(tmp.name)
        try:
            json.dump(payload, tmp, indent=1)
            tmp.write("\n")
            tmp.flush()
            os.fsync(tmp.fileno())
        except BaseException:
            tmp.close()
            partial.unlink(missing_ok=True)
            raise
    os.replace(partial, path)


def setting_path(variable: str) -> Path | None:
    """The folder an environment variable names; a relative one from the checkout's top folder."""
    value = os.environ.get(variable)
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else repo_root() / path


def cache_dir() -> Path:
    """The data cache: ``$REPROBOOK_DATA``, else the user's cache folder."""
    if setting_path(CACHE_ENV):
        return setting_path(CACHE_ENV)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "reprobook" / "data"


def mirror_dir() -> Path | None:
    return setting_path(MIRROR_ENV)


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
                    f"missing data file {relative}: not in the offline mirror that {MIRROR_ENV} names "
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


