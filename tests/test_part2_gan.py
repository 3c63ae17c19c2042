"""Part 2: data, networks, the training loop, checkpoints and the scripts' errors."""
import json
import os

import pytest
import torch

from common.cli import UsageError
from part2_gan import interpolate, train
from part2_gan.checkpoints import export_generator, load_generator, spec
from part2_gan.data import InMemoryBatches, load_mnist, read_idx, to_unit_range
from part2_gan.model import Discriminator, Generator
from part2_gan.objectives import NonSaturatingGAN
from part2_gan.trainer import Diverged, GANTrainer
from tests.conftest import SHARED_MNIST, assert_one_line_error, run_script
from tests.gan_helpers import StubClassifier, make_fake_mnist, write_idx


def test_generator_shape_and_range():
    G = Generator(latent_dim=100)
    out = G(torch.randn(64, 100) * 10)  # large inputs saturate tanh, never exceed it
    assert out.shape == (64, 1, 28, 28)
    assert out.min() >= -1 and out.max() <= 1


def test_batch_norm_uses_default_eps_and_momentum():
    norms = [m for m in Generator().modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert [m.num_features for m in norms] == [256, 512, 1024]
    assert all(m.eps == 1e-5 and m.momentum == 0.1 for m in norms)


def test_discriminator_returns_logits():
    D = Discriminator()
    assert isinstance(D.net[-1], torch.nn.Linear), "no sigmoid at the end"
    with torch.no_grad():
        D.net[-1].bias.fill_(5.0)
    out = D(torch.rand(8, 1, 28, 28) * 2 - 1)
    assert out.shape == (8, 1) and (out > 1).all(), "a logit, not a probability"


def _trainer(tmp_path, data=None, epochs=2, objective=None, seed=0):
    torch.manual_seed(seed)
    G, D = Generator(16), Discriminator()
    images = data if data is not None else torch.rand(256, 1, 28, 28) * 2 - 1
    return GANTrainer(G, D, objective or NonSaturatingGAN(),
                      torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999)),
                      torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999)),
                      InMemoryBatches(images, 64), epochs, str(tmp_path), 16,
                      meta={"generator_spec": spec(Generator, latent_dim=16), "discriminator_spec": spec(Discriminator)},
                      quiet=True)


def _weights(module):
    return [p.detach().clone() for p in module.state_dict().values()]


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a, b))


def test_d_step_leaves_g_unchanged_and_g_step_leaves_d_unchanged(tmp_path):
    t = _trainer(tmp_path)
    g0, d0 = _params(t.G), _params(t.D)
    _, _, fake = t.discriminator_step(torch.rand(64, 1, 28, 28) * 2 - 1, keep_fake=True)
    assert _same(g0, _params(t.G)), "a D step leaves G's weights unchanged"
    assert not _same(d0, _params(t.D)), "a D step changes D"
    d1 = _params(t.D)
    t.generator_step(fake)
    assert _same(d1, _params(t.D)), "a G step leaves D's weights unchanged"
    assert not _same(g0, _params(t.G)), "a G step changes G"
    assert all(p.requires_grad for p in t.D.parameters()), "D is trainable again after G's step"


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    data = torch.rand(256, 1, 28, 28) * 2 - 1
    straight = _trainer(tmp_path / "a", data, epochs=3)
    straight.fit()
    first = _trainer(tmp_path / "b", data, epochs=1)
    first.fit()
    # A new process would start from scratch: different random state, then resume.
    torch.manual_seed(12345)
    resumed = _trainer(tmp_path / "b", data, epochs=3, seed=999).resume()
    assert resumed.epoch == 1
    resumed.fit()
    for a, b in zip(_weights(straight.G) + _weights(straight.D), _weights(resumed.G) + _weights(resumed.D)):
        assert torch.equal(a, b)
    assert straight.history["g_loss"] == resumed.history["g_loss"]


class _NaNAfter(NonSaturatingGAN):
    def __init__(self, after):
        super().__init__()
        self.calls, self.after = 0, after

    def discriminator_loss(self, D, real, fake):
        loss, stats = super().discriminator_loss(D, real, fake)
        self.calls += 1
        return (loss * float("nan") if self.calls > self.after else loss), stats


def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(tmp_path):
    t = _trainer(tmp_path, epochs=3, objective=_NaNAfter(after=6))  # 4 steps per epoch: fails in epoch 2
    with pytest.raises(Diverged, match="discriminator loss became nan in epoch 2.*epoch 1"):
        t.fit()
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["generator"].values() if v.is_floating_point())
    assert os.path.exists(tmp_path / "history.json")


def test_snapshots_and_history_files(tmp_path):
    root = make_fake_mnist(str(tmp_path / "data"), n=256)
    metrics = train.main(["--data-dir", root, "--epochs", "2", "--no_eval", "--quiet", "--latent_dim", "8",
                          "--out", str(tmp_path / "run"), "--device", "cpu"])
    run = tmp_path / "run"
    for name in ("samples_start.png", "samples_halfway.png", "samples_end.png", "losses.png", "checkpoint.pt"):
        assert (run / name).stat().st_size > 0, name
    history = json.loads((run / "history.json").read_text())
    assert set(history) == {"step", "epoch", "d_loss", "g_loss", "d_real", "d_fake"}
    assert len(history["step"]) == 8 and all(0 < v < 1 for v in history["d_real"] + history["d_fake"])
    assert metrics["split"] == "train" and metrics["epochs"] == 2
    assert json.loads((run / "metrics.json").read_text())["train_images"] == 256
    # --resume with more epochs continues where it stopped.
    more = train.main(["--data-dir", root, "--epochs", "3", "--no_eval", "--quiet", "--latent_dim", "8",
                       "--out", str(run), "--device", "cpu", "--resume"])
    assert more["epochs"] == 3 and more["generator_steps"] == 12


def test_interpolation_endpoints_and_length():
    za, zb = torch.randn(100), torch.randn(100)
    for spherical in (False, True):
        path = interpolate.interpolate(za, zb, steps=7, spherical=spherical)
        assert path.shape == (9, 100)
        assert torch.allclose(path[0], za, atol=1e-5) and torch.allclose(path[-1], zb, atol=1e-5)
    lin = interpolate.interpolate(za, zb, steps=7)
    assert torch.allclose(lin[4], (za + zb) / 2, atol=1e-6)
    # slerp between vectors of equal norm keeps the norm
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    assert all(abs(interpolate.slerp(a, b, t).norm().item() - 1) < 1e-6 for t in torch.linspace(0, 1, 5))


class _BrightnessGenerator(torch.nn.Module):
    """z[0] sets the brightness of a flat image: a generator whose classes are known."""
    latent_dim = 4

    def forward(self, z):
        return torch.tanh(z[:, :1]).view(-1, 1, 1, 1).expand(-1, 1, 28, 28)


def test_interpolation_row_goes_between_the_chosen_classes():
    G, clf = _BrightnessGenerator(), StubClassifier()
    images, labels, confs = interpolate.interpolation_row(G, clf, 1, 8, steps=7, candidates=500)
    assert images.shape == (9, 1, 28, 28)
    assert labels[0] == 1 and labels[-1] == 8 and len(confs) == 9
    z_a, z_b = interpolate.find_endpoints(G, clf, 1, 8, candidates=500)
    assert torch.equal(images[0], G(z_a.unsqueeze(0))[0]) and torch.equal(images[-1], G(z_b.unsqueeze(0))[0])
    with pytest.raises(UsageError, match="choose two different digits"):
        interpolate.find_endpoints(G, clf, 3, 3)


def test_idx_reader_on_synthetic_files(tmp_path):
    data = torch.randint(0, 256, (5, 28, 28), dtype=torch.uint8).numpy()
    for gz in (False, True):
        path = tmp_path / ("x.gz" if gz else "x")
        write_idx(path, data, gz)
        assert (read_idx(path) == data).all() and read_idx(path).shape == (5, 28, 28)
    write_idx(tmp_path / "f", torch.randn(3, 4).numpy().astype("float32"))
    assert read_idx(tmp_path / "f").shape == (3, 4)
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x03" + b"\x00\x00\x00\x05" * 3 + b"\x01\x02")
    with pytest.raises(ValueError, match="header says"):
        read_idx(tmp_path / "short")


@pytest.mark.skipif(not os.path.isdir(SHARED_MNIST), reason="../shared/data is not present")
def test_idx_reader_on_the_real_test_split():
    images, labels = load_mnist("test", SHARED_MNIST, download=False)
    assert images.shape == (10_000, 28, 28) and images.dtype == torch.uint8
    assert torch.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert abs(images.float().mean().item() - 33.79) < 0.01
    x = to_unit_range(images[:10])
    assert x.shape == (10, 1, 28, 28) and x.min() >= -1 and x.max() <= 1


def test_missing_split_is_one_clear_error(tmp_path):
    with pytest.raises(UsageError, match="MNIST train split not found.*--data-dir"):
        load_mnist("train", str(tmp_path), download=False)


def test_export_loads_back_with_the_same_samples(tmp_path):
    t = _trainer(tmp_path, epochs=1)
    t.fit()
    export = export_generator(t.checkpoint_path, str(tmp_path / "g.pt"))
    assert os.path.getsize(export) < os.path.getsize(t.checkpoint_path) / 2
    G_full, _ = load_generator(t.checkpoint_path)
    G_half, state = load_generator(export)
    z = torch.randn(8, 16)
    with torch.no_grad():
        assert (G_full(z) - G_half(z)).abs().max() < 0.02  # float16 weights
    assert state["kind"] == "gan/generator" and state["epoch"] == 1


@pytest.mark.parametrize("script, args, fragment", [
    ("part2_gan/train.py", ["--batch_size", "0"], "--batch_size"),
    ("part2_gan/train.py", ["--lr", "-1"], "--lr"),
    ("part2_gan/train.py", ["--split", "valid"], "--split"),
    ("part2_gan/train.py", ["--data-dir", "{tmp}/empty", "--epochs", "1"], "MNIST train split not found"),
    ("part2_gan/train.py", ["--data-dir", "{tmp}/empty", "--resume"], "MNIST train split not found"),
    ("part2_gan/evaluate.py", ["--checkpoint", "{tmp}/nothing.pt"], "checkpoint not found"),
    ("part2_gan/evaluate.py", ["--checkpoint", "{tmp}/corrupt.pt"], "corrupt"),
    ("part2_gan/interpolate.py", ["--checkpoint", "{tmp}/corrupt.pt"], "corrupt"),
    ("part2_gan/interpolate.py", ["--checkpoint", "{tmp}/part1.pt"], "expected"),
    ("part2_gan/interpolate.py", ["--checkpoint", "x.pt", "--from", "11"], "--from"),
])
def test_bad_input_gives_one_line(tmp_path, script, args, fragment):
    (tmp_path / "corrupt.pt").write_bytes(b"\x80\x02garbage")
    torch.save({"kind": "part1_lstm/palindrome"}, tmp_path / "part1.pt")
    result = run_script(script, *[a.replace("{tmp}", str(tmp_path)) for a in args], "--out", tmp_path / "o")
    assert_one_line_error(result, fragment)


def _ema_trainer(tmp_path, data, epochs, seed=0, evaluator=None, eval_every=None):
    torch.manual_seed(seed)
    G, D = Generator(16), Discriminator()
    return GANTrainer(G, D, NonSaturatingGAN(), torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999)),
                      torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999)), InMemoryBatches(data, 64), epochs,
                      str(tmp_path), 16, quiet=True, ema_decay=0.9, evaluator=evaluator, eval_every=eval_every,
                      meta={"generator_spec": spec(Generator, latent_dim=16), "discriminator_spec": spec(Discriminator)})


def test_moving_average_of_the_generator(tmp_path):
    t = _ema_trainer(tmp_path, torch.rand(128, 1, 28, 28) * 2 - 1, epochs=1)
    avg_before = _params(t.G_ema)
    _, _, fake = t.discriminator_step(torch.rand(64, 1, 28, 28) * 2 - 1, keep_fake=True)
    t.generator_step(fake)
    for avg0, avg1, p in zip(avg_before, t.G_ema.parameters(), t.G.parameters()):
        assert torch.allclose(avg1, 0.9 * avg0 + 0.1 * p.detach(), atol=1e-7)
    assert not t.ema_calibrated, "the average's BatchNorm statistics are stale after an update"
    import copy
    from part2_gan.trainer import recalibrate_batchnorm
    expected = recalibrate_batchnorm(copy.deepcopy(t.G_ema), 16)
    assert t.generator is t.G_ema and t.ema_calibrated
    for a, b in zip(t.G_ema.buffers(), expected.buffers()):
        assert torch.equal(a, b), "used, the average gets statistics of its own weights"
    assert not any(p.requires_grad for p in t.G_ema.parameters())


def test_resume_with_moving_average_and_export(tmp_path):
    data = torch.rand(256, 1, 28, 28) * 2 - 1
    straight = _ema_trainer(tmp_path / "a", data, epochs=2)
    straight.fit()
    _ema_trainer(tmp_path / "b", data, epochs=1).fit()
    resumed = _ema_trainer(tmp_path / "b", data, epochs=2, seed=5).resume()
    resumed.fit()
    assert _same(_params(straight.G_ema), _params(resumed.G_ema))
    export = export_generator(straight.checkpoint_path, str(tmp_path / "g.pt"), half=False)
    G, state = load_generator(export)
    z = torch.randn(4, 16)
    with torch.no_grad():
        assert torch.equal(G(z), straight.G_ema.eval()(z)), "the export holds the averaged generator"
        assert not torch.equal(G(z), straight.G.eval()(z))
    plain = _trainer(tmp_path / "c", data, epochs=1)
    plain.fit()
    with pytest.raises(UsageError, match="moving average"):
        _ema_trainer(tmp_path / "c", data, epochs=2).resume()


def test_evaluator_runs_every_n_epochs_and_at_the_end(tmp_path):
    calls = []

    def evaluator(trainer):
        calls.append(trainer.epoch)
        return {"G": {"fid": float(trainer.epoch)}}
    t = _ema_trainer(tmp_path, torch.rand(128, 1, 28, 28) * 2 - 1, epochs=5, evaluator=evaluator, eval_every=2)
    t.fit()
    assert calls == [2, 4, 5]
    assert json.loads((tmp_path / "eval_history.json").read_text()) == [
        {"epoch": e, "G": {"fid": float(e)}} for e in (2, 4, 5)]


def test_one_sided_label_smoothing_loss():
    class Constant(torch.nn.Module):
        def forward(self, x):
            return x.new_full((x.shape[0], 1), 2.0)
    real, fake = torch.zeros(3, 1, 28, 28), torch.zeros(3, 1, 28, 28)
    loss, _ = NonSaturatingGAN(real_label=0.9).discriminator_loss(Constant(), real, fake)
    s = torch.sigmoid(torch.tensor(2.0))
    expected = -(0.9 * torch.log(s) + 0.1 * torch.log(1 - s)) - torch.log(1 - s)
    assert torch.allclose(loss, expected)


def test_recalibrated_batchnorm_matches_the_statistics_of_the_weights():
    from part2_gan.trainer import recalibrate_batchnorm
    G = Generator(16)
    norms = [m for m in G.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    for m in norms:
        m.running_mean.fill_(5.0)  # stale statistics, as copied from another network
    state = torch.get_rng_state()
    recalibrate_batchnorm(G, 16, samples=2048, batch_size=256)
    assert torch.equal(torch.get_rng_state(), state), "the global random state is untouched"
    assert all(m.momentum == 0.1 for m in norms) and G.training
    # The first BatchNorm's statistics are those of its inputs over the same 2048 noise vectors.
    gen = torch.Generator().manual_seed(0)
    z = torch.cat([torch.randn(256, 16, generator=gen) for _ in range(8)])
    with torch.no_grad():
        pre = G.net[2](G.net[1](G.net[0](z)))  # Linear -> LeakyReLU -> Linear, the input of the first BatchNorm
    assert torch.allclose(norms[0].running_mean, pre.mean(0), atol=1e-4)
    # BatchNorm's running variance is the average of the 8 batches' unbiased variances
    assert torch.allclose(norms[0].running_var, pre.view(8, 256, -1).var(1).mean(0), rtol=1e-4)


def test_translation_shifts_whole_pixels_and_is_differentiable():
    from part2_gan.augment import translate
    x = -torch.ones(64, 1, 28, 28)
    x[:, :, 10:18, 12:16] = 1.0  # an 8 x 4 bright block
    x.requires_grad_(True)
    out = translate(x, max_shift=2)
    assert out.shape == x.shape
    for img in out.detach():
        rows, cols = torch.where(img[0] > 0)
        assert len(rows) == 32, "nothing lost: the block stays inside"
        assert -2 <= rows.min().item() - 10 <= 2 and -2 <= cols.min().item() - 12 <= 2
        assert rows.max() - rows.min() == 7 and cols.max() - cols.min() == 3, "shifted, not deformed"
    out.sum().backward()
    # d(sum of output)/d(input pixel) is 1 where the pixel stays in view and 0 where shifted out
    assert set(x.grad.unique().tolist()) <= {0.0, 1.0}
    kept = x.grad.sum(dim=(1, 2, 3))
    assert (kept >= 26 * 26).all() and (kept <= 28 * 28).all()
    assert (x.grad[:, :, 10:18, 12:16] == 1).all(), "the block is always in view"


def test_cutout_blanks_a_square_and_policies():
    from part2_gan.augment import DiffAugment, cutout
    x = torch.ones(16, 1, 28, 28)
    out = cutout(x, size=8)
    blanked = (out == -1).sum(dim=(1, 2, 3))
    assert (blanked > 0).all() and (blanked <= 81).all()
    assert DiffAugment("translation,cutout")(x).shape == x.shape
    with pytest.raises(ValueError, match="unknown augmentation"):
        DiffAugment("rotate")


def test_augmentation_reaches_both_steps():
    seen = []

    class Recorder(torch.nn.Module):
        def forward(self, x):
            seen.append(x.detach().clone())
            return x.new_zeros(x.shape[0], 1)
    flip = lambda x: -x  # noqa: E731
    obj = NonSaturatingGAN(augment=flip)
    real, fake = torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    obj.discriminator_loss(Recorder(), real, fake)
    obj.generator_loss(Recorder(), fake)
    assert torch.equal(seen[0], -real) and torch.equal(seen[1], -fake) and torch.equal(seen[2], -fake)


def test_evaluate_writes_the_published_keys_with_the_training_config(tmp_path):
    from part2_gan import evaluate
    root = make_fake_mnist(str(tmp_path / "data"), n=128, split="test")
    run = tmp_path / "run"
    train.main(["--data-dir", root, "--split", "test", "--no_eval", "--quiet", "--epochs", "1", "--batch_size", "32",
                "--ema", "0.9", "--out", str(run), "--device", "cpu"])
    export = export_generator(str(run / "checkpoint.pt"), str(tmp_path / "g.pt"))
    result = evaluate.main(["--checkpoint", export, "--data-dir", root, "--n_samples", "128",
                            "--results", str(tmp_path / "r.json"), "--out", str(tmp_path / "e"), "--device", "cpu"])
    on_disk = json.loads((tmp_path / "r.json").read_text())
    assert on_disk == json.loads(json.dumps(result))
    assert set(on_disk) >= {"inception_score", "fid", "classes_covered", "kl_uniform", "split", "epochs", "real"}
    assert on_disk["split"] == "test" and on_disk["epochs"] == 1 and on_disk["n_samples"] == 128
    assert on_disk["config"]["ema"] == 0.9 and on_disk["config"]["batch_size"] == 32
    assert set(on_disk["real"]) >= {"inception_score", "fid", "classes_covered", "kl_uniform"}


def test_linear_learning_rate_decay_and_its_resume(tmp_path):
    data = torch.rand(256, 1, 28, 28) * 2 - 1  # 4 steps per epoch, 8 in all

    def trainer(folder, epochs):
        t = _trainer(folder, data, epochs=epochs)
        t.lr_decay = True
        return t
    straight = trainer(tmp_path / "a", 2)
    straight.fit()
    for opt in (straight.opt_G, straight.opt_D):
        assert opt.param_groups[0]["lr"] == pytest.approx(2e-4 * (1 - 7 / 8))  # the last of 8 steps

    class StopsInSecondEpoch:  # a real interruption: the schedule spans the 2 planned epochs
        def __init__(self, batches):
            self.batches, self.epochs = batches, 0

        def __len__(self):
            return len(self.batches)

        def __iter__(self):
            self.epochs += 1
            if self.epochs == 2:
                raise KeyboardInterrupt
            return iter(self.batches)
    interrupted = trainer(tmp_path / "b", 2)
    interrupted.data = StopsInSecondEpoch(interrupted.data)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit()
    resumed = trainer(tmp_path / "b", 2).resume()
    resumed.fit()
    assert _same(_params(straight.G), _params(resumed.G)) and _same(_params(straight.D), _params(resumed.D))
    plain = _trainer(tmp_path / "c", data, epochs=2)
    plain.fit()
    assert not _same(_params(plain.G), _params(straight.G))  # the decay changed training
