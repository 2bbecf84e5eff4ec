"""Lab 7 (architectures): networks of any depth and width with a choice of activation, as the notebook builds them.

Binary classification throughout: ``X`` float (N, D), labels ``y`` int (N,) in {0, 1}, one output unit whose
score (a logit) goes through a sigmoid into the binary cross-entropy. A network of L layers has parameters
``{"W1": (D, H1), "b1": (H1,), ..., "WL": (H_{L-1}, 1), "bL": (1,)}``; hidden layers apply the activation,
the last layer is linear.

An activation here is one function ``g(Z) -> (A, dA_dZ)``: its value and its elementwise derivative, both of
Z's shape and dtype. ``forward`` returns the scores and one cache per layer, ``caches[l - 1] = (A_prev, dA_dZ)``
for layer l: its input ``A_prev`` (N, D_{l-1}) and the derivative of its activation at its output (N, D_l),
None for the last (linear) layer. Everything stays in the parameters' dtype (float32 to train, float64 for
gradient checks).
"""
import numpy as np

from . import activations, init, layers, losses


def identity(Z):
    """No activation: ``A = Z`` and ``dA_dZ = 1`` everywhere (Z's shape and dtype)."""
    Z = activations._as_float(Z)
    return Z.copy(), np.ones_like(Z)


def sigmoid(Z):
    """Sigmoid and its derivative ``A (1 - A)``."""
    A = activations.sigmoid(Z)
    return A, A * (1 - A)


def tanh(Z):
    """Tanh and its derivative ``1 - A**2``."""
    A = activations.tanh(Z)
    return A, 1 - A * A


def relu(Z):
    """ReLU and its derivative, 1 where ``Z > 0`` and 0 elsewhere (0 at Z = 0)."""
    A = activations.relu(Z)
    return A, (A > 0).astype(A.dtype)


ACTIVATIONS = {"identity": identity, "sigmoid": sigmoid, "tanh": tanh, "relu": relu}
INITS = ("random", "xavier", "he")


def num_layers(params):
    """L, the number of layers of ``params`` (keys W1, b1, ..., WL, bL)."""
    return len(params) // 2


def init_network(layer_sizes, method="he", scale=1.0, seed=0, dtype=np.float32):
    """Weights by ``method`` ("random": standard normal times ``scale``; "xavier"; "he"), zero biases.

    layer_sizes: [D, H1, ..., 1]; seed: int or Generator, one generator draws W1, W2, ... in order.
    """
    if method not in INITS:
        raise ValueError(f"Unknown method {method!r}: use one of {INITS}.")
    rng = np.random.default_rng(seed)
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(layer_sizes[:-1], layer_sizes[1:]), start=1):
        params[f"W{layer}"] = init.initialize(fan_in, fan_out, method, rng=rng, scale=scale, dtype=dtype)
        params[f"b{layer}"] = np.zeros(fan_out, dtype=dtype)
    return params


def forward(params, X, activation):
    """Scores (N, 1) and the caches (see the module docstring)."""
    g = ACTIVATIONS[activation]
    L = num_layers(params)
    A, caches = X, []
    for layer in range(1, L + 1):
        Z, _ = layers.dense_forward(A, params[f"W{layer}"], params[f"b{layer}"])
        A_next, derivative = g(Z) if layer < L else (Z, None)
        caches.append((A, derivative))
        A = A_next
    return A, caches


def bce_loss(scores, y):
    """Mean binary cross-entropy of ``sigmoid(scores)`` (1/N convention) and its gradient (N, 1) at the scores."""
    scores = np.asarray(scores)
    return losses.bce_with_logits(scores, np.asarray(y).reshape(scores.shape).astype(scores.dtype))


def backward(params, caches, dscores):
    """Gradients {"W1", "b1", ...} from the caches of ``forward`` and the gradient at the scores (N, 1)."""
    L = len(caches)
    grads = {}
    dZ = dscores
    for layer in range(L, 0, -1):
        A_prev, _ = caches[layer - 1]
        dA_prev, grads[f"W{layer}"], grads[f"b{layer}"] = layers.dense_backward(
            dZ, (A_prev, params[f"W{layer}"]), compute_dX=layer > 1)
        if layer > 1:
            dZ = dA_prev * caches[layer - 2][1]
    return {key: grads[key] for key in params}


def loss_and_grads(params, X, y, activation):
    """The loss of the network on (X, y) and its gradients."""
    scores, caches = forward(params, X, activation)
    loss, dscores = bce_loss(scores, y)
    return loss, backward(params, caches, dscores)


def predict(params, X, activation):
    """Labels int64 (N,): 1 where the score is positive (the probability above 0.5)."""
    return (forward(params, X, activation)[0][:, 0] > 0).astype(np.int64)


def train(params, X, y, activation, lr, iterations):
    """Full-batch gradient descent from a copy of ``params`` (left unchanged).

    Returns (the trained parameters, a new dict; the loss before each update, a list of ``iterations`` floats).
    """
    params = {key: np.array(value, copy=True) for key, value in params.items()}
    history = []
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            loss, grads = loss_and_grads(params, X, y, activation)
            history.append(loss)
            for key, value in params.items():
                value -= lr * grads[key]
    return params, history


def collapse_linear(params):
    """The one affine map ``X @ W + b`` a stack of linear layers computes: W = W1 W2 ... WL and
    b = (...((b1 W2 + b2) W3 + b3) ...) WL + bL. Returns (W (D_in, D_out), b (D_out,))."""
    W, b = params["W1"], params["b1"]
    for layer in range(2, num_layers(params) + 1):
        W = W @ params[f"W{layer}"]
        b = b @ params[f"W{layer}"] + params[f"b{layer}"]
    return W, b


def layer_gradient_norms(params, X, y, activation):
    """Frobenius norms of dW1, ..., dWL of the loss on (X, y), float64 (L,), layer 1 first."""
    _, grads = loss_and_grads(params, X, y, activation)
    return np.array([np.linalg.norm(grads[f"W{layer}"]) for layer in range(1, num_layers(params) + 1)],
                    dtype=np.float64)


def dead_fraction(params, X):
    """For each hidden layer of a ReLU network, the fraction of its units whose output is 0 for every row of X:
    float64 (L - 1,)."""
    _, caches = forward(params, X, "relu")
    return np.array([np.mean(np.all(caches[layer][0] <= 0, axis=0)) for layer in range(1, len(caches))],
                    dtype=np.float64)


def final_accuracy(n_h, seed, X, y, lr, iterations):
    """Training accuracy of a D-n_h-1 tanh network started from ``init_network(..., "random", 1.0, seed)``."""
    params, _ = train(init_network([X.shape[1], n_h, 1], "random", scale=1.0, seed=seed), X, y, "tanh", lr,
                      iterations)
    return float(np.mean(predict(params, X, "tanh") == y))


def success_rate(n_h, seeds, X, y, lr=1.2, iterations=1000, threshold=0.9):
    """The fraction of ``seeds`` whose trained network reaches a training accuracy of at least ``threshold``."""
    results = [final_accuracy(n_h, seed, X, y, lr, iterations) >= threshold for seed in seeds]
    return sum(results) / len(seeds)
