"""The catalogue of planted mistakes: for every graded function of every lab, several kinds of wrong answer.

Each ``Mistake`` edits the solution cell ``solution_id`` of ``source/<lab>/<lab>.ipynb`` by replacing
``old`` (which occurs exactly once) with ``new``. A submission with that one mistake must lose the
points of ``question_id`` (visible or hidden part) and of no other question.
Kinds: factor (a factor N, 1/N, 2 or 1/2 off), sign, axis (a sum or max over the wrong axis), transpose,
derivative (a missing derivative factor), logic (a wrong control flow or argument), inplace (an input changed in
place, which each of these exercises says not to do).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Mistake:
    lab: str
    solution_id: str
    kind: str
    old: str
    new: str
    question_id: str = ""

    @property
    def question(self):
        return self.question_id or f"test_{self.solution_id}"

    @property
    def name(self):
        same = [m for m in MISTAKES if (m.lab, m.solution_id, m.kind) == (self.lab, self.solution_id, self.kind)]
        return f"{self.lab.split('_')[0]}-{self.solution_id}-{self.kind}{same.index(self) + 1}"

    def apply(self, source):
        if source.count(self.old) != 1:
            raise ValueError(f"{self.name}: {self.old!r} occurs {source.count(self.old)} times in {self.solution_id}")
        return source.replace(self.old, self.new)


def _lab(lab, rows):
    return [Mistake(lab, *row) for row in rows]


MISTAKES = _lab("lab1_initialization", [
    ("initialize_parameters", "factor", '"he": np.sqrt(2.0 / fan_in)', '"he": np.sqrt(1.0 / fan_in)'),
    ("initialize_parameters", "transpose", "W1 = weights(n_x, n_h)", "W1 = weights(n_h, n_x)"),
    ("initialize_parameters", "logic", "np.random.default_rng(seed)", "np.random.default_rng(0)"),
    ("initialize_parameters", "logic", '"b1": np.zeros(n_h)', '"b1": np.ones(n_h)'),
    ("forward_propagation", "logic", "A1 = np.tanh(Z1)", "A1 = sigmoid(Z1)"),
    ("forward_propagation", "logic", 'Z1 = X @ params["W1"] + params["b1"]', 'Z1 = X @ params["W1"]'),
    ("forward_propagation", "sign", "A2 = sigmoid(Z2)", "A2 = sigmoid(-Z2)"),
    ("compute_cost", "factor", "cost = float(-np.sum(log_likelihood) / N)", "cost = float(-np.sum(log_likelihood))"),
    ("compute_cost", "factor", "cost = float(-np.sum(log_likelihood) / N)", "cost = float(-np.sum(log_likelihood) / N / N)"),
    ("compute_cost", "sign", "cost = float(-np.sum(log_likelihood) / N)", "cost = float(np.sum(log_likelihood) / N)"),
    ("backward_propagation", "factor", "delta2 = (A2 - Y) / N", "delta2 = A2 - Y"),
    ("backward_propagation", "factor", "delta2 = (A2 - Y) / N", "delta2 = (A2 - Y) / N / N"),
    ("backward_propagation", "sign", "delta2 = (A2 - Y) / N", "delta2 = (Y - A2) / N"),
    ("backward_propagation", "transpose", "grad_W1 = X.T @ delta1", "grad_W1 = (delta1.T @ X)"),
    ("backward_propagation", "axis", "grad_b1 = delta1.sum(axis=0)", "grad_b1 = delta1.sum(axis=1)"),
    ("backward_propagation", "derivative", " * (1 - A1 ** 2)", ""),
    ("update_parameters", "sign", "value - learning_rate * grads[key]", "value + learning_rate * grads[key]"),
    ("update_parameters", "inplace", "new_params[key] = value - learning_rate * grads[key]",
     "value -= learning_rate * grads[key]\n        new_params[key] = value"),
    ("update_parameters", "factor", "value - learning_rate * grads[key]", "value - grads[key]"),
    ("nn_model", "logic", "update_parameters(params, grads, learning_rate)", "update_parameters(params, grads, 1.2)"),
    ("nn_model", "logic", "method, seed=seed, scale=scale)", "method, seed=0, scale=scale)"),
    ("nn_model", "logic", "        costs.append(cost)\n", ""),
    ("predict", "logic", "predictions = (A2 > 0.5)", "predictions = (A2 < 0.5)"),
    ("predict", "logic", "A2, _ = forward_propagation(X, params)", "_, A2 = forward_propagation(X, params); A2 = A2['Z2']"),
]) + _lab("lab2_learning_rates", [
    ("update_parameters", "sign", "value - learning_rate * grads[key]", "value + learning_rate * grads[key]"),
    ("update_parameters", "factor", "value - learning_rate * grads[key]", "value - 0.5 * learning_rate * grads[key]"),
    ("update_parameters", "logic", "        raise ValueError", "        print"),
    ("step_decay", "logic", "drop ** (iteration // every)", "drop ** (iteration / every)"),
    ("step_decay", "logic", "drop ** (iteration // every)", "drop ** ((iteration + 1) // every)"),
    ("detect_divergence", "logic", "if cost > max_ratio * first_cost:", "if cost > max_ratio:"),
    ("detect_divergence", "logic", "if np.isnan(cost):", "if False:"),
    ("train", "logic", "step_decay(learning_rate, i, *decay)", "step_decay(learning_rate, i + 1, *decay)"),
    ("train", "logic", "            break\n", ""),
    ("train", "logic", "update_parameters(params, grads, rate)", "update_parameters(params, grads, learning_rate)"),
    ("sweep_learning_rates", "logic", "train(X, Y, learning_rate, num_iterations, **options)",
     "train(X, Y, learning_rate, num_iterations)"),
    ("sweep_learning_rates", "logic", "histories[learning_rate] = history", "histories[str(learning_rate)] = history"),
]) + _lab("lab3_loss_functions", [
    ("mse_cost", "factor", "cost = float(np.sum(error ** 2) / (2 * N))", "cost = float(np.sum(error ** 2) / N)"),
    ("mse_cost", "factor", "N = A2.shape[0]", "N = A2.size"),
    ("mse_cost", "factor", "dA2 = error / N", "dA2 = 2 * error / N"),
    ("mse_cost", "sign", "dA2 = error / N", "dA2 = -error / N"),
    ("backward_propagation", "derivative", "dZ2 = dA2 * A2 * (1 - A2)", "dZ2 = dA2"),
    ("backward_propagation", "factor", "dZ2 = (A2 - Y) / N", "dZ2 = A2 - Y"),
    ("backward_propagation", "sign", "dZ2 = (A2 - Y) / N", "dZ2 = (Y - A2) / N"),
    ("backward_propagation", "axis", "db2 = dZ2.sum(axis=0)", "db2 = dZ2.sum(axis=1)"),
    ("backward_propagation", "transpose", "dW1 = X.T @ dZ1", "dW1 = (dZ1.T @ X)"),
    ("nn_model", "logic", "backward_propagation(params, cache, X, Y, loss=loss)", "backward_propagation(params, cache, X, Y)"),
    ("nn_model", "logic", '{"bce": bce_cost, "mse": mse_cost}[loss]', "bce_cost"),
    ("nn_model", "logic", "params = initial_params", "params = initialize_parameters(X.shape[1], n_h, Y.shape[1])"),
    ("softmax", "axis", "exponentials.sum(axis=1, keepdims=True)", "exponentials.sum(axis=0, keepdims=True)"),
    ("softmax", "axis", "exponentials.sum(axis=1, keepdims=True)", "exponentials.sum()"),
    ("softmax", "logic", "shifted = Z - Z.max(axis=1, keepdims=True)", "shifted = Z"),
    ("softmax", "inplace", "shifted = Z - Z.max(axis=1, keepdims=True)", "Z -= Z.max(axis=1, keepdims=True)\n    shifted = Z"),
    ("softmax", "transpose", "probs = exponentials / exponentials.sum(axis=1, keepdims=True)",
     "probs = (exponentials / exponentials.sum(axis=1, keepdims=True)).T"),
    ("softmax_cross_entropy", "factor", "cost = float(-np.sum(log_probs[rows, y]) / N)", "cost = float(-np.sum(log_probs[rows, y]))"),
    ("softmax_cross_entropy", "sign", "dZ = (softmax(Z) - onehot) / N", "dZ = (onehot - softmax(Z)) / N"),
    ("softmax_cross_entropy", "axis", "log_probs[rows, y]", "log_probs[:, y]"),
    ("softmax_cross_entropy", "factor", "dZ = (softmax(Z) - onehot) / N", "dZ = softmax(Z) - onehot"),
]) + _lab("lab4_backprop", [
    ("gate_backward", "derivative", "da, db = dout, dout", "da, db = 1.0, 1.0"),
    ("gate_backward", "logic", "da, db = dout * b, dout * a", "da, db = dout * a, dout * b"),
    ("gate_backward", "logic", "if a >= b else", "if a <= b else"),
    ("graph_forward", "logic", "s = r + x  ", "s = r + y  "),
    ("graph_forward", "logic", "r = max(q, z)  ", "r = min(q, z)  "),
    ("graph_backward", "logic", '"x": float(dx_from_add + dx_from_mul)', '"x": float(dx_from_mul)'),
    ("graph_backward", "logic", 'if values["q"] >= z:', 'if values["q"] < z:'),
    ("graph_backward", "logic", "dx_from_mul, dy = dq * y, dq * x", "dx_from_mul, dy = dq * x, dq * y"),
    ("layer_grads", "factor", "dz = 2 * z", "dz = z"),
    ("layer_grads", "derivative", "dy = dz * z * (1 - z)", "dy = dz"),
    ("layer_grads", "transpose", "dW = np.outer(dy, x)", "dW = np.outer(x, dy).T.T"),
    ("layer_grads", "sign", "dx = W.T @ dy", "dx = -(W.T @ dy)"),
    ("classic_step", "factor", 'r["E_total"] = 0.5 * (t1', 'r["E_total"] = (t1'),
    ("classic_step", "sign", 'w[f"w{k}"] - learning_rate', 'w[f"w{k}"] + learning_rate'),
    ("classic_step", "derivative", 'delta_h1 = (delta_o1 * w["w5"] + delta_o2 * w["w7"]) * r["out_h1"] * (1 - r["out_h1"])',
     'delta_h1 = (delta_o1 * w["w5"] + delta_o2 * w["w7"])'),
    ("Dense", "factor", "self.dW = X.T @ dout", "self.dW = X.T @ dout / len(X)"),
    ("Dense", "axis", "self.db = dout.sum(axis=0)", "self.db = dout.sum(axis=1)"),
    ("Dense", "logic", "out = X @ self.W + self.b", "out = X @ self.W"),
    ("Dense", "transpose", "dX = dout @ self.W.T", "dX = (self.W @ dout.T).T.T"),
    ("Sigmoid", "derivative", "dX = dout * out * (1 - out)", "dX = dout * out"),
    ("Sigmoid", "sign", "dX = dout * out * (1 - out)", "dX = -dout * out * (1 - out)"),
    ("ReLU", "derivative", "dX = dout * (X > 0)", "dX = dout"),
    ("ReLU", "logic", "dX = dout * (X > 0)", "dX = dout * X"),
    ("ReLU", "inplace", "out = np.maximum(0, X)", "X[X < 0] = 0\n        out = X"),
    ("ReLU", "inplace", "dX = dout * (X > 0)", "dout[X <= 0] = 0\n        dX = dout"),
    ("Tanh", "derivative", "dX = dout * (1 - out ** 2)", "dX = dout"),
    ("Tanh", "factor", "dX = dout * (1 - out ** 2)", "dX = 2 * dout * (1 - out ** 2)"),
    ("Softmax", "axis", "out = exps / exps.sum(axis=1, keepdims=True)", "out = exps / exps.sum()"),
    ("Softmax", "axis", "np.sum(dout * out, axis=1, keepdims=True)", "np.sum(dout * out, axis=0, keepdims=True)"),
    ("Softmax", "derivative", "dX = out * (dout - np.sum(dout * out, axis=1, keepdims=True))", "dX = dout"),
    ("mse_loss", "factor", "loss = float(np.sum(diff ** 2) / (2 * N))", "loss = float(np.sum(diff ** 2) / N)"),
    ("mse_loss", "factor", "dpred = diff / N", "dpred = diff"),
    ("mse_loss", "sign", "dpred = diff / N", "dpred = -diff / N"),
    ("softmax_cross_entropy", "factor", "dlogits /= N", "pass"),
    ("softmax_cross_entropy", "sign", "dlogits[np.arange(N), y] -= 1", "dlogits[np.arange(N), y] += 1"),
    ("softmax_cross_entropy", "axis", "logits.max(axis=1, keepdims=True)", "logits.max(axis=0, keepdims=True)"),
    ("Sequential", "logic", "for layer in reversed(self.layers):", "for layer in self.layers:"),
    ("Sequential", "logic", "X = layer.forward(X)", "layer.forward(X)"),
    ("build_mlp", "logic", "net = Sequential(layers[:-1])", "net = Sequential(layers)"),
    ("build_mlp", "logic", "Dense(D_in, D_out, rng, dtype)", "Dense(D_in, D_out, seed, dtype)"),
    ("loss_and_grads", "logic", "net.backward(dscores)", "net.backward(np.ones_like(dscores))"),
    ("loss_and_grads", "logic", "grads = net.grads()", "grads = net.params()"),
]) + _lab("lab5_cifar10_mlp", [
    ("svm_loss", "logic", "    terms[rows, y] = 0\n", ""),
    ("svm_loss", "factor", "loss = float(np.sum(terms * positive) / N)", "loss = float(np.sum(terms * positive))"),
    ("svm_loss", "logic", "dscores[rows, y] = -positive.sum(axis=1)", "dscores[rows, y] = 0"),
    ("softmax_ce_loss", "factor", "dscores /= N", "pass"),
    ("softmax_ce_loss", "factor", "loss = -log_probs[rows, y].mean()", "loss = -log_probs[rows, y].sum()"),
    ("softmax_ce_loss", "sign", "dscores[rows, y] -= 1", "dscores[rows, y] += 1"),
    ("softmax_ce_loss", "axis", "scores.max(axis=1, keepdims=True)", "scores.max(axis=0, keepdims=True)"),
    ("softmax_ce_loss", "inplace", "shifted = scores - scores.max(axis=1, keepdims=True)",
     "scores -= scores.max(axis=1, keepdims=True)\n    shifted = scores"),
    ("mse_loss", "factor", "loss = np.sum(difference ** 2) / (2 * N)", "loss = np.sum(difference ** 2) / N"),
    ("mse_loss", "factor", "dscores = difference / N", "dscores = difference"),
    ("mse_loss", "sign", "dscores = difference / N", "dscores = -difference / N"),
    ("loss_and_grads", "derivative", "dA1 * (Z1 > 0)", "dA1"),
    ("loss_and_grads", "logic", '"W1": X.T @ dZ1 + reg * W1', '"W1": X.T @ dZ1'),
    ("loss_and_grads", "factor", "0.5 * reg * (np.sum(W1 * W1)", "reg * (np.sum(W1 * W1)"),
    ("loss_and_grads", "axis", '"b2": dscores.sum(axis=0)', '"b2": dscores.sum(axis=1)'),
    ("loss_and_grads", "transpose", '"W2": A1.T @ dscores', '"W2": (dscores.T @ A1).T.T'),
    ("loss_and_grads", "derivative", "dA1 * A1 * (1 - A1)", "dA1 * A1"),
    ("predict", "axis", ".argmax(axis=1)", ".argmax(axis=0)"),
    ("predict", "logic", "if activation == \"relu\" else sigmoid(Z1)", "if activation == \"relu\" else Z1"),
    ("train", "logic", "        order = rng.permutation(len(X))\n", ""),
    ("train", "logic", "velocity[key] *= momentum", "velocity[key] *= 0.0"),
    ("train", "logic", "        lr *= lr_decay\n", ""),
    ("train", "logic", "rows = order[start:start + batch_size]", "rows = np.arange(len(X))[start:start + batch_size]"),
]) + _lab("lab6_optimizers", [
    ("iterate_minibatches", "logic", "order = rng.permutation(X.shape[0])", "order = np.arange(X.shape[0])"),
    ("iterate_minibatches", "logic", "range(0, len(order), batch_size)", "range(0, len(order) - batch_size + 1, batch_size)"),
    ("iterate_minibatches", "logic", "(X[indices], y[indices])", "(X[indices], y[start:start + batch_size])"),
    ("sgd_update", "sign", "params[key] -= lr * grads[key]", "params[key] += lr * grads[key]"),
    ("sgd_update", "factor", "params[key] -= lr * grads[key]", "params[key] -= grads[key]"),
    ("momentum_update", "factor", "v *= beta", "v *= 1 - beta"),
    ("momentum_update", "factor", "v += grads[key]", "v += (1 - beta) * grads[key]"),
    ("momentum_update", "logic", 'v = state["v"][key]', 'v = state["v"][key].copy()'),
    ("momentum_update", "sign", "params[key] -= lr * v", "params[key] += lr * v"),
    ("rmsprop_update", "logic", "lr * g / (np.sqrt(s) + eps)", "lr * g / (s + eps)"),
    ("rmsprop_update", "factor", "s += (1 - beta) * g * g", "s += g * g"),
    ("rmsprop_update", "logic", "s = state[\"s\"][key]", "s = state[\"s\"][key].copy()"),
    ("adam_update", "logic", "m_hat = m / (1 - beta1 ** t)", "m_hat = m"),
    ("adam_update", "logic", "t = state[\"t\"]", "t = 1"),
    ("adam_update", "factor", "v += (1 - beta2) * g * g", "v += (1 - beta2) * g"),
    ("adam_update", "sign", "params[key] -= lr * m_hat", "params[key] += lr * m_hat"),
    ("iterate_minibatches", "logic", "range(0, len(order), batch_size)",
     "range(0, (len(order) // batch_size + 1) * batch_size, batch_size)"),
    ("iterate_minibatches", "logic", "(X[indices], y[indices])", "(X[indices], y[indices].astype(np.float32))"),
    ("adam_update", "logic", "m_hat / (np.sqrt(v_hat) + eps)", "(m_hat / np.sqrt(v_hat) + eps)"),
    ("adam_update", "inplace", "v += (1 - beta2) * g * g", "g *= g\n        v += (1 - beta2) * g"),
    ("rmsprop_update", "axis", "lr * g / (np.sqrt(s) + eps)", "lr * g / (np.sqrt(s.mean()) + eps)"),
    ("momentum_update", "logic", "        v *= beta\n        v += grads[key]\n        params[key] -= lr * v",
     "        params[key] -= lr * v\n        v *= beta\n        v += grads[key]"),
    ("momentum_update", "logic", 'if "v" not in state:', "if True:"),
    ("momentum_update", "inplace", 'state["v"] = {key: np.zeros_like(value) for key, value in params.items()}\n',
     'state["v"] = dict(grads)\n        for key in params:\n            params[key] -= lr * grads[key]\n        return\n'),
    ("adam_update", "logic", "m_hat = m / (1 - beta1 ** t)\n        v_hat = v / (1 - beta2 ** t)", "m_hat, v_hat = m, v"),
    ("adam_update", "logic", '    state["t"] += 1\n    t = state["t"]\n    for key in params:\n',
     '    for key in params:\n        state["t"] += 1\n        t = state["t"]\n'),
]) + _lab("lab7_architectures", [
    ("identity", "logic", "dA_dZ = np.ones_like(Z)", "dA_dZ = np.ones(Z.shape)"),
    ("identity", "derivative", "dA_dZ = np.ones_like(Z)", "dA_dZ = np.zeros_like(Z)"),
    ("identity", "logic", "A = Z.copy()", "A = np.maximum(Z, 0)"),
    ("collapse_linear", "logic", 'b = b @ params[f"W{layer}"] + params[f"b{layer}"]', 'b = params[f"b{layer}"]'),
    ("collapse_linear", "logic", 'b = b @ params[f"W{layer}"] + params[f"b{layer}"]', 'b = b + params[f"b{layer}"]'),
    ("collapse_linear", "transpose", 'W = W @ params[f"W{layer}"]', 'W = params[f"W{layer}"] @ W'),
    ("backward", "derivative", 'dZ = (dZ @ params[f"W{layer}"].T) * caches[layer - 2][1]',
     'dZ = dZ @ params[f"W{layer}"].T'),
    ("backward", "logic", "* caches[layer - 2][1]", "* caches[layer - 1][1]"),
    ("backward", "factor", 'grads[f"b{layer}"] = dZ.sum(axis=0)', 'grads[f"b{layer}"] = dZ.mean(axis=0)'),
    ("layer_gradient_norms", "logic", "grads = backward(params, caches, dscores)",
     "grads = backward(params, caches, scores)"),
    ("layer_gradient_norms", "logic", "forward(params, X, activation)", 'forward(params, X, "tanh")'),
    ("backward", "axis", 'grads[f"b{layer}"] = dZ.sum(axis=0)', 'grads[f"b{layer}"] = dZ.sum(axis=1)'),
    ("backward", "transpose", 'grads[f"W{layer}"] = A_prev.T @ dZ', 'grads[f"W{layer}"] = (dZ.T @ A_prev).T.T'),
    ("success_rate", "logic", "scale=1.0, seed=seed)", "scale=1.0, seed=0)"),
    ("success_rate", "logic", ">= threshold", "> threshold"),
    ("success_rate", "factor", "rate = successes / len(seeds)", "rate = successes"),
    ("layer_gradient_norms", "logic", "for layer in range(1, L + 1)", "for layer in range(L, 0, -1)"),
    ("layer_gradient_norms", "factor", 'np.linalg.norm(grads[f"W{layer}"])', 'np.sum(grads[f"W{layer}"] ** 2)'),
    ("layer_gradient_norms", "logic", 'np.linalg.norm(grads[f"W{layer}"])', 'np.linalg.norm(grads[f"b{layer}"])'),
    ("dead_fraction", "axis", "np.all(caches[layer][0] == 0, axis=0)", "np.any(caches[layer][0] == 0, axis=0)"),
    ("dead_fraction", "axis", "np.mean(np.all(caches[layer][0] == 0, axis=0))", "np.mean(caches[layer][0] == 0)"),
    ("dead_fraction", "axis", "np.all(caches[layer][0] == 0, axis=0)", "np.all(caches[layer][0] == 0, axis=1)"),
    ("dead_fraction", "logic", "for layer in range(1, L)", "for layer in range(L)"),
    ("dead_fraction", "factor", "np.mean(np.all(caches[layer][0] == 0, axis=0))",
     "np.sum(np.all(caches[layer][0] == 0, axis=0))"),
    ("success_rate", "logic", '"random", scale=1.0, seed=seed)', '"xavier", seed=seed)'),
    ("success_rate", "logic", '"random", scale=1.0, seed=seed)', '"he", seed=seed)'),
    ("identity", "derivative", "dA_dZ = np.ones_like(Z)", "dA_dZ = Z"),
    ("success_rate", "logic", 'train(params, X, y, "tanh"', 'train(params, X, y, "relu"'),
])
