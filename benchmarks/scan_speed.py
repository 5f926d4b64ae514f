"""Training speed on SCAN: our update against a straightforward per-token loop, in one process.

The straightforward loop is PyTorch's seq2seq tutorial, which the paper built on, over the plain
``nn.LSTM`` / ``nn.GRU`` network (``replications/scan/seq2seq_model.py``): the encoder reads the
command one token per call, the decoder runs one step per call, and each step's choice is read back
with ``.item()``. Ours is the chapter's trainer (``replications/scan/seq2seq_runs.py``) with one run,
as a CPU trains it: its cells are written out as batched products over a run axis, and it reads back
nothing per step. Same networks (the attention networks' output layer reads the state and the
context in both), data, sampling, clipping and optimiser. Prints updates per second and their ratio.

    python benchmarks/scan_speed.py --updates 500
    python benchmarks/scan_speed.py --device cuda    # both loops on the GPU
"""
import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "replications" / "scan"
sys.path.insert(0, str(CHAPTER))

from scan_data import EOS, SOS, load_split  # noqa: E402
from benchmark_results import machine, write_result  # noqa: E402
from reprobook.device import resolve_device  # noqa: E402

import scan_protocol as protocol  # noqa: E402
import seq2seq_model  # noqa: E402
import seq2seq_runs  # noqa: E402


def tutorial_updates(split, architecture: str, updates: int, device) -> float:
    """Updates per second of the tutorial's loop."""
    sos, eos = split.actions.index[SOS], split.actions.index[EOS]
    pairs = [(torch.tensor(split.commands.encode(c), device=device), torch.tensor(split.actions.encode(a), device=device))
             for c, a in split.train]
    torch.manual_seed(0)
    model = seq2seq_model.Seq2Seq(len(split.commands), len(split.actions), **protocol.ARCHITECTURES[architecture]).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=protocol.PAPER_PROTOCOL["lr"])
    model.train()
    began = time.perf_counter()
    for _ in range(updates):
        command, action = pairs[torch.randint(len(pairs), ()).item()]
        teacher_forcing = torch.rand(()).item() < protocol.PAPER_PROTOCOL["teacher_forcing"]
        optimizer.zero_grad()
        state, outputs = None, []
        for token in command:
            output, state = model.encoder(model.drop(model.command_embedding(token.view(1, 1))), state)
            outputs.append(output[:, 0])
        memory = torch.stack(outputs, 1)
        mask = torch.ones(1, len(command), dtype=torch.bool, device=device)
        previous, loss = torch.tensor([sos], device=device), 0.0
        for target in action:
            log_probs, state = model.step(previous, state, memory, mask)
            loss = loss + F.nll_loss(log_probs, target.view(1))
            if teacher_forcing:
                previous = target.view(1)
            else:
                previous = log_probs.argmax(-1).detach()
                if previous.item() == eos:
                    break
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), protocol.PAPER_PROTOCOL["clip_norm"])
        optimizer.step()
    return updates / (time.perf_counter() - began)


def table(result: dict) -> dict:
    """How the book shows this benchmark ({benchmark-result}): header, rows and caption."""
    rows = [[r["model"], f"{r['plain_updates_per_second']:.1f}", f"{r['ours_updates_per_second']:.1f}",
             f"{r['speedup']:.2f}×"] for r in result["rows"]]
    return {"header": ["Architecture", "tutorial loop: updates/s", "ours, one run: updates/s", "ours / tutorial"],
            "rows": rows,
            "caption": f"Measured on {result['device']}, torch {result['torch']}, {result['updates_timed']} "
                       f"updates, best of {result['repeats']}, every loop in one process."}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--architectures", nargs="+", default=["overall-best", "top: length"])
    parser.add_argument("--device", default="cpu", help="the paper's batch size of 1 suits a CPU; 'auto' or 'cuda' to compare")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    split = load_split("simple")
    device = resolve_device(args.device)
    rows = []
    for architecture in args.architectures:
        plain, ours = [], []
        for _ in range(args.repeats):
            plain.append(tutorial_updates(split, architecture, args.updates, device))
            _, training = seq2seq_runs.train_side_by_side([split], [0], protocol.ARCHITECTURES[architecture],
                                                          protocol.PAPER_PROTOCOL, args.updates, device, log=lambda *a: None)
            ours.append(training[0]["updates_per_second"])
        best_plain, best_ours = max(plain), max(ours)
        rows.append({"model": architecture, "plain_updates_per_second": best_plain, "ours_updates_per_second": best_ours,
                     "speedup": best_ours / best_plain})
        print(f"{architecture:>14}: tutorial loop {best_plain:6.1f} updates/s, ours {best_ours:6.1f} "
              f"({best_ours / best_plain:.2f}x)", flush=True)
    result = {"benchmark": "scan_training", **machine(device),
              "updates_timed": args.updates, "repeats": args.repeats, "rows": rows}
    out = Path(args.output) / f"scan_training_{device.type}.json"
    write_result(result, table, out)


if __name__ == "__main__":
    main()
