"""Reference implementations of everything the labs grade (instructor-only)."""
from . import activations, init, layers, losses, mlp, optim

__all__ = ["activations", "init", "layers", "losses", "mlp", "optim"]
