"""What a careless user can do to the GAN scripts: every mistake ends in one line and exit status 2,
nothing committed or earlier is destroyed, and the moving average is evaluated as it is exported."""
import copy
import dataclasses
import hashlib
import json
import os
import stat

import pytest
import torch

from common.checkpoint import save_checkpoint
from common.cli import run_main
from common.config import config_from_dict
from common.paths import REPO
from dcgan import bench as dcgan_bench
from dcgan import train as dcgan_train
from gan.checkpoints import export_generator, load_generator
from gan.metrics import METRICS
from gan.mnist import Evaluator, GANConfig, build_trainer
from gan.trainer import recalibrate_batchnorm
from mode_collapse import sweep_2d, train_2d, wgan_gp_mnist
from part2_gan import bench, evaluate, interpolate, publish, train, train_classifier, tune
from report import build
from tests.gan_helpers import make_fake_mnist

COMMITTED = [os.path.join(REPO, d) for d in ("report", os.path.join("gan", "weights"))]


def _hashes():
    out = {}
    for top in COMMITTED:
        for folder, _, files in os.walk(top):
            for name in files:
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    out[path] = hashlib.sha256(f.read()).hexdigest()
    return out


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    """Fake MNIST (both splits) and a finished tiny GAN run, made once for the module."""
    root = tmp_path_factory.mktemp("data")
    make_fake_mnist(str(root), n=256, split="train")
    make_fake_mnist(str(root), n=128, split="test", seed=1)
    run = tmp_path_factory.mktemp("runs") / "gan"
    train.main(["--data-dir", str(root), "--epochs", "2", "--latent_dim", "8", "--eval_samples", "64", "--quiet",
                "--out", str(run), "--device", "cpu"])
    mode = tmp_path_factory.mktemp("runs") / "ring"
    train_2d.main(["--steps", "4", "--snapshots", "2", "--batch_size", "16", "--g_hidden", "8", "--d_hidden", "8",
                   "--out", str(mode), "--quiet"])
    return {"data": str(root), "run": str(run), "2d": str(mode / "checkpoint.pt")}


def _one_line_error(main, argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_main(main, argv)
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert exit_info.value.code == 2 and len(err) == 1, err
    return err[0]


def _crafted(tmp_path, fake):
    state = torch.load(os.path.join(fake["run"], "checkpoint.pt"), weights_only=True)
    no_networks = {k: v for k, v in state.items() if k != "networks"}
    save_checkpoint(no_networks, tmp_path / "no_networks.pt")
    strings = copy.deepcopy(state)
    strings["generator"] = {k: "not a tensor" for k in state["generator"]}
    save_checkpoint(strings, tmp_path / "strings.pt")
    nan = copy.deepcopy(state)
    nan["generator"] = {k: v.float().fill_(float("nan")) if v.is_floating_point() else v
                        for k, v in state["generator"].items()}
    save_checkpoint(nan, tmp_path / "nan.pt")
    (tmp_path / "a_file").write_text("x")


CASES = [  # (main, argv with {data}, {run}, {2d}, {tmp}; a fragment of the one line)
    (train.main, ["--data-dir", "{data}", "--batch_size", "1"], "batch size 1"),
    (train.main, ["--data-dir", "{data}", "--seed", "100000000000000000000000"], "--seed"),
    (train.main, ["--data-dir", "{data}", "--out", "{tmp}/a_file"], "is a file"),
    (train.main, ["--data-dir", "{data}", "--out", "{run}"], "already holds files of another run"),
    (train.main, ["--data-dir", "{data}", "--out", "{run}", "--resume", "--lr", "1e-3"], "--lr 0.001 differs"),
    (train.main, ["--data-dir", "{data}", "--out", "{run}", "--resume", "--overwrite"], "contradict"),
    (train.main, ["--data-dir", "{data}", "--out", "{repo}/report/results"], "committed results"),
    (wgan_gp_mnist.main, ["--data-dir", "{data}", "--out", "{run}", "--resume"], "is a run of GANConfig"),
    (wgan_gp_mnist.main, ["--data-dir", "{data}", "--gan_results", "{tmp}/nonexistent.json"], "cannot read"),
    (wgan_gp_mnist.main, ["--data-dir", "{data}", "--batch_size", "1", "--gan_results", "{run}/metrics.json"],
     "batch size 1"),
    (dcgan_train.main, ["--data-dir", "{data}", "--out", "{run}", "--resume"], "is a run of GANConfig"),
    (evaluate.main, ["--checkpoint", "{run}/checkpoint.pt", "--data-dir", "{data}", "--n_samples", "1"], "at least 2"),
    (evaluate.main, ["--checkpoint", "{tmp}/nan.pt", "--data-dir", "{data}", "--n_samples", "8"], "not finite"),
    (evaluate.main, ["--checkpoint", "{2d}", "--data-dir", "{data}"], "2d.Generator generator"),
    (evaluate.main, ["--checkpoint", "{tmp}/no_networks.pt", "--data-dir", "{data}"], "lacks 'networks'"),
    (evaluate.main, ["--checkpoint", "{tmp}/strings.pt", "--data-dir", "{data}"], "not tensors"),
    (interpolate.main, ["--checkpoint", "{2d}"], "2d.Generator generator"),
    (publish.main, ["--run", "{run}", "--name", "x", "--from", "3", "--to", "3", "--data-dir", "{data}"], "two different"),
    (publish.main, ["--run", "{tmp}", "--name", "x", "--data-dir", "{data}"], "lacks checkpoint.pt"),
    (bench.main, ["--data-dir", "{data}", "--batch_size", "20000"], "--batch_size 20000"),
    (dcgan_bench.main, ["--data-dir", "{data}", "--batch_size", "1"], "batch size 1"),
    (train_classifier.main, ["--data-dir", "{tmp}/empty"], "MNIST train split not found"),
    (tune.main, ["--only", "nope"], "unknown configuration nope"),
    (sweep_2d.main, ["--methods", "gan", "--seeds", "0", "--quick", "--out", "{tmp}/a_file"], "is a file"),
]


@pytest.mark.slow
@pytest.mark.parametrize("main, argv, fragment", CASES)
def test_bad_input_ends_in_one_line(tmp_path, monkeypatch, capsys, fake, main, argv, fragment):
    monkeypatch.chdir(tmp_path)
    _crafted(tmp_path, fake)
    before = _hashes()
    argv = [a.format(data=fake["data"], run=fake["run"], tmp=tmp_path, repo=REPO, **{"2d": fake["2d"]}) for a in argv]
    line = _one_line_error(main, argv, capsys)
    assert fragment in line, line
    assert _hashes() == before
    assert not [f for f in os.listdir(fake["run"]) if ".tmp" in f], "no temporary file is left behind"


@pytest.mark.slow
def test_default_runs_leave_committed_files_untouched(tmp_path, monkeypatch, fake):
    monkeypatch.chdir(tmp_path)  # default outputs (runs/...) land here
    # the tiny generator draws no recognisable digit: a fixed row stands in for its interpolation
    monkeypatch.setattr("gan.publish.interpolation_row",
                        lambda *a, **k: (torch.zeros(9, 1, 28, 28), [1] * 9, [0.5] * 9))
    monkeypatch.setattr("gan.publish.pair_rows", lambda *a, **k: [
        {"from": 0, "to": 6, "interpolation": "linear", "images": torch.zeros(9, 1, 28, 28), "predicted": [0] * 9,
         "confidence": [0.5] * 9}])
    before = _hashes()
    data = ["--data-dir", fake["data"]]
    train_classifier.main(data + ["--epochs", "2", "--validation", "64", "--quiet"])
    publish.main(["--run", fake["run"], "--name", "gan_mlp"] + data)
    evaluate.main(["--checkpoint", fake["run"] + "/checkpoint.pt", "--n_samples", "32"] + data)
    tune.main(["--record", fake["run"], "--name", "gan_mlp_final"] + data)
    sweep_2d.main(["--quick", "--methods", "gan", "--datasets", "ring"])
    wgan_gp_mnist.main(data + ["--epochs", "1", "--latent_dim", "8", "--batch_size", "16", "--eval_samples", "32",
                               "--quiet"])
    assert sorted(os.listdir(tmp_path / "runs")) == ["classifier", "evaluate", "gan_tune", "mode_collapse",
                                                     "mode_collapse_mnist", "publish"]
    published = tmp_path / "runs" / "publish" / "gan_mlp"
    assert sorted(os.listdir(published)) == ["checkpoints", "figures", "results"]
    assert sorted(os.listdir(published / "figures")) == [
        f"gan_mlp_{f}.png" for f in ("interpolation", "interpolation_pairs", "losses", "samples_end", "samples_halfway",
                                     "samples_start")]
    assert sorted(os.listdir(published / "results")) == ["gan_mlp.json", "gan_mlp_history.json",
                                                          "gan_mlp_interpolation_pairs.json"]
    assert _hashes() == before


@pytest.mark.slow
def test_classifier_publish_refuses_a_bad_classifier(tmp_path, monkeypatch, capsys, fake):
    monkeypatch.chdir(tmp_path)
    before = _hashes()
    line = _one_line_error(train_classifier.main, ["--data-dir", fake["data"], "--epochs", "1", "--validation", "64",
                                                   "--quiet", "--publish"], capsys)
    assert "below --min_accuracy" in line and _hashes() == before


def test_the_moving_average_is_evaluated_as_it_is_exported(tmp_path, fake):
    images = torch.rand(256, 1, 28, 28) * 2 - 1
    config = GANConfig(latent_dim=8, ema=0.5, eval_samples=64, out=str(tmp_path), device="cpu", data_dir=fake["data"])
    trainer = build_trainer(config, images, torch.device("cpu"))
    for _ in range(3):
        trainer.train_step()
    stale = copy.deepcopy(trainer.G_ema)  # its BatchNorm statistics are those of its first copy of G
    evaluate = Evaluator(config, images, torch.device("cpu"))
    evaluate(trainer)
    save_checkpoint(trainer.state_dict(), tmp_path / "checkpoint.pt")
    exported, _ = load_generator(export_generator(tmp_path / "checkpoint.pt", tmp_path / "g.pt", half=False))

    def metrics(G):
        return {k: v for k, v in evaluate.metrics(G)[0].items() if k in METRICS}
    row = trainer.evaluations[-1]
    assert row["G_ema"] == metrics(exported)
    assert row["G_ema"] != metrics(stale), "evaluating the average with stale statistics gives other numbers"
    recalibrate_batchnorm(stale, 8)
    assert row["G_ema"] == metrics(stale)


def test_build_rejects_broken_results_files_in_one_line(tmp_path):
    for text, fragment in [("", "not valid JSON"), ('{"runs": [', "not valid JSON"),
                           ('{"runs": [{"name": "x"}]}', "cannot be made")]:
        results = tmp_path / "results"
        results.mkdir(exist_ok=True)
        (results / "gan_mlp_tuning.json").write_text(text)
        doc = tmp_path / "doc.md"
        doc.write_text("<!--table gan_mlp_tuning-->\n<!--/table-->\n")
        with pytest.raises(ValueError, match=fragment):
            build.build(check=True, documents=[str(doc)], results_folder=str(results))


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_fails_before_training(tmp_path, capsys, fake):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    line = _one_line_error(train.main, ["--data-dir", fake["data"], "--out", str(folder / "run")], capsys)
    assert "cannot write" in line or "Permission denied" in line


@pytest.mark.slow
def test_classifier_from_an_earlier_run_is_measured_again_before_it_is_published(tmp_path, monkeypatch, capsys, fake):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(train_classifier, "COMMITTED_WEIGHTS", str(tmp_path / "weights.pt"))
    monkeypatch.setattr(train_classifier, "RESULTS", str(tmp_path))
    data = ["--data-dir", fake["data"]]
    report = train_classifier.main(data + ["--epochs", "1", "--validation", "64", "--quiet", "--out", "runs/c"])
    line = _one_line_error(train_classifier.main, data + ["--from_run", "runs/c"], capsys)
    assert "give --publish too" in line
    train_classifier.main(data + ["--from_run", "runs/c", "--publish", "--min_accuracy", "0.01"])
    published = torch.load(tmp_path / "weights.pt", weights_only=True)
    trained = torch.load(tmp_path / "runs/c/mnist_classifier.pt", weights_only=True)
    assert all(torch.equal(published["model"][k], v) for k, v in trained["model"].items())
    assert json.loads((tmp_path / "mnist_classifier.json").read_text())["held_out_accuracy"] == report["held_out_accuracy"]
    # a run whose record does not match its weights is refused, and nothing is replaced
    trained["held_out_accuracy"] = report["held_out_accuracy"] + 0.01
    torch.save(trained, tmp_path / "runs/c/mnist_classifier.pt")
    before = (tmp_path / "weights.pt").read_bytes()
    line = _one_line_error(train_classifier.main, data + ["--from_run", "runs/c", "--publish", "--min_accuracy", "0.01"],
                           capsys)
    assert "measured again" in line and (tmp_path / "weights.pt").read_bytes() == before


def test_lr_decay_option_reaches_the_trainer_and_old_checkpoints_keep_constant_rates(tmp_path, fake):
    images = torch.rand(256, 1, 28, 28) * 2 - 1
    for decay in (False, True):
        config = GANConfig(latent_dim=8, epochs=1, lr_decay=decay, out=str(tmp_path), device="cpu",
                           data_dir=fake["data"])
        trainer = build_trainer(config, images, torch.device("cpu"))
        for _ in range(2):
            trainer.train_step()
        lr = trainer.opt_G.param_groups[0]["lr"]
        assert (lr < config.lr) == decay, (decay, lr)
    # a checkpoint written before the option existed has no lr_decay: it resumes with constant rates
    saved = dataclasses.asdict(GANConfig())
    del saved["lr_decay"]
    assert config_from_dict(GANConfig, saved).lr_decay is False
