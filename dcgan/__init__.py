"""Part 3: a DCGAN on 28 x 28 MNIST (model.py), trained, tuned and timed with Part 2's machinery
(train.py, tune.py, bench.py); GAN.ipynb compares it with the fully connected GAN."""
