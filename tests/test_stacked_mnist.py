"""Stacked MNIST (issue 12): the stacks and their batches, the networks of the five methods, the
modes and KL, a run that resumes exactly, the command line and --publish."""
import json
import math
import os

import pytest
import torch

from common.cli import run_main
from dcgan.model import Discriminator
from gan.checkpoints import load_generator
from gan.objectives import generator_labels
from mode_collapse import stacked_results as sr
from mode_collapse import train_stacked as ts
from mode_collapse.models import ImageGeneratorBank
from mode_collapse.stacked_mnist import N_MODES, PUBLISHED, StackedBatches, mode_coverage, modes_of, read_stacks
from tests.gan_helpers import StubClassifier, make_fake_mnist

TINY = {"steps": 4, "batch_size": 8, "n_stacks": 64, "evaluations": 2, "eval_samples": 100, "ngf": 4, "ndf": 4,
        "latent_dim": 8}


def digits(n=200):
    """Images whose brightness names their digit for StubClassifier, and those digits."""
    labels = torch.arange(n) % 10
    centres = torch.linspace(-0.9, 0.9, 10)
    return centres[labels].view(n, 1, 1, 1).expand(n, 1, 28, 28).clone(), labels


# ----------------------------------------------------------------------------- data and measures
def test_stacked_batches_are_addressed_by_step_and_know_their_modes():
    images, labels = digits()
    data = StackedBatches(images, labels, n_stacks=50, batch_size=8, seed=3)
    batch = data(0)
    assert batch.shape == (8, 3, 28, 28) and data.per_epoch == 6 and len(data) == 50
    again = StackedBatches(images, labels, n_stacks=50, batch_size=8, seed=3)
    assert torch.equal(again(7), data(7)) and torch.equal(again(0), batch), "a function of the step alone"
    assert not torch.equal(data(1), batch)
    assert torch.equal(modes_of(data.stacks(torch.arange(50)), StubClassifier()), data.modes)
    other_seed = StackedBatches(images, labels, n_stacks=50, batch_size=8, seed=4)
    assert torch.equal(other_seed.index, data.index), "every run trains on the same stacks (data_seed)"
    assert data.sample(5).shape == (5, 3, 28, 28)
    with pytest.raises(ValueError, match="batch size"):
        StackedBatches(images, labels, n_stacks=4, batch_size=8)


def test_mode_coverage_on_known_histograms():
    half = mode_coverage(torch.tensor([3, 997] * 13_000))
    assert half["modes"] == 2 and half["kl"] == pytest.approx(math.log(500))
    assert half["histogram"][3] == 13_000 and half["n_samples"] == 26_000 and len(half["histogram"]) == N_MODES
    tenth = mode_coverage(torch.arange(26_000) % 100)  # 100 modes equally often
    assert tenth["modes"] == 100 and tenth["kl"] == pytest.approx(math.log(10)) and "confident" not in tenth
    sure = mode_coverage(torch.tensor([1, 2, 3, 3]), torch.tensor([0.95, 0.5, 0.9, 0.99]))
    assert sure["confident"] == 0.75 and sure["modes_confident"] == 2 and sure["modes"] == 3  # modes 1 and 3


def test_a_stack_is_read_channel_by_channel_and_as_sure_as_its_least_clear_channel():
    centres = torch.linspace(-0.9, 0.9, 10)  # StubClassifier's digit k: brightness centres[k]
    levels = torch.tensor([[centres[3], (centres[4] + centres[5]) / 2, centres[7]],  # middle channel: 4 or 5
                           [centres[0], centres[9], centres[2]]])
    modes, confidence = read_stacks(levels.view(2, 3, 1, 1).expand(2, 3, 28, 28).clone(), StubClassifier())
    assert modes[0] in (347, 357) and modes[1] == 92
    assert confidence[0] == pytest.approx(0.5, abs=1e-3) and confidence[1] == pytest.approx(1.0)


def test_real_stacks_are_read_right_by_a_classifier_that_knows_the_digits():
    images, labels = digits()
    real = sr.measure_real(images, labels, StubClassifier(), n=500)
    assert real["read_right"] == 1.0 and real["confident"] == 1.0 and real["n_samples"] == 500
    assert real["modes"] == real["modes_confident"] > 300  # 500 draws of 1,000 equally likely modes: about 390


def test_published_anchors_carry_their_source():
    rows = {r["method"]: (r["modes"], r["kl"]) for r in PUBLISHED["rows"]}
    assert rows == {"DCGAN": (99, 3.40), "Unrolled GAN": (48.7, 4.32), "VEEGAN": (150, 2.95), "PacDCGAN2": (1000, 0.06)}
    assert "Lin et al. (2018)" in PUBLISHED["source"] and "VEEGAN" in PUBLISHED["source"]


# ----------------------------------------------------------------------------- networks
def test_the_discriminators_options_leave_the_default_unchanged():
    default = Discriminator(8)
    assert [k for k in default.state_dict()] == ["conv1.weight", "conv1.bias", "conv2.weight", "bn2.weight", "bn2.bias",
                                                 "bn2.running_mean", "bn2.running_var", "bn2.num_batches_tracked",
                                                 "conv3.weight", "conv3.bias"]
    x = torch.randn(6, 3, 28, 28)
    assert Discriminator(8, channels=3, outputs=9)(x).shape == (6, 9)  # MAD-GAN's k + 1 classes
    critic = Discriminator(8, channels=3, batch_norm=False)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in critic.modules()) and critic.conv2.bias is not None
    one, rest = critic(x[:1]), critic(x)[:1]
    assert torch.allclose(one, rest, atol=1e-6), "without BatchNorm a critic value is the sample's alone"
    packed = Discriminator(8, channels=3, pack=2)
    assert packed.conv1.in_channels == 6 and packed(x).shape == (3, 1)


def test_the_generator_bank_makes_each_chunk_with_its_own_generator():
    bank = ImageGeneratorBank(k=3, latent_dim=8, ngf=4).eval()
    z = torch.randn(9, 8)
    out = bank(z)
    assert out.shape == (9, 3, 28, 28)
    for j, g in enumerate(bank.generators):
        rows = generator_labels(9, 3) == j
        assert torch.allclose(out[rows], g.eval()(z[rows]), atol=1e-6)


@pytest.mark.parametrize("method", list(ts.METHODS))
def test_every_method_builds_its_networks_on_the_same_budget(method):
    config = ts.stacked_config(method)
    assert (config.steps, config.batch_size, config.n_stacks) == tuple(ts.BUDGET[k] for k in
                                                                      ("steps", "batch_size", "n_stacks"))
    assert config.eval_samples == 26_000
    G, D, g_spec, d_spec = ts.networks(ts.stacked_config(method, ngf=4, ndf=4))
    images = G.eval()(torch.randn(4, 100))
    assert images.shape == (4, 3, 28, 28) and images.abs().max() <= 1
    assert D(images).shape == ({"pacdcgan2": 2}.get(method, 4), {"madgan": 9}.get(method, 1))
    assert d_spec["kwargs"].get("batch_norm", True) == (method not in ("wgan_gp", "unrolled_nobn"))
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules()) == d_spec["kwargs"].get("batch_norm", True)


# ----------------------------------------------------------------------------- a run
@pytest.mark.parametrize("method", list(ts.METHODS))
def test_every_method_trains_and_is_measured(tmp_path, method):
    images, labels = digits()
    config = ts.stacked_config(method, **TINY, generators=2 if method == "madgan" else None)
    record = ts.train_stacked(config, 0, str(tmp_path), images, labels, StubClassifier())
    assert record["generator_steps"] == 4 and record["discriminator_steps"] == 4 * config.n_critic
    assert [p["step"] for p in record["curve"]] == [2, 4] and record["n_samples"] == 100
    assert sum(record["histogram"]) == 100 and record["modes"] == sum(h > 0 for h in record["histogram"])
    assert record["training_seconds"] > 0 and record["evaluation_seconds"] > 0
    assert record["training_set"]["stacks"] == 64 and (tmp_path / "samples.png").exists()
    # the checkpoint rebuilds its generator through the one registry (gan/checkpoints.NETWORKS)
    G, state = load_generator(str(tmp_path / "checkpoint.pt"))
    fresh_G = ts.networks(config)[0]
    fresh_G.load_state_dict(state["generator"])
    z = torch.randn(2 * (config.generators or 1), config.latent_dim)
    assert type(G) is type(fresh_G) and torch.equal(G(z), fresh_G.eval()(z))


def test_a_finished_run_measured_before_the_confident_reads_gets_them_on_resume(tmp_path):
    images, labels = digits()
    config = ts.stacked_config("dcgan", **TINY)
    done = ts.train_stacked(config, 0, str(tmp_path), images, labels, StubClassifier())
    assert 0 <= done["confident"] <= 1 and done["modes_confident"] <= done["modes"]
    path = tmp_path / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    for e in state["evaluations"]:  # as a run of the earlier code left it
        del e["confident"], e["modes_confident"]
    ts.save_checkpoint(state, str(path))
    again = ts.train_stacked(config, 0, str(tmp_path), images, labels, StubClassifier(), resume=True)
    same = ("modes", "kl", "histogram", "confident", "modes_confident", "generator_steps")
    assert {k: again[k] for k in same} == {k: done[k] for k in same}, "the same generator, the same noise"


def test_a_run_resumes_exactly(tmp_path):
    images, labels = digits()
    config = ts.stacked_config("unrolled", **{**TINY, "steps": 6, "evaluations": 3})
    straight = ts.train_stacked(config, 0, str(tmp_path / "a"), images, labels, StubClassifier())
    trainer = ts.build_trainer(config, images, labels, "cpu", 0, str(tmp_path / "b"))
    trainer.add_callback(ts.ModesOverTraining(StubClassifier(), config, 0, torch.device("cpu")), at=[2, 4, 6])
    trainer.add_callback(lambda t: ts.save_checkpoint(t.state_dict(), t.checkpoint_path), at=[2, 4, 6])
    trainer.steps = 4  # killed after its checkpoint at step 4
    trainer.fit()
    torch.manual_seed(777)
    resumed = ts.train_stacked(config, 0, str(tmp_path / "b"), images, labels, StubClassifier(), resume=True)
    same = ("modes", "kl", "histogram", "generator_steps", "discriminator_steps")
    assert {k: resumed[k] for k in same} == {k: straight[k] for k in same}
    assert [(p["step"], p["modes"], p["kl"]) for p in resumed["curve"]] == \
           [(p["step"], p["modes"], p["kl"]) for p in straight["curve"]]
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    assert all(torch.equal(a["generator"][k], b["generator"][k]) for k in a["generator"])
    assert all(torch.equal(a["discriminator"][k], b["discriminator"][k]) for k in a["discriminator"])


# ----------------------------------------------------------------------------- command line and --publish
def cli(tmp_path, *extra):
    root = make_fake_mnist(str(tmp_path / "data"), n=100)
    return ["--data-dir", root, "--steps", "4", "--batch_size", "8", "--n_stacks", "64", "--evaluations", "2",
            "--eval_samples", "50", "--ngf", "4", "--ndf", "4", "--quiet", "--threads", "1", "--device", "cpu", *extra]


def test_publish_merges_runs_by_method_and_seed(tmp_path, monkeypatch):
    committed, figures = tmp_path / "stacked_mnist.json", tmp_path / "figures"
    monkeypatch.setattr(sr, "COMMITTED_JSON", str(committed))
    monkeypatch.setattr(sr, "FIGURES", str(figures))
    committed.write_text(json.dumps(sr.results([])))  # a results file without runs yet
    pac = ts.main(cli(tmp_path, "--method", "pacdcgan2", "--out", str(tmp_path / "r1"), "--publish"))
    monkeypatch.setattr(ts, "measure_real", lambda *a, **k: pytest.fail("the real stacks measured twice"))
    first = ts.main(cli(tmp_path, "--method", "dcgan", "--out", str(tmp_path / "r2"), "--publish"))
    data = json.loads(committed.read_text())
    assert [(r["method"], r["seed"]) for r in data["runs"]] == [("dcgan", 0), ("pacdcgan2", 0)]
    real = data["real_stacks"]  # measured once, at the first publish, on as many stacks as a run's samples
    assert real["n_samples"] == 50 and 0 <= real["read_right"] <= 1 and set(real) >= {"modes", "kl", "confident"}
    assert data["runs"][1]["histogram"] == pac["histogram"] and data["runs"][0]["kl"] == first["kl"]
    replaced = sr.merge_runs(data["runs"], {**first, "kl": 9.5})  # the same method and seed: replaced
    assert [(r["method"], r["kl"]) for r in replaced] == [("dcgan", 9.5), ("pacdcgan2", pac["kl"])]
    assert data["published"]["rows"][3]["method"] == "PacDCGAN2" and "30 minutes" in data["budget"]["note"]
    assert data["budget"]["steps"] == 4 and data["protocol"]["n_samples"] == 26_000
    for name in ("stacked_mnist_samples_dcgan.png", "stacked_mnist_samples_pacdcgan2.png", "stacked_mnist_modes.png",
                 "stacked_mnist_curves.png"):
        assert (figures / name).stat().st_size > 0
    with pytest.raises(ValueError, match="mix budgets"):  # another budget is refused
        sr.merge_runs(data["runs"], {**first, "method": "madgan", "config": {**first["config"], "steps": 8}})
    with pytest.raises(ValueError, match="mix budgets"):  # ... before training, from the command line
        ts.main(cli(tmp_path, "--method", "wgan_gp", "--steps", "8", "--out", str(tmp_path / "r3"), "--publish"))
    assert not (tmp_path / "r3").exists()
    # another budget goes to its own results file and figures, and leaves the standard ones alone
    before = committed.read_text()
    monkeypatch.setattr(ts, "measure_real", lambda *a, **k: {"n_samples": 50, "modes": 40, "kl": 0.1,
                                                              "confident": 1.0, "modes_confident": 40, "read_right": 1.0})
    ts.main(cli(tmp_path, "--method", "madgan", "--generators", "2", "--budget", "long", "--steps", "6",
                "--evaluations", "3", "--out", str(tmp_path / "r4"), "--publish"))
    long = json.loads((tmp_path / "stacked_mnist_long.json").read_text())
    assert [(r["method"], r["config"]["steps"]) for r in long["runs"]] == [("madgan", 6)]
    assert "10,000 generator steps" in long["budget"]["note"] and long["real_stacks"]["modes"] == 40
    assert committed.read_text() == before and (figures / "stacked_mnist_long_modes.png").exists()
    assert ts.stacked_config("pacdcgan2", "long").steps == 10_000 and ts.stacked_config("pacdcgan2").steps == 2400
    with pytest.raises(ValueError, match="unknown budget"):
        ts.stacked_config("dcgan", "huge")


@pytest.mark.parametrize("args, fragment", [
    (["--method", "vegan"], "--method"),
    (["--data-dir", "{tmp}/empty", "--out", "{tmp}/o"], "MNIST train split not found"),  # before --out is made
    (["--resume", "--out", "{tmp}/none"], "no checkpoint.pt"),
    (["--classifier", "{tmp}/none.pt"], "checkpoint not found"),
    (["--steps", "5", "--evaluations", "2", "--data-dir", "{tmp}/empty"], "not a multiple of --evaluations"),
])
def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys, args, fragment):
    with pytest.raises(SystemExit) as exit_info:
        run_main(ts.main, [a.replace("{tmp}", str(tmp_path)) for a in args])
    assert exit_info.value.code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and fragment in err[0], err
    assert not os.path.exists(tmp_path / "o")


def test_resume_from_the_command_line_finishes_the_run(tmp_path):
    args = cli(tmp_path, "--method", "madgan", "--generators", "2", "--out", str(tmp_path / "run"))
    done = ts.main(args)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert state["config_type"] == "StackedConfig" and state["step"] == 4
    resumed = ts.main(["--resume", "--out", str(tmp_path / "run"), "--data-dir", args[1], "--quiet", "--threads", "1",
                       "--device", "cpu"])
    assert resumed["histogram"] == done["histogram"] and resumed["config"]["generators"] == 2


def test_help_states_each_default_once(capsys):
    with pytest.raises(SystemExit) as exc:
        ts.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert exc.value.code == 0
    assert "generator steps (default: the budget's, 2400 for standard)" in text  # said in the help itself
    assert "(default: None)" not in text
    assert "random seed (default: 0)" in text  # appended where the help does not say it
