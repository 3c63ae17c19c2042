"""Mode collapse: the 2D mixtures and their metrics, the objectives, the scripts."""
import copy
import dataclasses
import json
import math
import os

import pytest
import torch

from common.cli import UsageError
from gan.objectives import MADGAN, WGANGP, UnrolledGAN, WGANClip, generator_labels, gradient_penalty, split_sizes
from mode_collapse import sweep_2d, train_2d, wgan_gp_mnist
from mode_collapse.metrics import capture_threshold, generator_modes, mode_metrics
from mode_collapse.mixtures import MixtureBatches, grid, ring
from mode_collapse.models import Discriminator2D, Generator2D, MultiGenerator
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


# ----------------------------------------------------------------------------- objectives
def _linear_critic(w, b=0.5):
    D = torch.nn.Linear(len(w), 1)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([w]))
        D.bias.fill_(b)
    return D


def test_gradient_penalty_of_a_linear_critic():
    # D(x) = w.x + b has gradient w everywhere: the penalty is lambda (||w|| - 1)^2 whatever eps is
    D = _linear_critic([3.0, 4.0])
    real, fake = torch.randn(16, 2), torch.randn(16, 2)
    assert gradient_penalty(D, real, fake, weight=10.0).item() == pytest.approx(10 * (5 - 1) ** 2)
    assert gradient_penalty(D, real, fake, 2.0, eps=torch.zeros(16)).item() == pytest.approx(2 * 16)
    D1 = _linear_critic([0.6, 0.8])  # unit norm: no penalty
    assert gradient_penalty(D1, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_reaches_the_critic_weights():
    D = _linear_critic([3.0, 4.0])
    gradient_penalty(D, torch.randn(8, 2), torch.randn(8, 2)).backward()
    # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    assert torch.allclose(D.weight.grad, torch.tensor([[20 * 4 * 0.6, 20 * 4 * 0.8]]))


def test_wgan_gp_loss_is_critic_gap_plus_penalty():
    D = _linear_critic([3.0, 4.0], b=0.0)
    real, fake = torch.ones(4, 2), torch.zeros(4, 2)
    loss, stats = WGANGP(penalty=10.0).discriminator_loss(D, real, fake)
    assert loss.item() == pytest.approx(0.0 - 7.0 + 160.0)
    assert stats["d_real"] == pytest.approx(7.0) and stats["d_fake"] == pytest.approx(0.0)


def test_weight_clipping():
    D = Discriminator2D(hidden=16)
    with torch.no_grad():
        D.net[0].weight.mul_(100)
    WGANClip(clip=0.01).after_discriminator_step(D)
    assert all(p.abs().max() <= 0.01 for p in D.parameters())
    assert WGANClip().n_critic == 5 and WGANGP().n_critic == 5


def _unrolled_setup(optimizer):
    torch.manual_seed(0)
    G, D = Generator2D(latent_dim=4, hidden=16), Discriminator2D(hidden=16, scale=2.0)
    opt_D = (torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999)) if optimizer == "adam"
             else torch.optim.SGD(D.parameters(), lr=0.1))
    real = ring().sample(32)
    return G, D, opt_D, real


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_unrolled_loss_leaves_the_real_discriminator_unchanged(optimizer):
    G, D, opt_D, real = _unrolled_setup(optimizer)
    if optimizer == "adam":  # give the optimiser a state, which the unroll must read but not change
        fake = G(torch.randn(32, 4)).detach()
        loss, _ = UnrolledGAN(0, None, opt_D).discriminator_loss(D, real, fake)
        loss.backward()
        opt_D.step()
        opt_D.zero_grad(set_to_none=True)
    weights = copy.deepcopy(D.state_dict())
    opt_state = copy.deepcopy(opt_D.state_dict())
    objective = UnrolledGAN(5, lambda n: real, opt_D)
    fake = G(torch.randn(32, 4))
    loss, _ = objective.generator_loss(D, fake)
    loss.backward()
    assert all(torch.equal(weights[k], v) for k, v in D.state_dict().items())
    assert all(p.grad is None for p in D.parameters()), "the unroll writes no gradient into D"
    after = opt_D.state_dict()
    for key, state in opt_state["state"].items():
        assert all(torch.equal(state[n], after["state"][key][n]) for n in state)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_one_unrolled_step_is_the_optimiser_step(optimizer):
    # theta_1 of the unroll equals what opt_D.step() makes of a copy of D on the same batches
    G, D, opt_D, real = _unrolled_setup(optimizer)
    fake = G(torch.randn(32, 4))
    objective = UnrolledGAN(1, lambda n: real, opt_D)
    unrolled = objective.unrolled_parameters(D, fake)
    D_copy = copy.deepcopy(D)
    opt_copy = type(opt_D)(D_copy.parameters(), **{k: v for k, v in opt_D.defaults.items()
                                                  if k in ("lr", "betas", "eps")})
    loss, _ = objective.discriminator_loss(D_copy, real, fake.detach())
    loss.backward()
    opt_copy.step()
    for name, p in D_copy.named_parameters():
        assert torch.allclose(unrolled[name], p, atol=1e-6), name


def test_unrolling_changes_the_generator_gradient():
    G, D, opt_D, real = _unrolled_setup("adam")
    z = torch.randn(32, 4)
    grads = []
    for k in (0, 5):
        G.zero_grad()
        loss, _ = UnrolledGAN(k, lambda n: real, opt_D, "non_saturating").generator_loss(D, G(z))
        loss.backward()
        grads.append(torch.cat([p.grad.flatten() for p in G.parameters()]))
    assert not torch.allclose(grads[0], grads[1], atol=1e-6)


def _tiny_linear_gan():
    """G(z) = A z + c and D(x) = w.x + b in float64 (Generator2D / Discriminator2D without hidden layers)."""
    torch.manual_seed(3)
    G = Generator2D(latent_dim=3, layers=0).double()
    D = Discriminator2D(layers=0).double()
    return G, D, torch.randn(16, 3, dtype=torch.float64), 0.5 + torch.randn(16, 2, dtype=torch.float64)


def test_unrolled_generator_gradient_matches_a_hand_written_unroll():
    # For a linear D and plain SGD the unroll can be written out: with s = sigmoid,
    # dL_D/dw = -mean (1 - s(D(x))) x + mean s(D(G(z))) G(z), dL_D/db likewise without x,
    # theta_{k+1} = theta_k - lr dL_D/dtheta, and G minimises -mean log s(D_K(G(z))).
    G, D, z, real = _tiny_linear_gan()
    lr, K = 0.3, 3
    opt_D = torch.optim.SGD(D.parameters(), lr=lr)
    loss, _ = UnrolledGAN(K, lambda n: real, opt_D).generator_loss(D, G(z))
    ours = torch.autograd.grad(loss, list(G.parameters()))

    fake = G(z)
    w, b = D.net[0].weight.detach()[0], D.net[0].bias.detach()[0]
    for _ in range(K):
        s_real, s_fake = torch.sigmoid(real @ w + b), torch.sigmoid(fake @ w + b)
        grad_w = -((1 - s_real)[:, None] * real).mean(0) + (s_fake[:, None] * fake).mean(0)
        grad_b = -(1 - s_real).mean() + s_fake.mean()
        w, b = w - lr * grad_w, b - lr * grad_b
    by_hand = torch.autograd.grad(-torch.log(torch.sigmoid(fake @ w + b)).mean(), list(G.parameters()))
    for a, b_ in zip(ours, by_hand):
        assert torch.allclose(a, b_, atol=1e-12, rtol=1e-9)
    plain = torch.autograd.grad(UnrolledGAN(0, lambda n: real, opt_D).generator_loss(D, G(z))[0], list(G.parameters()))
    assert not torch.allclose(ours[0], plain[0], atol=1e-6), "the look-ahead changes the gradient"


def test_unrolled_generator_gradient_through_adam_matches_finite_differences():
    G, D, z, real = _tiny_linear_gan()
    opt_D = torch.optim.Adam(D.parameters(), lr=0.05, betas=(0.5, 0.999))
    objective = UnrolledGAN(2, lambda n: real, opt_D)
    names = [n for n, _ in G.named_parameters()]

    def unrolled_loss(*params):
        fake = torch.func.functional_call(G, dict(zip(names, params)), (z,))
        return objective.generator_loss(D, fake)[0]
    params = tuple(p.detach().clone().requires_grad_() for p in G.parameters())
    assert torch.autograd.gradcheck(unrolled_loss, params, eps=1e-6, atol=1e-7)


def test_madgan_targets_name_the_generator():
    assert split_sizes(10, 3) == [4, 3, 3]
    assert generator_labels(10, 3).tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    objective = MADGAN(k=3)
    assert objective.fake_targets(10).tolist() == generator_labels(10, 3).tolist()
    assert objective.real_targets(4).tolist() == [3, 3, 3, 3]


@pytest.mark.parametrize("n", [12, 10])
def test_madgan_rows_come_from_the_generator_their_label_names(n):
    # generator j outputs the constant point (j, -j): the label of every row must be j
    G = MultiGenerator(k=3, latent_dim=4, hidden=8)
    with torch.no_grad():
        G.layers[-1].weight.zero_()
        G.layers[-1].bias.copy_(torch.tensor([[[0.0, 0.0]], [[1.0, -1.0]], [[2.0, -2.0]]]))
    out = G(torch.randn(n, 4))
    labels = MADGAN(3).fake_targets(n)
    assert torch.equal(out[:, 0], labels.float()) and torch.equal(out[:, 1], -labels.float())


def test_multigenerator_chunks_equal_the_single_generators():
    G = MultiGenerator(k=4, latent_dim=6, hidden=8)
    z = torch.randn(11, 6)
    out = G(z)
    start = 0
    for j, size in enumerate(split_sizes(11, 4)):
        assert torch.allclose(out[start:start + size], G.single(j, z[start:start + size]), atol=1e-6)
        start += size


def test_madgan_discriminator_loss_is_the_cross_entropy_of_the_maker():
    torch.manual_seed(1)
    D = Discriminator2D(hidden=8, outputs=4)
    real, fake = torch.randn(5, 2), torch.randn(6, 2)
    loss, _ = MADGAN(3).discriminator_loss(D, real, fake)
    expected = (-torch.log_softmax(D(real), 1)[:, 3].mean()
                - torch.log_softmax(D(fake), 1)[torch.arange(6), torch.tensor([0, 0, 1, 1, 2, 2])].mean())
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    g_loss, _ = MADGAN(3).generator_loss(D, fake)
    assert g_loss.item() == pytest.approx(-torch.log_softmax(D(fake), 1)[:, 3].mean().item(), rel=1e-6)


# ----------------------------------------------------------------------------- scripts
def test_every_method_trains_in_the_shared_loop(tmp_path):
    for method in train_2d.METHODS:
        config = train_2d.method_config(method, steps=4, batch_size=32, latent_dim=8, g_hidden=16, d_hidden=16)
        record = train_2d.train_2d(config, 0, str(tmp_path / method), snapshots=2)
        assert record["generator_steps"] == 4
        assert record["discriminator_steps"] == 4 * config.n_critic
        assert [p["step"] for p in record["curve"]] == [0, 2, 4]
        assert (tmp_path / method / "checkpoint.pt").exists() and (tmp_path / method / "snapshots.pt").exists()


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


def test_dataset_entries_override_a_method_on_that_dataset_only():
    ring_cfg, grid_cfg = train_2d.method_config("madgan", "ring"), train_2d.method_config("madgan", "grid")
    assert grid_cfg.batch_size == train_2d.METHODS["madgan"]["grid"]["batch_size"]
    assert ring_cfg.batch_size == train_2d.DATASETS["ring"]["batch_size"]
    assert train_2d.method_config("madgan", "grid", steps=40).steps == 40  # overrides come last


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


def test_a_methods_generator_rate_for_a_dataset_wins_over_the_datasets():
    from mode_collapse.train_2d import DATASETS, METHODS, method_config
    assert method_config("madgan", "grid").lr_g == METHODS["madgan"]["grid"]["lr_g"]
    assert method_config("madgan", "ring").lr_g == DATASETS["ring"]["gan_lr_g"]
    assert method_config("gan", "grid").lr_g == DATASETS["grid"]["gan_lr_g"]
    assert method_config("madgan", "grid", lr_g=1e-3).lr_g == 1e-3  # an explicit override wins over both
