"""The GAN library every GAN of this repository runs on (part2_gan/, dcgan/ and mode_collapse/
are its clients: their own networks, scripts, notebooks and READMEs).

trainer.py      the one training loop: generator steps, callbacks, exact resume
objectives.py   non-saturating GAN, WGAN (clipping), WGAN-GP, Unrolled GAN, MAD-GAN
mnist.py        a GAN trained on MNIST: GANConfig and train(config)
data.py         MNIST from its IDX files, batches addressed by step
augment.py      differentiable augmentation (translation, cutout)
classifier.py   the evaluation classifier (weights in weights/)
metrics.py      Inception Score, FID, class coverage on the classifier
evaluation.py   evaluate(EvalConfig): a generator's metrics as a results record
checkpoints.py  the network registry, generator exports
samples.py      sample grids and loss plots
interpolation.py  latent interpolation between two classes
tuning.py, publish.py  tuning tables and published results
"""
