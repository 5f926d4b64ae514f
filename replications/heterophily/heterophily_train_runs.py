"""Train heterophily runs into the run store in parallel, one process and one thread per run, for the
notebook to read back.

A job is ``GRAPH:MODEL:SPLITS`` (splits ``0-9`` or ``0,3``), trained at ``--depth`` layers and
``--hidden-dim`` (default: the paper's 512). ``heterophily_protocol.run_model`` is the function the notebook
calls, so the notebook finds these runs under the same keys when it is run with the same width and
depths. The CPU record of this chapter (width 64, depth 2):

    REPROBOOK_RUNS=replications/heterophily/runs python replications/heterophily/heterophily_train_runs.py \\
        minesweeper:ResNet:0-9 minesweeper:GCN:0-9 ... tolokers:ResNet:0-9 --hidden-dim 64 --depth 2
"""
import torch

from heterophily_data import DATASETS, heterophilous_graph
from heterophily_model import MODULES
from heterophily_protocol import PAPER_HYPERPARAMETERS, run_model
from reprobook.cli import parse_seeds
from reprobook.errors import ReprobookError
from reprobook.jobs import command_line, run_in_processes


def parse_job(text: str) -> list[tuple[str, str, int]]:
    """``GRAPH:MODEL:SPLITS`` as one (graph, model, split) per split."""
    graph, _, rest = text.partition(":")
    model, _, splits = rest.rpartition(":")
    if graph not in DATASETS or model not in MODULES:
        raise ReprobookError(f"job {text!r}: expected GRAPH:MODEL:SPLITS with a graph of {', '.join(DATASETS)} "
                             f"and a model of {', '.join(MODULES)}")
    return [(graph, model, split) for split in parse_seeds(splits)]


def add_options(parser) -> None:
    parser.add_argument("--depth", type=int, required=True, choices=PAPER_HYPERPARAMETERS["depths"])
    parser.add_argument("--hidden-dim", type=int, default=PAPER_HYPERPARAMETERS["hidden_dim"])


def train(job: tuple[str, str, int, int, int]) -> str:
    graph, model, split, depth, hidden_dim = job
    run = run_model(graph, model, depth, [split], torch.device("cpu"), hidden_dim=hidden_dim, log=lambda _: None)[0]
    stored = ", already stored" if run["resumed"] else ""
    return (f"{graph} / {model}-{depth} (width {hidden_dim}) / split {split}: test ROC AUC "
            f"{100 * run['test_roc_auc']:.2f} at step {run['best_step']}{stored}")


def main() -> None:
    args = command_line(__doc__.splitlines()[0], "GRAPH:MODEL:SPLITS", parse_job, add_options)
    # PyG writes a graph's processed file into the cache on its first load: load each graph here, once,
    # so that two workers never write and read that file at the same time.
    for graph in sorted({graph for graph, _, _ in args.jobs}):
        heterophilous_graph(graph)
    run_in_processes(train, [job + (args.depth, args.hidden_dim) for job in args.jobs], args.workers)


if __name__ == "__main__":
    main()
