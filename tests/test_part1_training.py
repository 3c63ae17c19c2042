"""Part 1: training reaches the target, the config rebuilds the run, and bad input ends in one line."""
import dataclasses
import json
import os

import pytest
import torch

from common.checkpoint import save_checkpoint
from common.config import config_from_args
from part1_lstm import train, training
from part1_lstm.training import TrainConfig
from tests.conftest import assert_one_line_error, run_script

TINY = ["--num_hidden", "8", "--threads", "1", "--quiet"]


@pytest.fixture(autouse=True)
def keep_torch_threads():
    """train() applies --threads to the whole process; give the next test torch's own setting back.
    (The other Part 1 test files import this fixture.)"""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_lstm_reaches_99_percent_at_T5_within_the_default_budget(tmp_path):
    # The train.py defaults (T = 5, digit values as inputs, at most 2500 updates), stopped at 99%:
    # the updates before the stop are the default run's own.
    metrics = train.main(["--out", str(tmp_path), "--quiet", "--device", "cpu", "--threads", "1",
                          "--target_accuracy", "0.99"])
    assert metrics["val_accuracy"] >= 0.99 and metrics["steps"] < 2500
    assert metrics["seq_length"] == 5 and metrics["val_size"] == 200
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["val_accuracy"] == metrics["val_accuracy"]
    assert written["history"]["epoch"] == list(range(1, written["epochs"] + 1))
    assert written["history"]["step"] == list(range(10, metrics["steps"] + 1, 10))
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_the_parser_is_the_config():
    parser = train.build_parser()
    assert config_from_args(TrainConfig, parser.parse_args([])) == TrainConfig()
    assert TrainConfig().max_steps == 2500 and TrainConfig().input_length == 4 and TrainConfig().out == "runs/part1"
    args = parser.parse_args(["--model", "rnn", "--input_length", "19", "--one_hot"])
    assert config_from_args(TrainConfig, args) == TrainConfig(model="rnn", input_length=19, one_hot=True)


def test_the_checkpoint_rebuilds_the_model_from_its_config(tmp_path):
    metrics = train.main(["--model", "rnn", "--one_hot", "--input_length", "6", "--max_steps", "30",
                          "--out", str(tmp_path), *TINY])
    model, config = training.load_model(tmp_path / "checkpoint.pt")
    assert config == TrainConfig(model="rnn", one_hot=True, input_length=6, max_steps=30, num_hidden=8,
                                 threads=1, quiet=True, out=str(tmp_path))
    assert dataclasses.asdict(config) == metrics["config"]
    _, (x_val, y_val) = training.make_splits(config)
    assert training.accuracy(model, x_val, y_val) == metrics["val_accuracy"]


def test_a_run_refuses_an_out_that_holds_another_unless_resumed_or_overwritten(tmp_path, capsys):
    argv = ["--max_steps", "20", "--out", str(tmp_path), *TINY]
    train.main(argv)
    with pytest.raises(SystemExit):
        train.run_main(train.main, argv)
    assert "already holds" in capsys.readouterr().err
    assert train.main(argv + ["--overwrite"])["steps"] == 20
    assert train.main(argv[2:] + ["--resume", "--max_steps", "40"])["steps"] == 40


def test_a_resumed_run_refuses_other_settings_naming_the_option(tmp_path, capsys):
    train.main(["--max_steps", "20", "--out", str(tmp_path), *TINY])
    with pytest.raises(SystemExit) as exc:
        train.run_main(train.main, ["--resume", "--out", str(tmp_path), *TINY, "--learning_rate", "0.01"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "--learning_rate 0.01" in err[0], err
    with pytest.raises(ValueError, match="num_hidden=8, not 16"):  # the library's own guard
        training.train(TrainConfig(num_hidden=16, out=str(tmp_path), quiet=True), resume=True)


def test_a_diverging_run_stops_in_one_line_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    # An update of ~1e38 leaves finite weights whose logits overflow: the loss of step 2 is NaN.
    with pytest.raises(SystemExit) as exc:
        train.run_main(train.main, ["--learning_rate", "1e37", "--checkpoint_every", "1", "--out", str(tmp_path),
                                    *TINY])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "loss became nan at step 2" in err[0], err
    assert str(tmp_path / "checkpoint.pt") in err[0]
    kept = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert kept["step"] == 1 and all(torch.isfinite(w).all() for w in kept["model"].values())
    assert not (tmp_path / "metrics.json").exists()


def _read_only_folder(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    # root writes anywhere on disk; a folder under /sys (a kernel file system) refuses it too.
    return str(folder) if not os.access(folder, os.W_OK) else "/sys/part1-test-run"


@pytest.mark.parametrize("argv, fragment", [
    (["--input_length", "0"], "--input_length"),
    (["--num_hidden", "-3"], "--num_hidden"),
    (["--batch_size", "0"], "--batch_size"),
    (["--model", "gru"], "invalid choice"),
    (["--portion_train", "1.5"], "--portion_train"),
    (["--portion_train", "0.9999"], "leaves no training or no validation data"),
    (["--one_hot", "--input_dim", "1"], "--input_dim 1"),
    (["--num_classes", "5"], "--num_classes 5 is too few"),
    (["--input_length", "20000", "--data_size", "10"], "input_length 20000 is too long"),
    (["--input_length", "1000", "--one_hot"], "needs about 13.9 GiB of memory"),
    (["--seed", "100000000000000000000000"], "--seed"),
    (["--forget_bias", "nan"], "--forget_bias: 'nan' is not a finite number"),
    (["--forget_bias", "-inf"], "--forget_bias"),
    (["--resume"], "no checkpoint.pt"),
    (["--resume", "--overwrite"], "contradict"),
    (["--device", "cuda:7"] if not torch.cuda.is_available() else ["--device", "tpu"], "device"),
    (["--out", "FILE"], "is a file"),
    (["--out", "READ_ONLY"], "cannot write to --out"),
])
def test_bad_input_gives_one_line(tmp_path, capsys, monkeypatch, argv, fragment):
    monkeypatch.setattr(training, "available_memory", lambda: 8 * 2**30)  # the same verdicts on any machine
    (tmp_path / "FILE").write_text("not a folder")
    places = {"FILE": str(tmp_path / "FILE"), "READ_ONLY": _read_only_folder(tmp_path)}
    argv = [places.get(a, a) for a in argv]
    out = [] if "--out" in argv else ["--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit) as exc:
        train.run_main(train.main, argv + out + ["--quiet", "--max_steps", "1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err
    assert not (tmp_path / "run" / "checkpoint.pt").exists(), "nothing was trained"


def test_corrupt_and_foreign_checkpoints(tmp_path, capsys):
    rnn_dir = tmp_path / "rnn"
    train.main(["--model", "rnn", "--max_steps", "5", "--out", str(rnn_dir), *TINY])
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "checkpoint.pt").write_bytes(b"not a checkpoint at all")
    save_checkpoint({"kind": "part2_gan/gan", "model": {}}, tmp_path / "foreign" / "checkpoint.pt")
    cases = [(rnn_dir, ["--model", "lstm"], "--model lstm differs"), (tmp_path / "corrupt", [], "corrupt"),
             (tmp_path / "foreign", [], "expected 'part1_lstm/palindrome'")]
    for folder, extra, fragment in cases:
        with pytest.raises(SystemExit):
            train.run_main(train.main, ["--resume", "--out", str(folder), "--quiet", *extra])
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0], err
    assert (tmp_path / "corrupt" / "checkpoint.pt").read_bytes() == b"not a checkpoint at all", "left as it was"
    with pytest.raises(ValueError, match="corrupt"):
        training.load_model(tmp_path / "corrupt" / "checkpoint.pt")


def test_help_shows_every_option_with_its_default(capsys):
    with pytest.raises(SystemExit) as exc:
        train.main(["--help"])
    text = capsys.readouterr().out
    assert exc.value.code == 0 and "--checkpoint_every" in text and "(default: 500)" in text and "--resume" in text


@pytest.mark.slow
def test_a_real_process_errors_in_one_line_and_runs_from_inside_its_folder(tmp_path):
    assert_one_line_error(run_script("part1_lstm/train.py", "--forget_bias", "nan", "--out", tmp_path), "--forget_bias")
    # Runs from inside its folder too.
    result = run_script("part1_lstm/train.py", "--max_steps", "20", *TINY, "--out", tmp_path / "o",
                        cwd=os.path.join(os.path.dirname(os.path.dirname(__file__)), "part1_lstm"))
    assert result.returncode == 0, result.stderr
    assert "validation accuracy" in result.stdout
