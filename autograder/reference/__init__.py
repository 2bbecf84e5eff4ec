"""Reference implementations of everything the labs grade (instructor-only)."""
from . import activations, architectures, init, layers, losses, mlp, optim

__all__ = ["activations", "architectures", "init", "layers", "losses", "mlp", "optim"]
