"""Optimisers: single-step functions and stateful update rules for ``fit``.

The step functions return new arrays and never modify their inputs. The
classes are callables ``rule(params, grads, lr)`` (usable as
``course_utils.training.fit(..., update=rule)``) that update ``params`` in
place with those same step functions. They keep one state per parameter name,
created on first use with the parameter's dtype.

``weight_decay`` is L2 regularisation: it adds ``weight_decay * W`` to the
gradient of every weight matrix (keys starting with "W") and never touches the
biases.
"""
import numpy as np


def sgd_step(w, dw, lr):
    """Plain gradient descent: returns ``w - lr * dw``."""
    return w - lr * dw


def momentum_step(w, dw, v, lr, beta):
    """Heavy-ball momentum (PyTorch's convention).

    ``v = beta * v + dw``; ``w = w - lr * v``. Returns (w, v).
    """
    v = beta * v + dw
    return w - lr * v, v


def rmsprop_step(w, dw, s, lr, decay, eps):
    """RMSprop: ``s = decay*s + (1-decay)*dw**2``; ``w = w - lr*dw / (sqrt(s) + eps)``. Returns (w, s)."""
    s = decay * s + (1 - decay) * dw * dw
    return w - lr * dw / (np.sqrt(s) + eps), s


def adam_step(w, dw, m, v, t, lr, beta1, beta2, eps):
    """Adam with bias correction; ``t`` is the number of this step, starting at 1.

    ``m = beta1*m + (1-beta1)*dw``; ``v = beta2*v + (1-beta2)*dw**2``;
    ``w = w - lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1-beta1**t)``
    and ``v_hat = v / (1-beta2**t)``. Returns (w, m, v).
    """
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


class _UpdateRule:
    """Shared machinery: weight decay on "W" keys, lazy per-parameter state, in-place writes."""

    def __init__(self, weight_decay=0.0):
        self.weight_decay = weight_decay
        self.state = {}

    def __call__(self, params, grads, lr):
        """Update every ``params[name]`` in place from ``grads[name]`` with learning rate ``lr``."""
        for name, grad in grads.items():
            w = params[name]
            if self.weight_decay and name.startswith("W"):
                grad = grad + self.weight_decay * w
            if name not in self.state:
                self.state[name] = self._initial_state(w)
            w[...], self.state[name] = self._step(w, grad, self.state[name], lr)

    def _initial_state(self, w):
        """State of a parameter before its first step (None: stateless rule)."""
        return None

    def _step(self, w, grad, state, lr):
        """Return (new w, new state); implemented by each rule."""
        raise NotImplementedError


class SGD(_UpdateRule):
    """Plain gradient descent with optional L2 weight decay."""

    def _step(self, w, grad, state, lr):
        return sgd_step(w, grad, lr), state


class Momentum(_UpdateRule):
    """SGD with momentum ``beta`` (see ``momentum_step``); velocity starts at zero."""

    def __init__(self, beta=0.9, weight_decay=0.0):
        super().__init__(weight_decay)
        self.beta = beta

    def _initial_state(self, w):
        return np.zeros_like(w)

    def _step(self, w, grad, v, lr):
        return momentum_step(w, grad, v, lr, self.beta)


class RMSprop(_UpdateRule):
    """RMSprop (see ``rmsprop_step``); the squared-gradient average starts at zero."""

    def __init__(self, decay=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(weight_decay)
        self.decay, self.eps = decay, eps

    def _initial_state(self, w):
        return np.zeros_like(w)

    def _step(self, w, grad, s, lr):
        return rmsprop_step(w, grad, s, lr, self.decay, self.eps)


class Adam(_UpdateRule):
    """Adam with bias correction (see ``adam_step``); state is (m, v, step count)."""

    def __init__(self, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        super().__init__(weight_decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps

    def _initial_state(self, w):
        return np.zeros_like(w), np.zeros_like(w), 0

    def _step(self, w, grad, state, lr):
        m, v, t = state
        w, m, v = adam_step(w, grad, m, v, t + 1, lr, self.beta1, self.beta2, self.eps)
        return w, (m, v, t + 1)


# ----------------------------------------------------------------------------- Lab 6: the students' interface
# One function per update rule, ``update(params, grads, state, lr, ...)``: it changes every array of
# ``params`` in place and keeps what it must remember in ``state``, a dict that starts empty and
# belongs to one training run. Everything is per parameter name (``state["v"]["W1"]``, ...); Adam's
# step count ``state["t"]`` is one number (every parameter takes a step at every call).

def iterate_minibatches(X, y, batch_size, rng):
    """One epoch of mini-batches, as a list of ``(X_batch, y_batch)`` pairs.

    ``order = rng.permutation(N)`` is drawn once per call; batch ``k`` holds the samples
    ``order[k * batch_size:(k + 1) * batch_size]`` (the last batch is smaller when ``batch_size``
    does not divide N), so every sample appears exactly once.
    """
    order = rng.permutation(len(X))
    return [(X[order[start:start + batch_size]], y[order[start:start + batch_size]])
            for start in range(0, len(X), batch_size)]


def sgd_update(params, grads, state, lr=0.01):
    """Plain SGD in place: ``params[k] -= lr * grads[k]``; ``state`` is not used."""
    for key in params:
        params[key][...] = sgd_step(params[key], grads[key], lr)


def _zeros_for(state, name, params):
    """``state[name]``, a dict {key: zeros like params[key]} created on first use (per parameter)."""
    slots = state.setdefault(name, {})
    for key, value in params.items():
        if key not in slots:
            slots[key] = np.zeros_like(value)
    return slots


def momentum_update(params, grads, state, lr=0.01, beta=0.9):
    """SGD with momentum in place: ``v = beta * v + g``; ``w -= lr * v``; velocities in ``state["v"][key]``."""
    velocity = _zeros_for(state, "v", params)
    for key in params:
        params[key][...], velocity[key] = momentum_step(params[key], grads[key], velocity[key], lr, beta)


def rmsprop_update(params, grads, state, lr=0.001, beta=0.9, eps=1e-8):
    """RMSprop in place: ``s = beta * s + (1 - beta) * g**2``; ``w -= lr * g / (sqrt(s) + eps)``; in ``state["s"]``."""
    squares = _zeros_for(state, "s", params)
    for key in params:
        params[key][...], squares[key] = rmsprop_step(params[key], grads[key], squares[key], lr, beta, eps)


def adam_update(params, grads, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam with bias correction in place; ``state["m"][key]``, ``state["v"][key]`` and the step count ``state["t"]``.

    ``t`` grows by one at every call before it is used (the first step has t = 1).
    """
    first, second = _zeros_for(state, "m", params), _zeros_for(state, "v", params)
    state["t"] = state.get("t", 0) + 1
    for key in params:
        params[key][...], first[key], second[key] = adam_step(params[key], grads[key], first[key], second[key],
                                                              state["t"], lr, beta1, beta2, eps)
