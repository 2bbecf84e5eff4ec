"""Tests of course_utils.training.fit on a small softmax-regression model written here."""

import numpy as np
import pytest

from course_utils.data import make_spirals, train_val_split
from course_utils.gradcheck import numerical_gradient
from course_utils import training
from course_utils.training import History, fit


def softmax_regression_loss(params, X, y):
    """Mean cross-entropy of softmax(X W + b) and its gradients (a test model, not course code)."""
    scores = X @ params["W"] + params["b"]
    scores = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    n = len(X)
    loss = -np.mean(np.log(probs[np.arange(n), y]))
    dscores = probs
    dscores[np.arange(n), y] -= 1
    dscores /= n
    return loss, {"W": X.T @ dscores, "b": dscores.sum(axis=0)}


def predict(params, X):
    return np.argmax(X @ params["W"] + params["b"], axis=1)


def blobs(n=600, seed=0):
    """Three well separated Gaussian blobs in 2-D, split into training and validation sets."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    X = centres[y] + rng.standard_normal((n, 2))
    return train_val_split(X, y, seed=seed)


def new_params(seed=0):
    rng = np.random.default_rng(seed)
    return {"W": 0.01 * rng.standard_normal((2, 3)), "b": np.zeros(3)}


def test_test_model_gradient_is_right():
    X, y, _, _ = blobs(20)
    params = new_params()
    _, grads = softmax_regression_loss(params, X, y)
    numeric = numerical_gradient(lambda W: softmax_regression_loss({**params, "W": W}, X, y)[0], params["W"])
    np.testing.assert_allclose(grads["W"], numeric, rtol=1e-5, atol=1e-9)


def test_fit_learns_and_records_history():
    X, y, X_val, y_val = blobs()
    params = new_params()
    W_before = params["W"]
    history = fit(softmax_regression_loss, params, X, y, epochs=5, batch_size=32, lr=0.5,
                  X_val=X_val, y_val=y_val, predict=predict, progress=False, restore_best=False)
    assert params["W"] is W_before, "parameters must be updated in place"
    assert history.epochs_run == 5 and not history.stopped_early and history.stop_reason is None
    batches_per_epoch = int(np.ceil(len(X) / 32))
    assert len(history.loss) == 5 * batches_per_epoch
    for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
        assert len(getattr(history, key)) == 5
    # the blobs overlap: 5 of the 120 validation samples lie nearer another centre, so even the best classifier
    # scores about 0.958, and 5 epochs land at 0.95 or 0.958 depending on the order of the minibatches
    assert history.val_acc[-1] >= 0.9 and history.train_acc[-1] > 0.95
    assert history.train_loss[-1] < history.train_loss[0]
    np.testing.assert_allclose(history.train_loss[0], np.mean(history.loss[:batches_per_epoch]))
    assert history.val_loss[-1] == pytest.approx(softmax_regression_loss(params, X_val, y_val)[0])
    assert "val_acc" in repr(history) and "epochs_run=5" in history.summary()


def test_fit_is_deterministic_for_a_seed():
    X, y, _, _ = blobs()
    runs = []
    for seed in (7, 7, 8):
        params = new_params()
        runs.append((fit(softmax_regression_loss, params, X, y, epochs=2, lr=0.1, seed=seed,
                         progress=False).loss, params["W"].copy()))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


def _fit_batches(seed, n=10, batch_size=4, epochs=3):
    """The rows fit hands to loss_and_grads, batch by batch, for a data set whose row i is all i (and y[i] = i)."""
    X, y = np.repeat(np.arange(n, dtype=np.float64)[:, None], 2, axis=1), np.arange(n)
    seen = []

    def recording_loss(params, X_batch, y_batch):
        np.testing.assert_array_equal(X_batch[:, 0], y_batch)  # rows and labels stay together
        seen.append(y_batch.tolist())
        return 0.0, {"W": np.zeros_like(params["W"])}

    fit(recording_loss, {"W": np.zeros((2, 1))}, X, y, epochs=epochs, batch_size=batch_size, seed=seed,
        progress=False)
    return seen


@pytest.mark.parametrize(("n", "batch_size"), [(10, 4), (9, 3), (5, 1), (3, 8)])
def test_fit_uses_every_sample_once_per_epoch_in_a_new_order(n, batch_size):
    batches = _fit_batches(seed=1, n=n, batch_size=batch_size, epochs=3)
    per_epoch = -(-n // batch_size)
    assert [len(b) for b in batches] == [min(batch_size, n - start) for start in range(0, n, batch_size)] * 3
    orders = [sum(batches[k * per_epoch:(k + 1) * per_epoch], []) for k in range(3)]
    for order in orders:
        assert sorted(order) == list(range(n))
    if n > 3:
        assert orders[0] != list(range(n)) and orders[0] != orders[1] != orders[2]
    assert _fit_batches(seed=1, n=n, batch_size=batch_size) == batches
    assert n < 4 or _fit_batches(seed=2, n=n, batch_size=batch_size) != batches


def test_fits_order_is_uniformly_random():
    """Every order of 4 samples comes up about equally often (24 orders, 4800 epochs: 200 each on average)."""
    rng = np.random.default_rng(0)
    X, y = np.zeros((4, 1)), np.arange(4)
    counts = {}
    for _ in range(4800):
        order = tuple(int(i) for _, y_batch in training._minibatches(X, y, 4, rng) for i in y_batch)
        counts[order] = counts.get(order, 0) + 1
    assert len(counts) == 24
    assert 140 < min(counts.values()) and max(counts.values()) < 260


def test_sgd_step_is_exactly_p_minus_lr_g():
    X, y, _, _ = blobs(50)
    params = new_params()
    start = {k: v.copy() for k, v in params.items()}
    fit(softmax_regression_loss, params, X, y, epochs=1, batch_size=len(X), lr=0.3, progress=False)
    _, grads = softmax_regression_loss(start, X, y)
    for name in params:
        np.testing.assert_allclose(params[name], start[name] - 0.3 * grads[name], rtol=1e-12)


def test_custom_update_and_lr_decay():
    X, y, _, _ = blobs(64)
    seen_lrs = []

    def momentum_free_update(params, grads, lr):
        seen_lrs.append(lr)
        for name in params:
            params[name] -= lr * grads[name]

    fit(softmax_regression_loss, new_params(), X, y, epochs=3, batch_size=32, lr=1.0,
        update=momentum_free_update, lr_decay=0.5, progress=False)
    assert seen_lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]


def test_without_predict_accuracies_stay_empty():
    X, y, X_val, y_val = blobs(100)
    history = fit(softmax_regression_loss, new_params(), X, y, epochs=2, X_val=X_val, y_val=y_val,
                  progress=False)
    assert history.train_acc == [] and history.val_acc == [] and len(history.val_loss) == 2
    assert history.best_params is None and history.best_epoch is None


def test_best_parameters_are_kept_and_restored():
    X, y, X_val, y_val = blobs()
    accuracies = iter([0.5, 0.9, 0.7])
    snapshots = []

    def scripted_predict(params, X_eval):
        """Returns predictions whose validation accuracy follows a script, and records params."""
        if len(X_eval) != len(X_val):
            return predict(params, X_eval)
        snapshots.append(params["W"].copy())
        n_right = int(round(next(accuracies) * len(y_val)))
        return np.where(np.arange(len(y_val)) < n_right, y_val, (y_val + 1) % 3)

    params = new_params()
    history = fit(softmax_regression_loss, params, X, y, epochs=3, lr=0.1, X_val=X_val, y_val=y_val,
                  predict=scripted_predict, progress=False)
    assert history.best_epoch == 2 and history.val_acc[history.best_epoch - 1] == history.best_val_acc
    np.testing.assert_array_equal(params["W"], snapshots[1])
    np.testing.assert_array_equal(history.best_params["W"], snapshots[1])
    assert not np.array_equal(snapshots[1], snapshots[2])


def test_divergence_stops_cleanly_with_a_message(capfd):
    X, y, X_val, y_val = blobs()
    params = new_params()
    with np.errstate(all="raise"):  # fit must not let floating-point problems surface
        history = fit(softmax_regression_loss, params, X * 1e3, y, epochs=5, lr=1e8,
                      X_val=X_val, y_val=y_val, predict=predict, progress=False)
    assert history.stopped_early and history.epochs_run < 5
    assert "learning rate" in history.stop_reason and "try a smaller one" in history.stop_reason
    assert all(np.isfinite(history.loss))
    assert all(np.all(np.isfinite(v)) for v in params.values()), "the bad update must not be applied"
    out, err = capfd.readouterr()
    assert history.stop_reason in out and err == ""


def test_nan_gradient_stops_before_the_update(capfd):
    X, y, _, _ = blobs(100)
    params = new_params()
    start = {k: v.copy() for k, v in params.items()}

    def broken(params, X, y):
        loss, grads = softmax_regression_loss(params, X, y)
        grads["b"][0] = np.nan
        return loss, grads

    history = fit(broken, params, X, y, epochs=2, progress=False)
    assert history.stopped_early and "'b'" in history.stop_reason and "epoch 1, iteration 1" in history.stop_reason
    for name in params:
        np.testing.assert_array_equal(params[name], start[name])
    assert history.loss == [] and history.train_loss == []
    assert capfd.readouterr().err == ""


def test_progress_under_nbgrader_writes_nothing_to_stderr(monkeypatch, capfd):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    X, y, _, _ = blobs(200)
    fit(softmax_regression_loss, new_params(), X, y, epochs=2, progress=True)
    out, err = capfd.readouterr()
    assert err == "" and "training" in out


def test_progress_false_writes_nothing(capfd):
    X, y, _, _ = blobs(200)
    fit(softmax_regression_loss, new_params(), X, y, epochs=2, progress=False)
    assert capfd.readouterr() == ("", "")


def test_accuracy_with_one_hot_and_column_targets():
    X, y, X_val, y_val = blobs(300)
    eye = np.eye(3)

    def one_hot_loss(params, X, targets):
        return softmax_regression_loss(params, X, np.argmax(targets, axis=1))

    history = fit(one_hot_loss, new_params(), X, eye[y], epochs=3, lr=0.5, X_val=X_val, y_val=eye[y_val],
                  predict=predict, progress=False)
    assert history.val_acc[-1] > 0.9

    binary = (y == 0).astype(np.float64)[:, None]
    always_one = fit(lambda p, Xb, yb: (0.0, {k: np.zeros_like(v) for k, v in p.items()}), new_params(),
                     X, binary, epochs=1, predict=lambda p, Xe: np.ones(len(Xe), dtype=np.int64),
                     progress=False)
    assert always_one.train_acc == [pytest.approx(binary.mean())]


def test_train_accuracy_uses_a_bounded_subset():
    X, y = make_spirals(300, seed=0)
    sizes = []

    def counting_predict(params, X_eval):
        sizes.append(len(X_eval))
        return np.zeros(len(X_eval), dtype=np.int64)

    fit(lambda p, Xb, yb: (1.0, {k: np.zeros_like(v) for k, v in p.items()}), new_params(), X, y,
        epochs=2, predict=counting_predict, train_acc_samples=50, progress=False)
    assert sizes == [50, 50]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"epochs": 0}, ValueError, "epochs"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"lr": 0.0}, ValueError, "lr"),
    ({"lr": float("nan")}, ValueError, "lr"),
    ({"update": "adam"}, ValueError, "sgd"),
    ({"X_val": np.zeros((3, 2))}, ValueError, "y_val"),
])
def test_bad_arguments_are_refused(kwargs, error, match):
    X, y, _, _ = blobs(30)
    with pytest.raises(error, match=match):
        fit(softmax_regression_loss, new_params(), X, y, progress=False, **kwargs)


def test_mismatched_data_and_params_are_refused():
    X, y, _, _ = blobs(30)
    with pytest.raises(ValueError, match=r"shape \(24, 2\).*shape \(10,\)"):
        fit(softmax_regression_loss, new_params(), X, y[:10], progress=False)
    with pytest.raises(TypeError, match="floating-point"):
        fit(softmax_regression_loss, {"W": np.zeros((2, 3), dtype=np.int64)}, X, y, progress=False)
    with pytest.raises(ValueError, match="keys"):
        fit(lambda p, Xb, yb: (1.0, {"W": p["W"]}), new_params(), X, y, progress=False)


def test_history_defaults():
    history = History()
    assert history.loss == [] and history.best_params is None and not history.stopped_early
    assert "epochs_run=0" in repr(history)


def test_validation_loss_of_a_large_set_is_the_full_set_mean():
    X, y, _, _ = blobs(100)
    X_val, y_val, _, _ = blobs(6000, seed=1)  # 4800 rows: evaluated in several chunks
    params = new_params()
    history = fit(softmax_regression_loss, params, X, y, epochs=1, lr=0.1, X_val=X_val, y_val=y_val,
                  progress=False)
    assert history.val_loss[0] == pytest.approx(softmax_regression_loss(params, X_val, y_val)[0], rel=1e-12)
