"""Mode collapse: the 2D mixtures and their metrics, the scripts (the objectives: test_gan_objectives.py)."""
import dataclasses
import json
import math
import os

import pytest
import torch

from common.cli import UsageError
from gan.objectives import generator_labels
from mode_collapse import sweep_2d, train_2d, wgan_gp_mnist
from mode_collapse.metrics import capture_threshold, generator_modes, mode_metrics
from mode_collapse.mixtures import MixtureBatches, grid, ring
from tests.conftest import assert_one_line_error, run_script
from tests.gan_helpers import make_fake_mnist


# ----------------------------------------------------------------------------- data and metrics
def test_ring_and_grid_modes():
    r, g = ring(), grid()
    assert r.n_modes == 8 and r.std == 0.02
    assert torch.allclose(r.means.norm(dim=1), torch.full((8,), 2.0))
    assert torch.allclose(r.means[2], torch.tensor([0.0, 2.0]), atol=1e-6)
    assert g.n_modes == 25 and g.std == 0.05
    assert sorted(set(g.means[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    x = r.sample(20_000)
    nearest = torch.cdist(x, r.means).argmin(1)
    assert torch.bincount(nearest, minlength=8).min() > 2_200  # 2,500 expected per mode
    assert abs((x - r.means[nearest]).std().item() - 0.02) < 0.001


def test_real_samples_score_as_expected():
    # in 2D, P(||x - mu|| <= 3 std) = 1 - exp(-9/2) = 0.989: the ceiling of the high-quality fraction
    for mix in (ring(), grid()):
        m = mode_metrics(mix.sample(20_000), mix)
        assert m["modes"] == mix.n_modes and m["kl"] < 0.01
        assert abs(m["high_quality"] - (1 - math.exp(-4.5))) < 0.003


def test_all_samples_at_one_mode():
    r = ring()
    m = mode_metrics(r.means[3] + 0.01 * torch.randn(2500, 2), r)
    assert m["modes"] == 1 and m["high_quality"] == 1.0
    assert m["kl"] == pytest.approx(math.log(8))
    assert m["mode_histogram"][3] == 2500


def test_samples_spread_evenly():
    r = ring()
    x = r.means.repeat(2500 // 8 + 1, 1)[:2500]  # 313 or 312 samples exactly at each mode
    m = mode_metrics(x, r)
    assert m["modes"] == 8 and m["high_quality"] == 1.0 and m["kl"] < 1e-4


def test_samples_far_from_every_mode():
    r = ring()
    m = mode_metrics(torch.zeros(2500, 2) + 0.3 * torch.randn(2500, 2), r)  # the ring's empty centre
    assert m["high_quality"] == 0.0 and m["modes"] == 0 and m["kl"] is None
    # 3 std is the limit: 0.059 from a mode counts, 0.061 does not
    m = mode_metrics(torch.tensor([[2.059, 0.0], [0.0, 2.061]]), r)
    assert m["high_quality"] == 0.5


def test_capture_threshold_is_20_of_2500():
    assert capture_threshold(2500) == 20 and capture_threshold(10_000) == 80
    r = ring()
    x = torch.cat([r.means[0].expand(2500 - 39, 2), r.means[1].expand(20, 2), r.means[2].expand(19, 2)])
    m = mode_metrics(x, r)
    assert m["threshold"] == 20 and m["modes"] == 2  # 20 high-quality samples capture a mode, 19 do not


def test_mixture_batches_are_fresh_batches_every_step():
    data = MixtureBatches(ring(), 32)
    batches = [data(k) for k in range(3)]
    assert batches[0].shape == (32, 2) and not torch.equal(batches[0], batches[1])
    assert data.sample(7).shape == (7, 2)
    torch.manual_seed(3)
    again = data(0)
    torch.manual_seed(3)
    assert torch.equal(again, data(0)), "drawn from the global generator, which a checkpoint saves"


# ----------------------------------------------------------------------------- scripts
def test_every_method_trains_in_the_shared_loop(tmp_path):
    for method in train_2d.METHODS:
        config = train_2d.method_config(method, steps=4, batch_size=32, latent_dim=8, g_hidden=16, d_hidden=16)
        record = train_2d.train_2d(config, 0, str(tmp_path / method), snapshots=2)
        assert record["generator_steps"] == 4
        assert record["discriminator_steps"] == 4 * config.n_critic
        assert [p["step"] for p in record["curve"]] == [0, 2, 4]
        assert (tmp_path / method / "checkpoint.pt").exists() and (tmp_path / method / "snapshots.pt").exists()


def test_pacgan_trains_in_the_shared_loop_and_checks_its_batch(tmp_path):
    config = train_2d.method_config("gan", "ring", steps=4, batch_size=32, latent_dim=8, g_hidden=16, d_hidden=16,
                                    pack=4)
    record = train_2d.train_2d(config, 0, str(tmp_path / "pac"), snapshots=2)
    state = torch.load(tmp_path / "pac" / "checkpoint.pt", weights_only=True)
    assert record["generator_steps"] == 4 and state["networks"]["discriminator"]["kwargs"]["pack"] == 4
    assert state["discriminator"]["net.0.weight"].shape[1] == 8, "D's first layer takes 4 points"
    with pytest.raises(ValueError, match="multiple of 3"):
        odd = train_2d.method_config("gan", "ring", steps=2, batch_size=32, g_hidden=8, d_hidden=8, pack=3)
        train_2d.train_2d(odd, 0, str(tmp_path / "odd"), snapshots=1)
    with pytest.raises(ValueError, match="MAD-GAN"):
        train_2d.method_config("madgan", "ring", pack=2)


@pytest.mark.parametrize("method", ["wgan_gp", "unrolled5"])
def test_a_2d_run_resumes_exactly(tmp_path, method):
    config = train_2d.method_config(method, "ring", steps=6, batch_size=32, latent_dim=8, g_hidden=16, d_hidden=16)
    straight = train_2d.train_2d(config, 0, str(tmp_path / "a"), snapshots=3)
    short = train_2d.method_config(method, "ring", steps=6, batch_size=32, latent_dim=8, g_hidden=16, d_hidden=16)
    trainer, hook = train_2d.make_trainer(short, 0, str(tmp_path / "b"), torch.device("cpu"), 3, True)
    trainer.steps = 4  # killed after its checkpoint at step 4
    trainer.fit()
    torch.manual_seed(777)
    resumed = train_2d.train_2d(config, 0, str(tmp_path / "b"), snapshots=3, resume=True)
    assert resumed["curve"] == straight["curve"] and resumed["mode_histogram"] == straight["mode_histogram"]
    a = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    assert all(torch.equal(a["generator"][k], b["generator"][k]) for k in a["generator"])
    assert all(torch.equal(a["discriminator"][k], b["discriminator"][k]) for k in a["discriminator"])


def test_gan_is_the_unrolled_gan_without_unrolling():
    # the vanilla GAN is the K = 0 control of the Unrolled GAN: same networks, optimiser and rates
    for dataset in train_2d.DATASETS:
        gan = train_2d.method_config("gan", dataset)
        for method in ("unrolled5", "unrolled10"):
            unrolled = train_2d.method_config(method, dataset)
            gan_d, unrolled_d = dataclasses.asdict(gan), dataclasses.asdict(unrolled)
            same = {k for k in gan_d if k not in ("method", "objective", "steps", "unroll_steps")}
            assert {k: gan_d[k] for k in same} == {k: unrolled_d[k] for k in same}
            assert unrolled.lr < unrolled.lr_g  # Metz et al.: D slower than G


def test_a_method_gets_the_settings_budget_and_an_override_comes_last():
    # issue 12: no method has a budget of its own; a budget given explicitly still wins
    ring_cfg, grid_cfg = train_2d.method_config("madgan", "ring"), train_2d.method_config("madgan", "grid")
    assert grid_cfg.batch_size == ring_cfg.batch_size == train_2d.SETTINGS["ours"]["batch_size"]
    assert grid_cfg.steps == train_2d.SETTINGS["ours"]["grid"]["steps"] and not grid_cfg.lr_decay
    assert train_2d.method_config("madgan", "grid", steps=40).steps == 40


@pytest.mark.slow
def test_quick_sweep_writes_records_and_figures(tmp_path):
    records = sweep_2d.main(["--quick", "--out", str(tmp_path), "--threads", "1", "--methods", "gan", "madgan"])
    assert len(records) == 4
    saved = json.loads((tmp_path / "mode_collapse_2d.json").read_text())
    assert {(r["method"], r["dataset"]) for r in saved} == {(m, d) for m in ("gan", "madgan") for d in ("ring", "grid")}
    for r in saved:
        assert {"method", "dataset", "seed", "modes", "high_quality", "kl", "seconds"} <= set(r)
        assert r["n_samples"] == 2500 and r["threshold"] == 20
    for name in ("mode_collapse_ring.png", "mode_collapse_grid.png", "mode_collapse_curves.png"):
        assert (tmp_path / name).stat().st_size > 0
    madgan = [r for r in saved if r["method"] == "madgan"]
    assert all(len(r["generators"]["per_generator"]) == r["config"]["generators"] for r in madgan)
    again = sweep_2d.main(["--quick", "--out", str(tmp_path), "--methods", "gan", "madgan"])
    assert again == saved, "a rerun finds every run done and trains nothing"


def test_publish_merges_into_the_committed_records(tmp_path, monkeypatch):
    committed, figures = tmp_path / "committed.json", tmp_path / "figures"
    other = {"method": "wgan", "dataset": "ring", "seed": 0, "modes": 3, "curve": []}
    stale = {"method": "gan", "dataset": "ring", "seed": 0, "modes": -1, "curve": []}
    committed.write_text(json.dumps([other, stale]))
    figures.mkdir()
    (figures / "mode_collapse_ring.png").write_bytes(b"committed figure")
    monkeypatch.setattr(sweep_2d, "COMMITTED_JSON", str(committed))
    monkeypatch.setattr(sweep_2d, "FIGURES", str(figures))
    records = sweep_2d.main(["--quick", "--out", str(tmp_path / "runs"), "--methods", "gan", "--datasets", "ring",
                             "--publish"])
    published = json.loads(committed.read_text())
    assert [(r["method"], r["modes"]) for r in published] == [("gan", records[0]["modes"]), ("wgan", 3)]
    assert (figures / "mode_collapse_ring.png").read_bytes() == b"committed figure", \
        "a samples figure that would lose the wgan row (no snapshots here) is left as it was"


def test_wgan_gp_mnist_runs_on_fake_data(tmp_path):
    root = make_fake_mnist(str(tmp_path / "data"), n=320)
    metrics = wgan_gp_mnist.main(["--data-dir", root, "--epochs", "1", "--no_eval", "--quiet", "--latent_dim", "8",
                                  "--out", str(tmp_path / "run"), "--device", "cpu", "--threads", "1"])
    assert metrics["discriminator_steps"] == 5 and metrics["generator_steps"] == 1
    assert metrics["config"]["beta2"] == 0.9 and metrics["config"]["lr"] == 1e-4
    # a finished run resumed with --publish trains nothing more: where the results go may change
    again = wgan_gp_mnist.main(["--data-dir", root, "--no_eval", "--quiet", "--out", str(tmp_path / "run"),
                                "--resume", "--publish", "--device", "cpu", "--threads", "1"])
    assert again["generator_steps"] == 1


def test_gan_baseline_trains_with_the_same_epochs_and_data(tmp_path):
    root = make_fake_mnist(str(tmp_path / "data"), n=320)
    config = wgan_gp_mnist.WGANGPConfig(data_dir=root, epochs=1, no_eval=True, quiet=True, latent_dim=8,
                                        batch_size=32, out=str(tmp_path / "wgan"), device="cpu")
    gan, path = wgan_gp_mnist.train_gan_baseline(config)
    assert path == str(tmp_path / "wgan_gan" / "metrics.json") and os.path.exists(path)
    assert gan["epochs"] == 1 and gan["batch_size"] == 32 and gan["lr"] == 2e-4
    assert gan["config"]["beta2"] == 0.999 and gan["config"]["split"] == config.split
    assert "penalty" not in gan["config"] and "n_critic" not in gan["config"]
    assert config.lr == 1e-4 and config.beta2 == 0.9  # the WGAN-GP's own settings are left alone


def test_comparison_reads_the_gan_results(tmp_path):
    wgan = {"config": {"lr": 1e-4, "beta1": 0.5, "beta2": 0.9, "batch_size": 64, "penalty": 10.0, "n_critic": 5,
                       "seed": 0},
            "inception_score": 8.0, "fid": 3.0, "classes_covered": 10, "kl_uniform": 0.01, "class_histogram": [1] * 10,
            "epochs": 2, "generator_steps": 6, "discriminator_steps": 30, "seconds": 1.0, "hardware": "CPU",
            "n_samples": 10, "split": "test", "train_images": 10_000,
            "real": {"inception_score": 9.0, "fid": 0.5, "classes_covered": 10, "kl_uniform": 0.0}}
    gan_path = tmp_path / "gan.json"
    gan_path.write_text(json.dumps({"inception_score": 6.0, "fid": 9.0, "classes_covered": 9, "kl_uniform": 0.1,
                                    "split": "test", "epochs": 200}))
    record = wgan_gp_mnist.comparison(wgan, wgan_gp_mnist.read_gan_results(str(gan_path)), str(gan_path))
    assert record["gan"]["fid"] == 9.0 and record["wgan_gp"]["fid"] == 3.0 and "note" not in record
    with pytest.raises(ValueError, match="cannot read --gan_results"):  # no longer trains and records "gan": null
        wgan_gp_mnist.read_gan_results(str(tmp_path / "nonexistent.json"))


@pytest.mark.slow
@pytest.mark.parametrize("script, args, fragment", [
    ("mode_collapse/train_2d.py", ["--method", "vegan"], "--method"),
    ("mode_collapse/wgan_gp_mnist.py", ["--data-dir", "{tmp}/empty", "--gan_results", ""], "MNIST train split not found"),
])
def test_bad_input_gives_one_line(tmp_path, script, args, fragment):
    result = run_script(script, *[a.replace("{tmp}", str(tmp_path)) for a in args], "--out", tmp_path / "o")
    assert_one_line_error(result, fragment)


@pytest.mark.parametrize("main, args, error, message", [
    (train_2d.main, ["--steps", "15", "--snapshots", "10"], ValueError, "not a multiple"),
    (sweep_2d.main, ["--datasets", "ring", "--methods", "gan"], ValueError, "cannot read"),
    (wgan_gp_mnist.main, ["--gan_results", "{tmp}/bad.json"], ValueError, "cannot read --gan_results"),
    (wgan_gp_mnist.main, ["--gan_results", "{tmp}/none.json"], ValueError, "cannot read --gan_results"),
    (wgan_gp_mnist.main, ["--label_smoothing", "0.1"], UsageError, "--label_smoothing"),
])
def test_user_errors_are_named(tmp_path, main, args, error, message):
    (tmp_path / "bad.json").write_text("{not json")
    if main is sweep_2d.main:  # a results file that is not JSON
        (tmp_path / "o").mkdir()
        (tmp_path / "o" / "mode_collapse_2d.json").write_text("{not json")
    with pytest.raises(error, match=message):
        main([a.replace("{tmp}", str(tmp_path)) for a in args] + ["--out", str(tmp_path / "o"), "--threads", "1"])


@pytest.mark.parametrize("main, args", [
    (train_2d.main, ["--dataset", "spiral"]), (train_2d.main, ["--lr", "-1"]),
    (sweep_2d.main, ["--seeds", "x"]), (wgan_gp_mnist.main, ["--beta2", "1.5"]),
])
def test_bad_options_exit_2(main, args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert args[0] in capsys.readouterr().err


def test_generator_modes_tells_where_each_generator_went():
    r = ring()
    labels = generator_labels(300, 3)  # 100 samples per generator
    x = torch.cat([r.means[5].expand(100, 2), r.means[5].expand(50, 2), r.means[1].expand(50, 2),
                   torch.zeros(100, 2)])
    table = generator_modes(x, labels, 3, r)
    rows = table["per_generator"]
    assert rows[0] == {"mode": 5, "share": 1.0, "high_quality": 1.0}
    assert rows[1]["mode"] in (1, 5) and rows[1]["share"] == 0.5
    assert rows[2] == {"mode": None, "share": 0.0, "high_quality": 0.0}
    assert table["distinct_modes"] == (1 if rows[1]["mode"] == 5 else 2)


def test_a_methods_rates_for_a_dataset_come_from_the_rates_table():
    from mode_collapse.train_2d import RATES, method_config
    assert (method_config("madgan", "grid").lr, method_config("madgan", "grid").lr_g) == RATES["ours"]["madgan"]["grid"]
    assert method_config("gan", "ring").lr_g == RATES["ours"]["gan"]["ring"][1]
    assert method_config("wgan", "grid").lr_g == RATES["ours"]["wgan"][1]
    assert method_config("madgan", "grid", lr_g=1e-3).lr_g == 1e-3  # an explicit override wins


# ----------------------------------------------------------------------------- Stacked MNIST
def test_stacked_mnist_stacks_three_digits_and_names_their_mode():
    from mode_collapse.stacked_mnist import stack_mnist
    images = torch.arange(10.0).view(10, 1, 1, 1).expand(10, 1, 28, 28)  # image k is the constant k
    labels = torch.arange(10)
    stacks, modes = stack_mnist(images, labels, 500, seed=1)
    assert stacks.shape == (500, 3, 28, 28) and modes.shape == (500,)
    digits = stacks[:, :, 0, 0].long()
    assert torch.equal(modes, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2])
    assert len(set(modes.tolist())) > 350, "500 draws of 1,000 equally likely triples hit about 390 modes"
    again, _ = stack_mnist(images, labels, 500, seed=1)
    assert torch.equal(again, stacks)


def test_modes_are_read_channel_by_channel_and_counted():
    from mode_collapse.stacked_mnist import mode_coverage, modes_of
    centres = torch.linspace(-0.9, 0.9, 10)  # StubClassifier calls brightness centres[k] digit k
    stacks = torch.stack([centres[[3, 1, 4]], centres[[1, 5, 9]]]).view(2, 3, 1, 1).expand(2, 3, 28, 28)
    from tests.gan_helpers import StubClassifier
    assert modes_of(stacks, StubClassifier()).tolist() == [314, 159]
    one = mode_coverage(torch.full((26_000,), 7))
    assert one["modes"] == 1 and one["kl"] == pytest.approx(math.log(1000))
    every = mode_coverage(torch.arange(26_000) % 1000)
    assert every["modes"] == 1000 and every["kl"] == pytest.approx(0.0, abs=1e-12)


def test_three_channel_and_packed_dcgan():
    from dcgan.model import Discriminator as DCDiscriminator
    from dcgan.model import Generator as DCGenerator
    G, D = DCGenerator(100, 8, channels=3), DCDiscriminator(8, channels=3, pack=2)
    x = G(torch.randn(6, 100))
    assert x.shape == (6, 3, 28, 28) and D(x).shape == (3, 1) and D.conv1.in_channels == 6


def test_curves_give_a_method_one_colour_in_every_panel(tmp_path, monkeypatch):
    """A method without runs on one mixture must not shift the colours of the methods after it there."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mode_collapse import figures

    def record(method, dataset):
        return {"method": method, "dataset": dataset, "curve": [{"step": 0, "modes": 0, "high_quality": 0.0},
                                                                {"step": 10, "modes": 1, "high_quality": 0.5}]}
    records = [record("gan", "ring"), record("madgan", "ring"), record("pac2", "ring"),
               record("gan", "grid"), record("pac2", "grid")]
    seen = {}
    real_close = plt.close

    def keep(fig=None):
        seen["fig"] = fig
    monkeypatch.setattr(plt, "close", keep)
    figures.plot_curves(records, str(tmp_path / "curves.png"), ["gan", "madgan", "pac2"])
    fig = seen["fig"]
    colour = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_label().startswith("_"):
                continue
            colour.setdefault(line.get_label(), set()).add(line.get_color())
    real_close(fig)
    assert set(colour) == {figures.LABELS[m] for m in ("gan", "madgan", "pac2")}
    assert all(len(c) == 1 for c in colour.values()), colour
    assert len({next(iter(c)) for c in colour.values()}) == 3
    assert (tmp_path / "curves.png").exists()
