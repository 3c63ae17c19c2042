"""Part 2: the shared GAN training loop (part2_gan/trainer.py): steps, exact resume, divergence,
checkpoints and exports, the moving average of G, periodic evaluation, learning-rate decay."""
import copy
import json
import os

import pytest
import torch

from common.cli import UsageError
from part2_gan.checkpoints import export_generator, load_generator, spec
from part2_gan.data import InMemoryBatches
from part2_gan.model import Discriminator, Generator
from part2_gan.objectives import NonSaturatingGAN
from part2_gan.trainer import Diverged, GANTrainer, recalibrate_batchnorm


def _trainer(tmp_path, data=None, epochs=2, objective=None, seed=0, **options):
    """A small GAN on random images (4 batches of 64 per epoch by default); options go to GANTrainer."""
    torch.manual_seed(seed)
    G, D = Generator(16), Discriminator()
    images = data if data is not None else torch.rand(256, 1, 28, 28) * 2 - 1
    return GANTrainer(G, D, objective or NonSaturatingGAN(),
                      torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999)),
                      torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999)),
                      InMemoryBatches(images, 64), epochs, str(tmp_path), 16,
                      meta={"generator_spec": spec(Generator, latent_dim=16), "discriminator_spec": spec(Discriminator)},
                      quiet=True, **options)


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


def _ema_trainer(tmp_path, data, epochs, seed=0, evaluator=None, eval_every=None):
    return _trainer(tmp_path, data, epochs=epochs, seed=seed, ema_decay=0.9, evaluator=evaluator, eval_every=eval_every)


def test_moving_average_of_the_generator(tmp_path):
    t = _ema_trainer(tmp_path, torch.rand(128, 1, 28, 28) * 2 - 1, epochs=1)
    avg_before = _params(t.G_ema)
    _, _, fake = t.discriminator_step(torch.rand(64, 1, 28, 28) * 2 - 1, keep_fake=True)
    t.generator_step(fake)
    for avg0, avg1, p in zip(avg_before, t.G_ema.parameters(), t.G.parameters()):
        assert torch.allclose(avg1, 0.9 * avg0 + 0.1 * p.detach(), atol=1e-7)
    assert not t.ema_calibrated, "the average's BatchNorm statistics are stale after an update"
    expected = recalibrate_batchnorm(copy.deepcopy(t.G_ema), 16)
    assert t.generator is t.G_ema and t.ema_calibrated
    for a, b in zip(t.G_ema.buffers(), expected.buffers()):
        assert torch.equal(a, b), "used, the average gets statistics of its own weights"
    assert not any(p.requires_grad for p in t.G_ema.parameters())


def test_recalibrated_batchnorm_matches_the_statistics_of_the_weights():
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


def test_linear_learning_rate_decay_and_its_resume(tmp_path):
    data = torch.rand(256, 1, 28, 28) * 2 - 1  # 4 steps per epoch, 8 in all

    def trainer(folder, epochs):
        return _trainer(folder, data, epochs=epochs, lr_decay=True)
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
