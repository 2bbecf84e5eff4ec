"""Lab 6: the optimizer reference and the hidden checks built on it.

The hidden checks must pass on the reference, on the notebook's own solution and on right answers written other
ways (``ALTERNATIVES``), for several secret seeds, fail with the right hint on each classic mistake (no bias
correction, epsilon inside the square root, the momentum sign, state shared between parameters or not carried
over, a random order never drawn, samples dropped at the end of the epoch, ...), and charge one wrong function
to its own question only.
"""
import contextlib
import io
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.hidden import common, lab6
from autograder.reference import optim
from autograder.submissions import PLANTED_MISTAKES
from hidden_checks import SEEDS, failing_checks, failure_message

PLANTED = PLANTED_MISTAKES["lab6_optimizers"]

SOURCE = Path(__file__).resolve().parents[1] / "source" / "lab6_optimizers" / "lab6_optimizers.ipynb"
CHECKED = ("iterate_minibatches", "sgd_update", "momentum_update", "rmsprop_update", "adam_update")


def solution_sources():
    """{grade_id: code} for every solution cell of the source notebook."""
    nb = nbformat.read(SOURCE, as_version=4)
    return {cell.metadata.nbgrader.grade_id: "\n".join(
                line for line in cell.source.splitlines() if "### BEGIN SOLUTION" not in line
                and "### END SOLUTION" not in line)
            for cell in nb.cells if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution")}


def notebook(**replacements):
    """A namespace like the solved notebook's, with some cells' code replaced: {grade_id: code}."""
    namespace = {"np": np}
    for code in {**solution_sources(), **replacements}.values():
        exec(code, namespace)
    return namespace




# ----------------------------------------------------------------------------- the checks accept right answers

@pytest.mark.parametrize("name", CHECKED)
@pytest.mark.parametrize("seed", SEEDS)
def test_hidden_checks_pass_on_the_reference(name, seed):
    with common.secret_seed(seed):
        getattr(lab6, f"check_{name}")(getattr(optim, name))


@pytest.mark.parametrize("seed", SEEDS)
def test_hidden_checks_pass_on_the_notebooks_solution(seed):
    with common.secret_seed(seed):
        assert failing_checks(lab6, CHECKED, notebook()) == []


def test_the_planted_mistake_fails_exactly_its_question():
    mistake = PLANTED
    failed = failing_checks(lab6, CHECKED, notebook(**{mistake.solution_id: mistake.code}))
    assert failed == [mistake.question_id.removeprefix("test_")]


# Right answers written otherwise than the solution, as students write them: {name: [(way, code)]}. Adam's "efficient"
# form from the paper passes when it scales epsilon too (the same numbers); with epsilon added to sqrt(v) unscaled it
# is another rule than the exercise's (epsilon is added to sqrt(v_hat)), and both the visible and hidden tests fail it.
ALTERNATIVES = {
    "iterate_minibatches": [
        ("a list comprehension over a permutation of np.arange(N)", """
def iterate_minibatches(X, y, batch_size, rng):
    order = rng.permutation(np.arange(len(y)))
    return [(X[order[i:i + batch_size]], y[order[i:i + batch_size]]) for i in range(0, len(y), batch_size)]
"""),
        ("np.array_split of the order at multiples of batch_size", """
def iterate_minibatches(X, y, batch_size, rng):
    order = rng.permutation(len(X))
    return [(X[idx], y[idx]) for idx in np.array_split(order, np.arange(batch_size, len(order), batch_size))]
"""),
        ("shuffle once, then slice with a while loop", """
def iterate_minibatches(X, y, batch_size, rng):
    order = rng.permutation(X.shape[0])
    X_shuffled, y_shuffled = X[order], y[order]
    batches = []
    start = 0
    while start < len(y_shuffled):
        batches.append((X_shuffled[start:start + batch_size], y_shuffled[start:start + batch_size]))
        start += batch_size
    return batches
"""),
        ("ceil(N / batch_size) batches, np.take", """
def iterate_minibatches(X, y, batch_size, rng):
    N = len(y)
    order = rng.permutation(N)
    n_batches = int(np.ceil(N / batch_size))
    batches = []
    for k in range(n_batches):
        indices = order[k * batch_size:(k + 1) * batch_size]
        batches.append((np.take(X, indices, axis=0), np.take(y, indices)))
    return batches
"""),
        ("list() of a generator, -(-N // batch_size) batches", """
def iterate_minibatches(X, y, batch_size, rng):
    N = X.shape[0]
    order = rng.permutation(N)
    def pairs():
        for k in range(-(-N // batch_size)):
            idx = order[k * batch_size:min((k + 1) * batch_size, N)]
            yield X[idx, :], y[idx]
    return list(pairs())
"""),
    ],
    "sgd_update": [
        ("over params.items(), w -= lr * grads[key]", """
def sgd_update(params, grads, state, lr=0.01):
    for key, w in params.items():
        w -= lr * grads[key]
"""),
        ("np.subtract(..., out=params[key]), over the keys of grads", """
def sgd_update(params, grads, state, lr=0.01):
    for key in grads:
        np.subtract(params[key], lr * grads[key], out=params[key])
"""),
        ("params[key][...] = params[key] - lr * grads[key], return None", """
def sgd_update(params, grads, state, lr=0.01):
    for key in params.keys():
        params[key][...] = params[key] - lr * grads[key]
    return None
"""),
        ("params[key][:] -= np.multiply(grads[key], lr)", """
def sgd_update(params, grads, state, lr=0.01):
    for key in params:
        step = np.multiply(grads[key], lr)
        params[key][:] -= step
"""),
    ],
    "momentum_update": [
        ("velocities made one key at a time (setdefault, .get), p[...] =", """
def momentum_update(params, grads, state, lr=0.01, beta=0.9):
    velocity = state.setdefault("v", {})
    for key in params:
        velocity[key] = beta * velocity.get(key, 0) + grads[key]
        params[key][...] = params[key] - lr * velocity[key]
"""),
        ("each velocity made when first needed (zeros_like(grads[key])), reassigned", """
def momentum_update(params, grads, state, lr=0.01, beta=0.9):
    if "v" not in state:
        state["v"] = {}
    for key in params:
        if key not in state["v"]:
            state["v"][key] = np.zeros_like(grads[key])
        state["v"][key] = beta * state["v"][key] + grads[key]
        params[key] -= lr * state["v"][key]
"""),
        ("if not state, np.zeros(shape, dtype), ufuncs with out=", """
def momentum_update(params, grads, state, lr=0.01, beta=0.9):
    if not state:
        state["v"] = {k: np.zeros(p.shape, dtype=p.dtype) for k, p in params.items()}
    for k in params:
        v = state["v"][k]
        np.multiply(v, beta, out=v)
        np.add(v, grads[k], out=v)
        np.subtract(params[k], lr * v, out=params[k])
"""),
        ("state.setdefault, w[...] =", """
def momentum_update(params, grads, state, lr=0.01, beta=0.9):
    velocities = state.setdefault("v", {key: np.zeros_like(params[key]) for key in params})
    for key, w in params.items():
        velocities[key] = beta * velocities[key] + grads[key]
        w[...] = w - lr * velocities[key]
"""),
    ],
    "rmsprop_update": [
        ("s reassigned, g ** 2", """
def rmsprop_update(params, grads, state, lr=0.001, beta=0.9, eps=1e-8):
    if "s" not in state:
        state["s"] = {key: np.zeros_like(params[key]) for key in params}
    for key in params:
        g = grads[key]
        state["s"][key] = beta * state["s"][key] + (1 - beta) * g ** 2
        params[key] -= lr * g / (np.sqrt(state["s"][key]) + eps)
"""),
        ("over grads.items(), np.square, lr / (s ** 0.5 + eps) * g", """
def rmsprop_update(params, grads, state, lr=0.001, beta=0.9, eps=1e-8):
    s_all = state.setdefault("s", {})
    for key, g in grads.items():
        s = s_all.get(key, np.zeros_like(g))
        s = beta * s + (1 - beta) * np.square(g)
        s_all[key] = s
        params[key] -= lr / (s ** 0.5 + eps) * g
"""),
        ("in place on s, np.divide, np.subtract(..., out=w)", """
def rmsprop_update(params, grads, state, lr=0.001, beta=0.9, eps=1e-8):
    if not state:
        state["s"] = {k: np.zeros_like(v) for k, v in params.items()}
    for k, w in params.items():
        g, s = grads[k], state["s"][k]
        s *= beta
        s += (1 - beta) * (g * g)
        denom = np.sqrt(s) + eps
        np.subtract(w, lr * np.divide(g, denom), out=w)
"""),
    ],
    "adam_update": [
        ("m and v from .get, np.subtract(..., out=)", """
def adam_update(params, grads, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    state["t"] = t = state.get("t", 0) + 1
    for key, g in grads.items():
        m = state.setdefault("m", {}).get(key, np.zeros_like(g)) * beta1 + (1 - beta1) * g
        v = state.setdefault("v", {}).get(key, np.zeros_like(g)) * beta2 + (1 - beta2) * g ** 2
        state["m"][key], state["v"][key] = m, v
        np.subtract(params[key], lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps), out=params[key])
"""),
        ("the paper's efficient form: lr * sqrt(1 - beta2**t) / (1 - beta1**t), eps * sqrt(1 - beta2**t)", """
def adam_update(params, grads, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    if not state:
        state["m"] = {k: np.zeros_like(p) for k, p in params.items()}
        state["v"] = {k: np.zeros_like(p) for k, p in params.items()}
        state["t"] = 0
    state["t"] += 1
    t = state["t"]
    lr_t = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    for k in params:
        g = grads[k]
        state["m"][k] = beta1 * state["m"][k] + (1 - beta1) * g
        state["v"][k] = beta2 * state["v"][k] + (1 - beta2) * g * g
        params[k] -= lr_t * state["m"][k] / (np.sqrt(state["v"][k]) + eps * np.sqrt(1 - beta2 ** t))
"""),
        ("state.update, np.power, v_hat ** 0.5, over params.items()", """
def adam_update(params, grads, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    if "t" not in state:
        state.update(t=0, m={k: np.zeros_like(w) for k, w in params.items()},
                     v={k: np.zeros_like(w) for k, w in params.items()})
    state["t"] = state["t"] + 1
    for k, w in params.items():
        m = state["m"][k] = beta1 * state["m"][k] + (1 - beta1) * grads[k]
        v = state["v"][k] = beta2 * state["v"][k] + (1 - beta2) * np.square(grads[k])
        m_hat = m / (1 - np.power(beta1, state["t"]))
        v_hat = v / (1 - np.power(beta2, state["t"]))
        w -= lr * m_hat / (v_hat ** 0.5 + eps)
"""),
        ("state made one key at a time (.get), the step computed, then p[...] =", """
def adam_update(params, grads, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    state["t"] = state.get("t", 0) + 1
    t = state["t"]
    m_all = state.setdefault("m", {})
    v_all = state.setdefault("v", {})
    for key in params:
        g = grads[key]
        m_all[key] = beta1 * m_all.get(key, np.zeros_like(params[key])) + (1 - beta1) * g
        v_all[key] = beta2 * v_all.get(key, np.zeros_like(params[key])) + (1 - beta2) * g * g
        step = lr * (m_all[key] / (1 - beta1 ** t)) / (np.sqrt(v_all[key] / (1 - beta2 ** t)) + eps)
        params[key][...] = params[key] - step
"""),
    ],
}


@pytest.mark.parametrize("name, code", [(name, code) for name, codes in ALTERNATIVES.items() for _, code in codes],
                         ids=[f"{name}-{i}" for name, codes in ALTERNATIVES.items() for i in range(len(codes))])
def test_other_correct_ways_of_writing_it_pass(name, code):
    namespace = notebook(**{name: code})
    for seed in SEEDS:
        with common.secret_seed(seed):
            getattr(lab6, f"check_{name}")(namespace[name])


# ----------------------------------------------------------------------------- the classic mistakes

def altered(name, old, new):
    """The notebook's solution of ``name`` with one piece of code changed."""
    code = solution_sources()[name]
    assert old in code, old
    return code.replace(old, new)


def fails_with(name, code, expected):
    namespace = notebook(**{name: code})
    with contextlib.redirect_stdout(io.StringIO()):
        message = failure_message(getattr(lab6, f"check_{name}"), namespace[name])
    assert re.search(expected, message), message
    return message


MISTAKES = [
    ("iterate_minibatches", "order = rng.permutation(X.shape[0])", "order = np.random.permutation(X.shape[0])",
     "never drew a random order from rng"),
    ("iterate_minibatches", "order = rng.permutation(X.shape[0])",
     "order = np.random.default_rng(0).permutation(X.shape[0])", "never drew a random order from rng"),
    ("iterate_minibatches", "order = rng.permutation(X.shape[0])",
     "order = rng.permutation(X.shape[0])\n    order = np.arange(X.shape[0])", "original order: they must be shuffled"),
    ("iterate_minibatches", "for start in range(0, len(order), batch_size):",
     "for start in range(0, len(order) - batch_size + 1, batch_size):", "dropped the last .* samples of the epoch"),
    ("iterate_minibatches", "batches.append((X[indices], y[indices]))",
     "batches.append((X[start:start + batch_size], y[indices]))", "do not belong with the labels"),
    ("iterate_minibatches", "order = rng.permutation(X.shape[0])",
     "rng.shuffle(X)\n    order = np.arange(X.shape[0])", "changed X or y in place"),
    ("sgd_update", "params[key] -= lr * grads[key]", "params[key] += lr * grads[key]", "you added the gradient"),
    ("sgd_update", "lr=0.01", "lr=0.1", "wrong values"),
    ("sgd_update", "params[key] -= lr * grads[key]", "params[key] = params[key] - lr * grads[key].astype(np.float64)",
     "has dtype float64"),
    ("momentum_update", "params[key] -= lr * v", "params[key] += lr * v", "the step goes the wrong way"),
    ("momentum_update", "v += grads[key]", "v += (1 - beta) * grads[key]", "without a \\(1 - beta\\) factor"),
    ("momentum_update", 'if "v" not in state:', "if True:", "velocity must carry over"),
    ("momentum_update", 'state["v"] = {key: np.zeros_like(value) for key, value in params.items()}',
     'state["v"] = dict.fromkeys(params, np.zeros_like(next(iter(params.values()))))',
     "right when each one is the only one"),
    ("momentum_update", "beta=0.9", "beta=0.99", "wrong values"),
    ("rmsprop_update", "params[key] -= lr * g / (np.sqrt(s) + eps)", "params[key] -= lr * g / np.sqrt(s + eps)",
     "epsilon goes outside the square root"),
    ("rmsprop_update", "eps=1e-8", "eps=1e-7", "wrong values"),
    ("rmsprop_update", "s += (1 - beta) * g * g", "s += beta * g * g", "wrong values"),
    ("rmsprop_update", "params[key] -= lr * g / (np.sqrt(s) + eps)", "params[key] -= lr * g / (s + eps)",
     "not by s itself"),
    ("adam_update", "m_hat = m / (1 - beta1 ** t)\n        v_hat = v / (1 - beta2 ** t)", "m_hat, v_hat = m, v",
     "missing the bias correction"),
    ("adam_update", "params[key] -= lr * m_hat / (np.sqrt(v_hat) + eps)",
     "params[key] -= lr * m_hat / np.sqrt(v_hat + eps)", "epsilon goes outside the square root"),
    ("adam_update", 'state["t"] += 1\n    t = state["t"]', "t = 1", "step count t must grow"),
    ("adam_update", 'if "t" not in state:', "if True:", "must carry over"),
    ("adam_update", "beta2=0.999", "beta2=0.99", "wrong values"),
    ("adam_update", "eps=1e-8", "eps=1e-6", "wrong values"),
    # steps compared as changes of the parameters, and the order of the steps in a call
    ("sgd_update", "params[key] -= lr * grads[key]", "params[key] -= lr * grads[key] / 2",
     "the change it made to the input is 1/2 of the expected change"),
    ("momentum_update", "v *= beta\n        v += grads[key]\n        params[key] -= lr * v",
     "params[key] -= lr * v\n        v *= beta\n        v += grads[key]",
     "did not change params.* at the first call.*Update the velocity first"),
    ("adam_update", 'state["t"] += 1\n    t = state["t"]\n    for key in params:',
     'for key in params:\n        state["t"] += 1\n        t = state["t"]', "grows by one per call, not per parameter"),
]


@pytest.mark.parametrize("name, old, new, expected", MISTAKES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MISTAKES)])
def test_each_classic_mistake_fails_its_own_check_with_a_hint(name, old, new, expected):
    code = altered(name, old, new)
    fails_with(name, code, expected)
    with common.secret_seed(SEEDS[1]):
        assert failing_checks(lab6, CHECKED, notebook(**{name: code})) == [name], \
            "a mistake costs points at its own question only"


SHARED_STATE = """
def momentum_update(params, grads, state, lr=0.01, beta=0.9):
    for key in params:
        v = state.get("v", np.zeros_like(params[key]))
        state["v"] = beta * v + grads[key]
        params[key] -= lr * state["v"]
"""


def test_state_shared_between_parameters_is_named():
    message = fails_with("momentum_update", SHARED_STATE, "right when each one is the only one")
    assert "own key" in message


def test_a_new_update_returned_instead_of_params_changed_in_place_is_named():
    code = """
def sgd_update(params, grads, state, lr=0.01):
    return {key: value - lr * grads[key] for key, value in params.items()}
"""
    fails_with("sgd_update", code, "did not change params.*It returned new values instead")


def test_a_generator_instead_of_a_list_is_named():
    code = """
def iterate_minibatches(X, y, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        yield X[order[start:start + batch_size]], y[order[start:start + batch_size]]
"""
    fails_with("iterate_minibatches", code, "should return a list .*not a generator")


def test_messages_show_the_inputs_but_never_the_expected_values():
    message = fails_with("adam_update", PLANTED.code, "bias correction")
    verdict, inputs = message.split("(Tested with")
    assert "calls in a row" in inputs and not re.search(r"\d\.\d", verdict)


EQUIVALENT_DRAWS = [  # other correct ways of drawing the one order: the generator given is a real one
    "rng = np.random.default_rng(rng)\n    order = rng.permutation(X.shape[0])",
    "order = np.arange(len(X))\n    rng.shuffle(order)",
    "order = rng.permutation(np.arange(X.shape[0]))",
]


@pytest.mark.parametrize("code", EQUIVALENT_DRAWS)
def test_other_correct_ways_of_drawing_the_order_pass(code):
    solution = solution_sources()["iterate_minibatches"]
    namespace = notebook(iterate_minibatches=solution.replace("order = rng.permutation(X.shape[0])", code))
    for seed in SEEDS:
        with common.secret_seed(seed):
            lab6.check_iterate_minibatches(namespace["iterate_minibatches"])


def test_drawing_more_than_one_order_is_named():
    solution = solution_sources()["iterate_minibatches"]
    fails_with("iterate_minibatches", solution.replace(
        "order = rng.permutation(X.shape[0])", "order = rng.permutation(rng.permutation(X.shape[0]))"),
        "drew other random numbers than one order of the N samples")


def test_every_check_is_quick():
    import time
    namespace = notebook()
    for name in CHECKED:
        started = time.perf_counter()
        getattr(lab6, f"check_{name}")(namespace[name])
        assert time.perf_counter() - started < 2.0, name
