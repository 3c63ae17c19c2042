"""Part 2: a fully connected GAN on MNIST, and the machinery the other GAN parts reuse:
MNIST loading (data.py), the training loop (trainer.py), the evaluation classifier and
metrics (classifier.py, metrics.py), sample grids and checkpoints (samples.py, checkpoints.py)."""
