"""CI's check that the same seed gives the same numbers (scripts/same_numbers.py): what it compares and
which seed it trains again."""
import json

from reprobook.determinism import cheapest_seed, differences, seed_file


def test_numbers_must_match_exactly_and_timings_and_provenance_may_differ():
    first = {"test_accuracy": 0.8125, "curves": {"val_loss": [1.0, 0.5]}, "train_seconds": 3.1,
             "provenance": {"started": "a"}, "updates_per_second": 9.0}
    second = {"test_accuracy": 0.8125, "curves": {"val_loss": [1.0, 0.5]}, "train_seconds": 2.7,
              "provenance": {"started": "b"}, "updates_per_second": 8.0}
    assert differences(first, second) == []
    second["curves"]["val_loss"][1] = 0.5000001
    assert differences(first, second) == ["/curves/val_loss[1]: 0.5 against 0.5000001"]
    assert differences({"a": [1, 2]}, {"a": [1]}) == ["/a: 2 items against 1"]
    assert differences({"a": 1}, {"b": 1}) == ["/a: only in the first", "/b: only in the second"]


def test_the_cheapest_seed_that_a_record_trained_is_the_one_trained_again(tmp_path):
    runs = [{"protocol": "gat/GAT-Cora", "key": "k1", "seed": 0, "trained": True},
            {"protocol": "gat/GCN-Cora", "key": "k2", "seed": 1, "trained": True},
            {"protocol": "gat/GCN-Cora", "key": "k2", "seed": 2, "trained": False}]     # read back: not a candidate
    for entry, seconds in zip(runs, (20.0, 7.0, 1.0)):
        path = seed_file(entry, tmp_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"train_seconds": seconds}))
    record, entry = cheapest_seed([{"notebook": "gat", "runs": runs}], tmp_path)
    assert record["notebook"] == "gat" and (entry["protocol"], entry["seed"]) == ("gat/GCN-Cora", 1)
    assert seed_file({"protocol": "scan/length/top: length", "key": "k", "seed": 3}, tmp_path) == \
        tmp_path / "scan/length/top-length/k/seed-3.json"
