"""Mode collapse, measured: the 2D mixtures of the mode-collapse literature (ring of 8, grid of
25) and MNIST, the vanilla GAN against WGAN, WGAN-GP, Unrolled GAN and MAD-GAN, all trained by
the one loop of gan/trainer.py."""
