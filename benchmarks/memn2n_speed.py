"""Training speed of MemN2N: our memory read against the straightforward one, in one process.

The straightforward read embeds every memory slot of a batch, Σ_j l_j ⊙ A x_ij over a [B, M, L, d] tensor,
and zeroes the empty slots after. Ours (``replications/memn2n/memn2n_model.py``) embeds only the slots
that hold a sentence and leaves the rest zero vectors: the same function, checked here on the batch. In
joint training every batch has the 50 slots of the longest story, most of them empty. Both loops take the
same minibatches, the protocol's clipping and SGD (``memn2n_protocol.py``). Prints updates per second and
their ratio for per-task training (task 3, the longest stories) and joint training, 3 hops, PE LS RN.

    python benchmarks/memn2n_speed.py --updates 300
"""
import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "replications" / "memn2n"))

from benchmark_results import machine, write_result  # noqa: E402
from memn2n_data import TASKS  # noqa: E402
from memn2n_model import PAD, MemN2N, random_time  # noqa: E402
from memn2n_protocol import (INIT_STREAM, ORDER_STREAM, TaskData, clip_each_matrix, hyperparameters,  # noqa: E402
                             stream, trim)


class EverySlot(MemN2N):
    """The straightforward read: every slot embedded, the empty ones zeroed after (eq. 1-3, Section 4.1)."""

    def forward(self, memory, query, *, linear=False, time=None):
        occupied = (memory != PAD).any(-1)
        if time is None:
            time = torch.arange(memory.shape[1]).expand(memory.shape[0], -1)
        l_memory = self.encoding(memory)
        u = self.embed(query, self.B, self.encoding(query))
        for k in range(1, self.hops + 1):
            m = self.embed(memory, self.A(k), l_memory) + self.T_A(k)[time] * occupied.unsqueeze(-1)
            c = self.embed(memory, self.C(k), l_memory) + self.T_C(k)[time] * occupied.unsqueeze(-1)
            scores = torch.einsum("bd,bmd->bm", u, m)
            p = scores if linear else torch.softmax(scores, dim=-1)
            u = u + torch.einsum("bm,bmd->bd", p, c)
        return u @ self.W.T


def updates_per_second(model_class, data: TaskData, h: dict, updates: int) -> float:
    """Minibatch updates per second of the protocol's softmax phase, random noise included."""
    model = model_class(len(data.vocabulary), h["dim"], h["hops"], h["memory_size"], stream(0, INIT_STREAM), h["init_std"])
    optimizer = torch.optim.SGD(model.parameters(), lr=h["lr"])
    order, noise = stream(0, ORDER_STREAM), torch.Generator().manual_seed(0)
    began = time.perf_counter()
    for _ in range(updates):
        batch = trim(data.train.subset(torch.randint(len(data.train), (h["batch_size"],), generator=order)))
        slots = random_time((batch.memory != PAD).any(-1), h["random_noise"], h["memory_size"], noise)
        loss = F.cross_entropy(model(batch.memory, batch.query, time=slots), batch.answer, reduction="sum")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        clip_each_matrix(model, h["max_grad_norm"])
        optimizer.step()
    return updates / (time.perf_counter() - began)


def same_function(data: TaskData, h: dict) -> bool:
    args = (len(data.vocabulary), h["dim"], h["hops"], h["memory_size"])
    ours, plain = MemN2N(*args, stream(0, INIT_STREAM), h["init_std"]), EverySlot(*args, stream(0, INIT_STREAM), h["init_std"])
    batch = trim(data.train.subset(slice(0, 256)))
    with torch.no_grad():
        return torch.allclose(ours(batch.memory, batch.query), plain(batch.memory, batch.query), atol=1e-5)


def table(result: dict) -> dict:
    """How the book shows this benchmark ({benchmark-result}): header, rows and caption."""
    rows = [[r["training"], f"{r['plain_updates_per_second']:.0f}", f"{r['ours_updates_per_second']:.0f}",
             f"{r['speedup']:.2f}×"] for r in result["rows"]]
    return {"header": ["training", "every slot embedded: updates/s", "ours, occupied slots: updates/s", "ours / every slot"],
            "rows": rows,
            "caption": f"Measured on {result['device']}, torch {result['torch']}, {result['updates_timed']} minibatch "
                       f"updates of 32 questions (3 hops, PE LS RN), best of {result['repeats']}, both loops in one process."}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    torch.set_num_threads(1)      # as the full tier trains: one restart per core
    settings = {"per task (task 3)": ([3], hyperparameters("pe-ls-rn")),
                "joint (20 tasks)": (list(TASKS), hyperparameters("pe-ls-rn", joint=True))}
    rows = []
    for name, (tasks, h) in settings.items():
        data = TaskData(tasks, h["memory_size"], h["validation_share"])
        assert same_function(data, h), "the two memory reads must be the same function"
        plain, ours = [], []
        for _ in range(args.repeats):     # alternated, so that a busy spell of the machine slows both
            plain.append(updates_per_second(EverySlot, data, h, args.updates))
            ours.append(updates_per_second(MemN2N, data, h, args.updates))
        plain, ours = max(plain), max(ours)
        rows.append({"training": name, "plain_updates_per_second": plain, "ours_updates_per_second": ours, "speedup": ours / plain})
        print(f"{name:>18}: every slot {plain:6.1f} updates/s, ours {ours:6.1f} ({ours / plain:.2f}x)", flush=True)
    result = {"benchmark": "memn2n_training", **machine(torch.device("cpu")), "updates_timed": args.updates,
              "repeats": args.repeats, "rows": rows}
    write_result(result, table, Path(args.output) / "memn2n_training_cpu.json")


if __name__ == "__main__":
    main()
