"""Part 2: a fully connected GAN on MNIST (model.py) and its scripts; the machinery is gan/."""
