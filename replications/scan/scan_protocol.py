"""The SCAN protocol of Lake and Baroni (2018), Sec. 3, and the architectures the paper names.

Training: 100,000 updates, each on one command-action pair drawn with replacement from the training
set; Adam (lr 0.001, default betas); gradient norm clipped at 5; on each update, teacher forcing with
probability 1/2. Evaluation: greedy decoding, exact match of the whole action sequence. 5 runs.
``seq2seq_runs.run_protocol`` trains and evaluates with these.

The per-experiment "top-performing" architectures below are as the paper's text (Sec. 4) names them;
the chapter's claims file says where each is read.
"""
PAPER_PROTOCOL = {"updates": 100_000, "lr": 0.001, "clip_norm": 5.0, "teacher_forcing": 0.5, "runs": 5}
ARCHITECTURES = {
    "overall-best": {"cell": "LSTM", "layers": 2, "hidden": 200, "dropout": 0.5, "attention": False},
    "top: simple": {"cell": "LSTM", "layers": 2, "hidden": 200, "dropout": 0.0, "attention": False},
    "top: length": {"cell": "GRU", "layers": 1, "hidden": 50, "dropout": 0.5, "attention": True},
    "top: jump": {"cell": "LSTM", "layers": 1, "hidden": 100, "dropout": 0.1, "attention": True},
    "top: turn left": {"cell": "GRU", "layers": 1, "hidden": 100, "dropout": 0.1, "attention": True},
}
