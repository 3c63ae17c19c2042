"""DCGAN: shapes, ranges, parameter counts, gradients, initialisation, the paper's rules, the scripts."""
import json
import os

import pytest
import scipy.stats
import torch
from torch import nn

from common.cli import UsageError
from dcgan import bench, train, tune
from dcgan.model import Discriminator, Generator, weights_init
from part2_gan.checkpoints import build, load_generator
from part2_gan import tune as shared_tune
from tests.conftest import REPO, assert_one_line_error, run_script
from tests.gan_helpers import make_fake_mnist


def _initialised(latent_dim=100, ngf=64, ndf=64):
    G, D = Generator(latent_dim, ngf), Discriminator(ndf)
    G.apply(weights_init)
    D.apply(weights_init)
    return G, D


@pytest.mark.parametrize("batch", [1, 64])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_output_shapes(batch, mode):
    G, D = _initialised(ngf=16, ndf=16)
    G.train(mode == "train")
    D.train(mode == "train")
    images = G(torch.randn(batch, 100))
    assert images.shape == (batch, 1, 28, 28)
    assert D(images).shape == (batch, 1)
    assert D(torch.rand(batch, 1, 28, 28) * 2 - 1).shape == (batch, 1)


def test_intermediate_shapes_are_the_documented_ones():
    ngf, ndf = 24, 40
    G, D = Generator(100, ngf), Discriminator(ndf)
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
             for m in list(G.modules()) + list(D.modules()) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    D(G(torch.randn(2, 100)))
    for h in hooks:
        h.remove()
    assert shapes == [(2 * ngf, 7, 7), (ngf, 14, 14), (1, 28, 28),   # generator
                      (ndf, 14, 14), (2 * ndf, 7, 7), (1, 1, 1)]     # discriminator


def test_generator_output_lies_in_minus_one_one():
    G, _ = _initialised()
    with torch.no_grad():
        G.net[-2].bias.fill_(3.0)  # push the pre-activation far out: tanh must still bound it
        out = G(torch.randn(64, 100) * 10)
    assert out.min() >= -1 and out.max() <= 1
    assert out.max() > 0.99, "the output saturates towards 1, so nothing clips it below"


def test_discriminator_returns_unbounded_logits():
    _, D = _initialised()
    assert isinstance(D.conv3, nn.Conv2d) and not any(isinstance(m, nn.Sigmoid) for m in D.modules())
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        D.conv3.bias.fill_(5.0)
        high = D(x)
        D.conv3.bias.fill_(-5.0)
        low = D(x)
    assert (high > 1).all() and (low < 0).all(), "a logit, not a probability"


def expected_generator_parameters(latent_dim, ngf):
    """From the documented layers: ConvT(latent, 2ngf, 7) + BN, ConvT(2ngf, ngf, 4) + BN, ConvT(ngf, 1, 4) + bias."""
    project = latent_dim * (2 * ngf) * 7 * 7 + 2 * (2 * ngf)
    up1 = (2 * ngf) * ngf * 4 * 4 + 2 * ngf
    up2 = ngf * 1 * 4 * 4 + 1
    return project + up1 + up2


def expected_discriminator_parameters(ndf):
    """Conv(1, ndf, 4) + bias, Conv(ndf, 2ndf, 4) + BN, Conv(2ndf, 1, 7) + bias."""
    down1 = 1 * ndf * 4 * 4 + ndf
    down2 = ndf * (2 * ndf) * 4 * 4 + 2 * (2 * ndf)
    logit = (2 * ndf) * 7 * 7 + 1
    return down1 + down2 + logit


@pytest.mark.parametrize("latent_dim, ngf, ndf", [(100, 64, 64), (100, 32, 32), (20, 16, 48)])
def test_parameter_counts_match_the_documented_architecture(latent_dim, ngf, ndf):
    G, D = Generator(latent_dim, ngf), Discriminator(ndf)
    assert sum(p.numel() for p in G.parameters()) == expected_generator_parameters(latent_dim, ngf)
    assert sum(p.numel() for p in D.parameters()) == expected_discriminator_parameters(ndf)
    if (latent_dim, ngf, ndf) == (100, 64, 64):
        assert expected_generator_parameters(100, 64) == 759_681  # the numbers README.md quotes
        assert expected_discriminator_parameters(64) == 138_689


def test_every_layer_receives_a_gradient():
    G, D = _initialised(ngf=16, ndf=16)
    loss = D(G(torch.randn(8, 100))).mean() + D(torch.rand(8, 1, 28, 28) * 2 - 1).mean()
    loss.backward()
    for net in (G, D):
        for name, p in net.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{type(net).__name__}.{name} gets no gradient"


def test_initialisation_follows_the_stated_distributions():
    G, D = _initialised(ngf=64, ndf=64)
    convs = [m for m in list(G.modules()) + list(D.modules()) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    norms = [m for m in list(G.modules()) + list(D.modules()) if isinstance(m, nn.BatchNorm2d)]
    assert len(convs) == 6 and len(norms) == 3
    for m in convs:
        w = m.weight.detach().flatten().double()
        assert abs(w.mean()) < 4 * 0.02 / w.numel() ** 0.5, m
        assert abs(w.std() / 0.02 - 1) < 0.15, m
        if w.numel() >= 1000:  # enough values to test the shape of the distribution
            assert scipy.stats.kstest(w.numpy(), "norm", args=(0.0, 0.02)).pvalue > 1e-3, m
        if m.bias is not None:
            assert torch.equal(m.bias, torch.zeros_like(m.bias)), m
    for m in norms:
        w = m.weight.detach().double()
        assert abs(w.mean() - 1) < 4 * 0.02 / w.numel() ** 0.5 and abs(w.std() / 0.02 - 1) < 0.35, m
        assert not torch.equal(m.weight, torch.ones_like(m.weight)), "drawn, not left at PyTorch's 1"
        assert torch.equal(m.bias, torch.zeros_like(m.bias)), m


def test_the_papers_architecture_rules():
    G, D = Generator(100, 16), Discriminator(16)
    for net in (G, D):
        kinds = {type(m) for m in net.modules()}
        assert not kinds & {nn.Linear, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d}, "no pooling, no FC layers"
    g_layers = list(G.net)
    assert [type(m) for m in g_layers if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))] == [nn.ConvTranspose2d] * 3
    assert isinstance(g_layers[-1], nn.Tanh) and isinstance(g_layers[-2], nn.ConvTranspose2d), "no BN at G's output"
    assert {type(m) for m in g_layers} == {nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU, nn.Tanh}
    assert all(m.stride == (2, 2) for m in (D.conv1, D.conv2)), "D downsamples by strided convolutions"
    assert [type(m) for m in D.children()] == [nn.Conv2d, nn.LeakyReLU, nn.Conv2d, nn.BatchNorm2d, nn.LeakyReLU,
                                               nn.Conv2d], "no BN at D's input"
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, nn.LeakyReLU))


def test_defaults_are_the_papers_adam_at_the_tuned_settings():
    args = train.build_parser().parse_args([])
    assert (args.beta1, args.beta2, args.batch_size, args.latent_dim, args.split) == (0.5, 0.999, 64, 100, "train")
    assert (args.lr, args.ngf, args.ndf, args.epochs, args.ema) == (4e-4, 64, 32, 120, 0.999), \
        "README.md's chosen configuration"


def test_train_script_writes_its_outputs_and_resumes(tmp_path):
    root = make_fake_mnist(str(tmp_path / "data"), n=128, split="test")
    run = tmp_path / "run"
    common = ["--data-dir", root, "--split", "test", "--no_eval", "--quiet", "--ngf", "4", "--ndf", "4",
              "--out", str(run), "--device", "cpu"]
    metrics = train.main(common + ["--epochs", "2"])
    for name in ("samples_start.png", "samples_halfway.png", "samples_end.png", "losses.png", "checkpoint.pt"):
        assert (run / name).stat().st_size > 0, name
    assert metrics["split"] == "test" and metrics["generator_steps"] == 4
    assert json.loads((run / "metrics.json").read_text())["config"]["ngf"] == 4
    G, state = load_generator(str(run / "checkpoint.pt"))
    assert isinstance(G, Generator) and G.ngf == 4 and state["discriminator_spec"]["kwargs"] == {"ndf": 4}
    assert isinstance(build(state["discriminator_spec"]), Discriminator)
    more = train.main(common + ["--epochs", "3", "--resume"])
    assert more["epochs"] == 3 and more["generator_steps"] == 6


def test_tune_configurations_reach_train_unchanged():
    args = tune.build_parser().parse_args(["--split", "test", "--data-dir", "d", "--threads", "1", "--epochs", "3"])
    names = [name for name, _ in tune.CONFIGS]
    assert len(set(names)) == len(names)
    for name, changes in tune.CONFIGS:
        settings = {**tune.PAPER, "epochs": args.epochs, **changes}
        parsed = vars(train.build_parser().parse_args(shared_tune.train_argv(name, settings, args)))
        assert {k: parsed[k] for k in settings} == settings
        assert parsed["out"].endswith(name) and parsed["split"] == "test" and parsed["threads"] == 1


def test_tune_records_a_finished_run(tmp_path):
    config = vars(train.build_parser().parse_args(["--ngf", "8", "--epochs", "3"])) | {"label_smoothing": 0.1}
    real = {"inception_score": 9.9, "fid": 0.1, "classes_covered": 10, "kl_uniform": 0.001}
    metrics = {**real, "fid": 3.0, "class_histogram": [1] * 10, "seconds": 6.0, "seconds_per_epoch": 2.0,
               "generator_steps": 30, "generator_parameters": 1, "discriminator_parameters": 2, "hardware": "CPU",
               "real": real, "split": "test", "config": config}
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text(json.dumps(metrics))
    results = tmp_path / "table.json"
    for _ in range(2):  # recording twice replaces the row
        tune.main(["--record", str(tmp_path / "run"), "--name", "final", "--results", str(results)])
    rows = json.loads(results.read_text())["runs"]
    assert len(rows) == 1 and rows[0]["name"] == "final" and rows[0]["fid"] == 3.0
    assert rows[0]["settings"] == {"ngf": 8, "ndf": train.NDF, "lr": train.LR, "beta1": 0.5, "batch_size": 64,
                                   "epochs": 3, "ema": train.EMA, "label_smoothing": 0.1}
    with pytest.raises(UsageError, match="neither metrics.json nor checkpoint.pt"):
        tune.main(["--record", str(tmp_path), "--results", str(results)])


def test_tune_skips_configurations_already_recorded():
    settings = {**tune.PAPER, "epochs": 10}
    table = {"runs": [{"name": "w32", "settings": settings, "split": "test", "seed": 0}]}
    assert shared_tune.done(table, "w32", settings, "test", 0)
    assert not shared_tune.done(table, "w32", {**tune.PAPER, "epochs": 11}, "test", 0)
    assert not shared_tune.done(table, "w32", settings, "train", 0)


def test_bench_times_both_gans(tmp_path):
    images = torch.rand(64, 1, 28, 28) * 2 - 1
    steps = {"a": bench.training_steps(Generator(8, 4), Discriminator(4), images, 16, torch.device("cpu"),
                                       weights_init)}
    times = bench.time_interleaved(steps, chunk=2, rounds=2, device=torch.device("cpu"), warmup=1)
    assert set(times) == {"a"} and times["a"] > 0


@pytest.mark.parametrize("script, args, fragment", [
    ("dcgan/train.py", ["--ngf", "0"], "--ngf"),
    ("dcgan/tune.py", ["--only", "w999"], "unknown configuration w999"),
    ("dcgan/bench.py", ["--chunk", "-3"], "--chunk"),
])
def test_bad_input_gives_one_line(tmp_path, script, args, fragment):
    result = run_script(script, *args, "--out", tmp_path / "o")
    assert_one_line_error(result, fragment)


def test_a_file_that_is_not_a_tuning_table_is_refused(tmp_path):
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(UsageError, match="not a tuning table"):
        tune.main(["--results", str(tmp_path / "bad.json"), "--out", str(tmp_path / "o")])


@pytest.mark.parametrize("module", [train, tune, bench])
def test_every_script_has_the_common_options(module):
    text = module.build_parser().format_help()
    assert all(option in text for option in ("--seed", "--device", "--threads", "--out"))


def test_published_generator_loads_when_present():
    path = os.path.join(REPO, "report", "checkpoints", "dcgan_generator.pt")
    if not os.path.exists(path):
        pytest.skip("report/checkpoints/dcgan_generator.pt is not published yet")
    G, state = load_generator(path)
    assert isinstance(G, Generator) and state["kind"] == "gan/generator"
    with torch.no_grad():
        out = G(torch.randn(4, G.latent_dim))
    assert out.shape == (4, 1, 28, 28) and out.min() >= -1 and out.max() <= 1

