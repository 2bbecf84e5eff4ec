"""Sample submissions made from a lab's student version: solved, untouched, with a planted mistake.

The demo and the tests use them to show what grading does with each kind of submission. Each lab has one
planted mistake (``PLANTED_MISTAKES``): a realistic wrong answer to one exercise that its hidden check
must catch, costing that question only.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .course import Course

WRITTEN_ANSWER = "(The student's written answer, graded by hand.)"


@dataclass(frozen=True)
class PlantedMistake:
    """A wrong answer to one exercise: the solution cell it replaces and the test cell that must lose its points."""
    solution_id: str  # grade_id of the solution cell replaced
    question_id: str  # grade_id of the test cell that must lose its points
    code: str


PLANTED_MISTAKES = {
    # Thresholding the pre-activation instead of the probability.
    "lab1_initialization": PlantedMistake("predict", "test_predict", '''\
def predict(params, X):
    A2, cache = forward_propagation(X, params)
    return (cache["Z2"] > 0.5).astype(np.int64)
'''),
    # A decay that shrinks at every iteration instead of in steps.
    "lab2_learning_rates": PlantedMistake("step_decay", "test_step_decay", """\
def step_decay(initial_lr, iteration, drop=0.5, every=100):
    return initial_lr * drop ** (iteration / every)
"""),
    # The cross-entropy gradient at Z2 reused for the mean squared error.
    "lab3_loss_functions": PlantedMistake("backward_propagation", "test_backward_propagation", '''\
def backward_propagation(params, cache, X, Y, loss="bce"):
    N = X.shape[0]
    A1, A2 = cache["A1"], cache["A2"]
    dZ2 = (A2 - Y) / N
    dW2 = A1.T @ dZ2
    db2 = dZ2.sum(axis=0)
    dZ1 = (dZ2 @ params["W2"].T) * (1 - A1 ** 2)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": dW2, "b2": db2}
'''),
    # Tanh's derivative taken at the input instead of the output.
    "lab4_backprop": PlantedMistake("Tanh", "test_Tanh", '''\
class Tanh:
    """tanh(X), elementwise."""

    def forward(self, X):
        self.cache = X
        return np.tanh(X)

    def backward(self, dout):
        return dout * (1 - self.cache ** 2)
'''),
    # The samples are shuffled once, before the first epoch only.
    "lab5_cifar10_mlp": PlantedMistake("train", "test_train", '''\
def train(loss_fn, predict_fn, params, X, y, X_test, y_test, *, epochs=10, batch_size=256,
          lr=0.01, lr_decay=1.0, momentum=0.0, seed=0, verbose=True):
    rng = np.random.default_rng(seed)
    velocity = {key: np.zeros_like(value) for key, value in params.items()}
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    order = rng.permutation(len(X))
    for epoch in range(1, epochs + 1):
        batch_losses = []
        for start in range(0, len(X), batch_size):
            rows = order[start:start + batch_size]
            loss, grads = loss_fn(params, X[rows], y[rows])
            batch_losses.append(float(loss))
            for key, value in params.items():
                velocity[key] *= momentum
                velocity[key] -= lr * grads[key]
                value += velocity[key]
        history["train_loss"].append(float(np.mean(batch_losses)))
        history["train_acc"].append(float(np.mean(predict_fn(params, X) == y)))
        history["test_loss"].append(float(loss_fn(params, X_test, y_test)[0]))
        history["test_acc"].append(float(np.mean(predict_fn(params, X_test) == y_test)))
        if verbose:
            print(f"epoch {epoch}: test accuracy {history['test_acc'][-1]:.3f}")
        lr *= lr_decay
    return history
'''),
    # Adam without bias correction.
    "lab6_optimizers": PlantedMistake("adam_update", "test_adam_update", """\
def adam_update(params, grads, state, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    if "t" not in state:
        state["m"] = {key: np.zeros_like(value) for key, value in params.items()}
        state["v"] = {key: np.zeros_like(value) for key, value in params.items()}
        state["t"] = 0
    state["t"] += 1
    for key in params:
        state["m"][key] = beta1 * state["m"][key] + (1 - beta1) * grads[key]
        state["v"][key] = beta2 * state["v"][key] + (1 - beta2) * grads[key] ** 2
        params[key] -= lr * state["m"][key] / (np.sqrt(state["v"][key]) + eps)
"""),
    # The backward pass without the derivative of the activation.
    "lab7_architectures": PlantedMistake("backward", "test_backward", """\
def backward(params, caches, dscores):
    grads = {}
    dZ = dscores
    for layer in range(len(caches), 0, -1):
        A_prev, _ = caches[layer - 1]
        grads[f"W{layer}"] = A_prev.T @ dZ
        grads[f"b{layer}"] = dZ.sum(axis=0)
        dZ = dZ @ params[f"W{layer}"].T
    return grads
"""),
}


def _solution_cells(nb) -> dict:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells
            if cell.get("metadata", {}).get("nbgrader", {}).get("solution")}


def _without_delimiters(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if "BEGIN SOLUTION" not in line and "END SOLUTION" not in line)


def solved(course: Course, lab: str) -> nbformat.NotebookNode:
    """The student version with every code solution filled in from source/ and every written answer given."""
    nb = nbformat.read(course.release_notebook(lab), as_version=4)
    answers = _solution_cells(nbformat.read(course.source_notebook(lab), as_version=4))
    for grade_id, cell in _solution_cells(nb).items():
        cell.source = _without_delimiters(answers[grade_id].source) if cell.cell_type == "code" else WRITTEN_ANSWER
    return nb


def untouched(course: Course, lab: str) -> nbformat.NotebookNode:
    """The student version exactly as released."""
    return nbformat.read(course.release_notebook(lab), as_version=4)


def with_mistake(course: Course, lab: str, mistake: PlantedMistake | None = None) -> nbformat.NotebookNode:
    """A solved notebook with one planted mistake (by default, the lab's own in ``PLANTED_MISTAKES``)."""
    mistake = mistake or PLANTED_MISTAKES[lab]
    nb = solved(course, lab)
    cells = _solution_cells(nb)
    if mistake.solution_id not in cells:
        raise KeyError(f"{lab} has no solution cell {mistake.solution_id!r}; it has {sorted(cells)}")
    cells[mistake.solution_id].source = mistake.code
    return nb


def every_function_loops(nb):
    """Each graded function of the notebook starts with an endless loop."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and cell.cell_type == "code":
            cell.source = "\n".join(line + ("\n    while True:\n        pass" if line.startswith("def ") else "")
                                    for line in cell.source.splitlines())
    return nb


def submit(course: Course, student: str, lab: str, nb: nbformat.NotebookNode | str) -> Path:
    """Place a submission at ``submitted/<student>/<lab>/<lab>.ipynb`` (a string is written as it is)."""
    folder = course.submission_dir(student, lab)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{lab}.ipynb"
    if isinstance(nb, str):
        path.write_text(nb, encoding="utf-8")
    else:
        nbformat.write(copy.deepcopy(nb), path)
    return path
