"""Training speed on SCAN: our update against a straightforward per-token loop, in one process.

The straightforward loop is PyTorch's seq2seq tutorial, which the paper built on: the encoder reads
the command one token per call, the decoder always runs one step per call, and each step's choice is
read back with ``.item()``. Ours is timed twice. The one-run trainer (``replications/scan/protocol.py``)
packs the command into one encoder call and, when teacher forcing, runs the whole decoder in one
call (no attention). The side-by-side trainer (``replications/scan/seq2seq_runs.py``, which the
chapter's notebooks move to one by one) is timed with one run, as a CPU trains it: its cells are
written out as batched products over a run axis. Same data, sampling, clipping and optimiser; the
side-by-side trainer's attention networks also read the context in their output layer, as the
paper's do, which costs a little more. Prints updates per second and their ratio.

    python benchmarks/scan_speed.py --updates 500
    python benchmarks/scan_speed.py --device cuda    # every loop on the GPU
"""
import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "replications" / "scan"
sys.path.insert(0, str(CHAPTER))

from scan_data import EOS, SOS, load_split  # noqa: E402
from reprobook.chapters import chapter_module  # noqa: E402
from reprobook.device import device_description, resolve_device  # noqa: E402

protocol = chapter_module("scan", "protocol")
seq2seq_runs = chapter_module("scan", "seq2seq_runs")


def tutorial_updates(split, architecture: str, updates: int, device) -> float:
    """Updates per second of the tutorial's loop."""
    sos, eos = split.actions.index[SOS], split.actions.index[EOS]
    pairs = protocol.encoded_pairs(split, split.train, device)
    torch.manual_seed(0)
    model = protocol.build(split, architecture).to(device)
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
        plain, ours, side_by_side = [], [], []
        for _ in range(args.repeats):
            plain.append(tutorial_updates(split, architecture, args.updates, device))
            ours.append(protocol.train_run(split, architecture, 0, args.updates, device, log=lambda *a: None)[1]["updates_per_second"])
            _, training = seq2seq_runs.train_side_by_side([split], [0], protocol.ARCHITECTURES[architecture],
                                                          protocol.PAPER_PROTOCOL, args.updates, device, log=lambda *a: None)
            side_by_side.append(training[0]["updates_per_second"])
        best_plain, best_ours, best_side_by_side = max(plain), max(ours), max(side_by_side)
        rows.append({"model": architecture, "plain_updates_per_second": best_plain, "ours_updates_per_second": best_ours,
                     "speedup": best_ours / best_plain, "side_by_side_updates_per_second": best_side_by_side,
                     "side_by_side_speedup": best_side_by_side / best_plain})
        print(f"{architecture:>14}: tutorial loop {best_plain:6.1f} updates/s, ours {best_ours:6.1f} "
              f"({best_ours / best_plain:.2f}x), side by side {best_side_by_side:6.1f} ({best_side_by_side / best_plain:.2f}x)", flush=True)
    result = {"benchmark": "scan_training", "device": device_description(device), "torch": torch.__version__,
              "python": platform.python_version(), "updates_timed": args.updates, "repeats": args.repeats, "rows": rows}
    out = Path(args.output) / f"scan_training_{device.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
