"""Part 1: training reaches the target, the scripts' outputs, and their errors."""
import json
import os

import pytest
import torch

from common.checkpoint import save_checkpoint
from part1_lstm import gradient_flow, sweep, train
from part1_lstm.lstm import LSTM
from part1_lstm.vanilla_rnn import VanillaRNN
from tests.conftest import assert_one_line_error, run_script


def test_lstm_reaches_99_percent_at_T5_with_the_defaults(tmp_path):
    # The train.py defaults: 2500 updates, T = 5, digit values as inputs.
    metrics = train.main(["--out", str(tmp_path), "--quiet", "--device", "cpu"])
    assert metrics["val_accuracy"] >= 0.99
    assert metrics["config"]["seq_length"] == 5 and metrics["val_size"] == 200
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["val_accuracy"] == metrics["val_accuracy"]
    assert len(written["history"]["val_accuracy"]) == written["epochs"]
    assert (tmp_path / "curves.png").stat().st_size > 0
    # The checkpoint loads back into a model that scores the same.
    model, cfg = train.load_model(tmp_path / "checkpoint.pt")
    _, (x_val, y_val) = train.make_splits(train.build_parser().parse_args([]))
    assert train.accuracy(model, x_val, y_val) == metrics["val_accuracy"]


def test_resume_continues_from_checkpoint(tmp_path):
    first = train.main(["--out", str(tmp_path / "a"), "--quiet", "--max_epoch", "2", "--device", "cpu"])
    resumed = train.main(["--out", str(tmp_path / "b"), "--quiet", "--max_epoch", "4", "--device", "cpu",
                          "--resume", str(tmp_path / "a" / "checkpoint.pt")])
    assert first["steps"] == 14 and resumed["steps"] == 28 and resumed["epochs"] == 4


def test_sweep_quick_writes_records_and_figure(tmp_path):
    records = sweep.main(["--quick", "--models", "lstm", "--out", str(tmp_path), "--device", "cpu"])
    assert [(r["model"], r["T"], r["seed"]) for r in records] == [("lstm", 5, 0), ("lstm", 10, 0)]
    on_disk = json.loads((tmp_path / "palindrome_sweep.json").read_text())
    assert on_disk == records
    assert set(on_disk[0]) >= {"model", "T", "seed", "val_accuracy", "seconds"}
    assert (tmp_path / "palindrome_accuracy.png").stat().st_size > 0
    assert sweep.summarise(records)["lstm"][5][0] == records[0]["val_accuracy"]
    # A results file of its own (--json) gets its figure beside it, not the default figure.
    again = sweep.main(["--quick", "--models", "lstm", "--out", str(tmp_path), "--device", "cpu",
                        "--json", str(tmp_path / "own.json")])
    assert (tmp_path / "own.png").stat().st_size > 0 and len(again) == 2


def test_hidden_gradient_norms_vanish_without_recurrence():
    # With W_hh = 0, h(t) for t < T-1 does not reach the loss: its gradient is exactly 0.
    model = VanillaRNN(6, 10, 16, 10)
    with torch.no_grad():
        model.W_hh.zero_()
    x = torch.nn.functional.one_hot(torch.randint(0, 10, (8, 6)), 10).float()
    norms = gradient_flow.hidden_gradient_norms(model, x, torch.randint(0, 10, (8,)))
    assert len(norms) == 6
    assert norms[:-1] == [0.0] * 5 and norms[-1] > 0


def test_gradient_flow_script_writes_figure_and_json(tmp_path):
    results = gradient_flow.main(["--T", "6", "--max_steps", "20", "--batch", "32", "--device", "cpu",
                                  "--out", str(tmp_path / "fig"), "--runs", str(tmp_path / "runs")])
    assert set(results["models"]) == {"rnn", "lstm"}
    for entry in results["models"].values():
        assert len(entry["at_init"]) == len(entry["trained"]) == 5
    assert (tmp_path / "fig" / "gradient_flow.png").stat().st_size > 0
    assert json.loads((tmp_path / "fig" / "gradient_flow.json").read_text()) == results


@pytest.mark.parametrize("argv, fragment", [
    (["--input_length", "0"], "--input_length"),
    (["--num_hidden", "-3"], "--num_hidden"),
    (["--batch_size", "0"], "--batch_size"),
    (["--model", "gru"], "invalid choice"),
    (["--portion_train", "1.5"], "--portion_train"),
    (["--one_hot", "--input_dim", "1"], "--input_dim 1"),
    (["--resume", "does/not/exist.pt"], "checkpoint not found"),
    (["--device", "cuda:7"] if not torch.cuda.is_available() else ["--device", "tpu"], "device"),
])
def test_bad_input_gives_one_line(tmp_path, capsys, argv, fragment):
    with pytest.raises(SystemExit) as exc:
        train.run_main(train.main, argv + ["--out", str(tmp_path), "--quiet"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err


def test_mismatched_and_corrupt_checkpoints(tmp_path, capsys):
    rnn_dir = tmp_path / "rnn"
    train.main(["--model", "rnn", "--max_epoch", "1", "--out", str(rnn_dir), "--quiet"])
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint at all")
    foreign = tmp_path / "foreign.pt"
    save_checkpoint({"kind": "part2_gan/gan", "model": {}}, foreign)
    cases = [(rnn_dir / "checkpoint.pt", "model=rnn, not lstm"), (corrupt, "corrupt"), (foreign, "expected")]
    for path, fragment in cases:
        with pytest.raises(SystemExit):
            train.run_main(train.main, ["--resume", str(path), "--out", str(tmp_path / "x"), "--quiet"])
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0], err
    assert os.path.getsize(corrupt) == len(b"not a checkpoint at all"), "a bad checkpoint is left as it was"


def test_cli_help_and_error_from_a_real_process(tmp_path):
    assert "--input_length" in run_script("part1_lstm/train.py", "--help").stdout
    assert_one_line_error(run_script("part1_lstm/train.py", "--model", "transformer", "--out", tmp_path), "--model")
    # Runs from inside its folder too.
    result = run_script("part1_lstm/train.py", "--max_epoch", "1", "--quiet", "--out", tmp_path / "o",
                        cwd=os.path.join(os.path.dirname(os.path.dirname(__file__)), "part1_lstm"))
    assert result.returncode == 0, result.stderr
    assert "validation accuracy" in result.stdout


def test_bench_prints_the_ratio_last(tmp_path):
    result = run_script("part1_lstm/bench.py", "--reps", "2", "--warmup", "1", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("hand-written/nn.LSTM time ratio: ")
    assert float(last.split(": ")[1]) > 0
    assert json.loads((tmp_path / "lstm_bench.json").read_text())["results"][0]["ratio_fast"] > 0


def test_graph_depth_counts_the_longest_chain_of_operations():
    from part1_lstm.time_vs_length import TinyTransformer, graph_depth
    a = torch.ones(3, requires_grad=True)
    assert graph_depth((a * 2 + 1).sum()) == 4  # AccumulateGrad <- Mul <- Add <- Sum
    b = torch.ones(3, requires_grad=True)
    assert graph_depth(((a * 2) * (b + 1 + 1 + 1)).sum()) == 6  # the longer branch counts: 3 adds on b

    def lstm_depth(T):
        model = LSTM(T, 10, 8, 10)
        x = torch.nn.functional.one_hot(torch.randint(0, 10, (2, T)), 10).float()
        return graph_depth(model.forward_plain(x)[-1] @ model.W_ph.T + model.b_p)
    assert lstm_depth(20) - lstm_depth(10) == 2 * (lstm_depth(10) - lstm_depth(5)) > 0  # linear in T
    x5, x10 = (torch.nn.functional.one_hot(torch.randint(0, 10, (2, T)), 10).float() for T in (5, 10))
    assert graph_depth(TinyTransformer(10)(x5)) == graph_depth(TinyTransformer(10)(x10))  # constant in T


def test_time_vs_length_writes_times_and_depths(tmp_path):
    from part1_lstm import time_vs_length
    rows = time_vs_length.main(["--lengths", "3", "6", "--batch", "4", "--reps", "2", "--warmup", "1",
                                "--out", str(tmp_path), "--device", "cpu"])
    on_disk = json.loads((tmp_path / "lstm_time_vs_length.json").read_text())["rows"]
    assert [r["T"] for r in on_disk] == [3, 6] and on_disk == rows
    assert rows[1]["lstm_graph_depth"] > rows[0]["lstm_graph_depth"]
    assert rows[1]["transformer_graph_depth"] == rows[0]["transformer_graph_depth"]
    assert all(r["lstm_ms"] > 0 and r["transformer_ms"] > 0 for r in rows)
