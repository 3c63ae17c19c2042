"""A DCGAN on 28 x 28 MNIST (model.py, config.py) trained, tuned and timed with gan/;
GAN.ipynb compares it with the fully connected GAN."""
