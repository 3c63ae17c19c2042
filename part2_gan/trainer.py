"""The one GAN training loop: the MLP GAN, the DCGAN and the mode-collapse methods all run here.

The loop owns what every GAN run needs: alternating discriminator and generator updates
(``objective.n_critic`` discriminator steps per generator step), a fixed noise batch whose
samples are saved at the start (before any update), halfway and at the end, per-step
logging of the losses and of D's outputs, an atomic checkpoint after every epoch, exact
resumption, and a stop with a clear message when a loss stops being finite. What differs
between methods -- the networks, the objective, the data -- comes in as arguments.
"""
import copy
import json
import os
import time

import torch

from common.checkpoint import load_checkpoint, load_weights, save_checkpoint
from common.cli import UsageError, progress, write_json
from part2_gan.checkpoints import TRAINING_KIND
from part2_gan.samples import plot_history

HISTORY_KEYS = ("step", "epoch", "d_loss", "g_loss", "d_real", "d_fake")


class Diverged(UsageError):
    """A loss became NaN or infinite; training stopped and the last checkpoint was kept."""


class GANTrainer:
    """Train G against D.

    Inputs:
        G, D: the networks (G maps (n, latent_dim) noise to samples).
        objective: see objectives.py.
        opt_G, opt_D: their optimisers.
        data: an iterable of real batches; one pass is one epoch (e.g. data.InMemoryBatches).
        epochs: epochs to train in all.
        out: folder for checkpoint.pt, history.json, losses.png and the snapshots.
        latent_dim: size of the standard normal noise.
        snapshot: callable(tag, G, fixed_noise) saving a picture of G's samples, or None.
        n_fixed: size of the fixed noise batch (25 for a 5 x 5 grid).
        sample_every: also snapshot every this many epochs (None: start, halfway, end only).
        meta: extra entries for the checkpoint (specs of the networks, config, split, ...).
        ema_decay: keep an exponential moving average of G's weights with this decay (None: no
            average). The average is the run's generator: snapshots, evaluation and exports use it.
            Its BatchNorm statistics are recomputed for the averaged weights before each use
            (G's running statistics belong to G's own weights, not to their average).
        evaluator: callable(trainer) -> dict of metrics, called every ``eval_every`` epochs and at
            the end; the results go to eval_history.json.
        lr_decay: decay both optimisers' learning rates linearly from their initial values to 0
            over the run (step k of n uses (1 - k / n) of it). The rate is a function of the step
            count, so a resumed run follows the same schedule.
    """

    def __init__(self, G, D, objective, opt_G, opt_D, data, epochs, out, latent_dim, snapshot=None,
                 n_fixed=25, sample_every=None, meta=None, device="cpu", quiet=False, desc="GAN",
                 ema_decay=None, evaluator=None, eval_every=None, lr_decay=False):
        self.G, self.D, self.objective = G, D, objective
        self.opt_G, self.opt_D = opt_G, opt_D
        self.data, self.epochs, self.out = data, epochs, out
        self.latent_dim, self.snapshot, self.sample_every = latent_dim, snapshot, sample_every
        self.meta, self.device, self.quiet, self.desc = dict(meta or {}), torch.device(device), quiet, desc
        self.checkpoint_path = os.path.join(out, "checkpoint.pt")
        self.epoch, self.d_steps, self.seconds = 0, 0, 0.0
        self.history = {k: [] for k in HISTORY_KEYS}
        self.fixed_noise = self.sample_noise(n_fixed)
        self.ema_decay, self.evaluator, self.eval_every = ema_decay, evaluator, eval_every
        self.G_ema = copy.deepcopy(G).eval().requires_grad_(False) if ema_decay else None
        self.ema_calibrated = True
        self.evaluations = []
        self.lr_decay = lr_decay
        self.base_lrs = [[group["lr"] for group in opt.param_groups] for opt in (opt_G, opt_D)]

    @property
    def generator(self):
        """The run's generator: the moving average of G when one is kept (calibrated), else G."""
        if self.G_ema is None:
            return self.G
        if not self.ema_calibrated:
            recalibrate_batchnorm(self.G_ema, self.latent_dim, self.device)
            self.ema_calibrated = True
        return self.G_ema

    @torch.no_grad()
    def update_ema(self):
        """G_ema <- decay * G_ema + (1 - decay) * G, for the weights."""
        for avg, p in zip(self.G_ema.parameters(), self.G.parameters()):
            avg.lerp_(p, 1 - self.ema_decay)
        self.ema_calibrated = False

    # ----------------------------------------------------------------- noise and steps
    def sample_noise(self, n):
        return torch.randn(n, self.latent_dim, device=self.device)

    def discriminator_step(self, real, keep_fake=False):
        """One update of D on a real batch and a fresh generated one.

        Returns (loss, stats, fake). With ``keep_fake`` the generated batch keeps G's graph,
        so that the generator step that follows reuses it instead of running G again (as the
        PyTorch DCGAN example does); otherwise G runs without recording a graph.
        """
        with torch.set_grad_enabled(keep_fake):
            fake = self.G(self.sample_noise(real.shape[0]))
        loss, stats = self.objective.discriminator_loss(self.D, real, fake.detach())
        self.opt_D.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_D.step()
        self.objective.after_discriminator_step(self.D)
        return loss, stats, fake

    def generator_step(self, fake):
        """One update of G, from a generated batch that carries G's graph."""
        self.D.requires_grad_(False)  # D's weight gradients are not needed for G's update
        try:
            loss, stats = self.objective.generator_loss(self.D, fake)
            self.opt_G.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_G.step()
        finally:
            self.D.requires_grad_(True)
        if self.G_ema is not None:
            self.update_ema()
        return loss, stats

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self):
        rng = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {"kind": TRAINING_KIND, **self.meta,
                "generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
                "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(),
                "epoch": self.epoch, "d_steps": self.d_steps, "step": len(self.history["step"]),
                "seconds": self.seconds, "rng": rng, "fixed_noise": self.fixed_noise.cpu(),
                "history": {k: torch.tensor(v, dtype=torch.float64) for k, v in self.history.items()},
                "evaluations": self.evaluations, "ema_decay": self.ema_decay,
                **({"generator_ema": self.generator.state_dict()} if self.G_ema is not None else {})}

    def load_state_dict(self, state, path):
        for key in ("generator_spec", "discriminator_spec", "split"):
            if key in self.meta and state.get(key) != self.meta[key]:
                raise UsageError(f"checkpoint {path} does not match this run: its {key} is {state.get(key)}, "
                                 f"this run's is {self.meta[key]}")
        load_weights(self.G, state["generator"], path)
        load_weights(self.D, state["discriminator"], path)
        try:
            self.opt_G.load_state_dict(state["opt_G"])
            self.opt_D.load_state_dict(state["opt_D"])
        except (ValueError, KeyError) as err:
            raise UsageError(f"checkpoint {path}: optimiser state does not match: {err}") from None
        self.epoch, self.d_steps, self.seconds = state["epoch"], state["d_steps"], state["seconds"]
        self.fixed_noise = state["fixed_noise"].to(self.device)
        self.history = {k: state["history"][k].tolist() for k in HISTORY_KEYS}
        self.evaluations = list(state.get("evaluations", []))
        if (state.get("ema_decay") is None) != (self.G_ema is None):
            raise UsageError(f"checkpoint {path} was trained {'with' if state.get('ema_decay') else 'without'} "
                             f"a moving average of G; resume it with the same setting")
        if self.G_ema is not None:
            load_weights(self.G_ema, state["generator_ema"], path)
            self.ema_calibrated = True
        torch.set_rng_state(state["rng"]["cpu"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])

    def resume(self, path=None):
        """Continue from a checkpoint (default: this run's own): weights, optimisers, epoch, RNG."""
        path = path or self.checkpoint_path
        self.load_state_dict(load_checkpoint(path, TRAINING_KIND, map_location=self.device), path)
        return self

    # ----------------------------------------------------------------- the loop
    def take_snapshot(self, tag):
        if self.snapshot is None:
            return
        G = self.generator
        was_training = G.training
        G.eval()
        self.snapshot(tag, G, self.fixed_noise)
        G.train(was_training)

    def evaluate(self):
        if self.evaluator is None or (self.evaluations and self.evaluations[-1]["epoch"] == self.epoch):
            return
        was_training = self.G.training
        self.evaluations.append({"epoch": self.epoch, **self.evaluator(self)})
        self.G.train(was_training)
        write_json(os.path.join(self.out, "eval_history.json"), self.evaluations)

    def set_lr_fraction(self, fraction):
        """Set every learning rate to ``fraction`` of its initial value."""
        for opt, bases in zip((self.opt_G, self.opt_D), self.base_lrs):
            for group, base in zip(opt.param_groups, bases):
                group["lr"] = base * fraction

    def fit(self):
        """Train up to ``epochs``; returns a summary (epochs, steps, seconds, seconds per epoch)."""
        os.makedirs(self.out, exist_ok=True)
        per_epoch = len(self.data)
        total = self.epochs * per_epoch
        halfway = total // 2
        if self.d_steps == 0:
            self.take_snapshot("start")
        n_critic = self.objective.n_critic
        bar = progress(total, self.desc, disable=self.quiet, initial=self.d_steps)
        self.G.train()
        self.D.train()
        try:
            while self.epoch < self.epochs:
                started = time.perf_counter()
                for real in self.data:
                    if self.lr_decay:
                        self.set_lr_fraction(1.0 - self.d_steps / total)
                    g_turn = (self.d_steps + 1) % n_critic == 0
                    d_loss, d_stats, fake = self.discriminator_step(real, keep_fake=g_turn)
                    self.d_steps += 1
                    if not torch.isfinite(d_loss):
                        self._diverged("discriminator", d_loss)
                    if g_turn:
                        g_loss, g_stats = self.generator_step(fake)
                        if not torch.isfinite(g_loss):
                            self._diverged("generator", g_loss)
                        self._log(d_loss.item(), g_loss.item(), {**d_stats, **g_stats})
                        bar.set_postfix(d=f"{self.history['d_loss'][-1]:.3f}",
                                        g=f"{self.history['g_loss'][-1]:.3f}", refresh=False)
                    bar.update(1)
                    if self.d_steps == halfway and halfway > 0:
                        self.take_snapshot("halfway")
                self.epoch += 1
                self.seconds += time.perf_counter() - started
                if self.sample_every and self.epoch % self.sample_every == 0 and self.epoch < self.epochs:
                    self.take_snapshot(f"epoch_{self.epoch:04d}")
                if self.eval_every and self.epoch % self.eval_every == 0:
                    self.evaluate()
                save_checkpoint(self.state_dict(), self.checkpoint_path)
        finally:
            bar.close()
            self.write_history()
        self.take_snapshot("end")
        if self.eval_every:
            self.evaluate()
            save_checkpoint(self.state_dict(), self.checkpoint_path)
        return self.summary()

    def _log(self, d_loss, g_loss, stats):
        h = self.history
        h["step"].append(len(h["step"]) + 1)
        h["epoch"].append(self.epoch + 1)
        h["d_loss"].append(d_loss)
        h["g_loss"].append(g_loss)
        h["d_real"].append(stats.get("d_real", float("nan")))
        h["d_fake"].append(stats.get("d_fake", float("nan")))

    def _diverged(self, which, loss):
        last = (f"the last good checkpoint is {self.checkpoint_path} (epoch {self.epoch})"
                if os.path.exists(self.checkpoint_path) else "no checkpoint was written yet")
        raise Diverged(f"training stopped: the {which} loss became {loss.item()} in epoch {self.epoch + 1} "
                       f"(discriminator step {self.d_steps}); {last}")

    def summary(self):
        return {"epochs": self.epoch, "generator_steps": len(self.history["step"]),
                "discriminator_steps": self.d_steps, "seconds": round(self.seconds, 2),
                "seconds_per_epoch": round(self.seconds / max(self.epoch, 1), 2)}

    def write_history(self):
        os.makedirs(self.out, exist_ok=True)
        write_json(os.path.join(self.out, "history.json"), self.history)
        plot_history(self.history, os.path.join(self.out, "losses.png"), title=self.desc)


@torch.no_grad()
def recalibrate_batchnorm(G, latent_dim, device="cpu", samples=4096, batch_size=512, seed=0):
    """Recompute the running statistics of G's BatchNorm layers for G's current weights.

    The statistics become the exact average over ``samples`` noise vectors (momentum None =
    cumulative average), drawn from a private generator: the global random state is untouched.
    """
    norms = [m for m in G.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return G
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    was_training = G.training
    G.train()
    gen = torch.Generator().manual_seed(seed)
    for start in range(0, samples, batch_size):
        G(torch.randn(min(batch_size, samples - start), latent_dim, generator=gen).to(device))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    G.train(was_training)
    return G


def read_history(out):
    with open(os.path.join(out, "history.json")) as f:
        return json.load(f)
