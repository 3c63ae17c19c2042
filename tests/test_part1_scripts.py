"""Part 1's scripts: the sweep merges instead of replacing, default runs stay under runs/, and the
benchmarks report what they measured."""
import dataclasses
import hashlib
import json
import os
import statistics

import pytest
import torch

from common.paths import REPORT
from part1_lstm import bench, gradient_flow, sweep, time_vs_length
from part1_lstm.lstm import LSTM
from part1_lstm.vanilla_rnn import VanillaRNN
from tests.test_part1_training import keep_torch_threads  # noqa: F401 (an autouse fixture)

COMMITTED_SWEEP = os.path.join(REPORT, "results", "palindrome_sweep.json")
TINY_SWEEP = ["--lengths", "3", "--seeds", "0", "--models", "rnn", "--max_steps", "10", "--threads", "1"]



def _tree_hashes(folder):
    hashes = {}
    for root, _, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                hashes[os.path.relpath(os.path.join(root, name), folder)] = hashlib.sha256(f.read()).hexdigest()
    return hashes


def test_committed_records_are_keyed_like_the_runs_that_would_replace_them():
    for r in json.load(open(COMMITTED_SWEEP)):
        config = dataclasses.replace(sweep.SWEEP_BASE, model=r["model"], input_length=r["T"] - 1, seed=r["seed"],
                                     max_steps=2500)
        assert sweep.settings_key(r) == sweep.settings_key(sweep.settings_of(config)), r


def test_a_sweep_with_other_settings_merges_into_the_results_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    committed = json.load(open(COMMITTED_SWEEP))
    target = tmp_path / "results.json"
    target.write_text(json.dumps(committed))
    sweep.main(TINY_SWEEP + ["--results", str(target)])
    merged = json.loads(target.read_text())
    assert len(merged) == len(committed) + 1 and all(r in merged for r in committed), "nothing lost"
    added = next(r for r in merged if r not in committed)
    assert (added["model"], added["T"], added["seed"], added["max_steps"]) == ("rnn", 3, 0, 10)
    assert (tmp_path / "results.png").stat().st_size > 0
    # The same settings again replace their own record; a new seed adds one.
    again = sweep.main(TINY_SWEEP + ["--seeds", "0", "1", "--results", str(target)])
    merged = json.loads(target.read_text())
    assert len(again) == 2 and len(merged) == len(committed) + 2
    assert [r["seconds"] for r in merged if r["T"] == 3 and r["seed"] == 0] == [again[0]["seconds"]]


def test_publish_merges_into_the_committed_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sweep, "PUBLISHED_RESULTS", str(tmp_path / "published.json"))
    monkeypatch.setattr(sweep, "PUBLISHED_FIGURE", str(tmp_path / "published.png"))
    records = sweep.main(TINY_SWEEP + ["--publish"])
    assert json.loads((tmp_path / "published.json").read_text()) == records
    assert (tmp_path / "published.png").stat().st_size > 0
    assert json.loads((tmp_path / "runs" / "sweep" / "palindrome_sweep.json").read_text()) == records


def test_a_resumed_sweep_trains_only_what_it_lacks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = sweep.main(TINY_SWEEP)
    more = sweep.main(TINY_SWEEP + ["--lengths", "3", "4", "--resume"])
    assert [(r["T"], r["seed"]) for r in more] == [(3, 0), (4, 0)] and more[0] == first[0], "T = 3 not rerun"
    assert sweep.summarise(more)["rnn"][4][0] == more[1]["val_accuracy"]

def test_plot_only_redraws_the_figure_from_the_results_and_trains_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "results.json"
    target.write_text(open(COMMITTED_SWEEP).read())
    before = target.read_bytes()
    records = sweep.main(["--plot_only", "--results", str(target), "--figure", str(tmp_path / "fig.png")])
    assert len(records) == len(json.load(open(COMMITTED_SWEEP))), "the committed records have the default settings"
    assert target.read_bytes() == before and (tmp_path / "fig.png").stat().st_size > 0
    assert not (tmp_path / "runs").exists(), "nothing trained"
    with pytest.raises(ValueError, match="no records trained with these settings"):
        sweep.main(["--plot_only", "--results", str(target), "--max_steps", "7"])


@pytest.mark.parametrize("script, argv, fragment", [
    (sweep, ["--results", "NOT_JSON"], "is not a results file"),
    (sweep, ["--figure", "x.png"], "--figure is the figure of --publish or --results"),
    (sweep, ["--lengths", "1"], "T is at least 2"),
    (sweep, ["--plot_only"], "--plot_only redraws the figure of --publish or --results"),
    (sweep, ["--publish", "--results", "x.json"], "not allowed with"),
    (gradient_flow, ["--T", "1"], "--T must be at least 2"),
    (bench, ["--out", REPORT], "committed results"),
    (time_vs_length, ["--rounds", "0"], "--rounds"),
])
def test_bad_script_input_gives_one_line(tmp_path, monkeypatch, capsys, script, argv, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "NOT_JSON").write_text("{")
    with pytest.raises(SystemExit) as exc:
        script.run_main(script.main, (TINY_SWEEP if script is sweep else []) + argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and fragment in err[0], err
    assert not (tmp_path / "runs").exists(), "refused before anything ran"


def test_default_runs_leave_every_committed_file_as_it_was(tmp_path, monkeypatch):
    before = _tree_hashes(REPORT)
    monkeypatch.chdir(tmp_path)
    sweep.main(TINY_SWEEP + ["--models", "rnn", "lstm"])
    gradient_flow.main(["--T", "4", "--max_steps", "10", "--batch", "16", "--device", "cpu", "--threads", "1"])
    assert (tmp_path / "runs" / "sweep" / "palindrome_accuracy.png").stat().st_size > 0
    results = json.loads((tmp_path / "runs" / "gradient_flow" / "gradient_flow.json").read_text())
    assert set(results["models"]) == {"rnn", "lstm"}
    assert all(len(m["at_init"]) == len(m["trained"]) == 3 for m in results["models"].values())
    assert (tmp_path / "runs" / "gradient_flow" / "gradient_flow.png").stat().st_size > 0
    assert _tree_hashes(REPORT) == before


def test_hidden_gradient_norms_vanish_without_recurrence():
    # With W_hh = 0, h(t) for t < T-1 does not reach the loss: its gradient is exactly 0.
    model = VanillaRNN(6, 10, 16, 10)
    with torch.no_grad():
        model.W_hh.zero_()
    x = torch.nn.functional.one_hot(torch.randint(0, 10, (8, 6)), 10).float()
    norms = gradient_flow.hidden_gradient_norms(model, x, torch.randint(0, 10, (8,)))
    assert len(norms) == 6
    assert norms[:-1] == [0.0] * 5 and norms[-1] > 0


def assert_timing(t, rounds):
    """A common.bench Timing in a JSON file: its figures agree with its rounds."""
    assert len(t["rounds"]) == rounds
    assert t["min"] <= t["q1"] <= t["median"] <= t["q3"] <= t["max"]
    assert t["median"] == statistics.median(t["rounds"]) and t["min"] == min(t["rounds"])


def test_bench_reports_medians_spreads_and_prints_the_json_ratio_last(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    bench.main(["--rounds", "3", "--calls", "1", "--warmup", "1", "--threads", "1"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    data = json.loads((tmp_path / "runs" / "bench_lstm" / "lstm_bench.json").read_text())
    first = data["results"][0]
    assert last == f"hand-written/nn.LSTM time ratio: {first['ratio_fast']:.2f}"
    assert data["environment"]["threads"] == 1 and data["reps"] == 3 and data["rounds"] == 3
    for r in data["results"]:
        assert set(r["ms_per_step"]) == {bench.FAST, bench.PLAIN, bench.REFERENCE}
        for name, timing in r["timing_ms"].items():
            assert_timing(timing, 3)
            assert r["ms_per_step"][name] == timing["median"]
        fast, reference = (r["timing_ms"][k]["rounds"] for k in (bench.FAST, bench.REFERENCE))
        ratios = [a / b for a, b in zip(fast, reference)]
        assert r["ratio_fast"] == pytest.approx(statistics.median(ratios), rel=1e-12)
        assert_timing(r["ratio_fast_timing"], 3)


def _lstm_graph_depth(T):
    model = LSTM(T, 10, 8, 10)
    x = torch.nn.functional.one_hot(torch.randint(0, 10, (2, T)), 10).float()
    return time_vs_length.graph_depth(time_vs_length.plain_lstm_logits(model, x))


def test_graph_depth_counts_the_longest_chain_of_operations():
    a = torch.ones(3, requires_grad=True)
    assert time_vs_length.graph_depth((a * 2 + 1).sum()) == 4  # AccumulateGrad <- Mul <- Add <- Sum
    b = torch.ones(3, requires_grad=True)
    assert time_vs_length.graph_depth(((a * 2) * (b + 1 + 1 + 1)).sum()) == 6  # the longer branch: 3 adds on b
    # Per step, h(t-1) -> matmul -> + x-term -> + bias -> gate -> g*i -> c -> tanh(c) -> *o -> h(t):
    # 8 operations; the output layer (matmul, + bias) and the weights' transpose and leaf add 4.
    assert [_lstm_graph_depth(T) for T in (1, 2, 5, 13)] == [8 * T + 4 for T in (1, 2, 5, 13)]


def test_time_vs_length_writes_times_spreads_and_depths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = time_vs_length.main(["--lengths", "3", "6", "--batch", "4", "--rounds", "3", "--calls", "1",
                                "--warmup", "1", "--threads", "1"])
    data = json.loads((tmp_path / "runs" / "time_vs_length" / "lstm_time_vs_length.json").read_text())
    assert data["rows"] == rows and [r["T"] for r in rows] == [3, 6] and data["batch"] == 4
    assert data["environment"]["threads"] == 1 and data["hardware"]
    assert [r["lstm_graph_depth"] for r in rows] == [8 * 3 + 4, 8 * 6 + 4]
    assert rows[0]["transformer_graph_depth"] == rows[1]["transformer_graph_depth"]  # constant in T
    for r in rows:
        for model in ("lstm", "transformer"):
            assert_timing(r[f"{model}_timing_ms"], 3)
            assert r[f"{model}_ms"] == r[f"{model}_timing_ms"]["median"]
        assert_timing(r["lstm_over_transformer"], 3)
