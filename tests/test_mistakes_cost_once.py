"""Each mistake costs points once, at its own question; noise costs nothing.

Every lab's source notebook runs in this process with one solution replaced by a wrong one (see
``mistakes.MISTAKES``): exactly the question of that function must fail, visible or hidden part,
and no other. The catalogue gives every graded question at least two mistakes, and the README's command for one
lab's mistakes selects them. A correct submission whose functions print, warn, write to stderr, hit floating-point
warnings and change NumPy's error state passes every question.
"""
import ast
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.judge.cells import split_hidden
from mistakes import MISTAKES
from notebook_namespace import failed_tests, source_cells

LABS = sorted({mistake.lab for mistake in MISTAKES})
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.name)
def test_a_mistake_costs_its_own_question_only(mistake):
    cells = source_cells(mistake.lab)
    solution = next(source for grade_id, _, source in cells if grade_id == mistake.solution_id)
    failures = failed_tests(mistake.lab, {mistake.solution_id: mistake.apply(solution)}, cells)
    assert set(failures) == {mistake.question}, failures


# (lab, a caller's cell, how it finds a graded helper otherwise than by its name, edits of its solution)
REACHED_OTHERWISE = [
    ("lab5_cifar10_mlp", "loss_and_grads", "a dict of the losses",
     [("def loss_and_grads(", 'LOSSES = {"softmax_ce": softmax_ce_loss, "mse": mse_loss}\n\n\ndef loss_and_grads('),
      ("softmax_ce_loss(scores, y)", 'LOSSES["softmax_ce"](scores, y)')]),
    ("lab5_cifar10_mlp", "loss_and_grads", "a function of its own",
     [("softmax_ce_loss(scores, y)", "_data_loss(scores, y)"),
      ("def loss_and_grads(",
       "def _data_loss(scores, y):\n    return softmax_ce_loss(scores, y)\n\n\ndef loss_and_grads(")]),
    ("lab5_cifar10_mlp", "loss_and_grads", "a default argument",
     [('reg=0.0):', 'reg=0.0, ce_loss=softmax_ce_loss):'), ("softmax_ce_loss(scores, y)", "ce_loss(scores, y)")]),
    ("lab1_initialization", "nn_model", "a dict of the steps",
     [("forward_propagation(X, params)", 'STEPS["forward"](X, params)'),
      ("def nn_model(",
       'STEPS = {"forward": forward_propagation, "backward": backward_propagation}\n\n\ndef nn_model(')]),
    ("lab1_initialization", "nn_model", "a keyword-only default",
     [("print_cost=False", "print_cost=False, *, forward=forward_propagation"),
      ("forward_propagation(X, params)", "forward(X, params)")]),
    ("lab1_initialization", "nn_model", "another name",
     [("forward_propagation(X, params)", "forward(X, params)"),
      ("def nn_model(", "forward = forward_propagation\n\n\ndef nn_model(")]),
    ("lab5_cifar10_mlp", "loss_and_grads", "a closure",
     [("softmax_ce_loss(scores, y)", "_data_loss(scores, y)"),
      ("def loss_and_grads(", "def _loss_of(loss):\n    def data_loss(scores, y):\n        return loss(scores, y)\n"
                              "    return data_loss\n\n\n_data_loss = _loss_of(softmax_ce_loss)\n\n\ndef loss_and_grads(")]),
    ("lab3_loss_functions", "nn_model", "a tuple of pairs",
     [("def nn_model(", 'COSTS = (("bce", bce_cost), ("mse", mse_cost))\n\n\ndef nn_model('),
      ('{"bce": bce_cost, "mse": mse_cost}[loss]', "dict(COSTS)[loss]")]),
    ("lab2_learning_rates", "sweep_learning_rates", "a dict of the runners",
     [("history = train(", 'history = RUNNERS["train"]('),
      ("def sweep_learning_rates(", 'RUNNERS = {"train": train}\n\n\ndef sweep_learning_rates(')]),
    ("lab3_loss_functions", "nn_model", "a dict of the costs",
     [("def nn_model(", 'COSTS = {"bce": bce_cost, "mse": mse_cost}\n\n\ndef nn_model('),
      ('{"bce": bce_cost, "mse": mse_cost}[loss]', "COSTS[loss]")]),
]
HELPER_MISTAKES = {"lab5_cifar10_mlp": next(m for m in MISTAKES
                                         if m.solution_id == "softmax_ce_loss" and m.new == "pass"),
                   "lab3_loss_functions": next(m for m in MISTAKES if m.solution_id == "mse_cost"),
                   "lab1_initialization": next(m for m in MISTAKES if m.solution_id == "forward_propagation"),
                   "lab2_learning_rates": next(m for m in MISTAKES if m.solution_id == "train")}


@pytest.mark.parametrize("lab, caller, way, edits", REACHED_OTHERWISE,
                         ids=[f"{lab[:4]}-{caller}-{way}" for lab, caller, way, _ in REACHED_OTHERWISE])
def test_a_wrong_helper_costs_once_however_its_caller_reaches_it(lab, caller, way, edits):
    """A right function that finds a helper in a dict or a tuple, under another name, through a function of its own,
    in a closure or as a default argument passes,
    and keeps its points when the helper is wrong: its visible test's stand-ins and its hidden check's reference
    helpers take the helper's place there too. (Lab 1's right answers in a dict or a default failed their visible
    test: the stand-ins for forward_propagation and backward_propagation work together; so did Lab 2's
    sweep_learning_rates through a dict, whose visible test swapped train by its name.)"""
    cells = source_cells(lab)
    sources = {grade_id: source for grade_id, _, source in cells}
    written = sources[caller]
    for old, new in edits:
        assert written.count(old) == 1, old
        written = written.replace(old, new)
    assert failed_tests(lab, {caller: written}, cells) == {}  # a right answer
    mistake = HELPER_MISTAKES[lab]
    wrong_helper = mistake.apply(sources[mistake.solution_id])
    assert set(failed_tests(lab, {caller: written, mistake.solution_id: wrong_helper}, cells)) == {mistake.question}


NAMED_BY_VISIBLE_TESTS = [  # mistakes the exercise's text warns about, with what its visible test says of them
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and m.new == "        raise TypeError"),
     "update_parameters(..., learning_rate=0.0) should raise a ValueError, but it raised TypeError: The learning rate"),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and m.new == "        print"),
     "update_parameters(..., learning_rate=0.0) should raise a ValueError, but it returned normally."),
    *((m, "it was changed in place, but the function must leave its inputs unchanged") for m in MISTAKES
      if m.kind == "inplace"),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and m.old == "            break\n"),
     "train should stop at the first cost that detect_divergence flags"),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and m.new == "rate = learning_rate"),
     "the rate never decayed: with decay = (drop, every), iteration i uses step_decay(learning_rate, i, drop, every)"),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and "i + 1, *decay" in m.new),
     "the rates are one iteration ahead: the first iteration is i = 0"),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and m.new == 'detect_divergence(cost, history["costs"][0])'),
     "train was given max_ratio=5.0 but called detect_divergence with max_ratio=3.0: pass max_ratio on"),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and m.new == 'history["costs"][-1], max_ratio)'),
     "pass history['costs'][0], the cost of the initial parameters"),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and m.solution_id == "train" and m.new == "scale=scale)"),
     "it is the cost of the initial parameters of seed=0: pass seed=seed on to initialize_parameters"),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and m.new == "update_parameters(params, grads, learning_rate)"),
     "the updates did not use the decayed rates"),
    (next(m for m in MISTAKES if m.lab == "lab3_loss_functions" and m.new == "update_parameters(params, grads, 1.2)"),
     "it is the cost after a step with learning_rate=1.2, the default: update the parameters with the learning_rate"),
    (next(m for m in MISTAKES if m.lab == "lab3_loss_functions" and m.new == '"random", scale=scale)'),
     "it is the cost of the network of seed=0: pass seed=seed on to initialize_parameters"),
    (next(m for m in MISTAKES if m.lab == "lab3_loss_functions" and m.new == '"random", seed=seed)'),
     "it is the cost of the network of scale=1.0: pass scale=scale on to initialize_parameters"),
    (next(m for m in MISTAKES if m.lab == "lab3_loss_functions" and m.new == "bce_cost"),
     "it is the bce cost: with loss='mse', record the cost of 'mse' (mse_cost)"),
    (next(m for m in MISTAKES if m.lab == "lab3_loss_functions" and m.old == "params = initial_params"),
     "it is the cost of a new network of initialize_parameters: start from initial_params when they are given"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == '"xavier": np.sqrt(2.0 / fan_in)'),
     "which is about sqrt(2 / fan_in), He's formula; Xavier's standard deviation is sqrt(2 / (fan_in + fan_out))"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == '"xavier": 2.0 / (fan_in + fan_out)'),
     "which is about 2 / (fan_in + fan_out), the variance rather than the standard deviation"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new.startswith("return generator.uniform(")),
     "standard deviation of W1 for method='he', n_x=400: found 0.040807821, expected 0.070710678 (rtol=0.05, "
     "atol=1e-08): its standard deviation is about 1/sqrt(3) = 0.58 of the one asked, as a uniform distribution on "
     "(-a, a) gives"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == '"he": np.sqrt(2.0 / n_x)'),
     "which is about the value for W1's fan_in (400); for W2, fan_in = n_h = 300"),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and m.new == "if cost >= max_ratio * first_cost:"),
     "a cost of exactly max_ratio * first_cost is still healthy: compare with >, not >="),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and m.new == "if cost is np.nan:"),
     "test it with np.isnan(cost), as == and `is` do not recognise a NaN"),
    *((m, "b2 after one step (0 - 0.1 * 1): found 0, expected -0.1 (rtol=1e-06, atol=1e-08): it equals the input")
      for m in MISTAKES if m.solution_id == "update_parameters" and "if key != 'b2' else value" in m.new),
    (next(m for m in MISTAKES if m.new == "for learning_rate in sorted(learning_rates):"),
     "the keys should be the learning rates [1.0, 0.1, 50.0] in the order given (not sorted)"),
    (next(m for m in MISTAKES if m.new == "train(X, Y, learning_rate, num_iterations, options)"),
     "pass the options as keywords, with train(X, Y, learning_rate, num_iterations, **options)"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == '"Z1": A1, "A1": A1, "Z2": A2,'),
     "it is A1, after tanh: the cache keeps Z1 = X @ W1 + b1, before the activation"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == "A1 = Z1"),
     "it is Z1 = X @ W1 + b1 itself: the hidden layer's activation is A1 = tanh(Z1)"),
    (next(m for m in MISTAKES if m.solution_id == "softmax" and m.new == "exponentials.sum(axis=0, keepdims=True)"),
     "each column sums to 1, but each row should: a row is a sample, so sum over axis 1"),
    (next(m for m in MISTAKES if m.solution_id == "softmax" and m.new == "exponentials.sum()"),
     "the whole array sums to 1, but each row should: divide each row by its own sum"),
    (next(m for m in MISTAKES if m.solution_id == "softmax" and m.new == "shifted = Z - Z.max(axis=0, keepdims=True)"),
     "it subtracts each column's maximum, which changes the result: subtract each row's own maximum"),
    (next(m for m in MISTAKES if m.new == "drop ** (iteration / every)"),
     "the rate decays smoothly instead of in steps: the power of drop is the number of completed blocks"),
    (next(m for m in MISTAKES if m.new == "drop ** ((iteration + 1) // every)"),
     "the rate drops one iteration early, at t = 99"),
    (next(m for m in MISTAKES if m.new == "drop ** np.ceil(iteration / every)"),
     "count the completed blocks, rounding down (integer division //)"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.old == " * (1 - A1 ** 2)" and m.new == ""),
     "it lacks the derivative of tanh: multiply the error sent back to the hidden layer by tanh's derivative"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == ' * (1 - cache["Z1"] ** 2)'),
     "it uses 1 - Z1**2, with Z1 from before the activation: tanh's derivative is written with the hidden layer's "
     "activation A1 = tanh(Z1)"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == " * (1 - np.tanh(A1) ** 2)"),
     "it uses 1 - tanh(A1)**2, which applies tanh a second time"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == " * A1 * (1 - A1)"),
     "it uses A1 * (1 - A1), the derivative of the sigmoid, but the hidden layer's activation is tanh"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == "A1 = sigmoid(Z1)"),
     "it is the sigmoid of Z1, but the hidden layer's activation is tanh"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == "A2 = sigmoid(-Z2)"),
     "it is 1 - A2, the sigmoid of -Z2: check the sign inside the sigmoid"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == "predictions = (A2 < 0.5)"),
     "every class is flipped"),
    (next(m for m in MISTAKES if m.solution_id == "detect_divergence" and m.new == "return True"),
     "returned True: when the run diverged, return a sentence (a non-empty str) that says why"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == 'Z1 = X @ params["W1"]'),
     "it is tanh(X @ W1) without + b1: did you forget the bias b1?"),
    (next(m for m in MISTAKES if m.lab == "lab4_backprop" and m.new == "out = X @ self.W"),
     "it is X @ W without + b: did you forget the bias b?"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == "value + learning_rate * grads[key]"),
     "it changed the input by the opposite of the expected change: check the sign of the step"),
    (next(m for m in MISTAKES if m.lab == "lab5_cifar10_mlp" and m.old == "        lr *= lr_decay\n"),
     "b after 2 epochs of 2 minibatches with a gradient of 1, lr=1.0 and lr_decay=0.5"),
    (next(m for m in MISTAKES if m.lab == "lab6_optimizers" and "// batch_size + 1" in m.new),
     "8 samples in batches of 4 give two batches of 4 and no empty batch after them"),
    (next(m for m in MISTAKES if m.lab == "lab6_optimizers" and "astype(np.float32)" in m.new),
     "y_batch (labels taken from y keep its integer dtype)"),
    (next(m for m in MISTAKES if m.lab == "lab6_optimizers" and m.new == "(m_hat / np.sqrt(v_hat) + eps)"),
     "params['w'] for g = 1e-4 and eps = 1e-2 (divide m_hat by sqrt(v_hat) + eps)"),
    (next(m for m in MISTAKES if m.lab == "lab6_optimizers" and "s.mean()" in m.new),
     "params['w'] for g = [3, 0.3] (each entry divided by the root of its own running average)"),
    *((m, "the sum of squares divided by 2 (the 1/N left out) or by N (the 1/2 left out); divide by 2N = 4") for m in
      MISTAKES if m.lab == "lab4_backprop" and m.solution_id == "mse_loss" and m.old.startswith("loss = ")),
    (next(m for m in MISTAKES if m.lab == "lab4_backprop" and m.new == "dpred = diff"),
     "it is pred - target, not divided: divide by N = 2, the number of samples"),
    *((m, "it is the local derivative alone: multiply it by dout, the gradient from above (the chain rule)")
      for m in MISTAKES if m.lab == "lab4_backprop" and "dout" in m.old and "dout" not in m.new),
    (next(m for m in MISTAKES if m.lab == "lab3_loss_functions" and "costs.append(cost_function(" in m.new),
     "it is the cost after the first update: record each iteration's cost before updating the parameters"),
    (next(m for m in MISTAKES if m.solution_id == "Softmax" and m.new == "dX = dout * out * (1 - out)"),
     "it uses only the diagonal of the softmax's Jacobian, as if each output depended on its own input alone"),
    (next(m for m in MISTAKES if m.solution_id == "rmsprop_update" and m.new == "lr * g / (s + eps)"),
     "it divides g by s + eps, not by the square root of s (plus eps)"),
    (next(m for m in MISTAKES if m.solution_id == "rmsprop_update" and m.new == "lr * g / np.sqrt(s + eps)"),
     "epsilon is inside the square root: divide by np.sqrt(s) + eps"),
    (next(m for m in MISTAKES if m.solution_id == "adam_update" and m.new == "m_hat / np.sqrt(v_hat + eps)"),
     "epsilon is inside the square root: divide m_hat by np.sqrt(v_hat) + eps"),
    *((m, "is a new array, but the function must change the array it was given in place") for m in MISTAKES
      if m.lab == "lab6_optimizers" and m.new.startswith("params[key] = params[key] - ")),
    (next(m for m in MISTAKES if m.solution_id == "compute_cost" and m.new == "Y * np.log(A2)"),
     "it leaves out the term (1 - Y) * log(1 - A2) of the samples whose target is 0"),
    (next(m for m in MISTAKES if m.solution_id == "compute_cost" and "@" in m.new),
     "it multiplies every target by every prediction, as a matrix product (@) does"),
    (next(m for m in MISTAKES if m.lab == "lab5_cifar10_mlp" and m.new == "np.exp(shifted).sum(axis=0, keepdims=True)"),
     "it normalises over the batch (axis 0): each column's probabilities sum to 1, but each row's should, over the C "
     "classes of its sample"),
    (next(m for m in MISTAKES if m.lab == "lab5_cifar10_mlp" and m.new == "total_loss = data_loss"),
     "the increase of the loss with reg=0.1: found 0"),
    (next(m for m in MISTAKES if m.lab == "lab5_cifar10_mlp" and m.new.endswith("+ reg * b1")),
     "db1 with reg=0.1 (biases are not regularised)"),
    (next(m for m in MISTAKES if m.lab == "lab5_cifar10_mlp" and m.new.startswith("    lr *= lr_decay\n")),
     "lr was multiplied by lr_decay before the first epoch too"),
    (next(m for m in MISTAKES if m.lab == "lab5_cifar10_mlp" and "y[start:start + batch_size]" in m.new),
     "which are not theirs"),
    (next(m for m in MISTAKES if m.solution_id == "success_rate" and m.new == '"tanh", iterations, lr)'),
     "success_rate should call train once per seed (6 times here), on the 2-2-1 network it made, with 'tanh', "
     "lr=0.7 and iterations=25 as given; it called it 6 time(s), once with 'tanh', lr=25 and iterations=0.7"),
    *((m, "the loss when the correct class loses by far (scores of size 1e4), or a row's scores are all far below "
          "another row's should contain only finite numbers") for m in MISTAKES
      if m.solution_id == "softmax_ce_loss" and m.new in ("scores.max()", "log_probs = np.log(np.exp(shifted) / "
                                                          "np.exp(shifted).sum(axis=1, keepdims=True))")),
    (next(m for m in MISTAKES if m.lab == "lab5_cifar10_mlp" and m.new == "np.eye(scores.shape[1])[y]"),
     "the targets that loss_and_grads passes to mse_loss (one-hot rows in the dtype of the scores"),
    (next(m for m in MISTAKES if m.lab == "lab5_cifar10_mlp" and m.new == "    if False:\n"),
     "loss_and_grads(..., activation='softplus') should raise a ValueError"),
    (next(m for m in MISTAKES if m.solution_id == "nn_model" and m.new.endswith("and i > 0:")),
     "counting from i = 0); it printed it at [100, 200]"),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and "append(learning_rate)" in m.new),
     "the run stopped at its 4th cost after 3 updates, but it has 4 entries"),
    (next(m for m in MISTAKES if m.solution_id == "layer_gradient_norms" and "], 2)" in m.new),
     "for a matrix, np.linalg.norm(g, 2) is its largest singular value"),
    (next(m for m in MISTAKES if m.solution_id == "dead_fraction" and "layer - 1" in m.new),
     "these are the fractions of each layer's input, one layer too early"),
    (next(m for m in MISTAKES if m.solution_id == "compute_cost" and "log10" in m.new),
     "as a base-10 logarithm gives: use the natural logarithm, np.log, not np.log10"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == 'Z2 = A1 @ params["W2"]'),
     "it is sigmoid(A1 @ W2) without + b2: did you forget the bias b2?"),
    (next(m for m in MISTAKES if m.solution_id == "step_decay" and m.new.startswith("0.5 **")),
     "it is what drop=0.5, the default, gives: use the drop it is given"),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and m.new.startswith("rate = learning_rate = ")),
     "each rate decays the previous iteration's rate, so the drops compound"),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and 'history["path"][-1] =' in m.new),
     "it is the point after the first update: record each iteration's parameters before its update"),
    (next(m for m in MISTAKES if m.lab == "lab2_learning_rates" and "dict(params)" in m.new),
     "history['path'][0] (one point of the path: flatten_parameters(params), a 1-D array) should be of type ndarray"),
    (next(m for m in MISTAKES if m.solution_id == "success_rate" and m.new == "init_network([2, n_h, 1]"),
     "take D from X.shape[1], not from XOR's 2 features"),
    (next(m for m in MISTAKES if m.solution_id == "layer_gradient_norms" and "** 2)" in m.new),
     "these are the squared norms (sums of squares): the norm is their square root, np.linalg.norm"),
    (next(m for m in MISTAKES if m.solution_id == "classic_step" and m.kind == "sign"),
     "new_w5: found 0.44108352, expected 0.35891648 (rtol=1e-07, atol=1e-08): it changed the input by the opposite "
     "of the expected change: check the sign of the step"),
    (next(m for m in MISTAKES if m.solution_id == "loss_and_grads" and m.new == ""),
     "net.grads() was asked for the gradients before any backward pass: after the loss, pass its gradient dscores"),
    (next(m for m in MISTAKES if m.solution_id == "build_mlp" and "layers[1] if" in m.new),
     "build_mlp put one layer object in the network more than once: each layer keeps the cache of its own forward"),
    (next(m for m in MISTAKES if m.solution_id == "momentum_update" and "isinstance" in m.new),
     "state['v'] after step 1 (one velocity per key of params) should be of type dict, not"),
    (next(m for m in MISTAKES if m.solution_id == "rmsprop_update" and m.new == "if True:"),
     "the running average started again from zero: make it only when state has none yet"),
    (next(m for m in MISTAKES if m.solution_id == "iterate_minibatches" and m.new == "order = np.arange(X.shape[0])"),
     "the batches keep the samples in their original order: shuffle them first, with rng.permutation"),
    (next(m for m in MISTAKES if m.solution_id == "momentum_update" and m.new.startswith("        params[key] -= lr")),
     "the parameter did not move: update the velocity first, then step with it"),
    (next(m for m in MISTAKES if m.solution_id == "momentum_update" and m.new == "if True:"),
     "the velocity started again from zero: make the velocities only when state has none yet"),
    (next(m for m in MISTAKES if m.solution_id == "momentum_update" and m.new.endswith(".copy()")),
     "state['v'] still holds zeros: update the velocity kept in state"),
    (next(m for m in MISTAKES if m.solution_id == "adam_update" and m.new == "m_hat, v_hat = m, v"),
     "this step uses m and v without bias correction"),
    (next(m for m in MISTAKES if m.solution_id == "adam_update" and m.new == "t = 1"),
     "the second step used t = 1 again: t counts the steps so far"),
    (next(m for m in MISTAKES if m.solution_id == "adam_update" and m.new.startswith("    for key in params:")),
     "it counts steps, not parameters"),
    *((m, "the dscores given to backward") for m in MISTAKES if m.solution_id == "layer_gradient_norms"
      and m.kind == "logic" and ("scores)" in m.new or '"tanh"' in m.new)),
    (next(m for m in MISTAKES if m.solution_id == "dead_fraction" and "np.sum(" in m.new),
     "these are the numbers of dead units: divide by the layer's width"),
    (next(m for m in MISTAKES if m.solution_id == "dead_fraction" and "axis=1" in m.new),
     "no unit counts as dead: a unit is a column of the layer's output"),
    *((next(m for m in MISTAKES if m.solution_id == "success_rate" and new in m.new),
       "success_rate should create each seed's network with init_network([D, n_h, 1], 'random', scale=1.0, seed=seed), "
       f"standard normal weights as in Lab 1; for seed {seed} it called init_network([2, 2, 1], {method!r}, scale=1.0, "
       "seed=0)") for new, method, seed in (('"xavier"', "xavier", 0), ('"he"', "he", 0), ("seed=0)", "random", 1))),
    (next(m for m in MISTAKES if m.solution_id == "dead_fraction" and m.new == "np.mean(caches[layer][0] == 0)"),
     "this is the share of zero outputs over all samples and units; a unit is dead when its output is 0 for every "
     "sample"),
    (next(m for m in MISTAKES if m.solution_id == "backward" and m.new == 'dZ = dZ @ params[f"W{layer}"].T'),
     "grads['W1'] for the two-layer example: right shape, but 4 of 4 values differ; the largest deviation is 2 at "
     "index (1, 1) (found -2.5, expected -0.5; rtol=1e-06, atol=1e-08): the derivative of the activation of the "
     "layer below is missing"),
    (next(m for m in MISTAKES if m.solution_id == "backward" and m.new == "* A_prev"),
     "grads['W1'] for the two-layer example: right shape, but 4 of 4 values differ; the largest deviation is 0.391 at "
     "index (1, 0) (found 0.6875, expected 0.296875; rtol=1e-06, atol=1e-08): it multiplies by A_prev, the "
     "activation of the layer below, where the derivative of that activation is needed"),
    (next(m for m in MISTAKES if m.solution_id == "backward" and "mean(axis=0)" in m.new),
     "grads['b1'] for the one-layer example (sum over the samples): found 0.125, expected 0.25 (rtol=1e-06, "
     "atol=1e-08): it is half the expected value, a factor 1/2 = 1/N: did you divide by N twice"),
    (next(m for m in MISTAKES if m.solution_id == "layer_gradient_norms" and "range(L, 0, -1)" in m.new),
     "the norms are in reverse order: layer 1 first, layer L last"),
    (next(m for m in MISTAKES if m.solution_id == "success_rate" and '"relu"' in m.new),
     "success_rate should call train once per seed (6 times here), on the 2-2-1 network it made, with 'tanh', lr=0.7 and "
     "iterations=25 as given; it called it 6 time(s), once with 'relu', lr=0.7 and iterations=25"),
    (next(m for m in MISTAKES if m.solution_id == "identity" and m.new == "dA_dZ = Z"),
     "dA_dZ equals Z: the derivative of the identity is 1 everywhere, not Z itself"),
    *((next(m for m in MISTAKES if m.lab == "lab5_cifar10_mlp" and m.solution_id == "train" and new in m.new), message)
      for new, message in (
          ("np.arange(len(X))[start", "the batches keep the samples in their original order: shuffle them first"),
          ("default_rng(seed).permutation", "both epochs used the samples in the same order: draw a new order"),
          ("len(X) - batch_size + 1", "minibatches of sizes [4, 4, 4, 4], not [4, 4, 2, 4, 4, 2]"),
          ("batch_losses[-1]", "it is the loss of the last minibatch of each epoch"),
          ("loss_fn(params, X, y)[0]", "train called loss_fn on all 10 training samples at once"),
          ("predict_fn(params, X) == y)", "it is the accuracy on the training set: use X_test and y_test"),
          ("lr_decay ** epoch", "lr was multiplied by lr_decay ** epoch after epoch `epoch`"),
          ("velocity[key] *= 0.0", "it is what plain SGD gives, as if momentum were 0"),
          ("            velocity = {", "it is what plain SGD gives, as if momentum were 0"))),
    *((next(m for m in MISTAKES if m.lab == "lab5_cifar10_mlp" and m.solution_id == "predict" and m.new == new), message)
      for new, message in (
          ("A1 = np.maximum(Z1, 0)", "activation='sigmoid') for W1 = I, b1 = [0, 1], W2 = [[1, -1], [-1, 1]] and b2 = "
           "[1, 0] gave the labels [0, 1, 1, 0], not [0, 0, 0, 1]"),
          ('if activation == "relu" else Z1', "gave the labels [0, 1, 1, 1], not [0, 0, 0, 1]"),
          ('Z1 = X @ params["W1"]', "with the activation passed to predict and both biases"),
          ("", "activation='relu') for W1 = I, b1 = [0, 1], W2 = [[1, -1], [-1, 1]] and b2 = [1, 0] gave the labels "
           "[0, 1, 1, 1], not [0, 1, 1, 0]"))),
    *((next(m for m in MISTAKES if m.lab == "lab4_backprop" and m.solution_id == "build_mlp" and m.new == new), message)
      for new, message in (
          ("Dense(D_in, D_out, seed, dtype)", "build_mlp([4, 4, 4, 4]) gave W1 and W2 the same weights: create one "
           "generator rng = np.random.default_rng(seed) and pass it to every Dense layer"),
          ("Dense(D_in, D_out, rng)", "W1 of build_mlp(..., dtype=np.float64) (pass dtype on to every Dense layer): "
           "dtype float32, but float64 was expected"),
          ("rng = np.random.default_rng(0)", "build_mlp gave the same W2 for seed=0 and seed=1"))),
    *((next(m for m in MISTAKES if m.lab == "lab4_backprop" and m.solution_id == "softmax_cross_entropy"
            and m.new == new), message)
      for new, message in (
          ("dlogits[:, y] -= 1", "because dlogits[:, y] -= 1 changes whole columns"),
          ("log_probs[:, y]", "it takes the log-probability of every sample for every label in y"),
          ("dlogits /= N * N", "a factor 1/2 = 1/N: did you divide by N twice"),
          ("pass", "a factor 2 = N: did you sum over the samples instead of averaging, or forget to divide by N"),
          ("dlogits[np.arange(N), y] += 1", "1 was added at each sample's label instead of subtracted"))),
    *((next(m for m in MISTAKES if m.lab == "lab4_backprop" and m.new == new), message) for new, message in (
        ("dy = dz * y * (1 - y)", "did you use y where z is needed, in dL/dz or in the sigmoid's derivative?"),
        ("dz = 2 * y", "for W = 0 the pre-activation y is 0 while z is sigmoid(0) = 0.5"),
        ("dX = dout * sigmoid(out) * (1 - sigmoid(out))", "it applies the sigmoid a second time, to the cached output"),
        ("dX = dout * (1 - np.tanh(out) ** 2)", "it applies tanh a second time, to the cached output"),
        ('w[f"w{k}"] - 0.5 * r[f"dE_dw{k}"]', "new_w5 with learning_rate=0.25: found 0.35891648, expected 0.37945824 "
         "(rtol=1e-07, atol=1e-08): the change it made to the input is 2 times the expected change"),
        ("        self.layers.reverse()\n        for layer in self.layers:\n",
         "in a second forward and backward pass the layers were called in the order ['second.forward', "
         "'first.forward', 'first.backward', 'second.backward']"),
        ("da, db = dout * a, dout * b", "each input got dout times itself: da and db are swapped"))),
    *((m, "it computes the derivative from X instead of from the layer's output") for m in MISTAKES
      if m.lab == "lab4_backprop" and m.new == "        self.cache = X\n"),
    *((next(m for m in MISTAKES if m.solution_id == "svm_loss" and m.new == new), message) for new, message in (
        ("terms = scores - scores[:, y] + 1", "svm_loss of the three-sample example (a mean over the samples): "
         "found 2, expected 5.2666667 (rtol=1e-06, atol=1e-08): it compares each sample's scores with scores[:, y], "
         "the scores of every label in y"),
        ("dscores[rows, y] = -1", "each sample's label got the same -1/N"),
        ("positive = terms >= 0", "the label's own column was counted as a class with a positive margin"),
        ("dscores[rows, y] = 0", "the entry of the sample's label is 0, but the score of the correct class appears"))),
    *((next(m for m in MISTAKES if m.lab == lab and f"{name}[:, y] -= 1" in m.new),
       f"1 was subtracted in columns 0, 1 and 2 of every row, because {name}[:, y] -= 1 changes whole columns: "
       "subtract 1 only at each sample's own label, one entry per row (row i, column y[i])")
      for lab, name in (("lab3_loss_functions", "dZ"), ("lab5_cifar10_mlp", "dscores"))),
    (next(m for m in MISTAKES if m.lab == "lab3_loss_functions" and m.new == "cost = float(np.mean(error ** 2) / 2)"),
     "found 0.125, expected 0.25 (rtol=1e-06, atol=1e-08): it is the sum divided by 2 * 4, twice the number of "
     "entries: N is the number of samples (rows), here 2, so divide by 2N = 4"),
    *((next(m for m in MISTAKES if m.solution_id == "mse_loss" and m.new == new), message) for new, message in (
        ("N = pred.size", "it is the sum divided by 2 * 4, twice the number of entries: N is the number of samples "
         "(rows), here 2, so divide by 2N = 4"),
        ("N = scores.size", "it is the sum divided by 2 * 12, twice the number of entries: N is the number of samples "
         "(rows), so divide by 2N = 8"))),
    *((next(m for m in MISTAKES if m.lab == lab and m.solution_id == "nn_model" and "X_xor" in m.new),
       f"the {data} that nn_model passed to {function} is not the one it was given, but a NumPy array of shape {shape}")
      for lab, data, function, shape in (("lab1_initialization", "X", "forward_propagation", "(4, 2)"),
                                         ("lab3_loss_functions", "Y", "mse_cost", "(4, 1)"))),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.new == "N = Y_xor.shape[0]"),
     "the cost of the three-sample example: found 0.20983242, expected 0.27977656 (rtol=1e-06, atol=1e-08): it looks "
     "divided by another count than N = 3, the number of samples it was given: is N taken from a notebook variable"),
    (next(m for m in MISTAKES if m.lab == "lab1_initialization" and m.solution_id == "predict" and "X_xor" in m.new),
     "predict called forward_propagation with an X that is not the one it received (a NumPy array of shape (4, 2))"),
    (next(m for m in MISTAKES if m.lab == "lab5_cifar10_mlp" and m.solution_id == "loss_and_grads" and m.new == "y"),
     "the targets that loss_and_grads passes to mse_loss (the labels y as one-hot rows of length C, data.one_hot(y, "
     "C)): shape (6,), but (6, 3) was expected"),
]


@pytest.mark.parametrize("mistake, message", NAMED_BY_VISIBLE_TESTS, ids=[m.name for m, _ in NAMED_BY_VISIBLE_TESTS])
def test_a_mistake_the_exercise_warns_about_is_named_by_its_visible_test(mistake, message):
    """The student learns it before submitting, not from the grade ("Visible tests passed", then hidden points lost)."""
    cells = [(grade_id, is_test, split_hidden(source)[0] if is_test else source)
             for grade_id, is_test, source in source_cells(mistake.lab)]
    solution = next(source for grade_id, _, source in cells if grade_id == mistake.solution_id)
    failures = failed_tests(mistake.lab, {mistake.solution_id: mistake.apply(solution)}, cells)
    assert list(failures) == [mistake.question], failures
    assert message in failures[mistake.question]


def test_the_catalogue_covers_every_graded_function_with_several_kinds_of_mistake():
    for lab in LABS:
        tests = {grade_id for grade_id, is_test, _ in source_cells(lab) if is_test}
        covered = {mistake.question for mistake in MISTAKES if mistake.lab == lab}
        counts = {question: len({m.new for m in MISTAKES if m.lab == lab and m.question == question})
                  for question in tests}
        few = ", ".join(f"{question} ({count})" for question, count in sorted(counts.items()) if count < 2)
        assert not few, (f"{lab}: every graded question needs at least two different planted mistakes in "
                         f"tests/mistakes.py; these have fewer: {few}")
        assert covered <= tests, (f"{lab}: tests/mistakes.py has mistakes for questions the lab does not have: "
                                  f"{sorted(covered - tests)}")


def test_the_readmes_command_for_one_labs_mistakes_selects_them_and_the_check_of_the_catalogue():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"`python -m pytest (tests/test_mistakes_cost_once\.py [^`]*)`", readme)
    assert command, "README.md gives no command that runs one lab's planted mistakes"
    result = subprocess.run([sys.executable, "-m", "pytest", *shlex.split(command.group(1)), "--collect-only", "-q"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    selected = {line.split("::")[-1] for line in result.stdout.splitlines() if "::" in line}
    assert "test_the_catalogue_covers_every_graded_function_with_several_kinds_of_mistake" in selected
    mistakes = {f"test_a_mistake_costs_its_own_question_only[{m.name}]" for m in MISTAKES
                if m.lab == "lab3_loss_functions"}
    assert mistakes <= selected and not any("[lab1" in test for test in selected), selected


NOISE = ast.parse("""
import sys as _sys, warnings as _warnings
import numpy as _np
print("working...")
print("\\r[=====>    ] 50%", end="", file=_sys.stderr)
_warnings.warn("this function is deprecated", DeprecationWarning)
_warnings.warn("a harmless warning", RuntimeWarning)
_np.log(_np.zeros(1))
_np.seterr(all="ignore")
""").body


def noisy(source):
    """``source`` with every function (and method) starting with the NOISE statements."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name != "__init__":
            docstring = isinstance(node.body[0], ast.Expr) and isinstance(getattr(node.body[0], "value", None),
                                                                          ast.Constant)
            node.body[docstring:docstring] = NOISE
    return ast.unparse(tree)


@pytest.mark.parametrize("lab", LABS)
def test_a_correct_submission_that_makes_noise_passes_every_question(lab):
    import numpy as np
    saved = np.geterr()
    cells = source_cells(lab)
    solutions = {grade_id: noisy(source) for grade_id, is_test, source in cells
                 if grade_id and not is_test and "BEGIN SOLUTION" in source}
    try:
        assert failed_tests(lab, solutions, cells) == {}
    finally:
        np.seterr(**saved)
