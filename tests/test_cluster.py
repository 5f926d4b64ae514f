"""Seeds as Ray tasks (``reprobook run --engine ray``, ``reprobook.cluster``) on a local cluster of one
head node with one worker process, every port on 127.0.0.1 and no dashboard: a chapter's smoke tier
stores exactly what a local run stores; a worker killed mid-task is retried and the run store never
holds half a seed; no cluster at the address, or an unknown engine, is one line and exit 2."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from reprobook.determinism import differences
from reprobook.paths import repo_root

ROOT = repo_root()
RAY = str(Path(sys.executable).with_name("ray"))
# Ray otherwise takes the machine's outward address for the node and listens on it; with this setting
# (meant for laptops) it takes the loopback address, so nothing of the test cluster is reachable from outside.
LOOPBACK_ONLY = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    port = free_port()
    # a short folder: Ray's sockets live under it, and a Unix socket's path has at most 107 characters
    temp = tempfile.mkdtemp(prefix="rb-ray-", dir="/tmp")
    env = os.environ | LOOPBACK_ONLY
    with open(Path(temp) / "start.log", "w") as log:     # not a pipe: the daemons it starts would hold it open
        subprocess.run([RAY, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=1",
                        "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"],
                       env=env, check=True, stdout=log, stderr=subprocess.STDOUT)
    yield f"127.0.0.1:{port}"
    subprocess.run([RAY, "stop", "--force"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(temp, ignore_errors=True)


def reprobook(*args, store: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reprobook", *args], cwd=ROOT, capture_output=True, text=True,
                          env=os.environ | LOOPBACK_ONLY | {"REPROBOOK_RUNS": str(store)} | (env or {}))


def seed_files(store: Path) -> dict[str, dict]:
    return {str(path.relative_to(store)): json.loads(path.read_text()) for path in sorted(store.rglob("seed-*.json"))}


def test_the_clusters_ports_are_on_the_loopback_address_only(cluster):
    listening = Path("/proc/net/tcp").read_text().splitlines()[1:] + Path("/proc/net/tcp6").read_text().splitlines()[1:]
    port = int(cluster.rpartition(":")[2])
    local = [line.split()[1] for line in listening if line.split()[3] == "0A"]       # 0A: LISTEN
    head = [address for address in local if int(address.rpartition(":")[2], 16) == port]
    assert head, f"nothing listens on the head's port {port}"
    loopback = ("0100007F:", "0000000000000000FFFF00000100007F:", "00000000000000000000000001000000:")
    assert all(address.startswith(loopback) for address in head), head


def test_a_smoke_tier_on_the_cluster_stores_exactly_what_a_local_run_stores(cluster, tmp_path):
    on_cluster = reprobook("run", "ntk", "--tier", "smoke", "--device", "cpu", "--engine", "ray", "--address", cluster,
                           "--output-dir", str(tmp_path / "cluster"), store=tmp_path / "cluster-store")
    assert on_cluster.returncode == 0, on_cluster.stderr[-3000:]
    local = reprobook("run", "ntk", "--tier", "smoke", "--device", "cpu", "--output-dir", str(tmp_path / "local"),
                      store=tmp_path / "local-store")
    assert local.returncode == 0, local.stderr[-3000:]
    cluster_seeds, local_seeds = seed_files(tmp_path / "cluster-store"), seed_files(tmp_path / "local-store")
    assert cluster_seeds and sorted(cluster_seeds) == sorted(local_seeds)
    for name in cluster_seeds:
        assert differences(cluster_seeds[name], local_seeds[name], name) == []
    records = [json.loads((tmp_path / where / "records" / "ntk-smoke.json").read_text()) for where in ("cluster", "local")]
    assert differences(*records) == []
    assert "seeds on the cluster" not in (tmp_path / "cluster" / "ntk.ipynb").read_text()


def test_a_worker_killed_mid_task_is_retried_and_no_seed_is_half_written(cluster, tmp_path):
    from reprobook import cluster as engine

    # the driver in its own interpreter: Ray reads LOOPBACK_ONLY when it is first imported
    driver = subprocess.Popen(
        [sys.executable, "-c", "import json, sys, torch; from cluster_probe import train_probe; "
                               "print(json.dumps(train_probe([3], sys.argv[1], torch.device('cpu'))))", str(tmp_path)],
        cwd=ROOT / "tests", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=os.environ | LOOPBACK_ONLY | {"REPROBOOK_RUNS": str(tmp_path / "store"), engine.ENGINE_ENV: "ray",
                                          engine.ADDRESS_ENV: cluster})
    announcement, waited = tmp_path / "attempt-3.pid", 0.0
    while not announcement.exists() and driver.poll() is None and waited < 300:
        time.sleep(0.2)
        waited += 0.2
    assert announcement.exists(), "the task never started"
    time.sleep(0.5)
    os.kill(int(announcement.read_text()), signal.SIGKILL)       # the worker process, mid-task
    out, err = driver.communicate(timeout=300)
    assert driver.returncode == 0, err[-3000:]
    assert [result["value"] for result in json.loads(out.strip().splitlines()[-1])] == [30]
    stored = [path for path in (tmp_path / "store").rglob("*") if path.is_file()]
    assert [path.name for path in stored] == ["seed-3.json"], stored        # no marker, no partial file
    assert json.loads(stored[0].read_text())["value"] == 30


def test_no_cluster_at_the_address_is_one_line_and_exit_2(tmp_path):
    result = reprobook("run", "ntk", "--engine", "ray", "--address", f"127.0.0.1:{free_port()}", store=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no Ray cluster at 127.0.0.1:" in lines[0], result.stderr


def test_an_unknown_engine_lists_the_valid_ones(tmp_path):
    result = reprobook("run", "ntk", "--engine", "spark", store=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'spark'" in result.stderr and "'local', 'ray'" in result.stderr
