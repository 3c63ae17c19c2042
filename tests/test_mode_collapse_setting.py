"""Issue 12 on the 2D mixtures: the papers' setting, equal budgets, PacGAN, the tuning on seeds not reported."""
import dataclasses
import json
import math

import pytest
import torch
from torch import nn

from common.cli import run_main
from mode_collapse import bench, sweep_2d, train_2d, tune_2d
from mode_collapse.mixtures import MixtureBatches, mixture
from mode_collapse.models import Maxout, MultiGenerator, init_normal_

TINY = {"g_hidden": 8, "d_hidden": 8, "latent_dim": 2}


def built(method, dataset="ring", setting="paper", **overrides):
    """(config, G, D) of a method, as a run builds them."""
    config = train_2d.method_config(method, dataset, setting, **overrides)
    G, D, *_ = train_2d.build(config, MixtureBatches(mixture(dataset, **config.mixture), config.batch_size), "cpu")
    return config, G, D


# ----------------------------------------------------------------------------- the papers' setting
def test_the_papers_networks_have_the_stated_layers():
    config, G, D = built("gan")
    assert (config.latent_dim, config.batch_size, config.optimizer) == (2, 100, "adam")
    assert (config.lr, config.lr_g) == (1e-4, 1e-4)
    assert config.betas == [0.8, 0.999]  # PacGAN's Adam
    linears = [m for m in G.modules() if isinstance(m, nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(2, 400)] + [(400, 400)] * 3 + [(400, 2)]
    assert [l.bias is None for l in linears] == [True] * 4 + [False]  # BatchNorm follows the hidden ones
    assert [m.num_features for m in G.modules() if isinstance(m, nn.BatchNorm1d)] == [400] * 4
    assert sum(isinstance(m, nn.ReLU) for m in G.modules()) == 4 and G.scale == 1.0
    maxouts = [m for m in D.modules() if isinstance(m, Maxout)]
    assert [(m.linear.in_features, m.linear.out_features, m.pieces) for m in maxouts] == [(2, 1000, 5), (200, 1000, 5),
                                                                                         (200, 1000, 5)]
    last = [m for m in D.net if isinstance(m, nn.Linear)][-1]
    assert (last.in_features, last.out_features) == (200, 1) and D.scale == 1.0
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.ReLU)) for m in D.modules())


def test_the_papers_initialisation_and_mixtures():
    _, G, D = built("gan")
    w = torch.cat([m.weight.flatten() for m in G.modules() if isinstance(m, nn.Linear)])
    assert abs(w.std().item() - 0.02) < 0.001
    assert all(m.bias is None or not m.bias.any() for m in D.modules() if isinstance(m, nn.Linear))
    ring = mixture("ring", **train_2d.method_config("gan", "ring", "paper").mixture)
    assert torch.allclose(ring.means.norm(dim=1), torch.ones(8)) and ring.std == 0.01  # PacGAN's code
    grid = mixture("grid", **train_2d.method_config("gan", "grid", "paper").mixture)
    assert grid.std == 0.05 and grid.means.abs().max() == 4
    # ours is untouched: PyTorch's initialisation, data-scaled networks, radius 2
    ours = train_2d.method_config("gan", "ring")
    assert (ours.setting, ours.latent_dim, ours.init_std, ours.scaled, ours.mixture) == ("ours", 32, None, True, {})


def test_init_normal_draws_weights_and_zeroes_biases():
    net = init_normal_(nn.Sequential(nn.Linear(50, 400), nn.BatchNorm1d(400), nn.Linear(400, 300)), 0.02)
    assert abs(net[2].weight.std().item() - 0.02) < 0.001 and not net[0].bias.any()
    assert torch.equal(net[1].weight, torch.ones(400))


# ----------------------------------------------------------------------------- equal budgets
@pytest.mark.parametrize("setting", list(train_2d.SETTINGS))
def test_every_method_gets_the_same_budget(setting):
    for dataset in train_2d.DATASETS:
        budgets = {m: (c.steps, c.batch_size, c.lr_decay, c.latent_dim, c.g_hidden, c.d_hidden)
                   for m in train_2d.METHODS for c in [train_2d.method_config(m, dataset, setting)]}
        assert len(set(budgets.values())) == 1, budgets
        assert next(iter(budgets.values()))[1] % 4 == 0, "PacGAN with m = 4 packs the batch"
    for entry in train_2d.METHODS.values():  # no budget hides in the methods' table
        assert not {"steps", "batch_size", "lr_decay", "ring", "grid"} & set(entry)


def test_an_unrolled_run_records_its_wall_clock_and_setting(tmp_path):
    config = train_2d.method_config("unrolled5", "ring", "paper", steps=2, **TINY)
    record = train_2d.train_2d(config, 0, str(tmp_path), snapshots=1)
    assert record["seconds"] > 0 and record["generator_steps"] == 2 and record["setting"] == "paper"


@pytest.mark.parametrize("method", list(train_2d.METHODS))
def test_every_method_trains_in_the_papers_setting(tmp_path, method):
    config = train_2d.method_config(method, "grid", "paper", steps=2, **TINY)
    record = train_2d.train_2d(config, 0, str(tmp_path), snapshots=2)
    assert record["generator_steps"] == 2 and record["discriminator_steps"] == 2 * config.n_critic
    assert len(record["mode_histogram"]) == 25 and record["config"]["setting"] == "paper"


# ----------------------------------------------------------------------------- PacGAN
@pytest.mark.parametrize("m", [2, 4])
def test_pacgan_feeds_m_samples_to_each_logit(m):
    config, _, D = built(f"pac{m}")
    assert config.pack == m and config.objective == "gan"
    assert D.net[0].linear.in_features == 2 * m  # the first maxout layer sees m points
    x = torch.randn(config.batch_size, 2)
    logits = D(x)
    assert logits.shape == (config.batch_size // m, 1)
    y = x.clone()
    y[m * 3 + m - 1] += 1.0  # a point of pack 3 moves: its logit alone changes
    changed = (D(y) - logits).abs().view(-1) > 0
    assert changed.tolist() == [i == 3 for i in range(config.batch_size // m)]


def test_pacgan_is_the_gan_with_a_packed_discriminator():
    for setting in train_2d.SETTINGS:
        for dataset in train_2d.DATASETS:
            gan = dataclasses.asdict(train_2d.method_config("gan", dataset, setting))
            for m in (2, 4):
                pac = dataclasses.asdict(train_2d.method_config(f"pac{m}", dataset, setting))
                assert {k: v for k, v in pac.items() if k not in ("method", "pack")} == \
                       {k: v for k, v in gan.items() if k not in ("method", "pack")}


# ----------------------------------------------------------------------------- MAD-GAN with BatchNorm
def test_each_madgan_generator_normalises_its_own_rows():
    G = MultiGenerator(k=3, latent_dim=2, hidden=6, layers=2, batch_norm=True)
    z = torch.randn(12, 2)
    out = G(z)
    z2 = z.clone()
    z2[4:] = torch.randn(8, 2)  # generators 1 and 2 get other noise
    assert torch.equal(G(z2)[:4], out[:4]), "generator 0's batch statistics are its own rows'"
    with pytest.raises(ValueError, match="multiple of 3"):
        G(torch.randn(10, 2))
    G.eval()
    for j, rows in enumerate(torch.split(torch.randn(10, 2), [4, 3, 3])):  # eval: any split, running statistics
        start = sum([4, 3, 3][:j])
        full = G(torch.cat([torch.zeros(start, 2), rows, torch.zeros(10 - start - len(rows), 2)]))
        assert torch.allclose(full[start:start + len(rows)], G.single(j, rows), atol=1e-5)


def test_madgan_batch_must_split_evenly_with_batch_norm():
    assert train_2d.method_config("madgan", "grid", "paper").generators == 25
    with pytest.raises(ValueError, match="split evenly"):
        train_2d.method_config("madgan", "grid", "paper", batch_size=96)


# ----------------------------------------------------------------------------- tuning
def trial(method, lr, seed, modes, hq, steps=10):
    return {"setting": "paper", "method": method, "dataset": "ring", "lr": lr, "lr_g": lr, "factor": lr / 1e-4,
            "seed": seed, "modes": modes, "high_quality": hq, "config": {"steps": steps, "batch_size": 100}}


def test_choose_takes_the_most_modes_then_quality_and_needs_every_seed():
    trials = [trial("gan", 1e-4, s, 5, 0.9) for s in (100, 101, 102)]
    trials += [trial("gan", 3e-4, s, m, 0.5) for s, m in ((100, 8), (101, 8), (102, 2))]  # mean 6: the best
    trials += [trial("gan", 1e-3, s, 8, 0.99) for s in (100, 101)]  # better, but a seed is missing
    trials += [trial("pac2", 1e-4, s, 8, 0.7) for s in (100, 101, 102)]
    trials += [trial("pac2", 3e-4, s, 8, 0.8) for s in (100, 101, 102)]  # same modes, more quality
    chosen = tune_2d.choose(trials, [100, 101, 102])["paper"]["ring"]
    assert (chosen["gan"]["lr"], chosen["gan"]["modes"]) == (3e-4, 6.0)
    assert len(chosen["gan"]["candidates"]) == 2 and chosen["gan"]["steps"] == 10
    assert chosen["pac2"]["lr"] == 3e-4 and chosen["pac2"]["high_quality"] == pytest.approx(0.8)


def test_the_unrolled_gan_with_k_10_takes_k_5s_rates_unless_tuned_itself():
    trials = [trial("unrolled5", 3e-4, s, 7, 0.5) for s in (100, 101, 102)]
    chosen = tune_2d.choose(trials, [100, 101, 102])["paper"]["ring"]
    assert (chosen["unrolled10"]["lr"], chosen["unrolled10"]["rates_of"]) == (3e-4, "unrolled5")
    assert chosen["unrolled10"]["candidates"] == [] and chosen["unrolled10"]["steps"] == 10
    own = tune_2d.choose(trials + [trial("unrolled10", 1e-4, s, 8, 0.5) for s in (100, 101, 102)],
                         [100, 101, 102])["paper"]["ring"]["unrolled10"]
    assert own["lr"] == 1e-4 and "rates_of" not in own
    assert "unrolled10" not in tune_2d.build_parser().parse_args([]).methods


def test_tuning_then_sweep_with_the_tuned_rates(tmp_path, monkeypatch):
    common = ["--setting", "ours", "--methods", "gan", "--datasets", "ring", "--steps", "4", "--snapshots", "2",
              "--threads", "1"]
    committed = tmp_path / "committed_tuning.json"
    monkeypatch.setattr(tune_2d, "COMMITTED", str(committed))
    summary = tune_2d.main(common + ["--seeds", "100", "101", "--factors", "1", "3", "--out", str(tmp_path / "tune"),
                                     "--publish"])
    assert len(summary["trials"]) == 4 and {t["seed"] for t in summary["trials"]} == {100, 101}
    assert {t["factor"] for t in summary["trials"]} == {1.0, 3.0}
    chosen = summary["chosen"]["ours"]["ring"]["gan"]
    assert json.loads(committed.read_text())["chosen"]["ours"]["ring"]["gan"]["lr"] == chosen["lr"]
    again = tune_2d.main(common + ["--seeds", "100", "101", "--factors", "1", "3", "--out", str(tmp_path / "tune")])
    assert again["trials"] == summary["trials"], "a rerun finds every trial done"
    tuning = str(tmp_path / "tune" / "mode_collapse_2d_tuning.json")
    records = sweep_2d.main(common + ["--seeds", "0", "--tuning", tuning, "--out", str(tmp_path / "sweep")])
    assert (records[0]["config"]["lr"], records[0]["config"]["lr_g"]) == (chosen["lr"], chosen["lr_g"])
    assert records[0]["seed"] == 0 and records[0]["generator_steps"] == 4
    with pytest.raises(ValueError, match="tuned at 4"):  # rates tuned for another budget are refused
        sweep_2d.main([a if a != "4" else "6" for a in common] + ["--tuning", tuning, "--out", str(tmp_path / "s2")])
    with pytest.raises(ValueError, match="no tuned rates of the paper setting"):
        sweep_2d.main(["--setting", "paper", "--methods", "gan", "--tuning", tuning, "--out", str(tmp_path / "s3")])


def test_sweep_publish_keys_records_by_setting(tmp_path, monkeypatch):
    committed = tmp_path / "committed.json"
    ours = {"method": "gan", "dataset": "ring", "seed": 0, "modes": 3, "curve": []}  # a record from before settings
    committed.write_text(json.dumps([ours]))
    monkeypatch.setattr(sweep_2d, "COMMITTED_JSON", str(committed))
    monkeypatch.setattr(sweep_2d, "FIGURES", str(tmp_path / "figures"))
    sweep_2d.main(["--setting", "paper", "--quick", "--methods", "gan", "--datasets", "ring", "--out",
                   str(tmp_path / "runs"), "--publish", "--threads", "1"])
    published = json.loads(committed.read_text())
    assert [(sweep_2d.setting_of(r), r["method"], r["modes"]) for r in published][0] == ("ours", "gan", 3)
    assert [sweep_2d.setting_of(r) for r in published] == ["ours", "paper"]
    assert (tmp_path / "figures" / "mode_collapse_paper_ring.png").exists()
    assert not (tmp_path / "figures" / "mode_collapse_ring.png").exists(), "ours' figures are left alone"


@pytest.mark.slow
def test_two_jobs_give_the_records_of_one(tmp_path):
    configs = [train_2d.method_config(m, "ring", steps=4, **TINY) for m in ("gan", "pac2")]
    tasks = [(c, 0, str(tmp_path / f"{j}_{c.method}"), "cpu", 2) for j in ("a", "b") for c in configs]
    serial = sweep_2d.run_many(tasks[:2], jobs=1, threads=1)
    parallel = sweep_2d.run_many(tasks[2:], jobs=2)
    strip = lambda r: {k: v for k, v in r.items() if k not in ("seconds", "hardware")}  # noqa: E731
    assert [strip(r) for r in serial] == [strip(r) for r in parallel]


# ----------------------------------------------------------------------------- command lines
@pytest.mark.parametrize("main, args, fragment", [
    (tune_2d.main, ["--setting", "vegan"], "--setting"),
    (sweep_2d.main, ["--methods", "pac3"], "--methods"),
    (sweep_2d.main, ["--setting", "paper", "--tuning", "{tmp}/none.json"], "cannot read --tuning"),
    (tune_2d.main, ["--out", "{tmp}/t", "--methods", "madgan", "--setting", "paper", "--steps", "3",
                    "--snapshots", "2"], "not a multiple of --snapshots"),
    (bench.main, ["--stacked", "--methods", "gan", "--out", "{tmp}/b"], "unknown Stacked MNIST methods gan"),
])
def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys, main, args, fragment):
    with pytest.raises(SystemExit) as exit_info:
        run_main(main, [a.replace("{tmp}", str(tmp_path)) for a in args])
    assert exit_info.value.code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and fragment in err[0], err


def test_bench_times_every_method_and_estimates_the_sweep(tmp_path):
    result = bench.main(["--setting", "ours", "--methods", "gan", "pac4", "--datasets", "ring", "--rounds", "1",
                         "--calls", "1", "--warmup", "0", "--device", "cpu", "--out", str(tmp_path / "b")])
    rows = result["datasets"]["ring"]
    assert set(rows) == {"gan", "pac4"} and all(r["seconds_per_step"] > 0 for r in rows.values())
    per_run = sum(r["seconds_per_run"] for r in rows.values())
    assert result["estimate"]["sweep_seconds"] == pytest.approx(per_run * 5 / 2, abs=1)
    assert math.isfinite(result["estimate"]["tuning_seconds"])
