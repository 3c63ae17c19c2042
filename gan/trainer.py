"""The one GAN training loop: the MLP GAN, the DCGAN and every mode-collapse method run here.

It counts generator steps (minGPT's trainer counts iterations): a step is
``objective.n_critic`` discriminator updates on fresh real batches, then one generator update.
What happens every so many steps -- sample grids, evaluations, checkpoints -- is a callback
(:meth:`GANTrainer.add_callback`); epochs are the callers' convenience, converted to steps.
The trainer owns what every run needs: a fixed noise batch, per-step logging of the losses
and of D's outputs, an optional moving average of G, an optional linear learning-rate decay,
exact resumption from :meth:`state_dict`, and a stop with a clear message when a loss stops
being finite. What differs between methods -- networks, objective, data -- comes in as arguments.
"""
import copy
import time
from dataclasses import dataclass

import torch

from common.checkpoint import CheckpointError, load_weights, require
from common.cli import progress
from common.runs import check_finite, rng_state, set_rng_state

TRAINING_KIND = "gan/training"
HISTORY_KEYS = ("step", "d_loss", "g_loss", "d_real", "d_fake")


@dataclass
class Callback:
    """``fn(trainer)``, called after the steps it is due at: every ``every`` steps, at the steps
    in ``at`` (0 = before the first update), and at the last step when ``at_end``."""
    fn: object
    every: int = None
    at: tuple = ()
    at_end: bool = False

    def due(self, step, total):
        return (step in self.at or (self.every and step > 0 and step % self.every == 0)
                or (self.at_end and step == total))


class GANTrainer:
    """Train G against D for ``steps`` generator steps.

    Inputs:
        G, D: the networks (G maps (n, latent_dim) noise to samples).
        objective: see objectives.py (its n_critic: discriminator updates per generator update).
        opt_G, opt_D: their optimisers.
        batches: callable k -> the real batch of the k-th discriminator update (data.ImageBatches);
            with a ``sample(n)`` method for objectives that draw real data of their own.
        steps: generator steps in all.
        latent_dim: size of the standard normal noise.
        n_fixed: size of the fixed noise batch of the snapshots (25 for a 5 x 5 grid).
        ema_decay: keep an exponential moving average of G's weights with this decay (None: no
            average). The average is the run's generator: snapshots, evaluations and exports use
            it, with BatchNorm statistics recomputed for the averaged weights before each use
            (G's running statistics belong to G's own weights, not to their average).
        lr_decay: decay both learning rates linearly to 0 over the run (step k of n uses
            (1 - k / n) of them): a function of the step count, so a resumed run follows it.
        meta: entries the checkpoint carries besides the training state (networks, config).
    """

    def __init__(self, G, D, objective, opt_G, opt_D, batches, steps, latent_dim, device="cpu", n_fixed=25,
                 ema_decay=None, lr_decay=False, meta=None, quiet=True, desc="GAN", checkpoint_path=None):
        self.G, self.D, self.objective, self.opt_G, self.opt_D = G, D, objective, opt_G, opt_D
        self.batches, self.steps, self.latent_dim = batches, steps, latent_dim
        self.device, self.quiet, self.desc = torch.device(device), quiet, desc
        self.meta, self.checkpoint_path = dict(meta or {}), checkpoint_path
        self.step, self.d_steps, self.seconds = 0, 0, 0.0
        self.history = {k: [] for k in HISTORY_KEYS}
        self.evaluations, self.callbacks = [], []
        self.fixed_noise = self.sample_noise(n_fixed)
        self.ema_decay, self.lr_decay = ema_decay, lr_decay
        self.G_ema = copy.deepcopy(G).eval().requires_grad_(False) if ema_decay else None
        self.ema_calibrated = True
        self.base_lrs = [[group["lr"] for group in opt.param_groups] for opt in (opt_G, opt_D)]

    def add_callback(self, fn, every=None, at=(), at_end=False):
        """Call ``fn(trainer)`` every ``every`` steps, at the steps ``at`` and/or at the end, in the
        order the callbacks were added (so add the checkpoint last)."""
        self.callbacks.append(Callback(fn, every, tuple(at), at_end))
        return self

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

    def train_step(self):
        """One generator step: n_critic discriminator updates, then G's. Returns the losses and stats."""
        if self.lr_decay:
            self.set_lr_fraction(1.0 - self.step / self.steps)
        n_critic = self.objective.n_critic
        for i in range(n_critic):
            d_loss, d_stats, fake = self.discriminator_step(self.batches(self.d_steps), keep_fake=i == n_critic - 1)
            self.d_steps += 1
            check_finite(d_loss, "discriminator", f"generator step {self.step + 1}", self._checkpoint_name())
        g_loss, g_stats = self.generator_step(fake)
        check_finite(g_loss, "generator", f"generator step {self.step + 1}", self._checkpoint_name())
        self.step += 1
        stats = {**d_stats, **g_stats}
        for key, value in (("step", self.step), ("d_loss", d_loss.item()), ("g_loss", g_loss.item()),
                           ("d_real", stats.get("d_real", float("nan"))),
                           ("d_fake", stats.get("d_fake", float("nan")))):
            self.history[key].append(value)
        return stats

    def set_lr_fraction(self, fraction):
        """Set every learning rate to ``fraction`` of its initial value."""
        for opt, bases in zip((self.opt_G, self.opt_D), self.base_lrs):
            for group, base in zip(opt.param_groups, bases):
                group["lr"] = base * fraction

    # ----------------------------------------------------------------- the loop
    def run_callbacks(self):
        for cb in self.callbacks:
            if cb.due(self.step, self.steps):
                cb.fn(self)

    def fit(self):
        """Train up to ``steps``; returns a summary (steps, discriminator steps, seconds)."""
        self.G.train()
        self.D.train()
        if self.step == 0:
            self.run_callbacks()
        bar = progress(self.steps, self.desc, disable=self.quiet, initial=self.step)
        try:
            while self.step < self.steps:
                started = time.perf_counter()
                self.train_step()
                self.seconds += time.perf_counter() - started
                bar.update(1)
                if self.step % 10 == 0 or self.step == self.steps:
                    bar.set_postfix(d=f"{self.history['d_loss'][-1]:.3f}", g=f"{self.history['g_loss'][-1]:.3f}",
                                    refresh=False)
                self.run_callbacks()
        finally:
            bar.close()
        return self.summary()

    def summary(self):
        return {"generator_steps": self.step, "discriminator_steps": self.d_steps, "seconds": round(self.seconds, 2)}

    def _checkpoint_name(self):
        return self.checkpoint_path or "(none)"

    # ----------------------------------------------------------------- checkpoints
    def state_dict(self):
        return {"kind": TRAINING_KIND, **self.meta,
                "generator": self.G.state_dict(), "discriminator": self.D.state_dict(),
                "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict(),
                "step": self.step, "d_steps": self.d_steps, "seconds": self.seconds, "rng": rng_state(),
                "fixed_noise": self.fixed_noise.cpu(),
                "history": {k: torch.tensor(v, dtype=torch.float64) for k, v in self.history.items()},
                "evaluations": self.evaluations, "ema_decay": self.ema_decay,
                **({"generator_ema": self.generator.state_dict()} if self.G_ema is not None else {})}

    def load_state_dict(self, state, path):
        """Continue from a checkpoint of the same run: weights, optimisers, step, history, RNG."""
        for key in ("networks", "split"):
            if key in self.meta and state.get(key) != self.meta[key]:
                raise CheckpointError(f"checkpoint {path} does not match this run: its {key} is {state.get(key)}, "
                                      f"this run's is {self.meta[key]}")
        G_w, D_w, opt_G, opt_D, history = require(state, ("generator", "discriminator", "opt_G", "opt_D", "history"),
                                                  path)
        load_weights(self.G, G_w, path)
        load_weights(self.D, D_w, path)
        try:
            self.opt_G.load_state_dict(opt_G)
            self.opt_D.load_state_dict(opt_D)
        except (ValueError, KeyError) as err:
            raise CheckpointError(f"checkpoint {path}: optimiser state does not match: {err}") from None
        if (state.get("ema_decay") is None) != (self.G_ema is None):
            raise CheckpointError(f"checkpoint {path} was trained {'with' if state.get('ema_decay') else 'without'} "
                                  "a moving average of G; resume it with the same setting")
        if self.G_ema is not None:
            load_weights(self.G_ema, state["generator_ema"], path)
            self.ema_calibrated = True
        self.step, self.d_steps, self.seconds = state["step"], state["d_steps"], state["seconds"]
        self.fixed_noise = state["fixed_noise"].to(self.device)
        self.history = {k: history[k].tolist() for k in HISTORY_KEYS}
        self.history["step"] = [int(s) for s in self.history["step"]]
        self.evaluations = list(state.get("evaluations", []))
        set_rng_state(state["rng"])
        return self


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
