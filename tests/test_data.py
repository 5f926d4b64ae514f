"""The data layer: checksums before parsing, corrupt copies replaced, clear errors offline."""
import hashlib
import os

import pytest

from conftest import mirror_has
from reprobook import data, mnist
from reprobook.chapters import repo_root
from reprobook.errors import ReprobookError

RELATIVE = "Toy/raw/toy.bin"
CONTENT = b"the verified bytes of a toy data file\n"


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A mirror holding one file with a pinned checksum, and an empty cache."""
    mirror, cache = tmp_path / "mirror", tmp_path / "cache"
    (mirror / "Toy/raw").mkdir(parents=True)
    (mirror / RELATIVE).write_bytes(CONTENT)
    monkeypatch.setenv(data.MIRROR_ENV, str(mirror))
    monkeypatch.setenv(data.CACHE_ENV, str(cache))
    monkeypatch.setitem(data.PINNED_SHA256, RELATIVE, hashlib.sha256(CONTENT).hexdigest())
    return mirror, cache


def test_a_verified_file_is_copied_into_the_cache(toy):
    _, cache = toy
    path = data.ensure_verified(RELATIVE, "https://example.invalid/toy.bin")
    assert path == cache / RELATIVE and path.read_bytes() == CONTENT


def test_a_damaged_cached_copy_is_removed_and_fetched_again(toy):
    _, cache = toy
    path = data.ensure_verified(RELATIVE, "https://example.invalid/toy.bin")
    path.write_bytes(CONTENT[:10])                         # a partial download
    with pytest.warns(UserWarning, match="failed its sha256 check"):
        again = data.ensure_verified(RELATIVE, "https://example.invalid/toy.bin")
    assert again.read_bytes() == CONTENT


def test_a_damaged_source_is_never_used(toy):
    mirror, cache = toy
    (mirror / RELATIVE).write_bytes(CONTENT.replace(b"verified", b"tampered"))
    with pytest.raises(ReprobookError, match="has sha256 .* expected"):
        data.ensure_verified(RELATIVE, "https://example.invalid/toy.bin")
    assert not (cache / RELATIVE).exists()


def test_a_file_missing_offline_names_file_address_and_setting(toy):
    mirror, _ = toy
    (mirror / RELATIVE).unlink()
    with pytest.raises(ReprobookError) as error:
        data.ensure_verified(RELATIVE, "https://example.invalid/toy.bin")
    message = str(error.value)
    assert RELATIVE in message and "https://example.invalid/toy.bin" in message and data.MIRROR_ENV in message


def test_a_file_without_a_pinned_checksum_is_refused(toy):
    with pytest.raises(ReprobookError, match="no pinned sha256"):
        data.ensure_verified("Toy/raw/unpinned.bin", "https://example.invalid/unpinned.bin")


def test_unknown_planetoid_name():
    with pytest.raises(ReprobookError, match="choose one of: Cora, CiteSeer, PubMed"):
        data.planetoid("Karate")


@pytest.mark.skipif(not mirror_has("Planetoid/Cora/raw/ind.cora.x"),
                    reason="needs the offline mirror (../shared/data) or internet; CI has the mirror")
def test_cora_loads_with_the_public_split(tmp_path, monkeypatch):
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path))
    graph = data.planetoid("cora")[0]
    assert (graph.num_nodes, graph.num_edges, int(graph.y.max()) + 1) == (2708, 10556, 7)
    assert (int(graph.train_mask.sum()), int(graph.val_mask.sum()), int(graph.test_mask.sum())) == (140, 500, 1000)
    assert abs(float(graph.x.sum(1).max()) - 1.0) < 1e-5      # row-normalised features


def test_relative_settings_are_read_from_the_checkout_not_the_working_directory(toy, tmp_path, monkeypatch):
    # A notebook's kernel runs in its chapter folder; `export REPROBOOK_OFFLINE_MIRROR=../shared/data`
    # in the checkout must still name the same folder there.
    root = repo_root()
    mirror, _ = toy
    monkeypatch.setenv(data.MIRROR_ENV, os.path.relpath(mirror, root))
    monkeypatch.chdir(root / "replications" / "scan")
    assert data.mirror_dir().resolve() == mirror.resolve()
    assert data.ensure_verified(RELATIVE, "https://example.invalid/toy.bin").read_bytes() == CONTENT


def test_pubmed_is_pinned_so_only_a_missing_file_stops_it(tmp_path, monkeypatch):
    monkeypatch.setenv(data.MIRROR_ENV, str(tmp_path / "empty-mirror"))
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    assert all(f"Planetoid/PubMed/raw/ind.pubmed.{suffix}" in data.PINNED_SHA256 for suffix in data.PLANETOID_SUFFIXES)
    with pytest.raises(ReprobookError, match="ind.pubmed.x: not in the offline mirror"):
        data.planetoid("PubMed")


def test_a_missing_mnist_file_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("REPROBOOK_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("REPROBOOK_OFFLINE_MIRROR", str(tmp_path / "empty-mirror"))
    with pytest.raises(ReprobookError, match="missing data file MNIST/raw/train-labels-idx1-ubyte"):
        mnist.mnist_file("train-labels-idx1-ubyte")


def test_a_corrupt_cached_mnist_file_is_fetched_again(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / "MNIST" / "raw"
    mirror.mkdir(parents=True)
    good = b"\x00\x00\x08\x01\x00\x00\x00\x02\x07\x03"      # an IDX label file of two labels
    (mirror / "tiny").write_bytes(good)
    monkeypatch.setitem(mnist.MNIST_SHA256, "tiny", hashlib.sha256(good).hexdigest())
    monkeypatch.setenv("REPROBOOK_DATA", str(tmp_path / "cache"))
    monkeypatch.setenv("REPROBOOK_OFFLINE_MIRROR", str(tmp_path / "mirror"))
    cached = tmp_path / "cache" / "MNIST" / "raw" / "tiny"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"tampered")
    assert mnist.read_idx(mnist.mnist_file("tiny")).tolist() == [7, 3]
    (mirror / "tiny").write_bytes(b"also wrong")
    cached.unlink()
    with pytest.raises(ReprobookError, match="has sha256"):
        mnist.mnist_file("tiny")
    assert not cached.exists()
