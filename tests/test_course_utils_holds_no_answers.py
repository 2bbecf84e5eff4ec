"""course_utils is the student-facing package, so it never contains the answer to a graded exercise.

Each case below is a way a student could hand in a graded function by delegating it to something in course_utils
(public or private: students have the whole package), wrapped as trivially as possible: ``list(...)``, arguments
reordered, a keyword set. The real hidden check of that exercise must reject every one of them, for several secret
seeds. A delegation to a name that no longer exists fails the check too (the student's call raises), which is fine:
then there is nothing to delegate to.

Delegations that pass a check but are accepted on purpose (and so are not listed here):
* ``course_utils.gradcheck.numerical_gradient`` is meant for students (a documented contract); wrapped around a
  forward pass it gives gradients within the hidden checks' tolerance (Lab 1 ``backward_propagation``, Lab 4
  ``graph_backward`` and ``layer_grads``, ...). That is numerical differentiation, the slow way the labs contrast with
  backpropagation, not a copy of the answer.
* ``fit(update="sgd")`` is documented as ``p -= lr * g``; with a loss that returns fixed gradients it makes one plain
  SGD step (Lab 1 and 2 ``update_parameters``, Lab 6 ``sgd_update``). The contract makes this unavoidable.
"""
import importlib
import inspect
import pkgutil

import pytest

import course_utils
from autograder.hidden import common
from hidden_checks import SEEDS, failing_checks

PRELUDE = ("import numpy as np\n"
           "import course_utils\n"
           "from course_utils import data, training\n"
           "from course_utils.data import preprocessing\n")

DELEGATIONS = {
    # Lab 6, exercise 1: one epoch of mini-batches cut from order = rng.permutation(N)
    "lab6 iterate_minibatches: the public course_utils.data.iterate_minibatches": ("lab6", "iterate_minibatches", """
def iterate_minibatches(X, y, batch_size, rng):
    return list(data.iterate_minibatches(X, y, batch_size, rng))
"""),
    "lab6 iterate_minibatches: a private slicer given the student's own permutation": ("lab6", "iterate_minibatches", """
def iterate_minibatches(X, y, batch_size, rng):
    return list(preprocessing._batches_in_order(X, y, rng.permutation(len(X)), batch_size))
"""),
    "lab6 iterate_minibatches: the batches of fit's training loop": ("lab6", "iterate_minibatches", """
def iterate_minibatches(X, y, batch_size, rng):
    return list(training._minibatches(X, y, batch_size, rng))
"""),
    # Lab 5, exercise 5: minibatch SGD with momentum, shuffled with order = rng.permutation(N) every epoch
    "lab5 train: fit with a momentum update and the test set as validation": ("lab5", "train", """
def train(loss_fn, predict_fn, params, X, y, X_test, y_test, *, epochs=10, batch_size=256, lr=0.01, lr_decay=1.0,
          momentum=0.0, seed=0, verbose=True):
    velocity = {key: np.zeros_like(value) for key, value in params.items()}

    def update(params, grads, lr):
        for key in params:
            velocity[key] = momentum * velocity[key] - lr * grads[key]
            params[key] += velocity[key]

    history = training.fit(loss_fn, params, X, y, epochs=epochs, batch_size=batch_size, lr=lr, update=update,
                           X_val=X_test, y_val=y_test, seed=seed, progress=False, predict=predict_fn,
                           lr_decay=lr_decay, train_acc_samples=len(X), restore_best=False)
    return {"train_loss": history.train_loss, "train_acc": history.train_acc, "test_loss": history.val_loss,
            "test_acc": history.val_acc}
"""),
}


def passing_seeds(lab, name, student):
    """The secret seeds for which ``autograder.hidden.<lab>.check_<name>`` accepts ``student``."""
    checks = importlib.import_module(f"autograder.hidden.{lab}")
    passed = []
    for seed in SEEDS:
        with common.secret_seed(seed):
            if not failing_checks(checks, [name], {name: student}):
                passed.append(seed)
    return passed


def student_function(name, code):
    """``name`` as a notebook defining ``code`` would have it (its globals: numpy as np and course_utils)."""
    namespace = {"__name__": "student_notebook"}
    exec(PRELUDE + code, namespace)
    return namespace[name]


@pytest.mark.parametrize("case", DELEGATIONS)
def test_no_delegation_to_course_utils_passes_the_hidden_check(case):
    lab, name, code = DELEGATIONS[case]
    assert passing_seeds(lab, name, student_function(name, code)) == [], (
        f"{case}: passes the hidden check, so course_utils answers this graded exercise")


def _course_utils_functions():
    """Every function defined in course_utils (public or private, module level), as (qualified name, function)."""
    modules = [course_utils] + [importlib.import_module(info.name) for info in
                                pkgutil.walk_packages(course_utils.__path__, "course_utils.")]
    found = {}
    for module in modules:
        for attribute, value in vars(module).items():
            if inspect.isfunction(value) and value.__module__.startswith("course_utils"):
                found.setdefault(f"{value.__module__}.{value.__qualname__}", value)
    return sorted(found.items())


RNG_NAMES = ("rng", "seed", "generator", "random_state")


def _batching_functions():
    """The functions of course_utils callable with just samples, labels, a batch size and a generator, by these
    names (every other parameter has a default)."""
    chosen = []
    for qualified, function in _course_utils_functions():
        parameters = inspect.signature(function).parameters
        rng_names = [n for n in RNG_NAMES if n in parameters]
        required = {n for n, p in parameters.items() if p.default is p.empty
                    and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        if rng_names and {"X", "y", "batch_size"} <= set(parameters) and required <= {"X", "y", "batch_size",
                                                                                      rng_names[0]}:
            chosen.append((qualified, function, rng_names[0]))
    return chosen


def test_fits_batching_is_among_the_functions_tried():
    """The scan below is not empty: it finds the function fit draws its mini-batches with (if fit's batching moves or
    its parameters are renamed, adjust the scan rather than let it try nothing)."""
    assert any(qualified.startswith("course_utils.training.") for qualified, _, _ in _batching_functions())


@pytest.mark.parametrize(("qualified", "function", "rng_name"), _batching_functions(),
                         ids=[qualified for qualified, _, _ in _batching_functions()])
def test_no_batching_function_of_course_utils_answers_lab6_iterate_minibatches(qualified, function, rng_name):
    """Whatever name fit's batching (or any other) has, calling it is not Lab 6's answer."""
    def iterate_minibatches(X, y, batch_size, rng):
        return list(function(X=X, y=y, batch_size=batch_size, **{rng_name: rng}))
    assert passing_seeds("lab6", "iterate_minibatches", iterate_minibatches) == [], (
        f"list({qualified}(X, y, batch_size, rng)) passes Lab 6's hidden check of iterate_minibatches")
