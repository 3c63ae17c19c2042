"""MNIST as one in-memory tensor in [-1, 1], read from the original IDX files.

The data root is --data-dir, else $MNIST_DIR, else ./data; the files are looked for in
ROOT/MNIST/raw/ (torchvision's layout) and in ROOT itself, gzipped or not. When a split is
missing, torchvision's download is tried (it needs network; MNIST_DOWNLOAD=0 turns it off);
when that fails too, FileNotFoundError says what is missing where and how to fix it.

Batches are drawn by :class:`ImageBatches`, whose k-th batch is a function of k alone: the
training loop counts steps, not epochs, and a run resumed at any step sees the same batches.
"""
import gzip
import os
import struct

import numpy as np
import torch

FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
SPLITS = tuple(FILES)


def read_idx(path):
    """Read an IDX file (optionally gzipped) into a numpy array of its stored type and shape."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path} is not an IDX file")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if data[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX data type 0x{data[2]:02x}")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=dtypes[data[2]], offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape}, file holds {body.size} values")
    return body.reshape(shape).astype(body.dtype.newbyteorder("="))


def add_data_args(parser, split="train", what="MNIST split to load"):
    """--split and --data-dir, as every MNIST script spells them."""
    parser.add_argument("--split", choices=SPLITS, default=split, help=what)
    parser.add_argument("--data-dir", default=None, help="MNIST root (default: $MNIST_DIR, else ./data)")
    return parser


def data_root(data_dir=None):
    """--data-dir, else $MNIST_DIR, else ./data."""
    return data_dir or os.environ.get("MNIST_DIR") or "data"


def _find(root, name):
    for folder in (os.path.join(root, "MNIST", "raw"), root):
        for candidate in (name, name + ".gz"):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                return path
    return None


def load_mnist(split="train", data_dir=None, download=True):
    """(images uint8 (N, 28, 28), labels int64 (N,)) of an MNIST split.

    Raises FileNotFoundError when the split is neither on disk nor downloadable, ValueError
    when its files are not MNIST.
    """
    if split not in FILES:
        raise ValueError(f"unknown split {split!r}: use train or test")
    root = data_root(data_dir)
    paths = [_find(root, name) for name in FILES[split]]
    download = download and os.environ.get("MNIST_DOWNLOAD", "1") != "0"
    if None in paths and download:
        reason = _try_download(root, split)
        paths = [_find(root, name) for name in FILES[split]]
    else:
        reason = "download not attempted"
    if None in paths:
        missing = FILES[split][paths.index(None)]
        raise FileNotFoundError(
            f"MNIST {split} split not found: no {missing}[.gz] in {os.path.join(root, 'MNIST', 'raw')} "
            f"({reason}); pass --data-dir DIR (or set MNIST_DIR) to a folder holding MNIST/raw/"
            + ("" if split == "test" else ", or train on the test split with --split test"))
    try:
        images, labels = read_idx(paths[0]), read_idx(paths[1])
    except (OSError, ValueError, EOFError) as err:
        raise ValueError(f"cannot read MNIST {split} split in {root}: {err}") from None
    if images.ndim != 3 or images.shape[1:] != (28, 28) or labels.shape != (images.shape[0],):
        raise ValueError(f"MNIST {split} files in {root} have unexpected shapes {images.shape}, {labels.shape}")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def _try_download(root, split):
    try:
        import socket

        import torchvision
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(20)
        try:
            torchvision.datasets.MNIST(root, train=(split == "train"), download=True)
        finally:
            socket.setdefaulttimeout(previous)
        return "downloaded"
    except Exception as err:  # no network, a mirror down, a partial file: all end the same way
        return f"download failed: {str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}"


def to_unit_range(images):
    """uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [-1, 1]: x / 127.5 - 1."""
    return images.unsqueeze(1).float().div_(127.5).sub_(1.0)


def load_mnist_tensor(split="train", data_dir=None, download=True):
    """Images as float32 (N, 1, 28, 28) in [-1, 1], and labels (N,)."""
    images, labels = load_mnist(split, data_dir, download)
    return to_unit_range(images), labels


class ImageBatches:
    """Shuffled mini-batches of an image tensor held in memory, addressed by step.

    ``batches(k)`` is the k-th batch of a run: epoch e = k // per_epoch uses a permutation of its
    own, drawn from a generator seeded with (seed, e), so the order depends on k and the seed
    alone -- not on what else drew random numbers -- and a resumed run continues it exactly.
    Incomplete last batches are dropped (BatchNorm dislikes a batch of one).
    ``sample(n)`` draws n images at random (torch's global generator), for objectives that need
    real data of their own (the Unrolled GAN's look-ahead).
    """

    def __init__(self, images, batch_size, seed=0, device="cpu"):
        if not 2 <= batch_size <= len(images):
            raise ValueError(f"batch size {batch_size} must lie between 2 and the {len(images)} training images")
        self.images = images.to(device)
        self.batch_size, self.seed = batch_size, seed
        self.per_epoch = len(images) // batch_size
        self._epoch, self._order = None, None

    def __call__(self, k):
        epoch, position = divmod(k, self.per_epoch)
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) % 2**63)
            self._epoch, self._order = epoch, torch.randperm(len(self.images), generator=gen).to(self.images.device)
        return self.images[self._order[position * self.batch_size:(position + 1) * self.batch_size]]

    def sample(self, n):
        return self.images[torch.randint(len(self.images), (n,)).to(self.images.device)]
