"""DCGAN: shapes, ranges, parameter counts, gradients, initialisation, the paper's rules, the scripts."""
import dataclasses
import json
import os

import pytest
import scipy.stats
import torch
from torch import nn

from common.cli import ArgumentParser
from common.config import add_config_args
from dcgan import bench, train, tune
from dcgan.config import DCGANConfig
from dcgan.model import Discriminator, Generator, weights_init
from gan import tuning
from gan.checkpoints import build, load_generator
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


def _extra_layers(c, extra):
    """extra 3 x 3 layers of c -> c channels without bias, each with a BatchNorm (scale and shift)."""
    return extra * (c * c * 3 * 3 + 2 * c)


def expected_generator_parameters(latent_dim, ngf, extra=0):
    """From the documented layers: ConvT(latent, 2ngf, 7) + BN, ConvT(2ngf, ngf, 4) + BN, ConvT(ngf, 1, 4) + bias,
    and the extra stride-1 layers at 2 ngf and at ngf channels."""
    project = latent_dim * (2 * ngf) * 7 * 7 + 2 * (2 * ngf)
    up1 = (2 * ngf) * ngf * 4 * 4 + 2 * ngf
    up2 = ngf * 1 * 4 * 4 + 1
    return project + up1 + up2 + _extra_layers(2 * ngf, extra) + _extra_layers(ngf, extra)


def expected_discriminator_parameters(ndf, extra=0):
    """Conv(1, ndf, 4) + bias, Conv(ndf, 2ndf, 4) + BN, Conv(2ndf, 1, 7) + bias, and the extra layers."""
    down1 = 1 * ndf * 4 * 4 + ndf
    down2 = ndf * (2 * ndf) * 4 * 4 + 2 * (2 * ndf)
    logit = (2 * ndf) * 7 * 7 + 1
    return down1 + down2 + logit + _extra_layers(ndf, extra) + _extra_layers(2 * ndf, extra)


@pytest.mark.parametrize("latent_dim, ngf, ndf, extra", [(100, 64, 64, 0), (100, 32, 32, 0), (20, 16, 48, 0),
                                                        (100, 32, 16, 1), (10, 8, 8, 2)])
def test_parameter_counts_match_the_documented_architecture(latent_dim, ngf, ndf, extra):
    G, D = Generator(latent_dim, ngf, extra), Discriminator(ndf, extra)
    assert sum(p.numel() for p in G.parameters()) == expected_generator_parameters(latent_dim, ngf, extra)
    assert sum(p.numel() for p in D.parameters()) == expected_discriminator_parameters(ndf, extra)
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


@pytest.mark.parametrize("extra", [1, 2])
def test_extra_layers_keep_the_shapes_and_the_papers_rules(extra):
    G, D = Generator(100, 8, extra), Discriminator(8, extra)
    G.apply(weights_init)
    D.apply(weights_init)
    shapes = []
    hooks = [m.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:])))
             for m in list(G.modules()) + list(D.modules()) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    out = D(G(torch.randn(2, 100)))
    for h in hooks:
        h.remove()
    assert out.shape == (2, 1)
    assert shapes == ([(16, 7, 7)] * (1 + extra) + [(8, 14, 14)] * (1 + extra) + [(1, 28, 28)]
                      + [(8, 14, 14)] * (1 + extra) + [(16, 7, 7)] * (1 + extra) + [(1, 1, 1)])
    for net in (G, D):
        assert not {type(m) for m in net.modules()} & {nn.Linear, nn.MaxPool2d, nn.AvgPool2d}
    assert {type(m) for m in G.net} == {nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU, nn.Tanh}
    assert isinstance(G.net[-2], nn.ConvTranspose2d), "no BatchNorm at the output"


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
    args = add_config_args(ArgumentParser(), DCGANConfig).parse_args([])
    assert (args.beta1, args.beta2, args.batch_size, args.latent_dim, args.split) == (0.5, 0.999, 64, 100, "train")
    assert (args.lr, args.ngf, args.ndf, args.g_extra, args.epochs, args.ema, args.lr_decay) == (4e-4, 64, 64, 1, 30, 0.999, True), \
        "README.md's chosen configuration"


@pytest.mark.slow
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
    assert isinstance(G, Generator) and G.ngf == 4 and state["networks"]["discriminator"]["kwargs"] == {"ndf": 4, "extra": 0}
    assert isinstance(build(state["networks"]["discriminator"]), Discriminator)
    assert state["config_type"] == "DCGANConfig" and state["config"]["ngf"] == 4
    more = train.main(["--epochs", "3", "--resume", "--out", str(run), "--data-dir", root])
    assert more["epochs"] == 3 and more["generator_steps"] == 6 and more["config"]["ndf"] == 4


def test_tune_configurations_are_valid_settings_of_the_config():
    names = [name for name, _ in tune.CONFIGS]
    assert len(set(names)) == len(names)
    base = dataclasses.replace(DCGANConfig(ema=None), **tune.PAPER)
    for name, changes in tune.CONFIGS:
        config = dataclasses.replace(base, **changes)  # a misspelt setting would raise here
        assert {k: getattr(config, k) for k in changes} == changes


def _metrics(config, fid=3.0):
    real = {"inception_score": 9.9, "fid": 0.1, "classes_covered": 10, "kl_uniform": 0.001}
    return {**real, "fid": fid, "class_histogram": [1] * 10, "seconds": 6.0, "seconds_per_epoch": 2.0,
            "generator_steps": 30, "generator_parameters": 1, "discriminator_parameters": 2, "hardware": "CPU",
            "real": real, "split": config["split"], "config": config}


def test_tune_records_a_finished_run(tmp_path):
    config = dataclasses.asdict(DCGANConfig(ngf=8, epochs=3, label_smoothing=0.1))
    (tmp_path / "run").mkdir()
    metrics = _metrics(config) | {"memorisation": 0.012, "precision": 0.8}  # kept when the run has them
    metrics["real"] = metrics["real"] | {"memorisation": 0.01}
    (tmp_path / "run" / "metrics.json").write_text(json.dumps(metrics))
    results = tmp_path / "table.json"
    for _ in range(2):  # recording twice replaces the row
        tune.main(["--record", str(tmp_path / "run"), "--name", "final", "--results", str(results)])
    rows = json.loads(results.read_text())["runs"]
    assert len(rows) == 1 and rows[0]["name"] == "final" and rows[0]["fid"] == 3.0
    assert (rows[0]["memorisation"], rows[0]["precision"], rows[0]["real"]["memorisation"]) == (0.012, 0.8, 0.01)
    assert "recall" not in rows[0]
    assert rows[0]["settings"] == {"ngf": 8, "ndf": DCGANConfig.ndf, "lr": DCGANConfig.lr, "beta1": 0.5,
                                   "batch_size": 64, "g_extra": DCGANConfig.g_extra, "d_extra": 0, "epochs": 3, "ema": DCGANConfig.ema, "label_smoothing": 0.1,
                                   "lr_decay": True}
    with pytest.raises(FileNotFoundError, match="neither metrics.json nor checkpoint.pt"):
        tune.main(["--record", str(tmp_path), "--results", str(results)])


def test_tune_trains_each_configuration_once_and_merges_rows(tmp_path):
    trained = []

    def fake_train(config):
        trained.append(config)
        return _metrics(dataclasses.asdict(config), fid=float(len(trained)))
    base = dataclasses.replace(DCGANConfig(ema=None, out=str(tmp_path / "runs")), **tune.PAPER, epochs=2)
    configs = [("a", {}), ("b", {"lr": 1e-3})]
    path = str(tmp_path / "table.json")
    tuning.tune(base, configs, tune.PAPER, fake_train, path)
    assert [c.out for c in trained] == [str(tmp_path / "runs" / "a"), str(tmp_path / "runs" / "b")]
    assert trained[1].lr == 1e-3 and all(c.quiet and not c.resume for c in trained)
    table = tuning.tune(base, configs, tune.PAPER, fake_train, path)  # all done: nothing trains again
    assert len(trained) == 2 and [r["name"] for r in table["runs"]] == ["a", "b"]
    tuning.tune(dataclasses.replace(base, epochs=3), configs, tune.PAPER, fake_train, path, only=["a"])
    rows = json.loads(open(path).read())["runs"]
    assert len(trained) == 3 and [(r["name"], r["settings"]["epochs"]) for r in rows] == [("b", 2), ("a", 3)]


def test_bench_times_both_gans_through_the_harness(tmp_path):
    from tests.gan_helpers import make_fake_mnist
    root = make_fake_mnist(str(tmp_path / "data"), n=128)
    result = bench.main(["--data-dir", root, "--ngf", "4", "--ndf", "4", "--batch_size", "16", "--calls", "2",
                         "--rounds", "3", "--out", str(tmp_path / "b"), "--device", "cpu"])
    on_disk = json.loads((tmp_path / "b" / "dcgan_speed.json").read_text())
    dc, mlp = on_disk["gans"]["DCGAN"], on_disk["gans"]["MLP GAN"]
    ratios = [a / b for a, b in zip(dc["seconds_per_step_spread"]["rounds"], mlp["seconds_per_step_spread"]["rounds"])]
    assert len(ratios) == 3 and on_disk["ratio_dcgan_to_mlp"] == pytest.approx(sorted(ratios)[1])
    assert dc["seconds_per_epoch"]["60000"] == pytest.approx(round(dc["seconds_per_step"] * 3750, 2))
    env = on_disk["environment"]
    assert env["threads"] == torch.get_num_threads() and env["cores"] == os.cpu_count() and on_disk["calls"] == 2
    assert result["gans"]["DCGAN"]["generator_parameters"] == sum(p.numel() for p in Generator(100, 4, extra=DCGANConfig.g_extra).parameters())


@pytest.mark.slow
@pytest.mark.parametrize("script, args, fragment", [
    ("dcgan/train.py", ["--ngf", "0"], "--ngf"),
    ("dcgan/tune.py", ["--only", "w999"], "unknown configuration w999"),
    ("dcgan/bench.py", ["--calls", "-3"], "--calls"),
])
def test_bad_input_gives_one_line(tmp_path, script, args, fragment):
    result = run_script(script, *args, "--out", tmp_path / "o")
    assert_one_line_error(result, fragment)


def test_a_file_that_is_not_a_tuning_table_is_refused(tmp_path):
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a tuning table"):
        tune.main(["--results", str(tmp_path / "bad.json"), "--out", str(tmp_path / "o")])


@pytest.mark.parametrize("parser", [lambda: add_config_args(ArgumentParser(), DCGANConfig),
                                    lambda: tuning.build_parser("x", "runs/x", ""), bench.build_parser])
def test_every_script_has_the_common_options(parser):
    text = parser().format_help()
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



def test_an_option_on_by_default_can_be_turned_off_and_counts_as_given():
    from common.cli import ArgumentParser
    from common.config import add_config_args, config_from_args, explicit_options
    parser = add_config_args(ArgumentParser(), DCGANConfig)
    assert config_from_args(DCGANConfig, parser.parse_args([])).lr_decay is True
    assert config_from_args(DCGANConfig, parser.parse_args(["--no-lr_decay"])).lr_decay is False
    assert "lr_decay" in explicit_options(parser, ["--no-lr_decay"])
    assert "lr_decay" not in explicit_options(parser, ["--epochs", "2"])
