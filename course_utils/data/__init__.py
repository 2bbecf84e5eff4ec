"""Data sets and preprocessing: 2-D toy problems, CIFAR-10, MNIST, splits, one-hot targets and scaling."""

from .preprocessing import (
    one_hot,
    standardize,
    subtract_mean_image,
    train_val_split,
)
from .toy import make_circles, make_linear, make_spirals, make_xor

__all__ = [
    "CIFAR10_CLASSES",
    "MNIST_FILES",
    "MNIST_MIRRORS",
    "load_cifar10",
    "load_mnist",
    "make_circles",
    "make_linear",
    "make_spirals",
    "make_xor",
    "one_hot",
    "standardize",
    "subtract_mean_image",
    "train_val_split",
]
from .cifar10 import CIFAR10_CLASSES, load_cifar10
from .mnist import MNIST_FILES, MNIST_MIRRORS, load_mnist
