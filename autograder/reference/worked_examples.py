"""Lab 4's two worked examples, composed from the reference layers: the gradients of one layer written in
column-vector form (part A) and one gradient-descent step of the classic 2-2-2 sigmoid network (part B)."""
import numpy as np

from . import losses, modules


def reference_layer_grads(W, x):
    """Part A: gradients of ``loss = sum(sigmoid(W @ x) ** 2)`` in column-vector form.

    W: float (m, n); x: float (n,). Returns (dy: (m,), dx: (n,), dW: (m, n)) with y = W @ x.
    The row-major Dense layer computes x[None] @ W.T, so its W is our W transposed.
    """
    dense, sigmoid = modules.Dense(W.shape[1], W.shape[0], dtype=np.float64), modules.Sigmoid()
    dense.W, dense.b = np.asarray(W, dtype=np.float64).T, np.zeros(W.shape[0])
    z = sigmoid.forward(dense.forward(np.asarray(x, dtype=np.float64)[None, :]))
    dy = sigmoid.backward(2 * z)  # d(sum z**2)/dz = 2 z
    dx = dense.backward(dy)
    return dy[0], dx[0], dense.dW.T


WEIGHT_NAMES = tuple(f"w{i}" for i in range(1, 9))
# Where each named weight of the classic example sits: (layer, row = input, column = output).
WEIGHT_POSITIONS = {"w1": (0, 0, 0), "w2": (0, 1, 0), "w3": (0, 0, 1), "w4": (0, 1, 1),
                    "w5": (1, 0, 0), "w6": (1, 1, 0), "w7": (1, 0, 1), "w8": (1, 1, 1)}
FORWARD_KEYS = ("net_h1", "out_h1", "net_h2", "out_h2", "net_o1", "out_o1", "net_o2", "out_o2")
GRADIENT_KEYS = tuple(f"dE_d{name}" for name in WEIGHT_NAMES)
NEW_WEIGHT_KEYS = tuple(f"new_{name}" for name in WEIGHT_NAMES)
CLASSIC_KEYS = FORWARD_KEYS + ("E_total",) + GRADIENT_KEYS + NEW_WEIGHT_KEYS


def reference_classic_step(weights, x, target, learning_rate=0.5):
    """Part B: one gradient-descent step of the 2-2-2 sigmoid network of the classic example.

    weights: dict "w1".."w8", "b1", "b2" of floats (b1 is shared by both hidden units, b2 by both
    outputs); x, target: two floats each. E_total = sum over the outputs of 1/2 (target - out)^2,
    which is ``losses.mse`` of one sample. Every gradient is taken at the given weights; the weights
    are updated afterwards and the biases are not updated.
    Returns a dict of floats under ``CLASSIC_KEYS``.
    """
    layers = [modules.Dense(2, 2, dtype=np.float64), modules.Sigmoid(),
              modules.Dense(2, 2, dtype=np.float64), modules.Sigmoid()]
    dense = layers[0], layers[2]
    for layer, bias in zip(dense, ("b1", "b2")):
        layer.b = np.full(2, float(weights[bias]))
    for name, (layer, row, column) in WEIGHT_POSITIONS.items():
        dense[layer].W[row, column] = weights[name]
    values, signal = [], np.asarray(x, dtype=np.float64)[None, :]
    for layer in layers:
        signal = layer.forward(signal)
        values.append(signal[0])
    E_total, dout = losses.mse(signal, np.asarray(target, dtype=np.float64)[None, :])
    modules.Sequential(layers).backward(dout)
    result = {f"{kind}_{unit}{i + 1}": float(values[step][i])
              for step, (kind, unit) in enumerate([("net", "h"), ("out", "h"), ("net", "o"), ("out", "o")])
              for i in range(2)}
    result["E_total"] = E_total
    for name, (layer, row, column) in WEIGHT_POSITIONS.items():
        gradient = float(dense[layer].dW[row, column])
        result[f"dE_d{name}"] = gradient
        result[f"new_{name}"] = float(weights[name]) - learning_rate * gradient
    return {key: result[key] for key in CLASSIC_KEYS}
