"""The shared GAN training loop (gan/trainer.py): steps, callbacks, exact resume at any step,
divergence, checkpoints and exports, the moving average of G and its evaluation, learning-rate decay."""
import copy
import os

import pytest
import torch

from common.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from common.runs import Diverged
from gan.checkpoints import export_generator, load_generator, spec
from gan.data import ImageBatches
from gan.objectives import NonSaturatingGAN
from gan.trainer import TRAINING_KIND, GANTrainer, recalibrate_batchnorm
from part2_gan.model import Discriminator, Generator

STEPS_PER_EPOCH = 4  # 256 random images in batches of 64


def _trainer(tmp_path, data=None, epochs=2, objective=None, seed=0, checkpoint_every=STEPS_PER_EPOCH, **options):
    """A small GAN on random images; options go to GANTrainer. Checkpoints to tmp_path every few steps."""
    torch.manual_seed(seed)
    G, D = Generator(16), Discriminator()
    images = data if data is not None else torch.rand(256, 1, 28, 28) * 2 - 1
    os.makedirs(tmp_path, exist_ok=True)
    t = GANTrainer(G, D, objective or NonSaturatingGAN(), torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999)),
                   torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999)), ImageBatches(images, 64, seed=0),
                   epochs * STEPS_PER_EPOCH, 16, checkpoint_path=str(tmp_path / "checkpoint.pt"),
                   meta={"networks": {"generator": spec("mlp.Generator", latent_dim=16),
                                      "discriminator": spec("mlp.Discriminator")}}, **options)
    if checkpoint_every:
        t.add_callback(lambda tr: save_checkpoint(tr.state_dict(), tr.checkpoint_path), every=checkpoint_every,
                       at_end=True)
    return t


def _resume(trainer):
    return trainer.load_state_dict(load_checkpoint(trainer.checkpoint_path, TRAINING_KIND), trainer.checkpoint_path)


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def _same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


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


def test_callbacks_run_at_their_steps(tmp_path):
    calls = []
    t = _trainer(tmp_path, epochs=3, checkpoint_every=None)  # 12 steps
    t.add_callback(lambda tr: calls.append(("every5", tr.step)), every=5)
    t.add_callback(lambda tr: calls.append(("start_half_end", tr.step)), at=(0, 6), at_end=True)
    t.fit()
    assert calls == [("start_half_end", 0), ("every5", 5), ("start_half_end", 6), ("every5", 10),
                     ("start_half_end", 12)]
    assert t.step == 12 and t.d_steps == 12 and len(t.history["g_loss"]) == 12


def test_n_critic_discriminator_steps_per_generator_step(tmp_path):
    class FiveCritics(NonSaturatingGAN):
        n_critic = 5
    seen = []
    t = _trainer(tmp_path, epochs=1, objective=FiveCritics(), checkpoint_every=None)
    t.batches = lambda k, batches=t.batches: seen.append(k) or batches(k)
    t.steps = 2
    t.fit()
    assert t.d_steps == 10 and seen == list(range(10)), "each D step draws the next batch"


@pytest.mark.parametrize("stop_after", [4, 6])  # at an epoch's end, and in the middle of one
def test_resume_reproduces_an_uninterrupted_run(tmp_path, stop_after):
    data = torch.rand(256, 1, 28, 28) * 2 - 1
    straight = _trainer(tmp_path / "a", data, epochs=3, checkpoint_every=2)
    straight.fit()
    first = _trainer(tmp_path / "b", data, epochs=3, checkpoint_every=2)
    first.steps = stop_after  # stops there, as if killed after its last checkpoint
    first.fit()
    torch.manual_seed(12345)  # a new process starts from another random state, then resumes
    resumed = _resume(_trainer(tmp_path / "b", data, epochs=3, seed=999, checkpoint_every=2))
    assert resumed.step == stop_after
    resumed.fit()
    for a, b in zip(list(straight.G.state_dict().values()) + list(straight.D.state_dict().values()),
                    list(resumed.G.state_dict().values()) + list(resumed.D.state_dict().values())):
        assert torch.equal(a, b)
    assert straight.history == resumed.history


class _NaNAfter(NonSaturatingGAN):
    def __init__(self, after):
        super().__init__()
        self.calls, self.after = 0, after

    def discriminator_loss(self, D, real, fake):
        loss, stats = super().discriminator_loss(D, real, fake)
        self.calls += 1
        return (loss * float("nan") if self.calls > self.after else loss), stats


def test_non_finite_loss_stops_and_keeps_the_last_checkpoint(tmp_path):
    t = _trainer(tmp_path, epochs=3, objective=_NaNAfter(after=6))  # checkpoint at step 4, fails at step 7
    with pytest.raises(Diverged, match="discriminator loss became nan at generator step 7.*checkpoint.pt"):
        t.fit()
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert state["step"] == 4
    assert all(torch.isfinite(v).all() for v in state["generator"].values() if v.is_floating_point())


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
        assert (G_full(z) - G_half(z)).abs().max() > 0, "the export is float16, not a copy"
    assert state["kind"] == "gan/generator" and state["step"] == 4


def test_a_checkpoint_naming_an_unknown_network_is_refused(tmp_path):
    t = _trainer(tmp_path, epochs=1)
    t.fit()
    state = torch.load(t.checkpoint_path, weights_only=True)
    state["networks"]["generator"] = {"name": "os.system", "kwargs": {}}
    save_checkpoint(state, tmp_path / "crafted.pt")
    with pytest.raises(CheckpointError, match="does not have: 'os.system'"):
        load_generator(tmp_path / "crafted.pt")
    del state["networks"]
    save_checkpoint(state, tmp_path / "no_networks.pt")
    with pytest.raises(CheckpointError, match="lacks 'networks'"):
        load_generator(tmp_path / "no_networks.pt")


def _ema_trainer(tmp_path, data, epochs, seed=0, **options):
    return _trainer(tmp_path, data, epochs=epochs, seed=seed, ema_decay=0.9, **options)


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
    first = _ema_trainer(tmp_path / "b", data, epochs=2)
    first.steps = 3  # a checkpoint at step 3: the end of this shortened run
    first.fit()
    resumed = _resume(_ema_trainer(tmp_path / "b", data, epochs=2, seed=5))
    resumed.fit()
    assert _same(_params(straight.G_ema), _params(resumed.G_ema))
    export = export_generator(straight.checkpoint_path, str(tmp_path / "g.pt"), half=False)
    G, _ = load_generator(export)
    z = torch.randn(4, 16)
    with torch.no_grad():
        assert torch.equal(G(z), straight.generator.eval()(z)), "the export holds the averaged generator"
        assert not torch.equal(G(z), straight.G.eval()(z))
    plain = _trainer(tmp_path / "c", data, epochs=1)
    plain.fit()
    with pytest.raises(CheckpointError, match="moving average"):
        _resume(_ema_trainer(tmp_path / "c", data, epochs=2))


def test_linear_learning_rate_decay_and_its_resume(tmp_path):
    data = torch.rand(256, 1, 28, 28) * 2 - 1  # 4 steps per epoch, 8 in all
    straight = _trainer(tmp_path / "a", data, epochs=2, lr_decay=True)
    straight.fit()
    for opt in (straight.opt_G, straight.opt_D):
        assert opt.param_groups[0]["lr"] == pytest.approx(2e-4 * (1 - 7 / 8))  # the last of 8 steps

    interrupted = _trainer(tmp_path / "b", data, epochs=2, lr_decay=True, checkpoint_every=3)
    batches = interrupted.batches

    def stop_at_step_5(k):  # a real interruption: the schedule spans the 8 planned steps
        if k == 5:
            raise KeyboardInterrupt
        return batches(k)
    interrupted.batches = stop_at_step_5
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit()
    resumed = _resume(_trainer(tmp_path / "b", data, epochs=2, lr_decay=True, checkpoint_every=3))
    assert resumed.step == 3
    resumed.fit()
    assert _same(_params(straight.G), _params(resumed.G)) and _same(_params(straight.D), _params(resumed.D))
    plain = _trainer(tmp_path / "c", data, epochs=2)
    plain.fit()
    assert not _same(_params(plain.G), _params(straight.G))  # the decay changed training


def test_image_batches_are_a_function_of_the_step():
    images = torch.arange(10.0).view(10, 1, 1, 1)
    a, b = ImageBatches(images, 3, seed=4), ImageBatches(images, 3, seed=4)
    epoch0 = torch.cat([a(k) for k in range(3)]).flatten()
    assert len(set(epoch0.tolist())) == 9, "an epoch draws each image at most once (the last one is dropped)"
    assert torch.equal(b(4), a(4)) and torch.equal(b(1), a(1)), "the same step gives the same batch, in any order"
    assert not torch.equal(torch.cat([a(k) for k in range(3, 6)]).flatten(), epoch0), "a new order every epoch"
    with pytest.raises(ValueError, match="batch size 11"):
        ImageBatches(images, 11)
    with pytest.raises(ValueError, match="batch size 1 "):
        ImageBatches(images, 1)
