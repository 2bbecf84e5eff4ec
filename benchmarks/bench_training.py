"""Time one training epoch of the reference MLP against the same model in PyTorch (CPU).

Model 3072-256-10 (He init, ReLU, softmax cross-entropy), float32, minibatches of 256 drawn
from a fresh permutation every epoch, plain SGD with lr 0.01, on 50,000 random CIFAR-shaped
samples. Ours runs through ``course_utils.training.fit`` with its progress bar and history on.
The two sides alternate (one warm-up each, then the repeats) so they share the machine load;
the medians and their ratio (ours / PyTorch) are printed.

    python benchmarks/bench_training.py [--epochs 1] [--repeats 3]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

from autograder.reference import mlp
from course_utils.training import fit

SIZES = [3072, 256, 10]
SAMPLES = 50_000
BATCH_SIZE = 256
LR = 0.01


def make_data(seed=0):
    """Standard normal float32 features (SAMPLES, 3072) and int64 labels in 0..9."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((SAMPLES, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], size=SAMPLES)
    return X, y


def time_ours(X, y, epochs):
    """Seconds for ``epochs`` epochs of ``fit`` on a freshly initialised reference MLP."""
    params = mlp.init_params(SIZES, init="he", seed=0)
    start = time.perf_counter()
    history = fit(mlp.loss_and_grads, params, X, y, epochs=epochs, batch_size=BATCH_SIZE, lr=LR,
                  update="sgd", seed=0, progress=True)
    elapsed = time.perf_counter() - start
    assert len(history.loss) == epochs * -(-SAMPLES // BATCH_SIZE)
    return elapsed


def time_torch(torch, X, y, epochs):
    """Seconds for the same training in PyTorch (same model, optimiser, batching, loss history)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(),
                                torch.nn.Linear(SIZES[1], SIZES[2]))
    for layer in (model[0], model[2]):
        torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        torch.nn.init.zeros_(layer.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    losses = []
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(SAMPLES)
        for begin in range(0, SAMPLES, BATCH_SIZE):
            idx = order[begin:begin + BATCH_SIZE]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(X_t[idx]), y_t[idx])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return time.perf_counter() - start


def print_environment(torch):
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    threads = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
               if k in os.environ}
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, cpu_count {os.cpu_count()}")
    print(f"numpy BLAS: {blas.get('name')} {blas.get('version')} "
          f"({blas.get('openblas configuration', 'no configuration line')}); "
          f"thread variables: {threads or 'none set (BLAS uses all cores)'}")
    if torch is not None:
        print(f"torch {torch.__version__}, intra-op threads {torch.get_num_threads()}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side after a warm-up (default 3)")
    args = parser.parse_args(argv)
    try:
        import torch
        torch.set_num_threads(os.cpu_count())
    except ImportError:
        torch = None
    print_environment(torch)
    X, y = make_data()

    ours, theirs = [], []
    for run in range(args.repeats + 1):  # run 0 is the warm-up
        ours.append(time_ours(X, y, args.epochs))
        if torch is not None:
            theirs.append(time_torch(torch, X, y, args.epochs))
    ours, theirs = ours[1:], theirs[1:]

    print(f"\n{args.epochs} epoch(s), batch {BATCH_SIZE}, {SAMPLES} samples, model {'-'.join(map(str, SIZES))}, "
          f"median of {args.repeats} runs after a warm-up")
    print(f"reference MLP + fit: {statistics.median(ours):.3f} s  (runs: {', '.join(f'{t:.3f}' for t in ours)})")
    if torch is None:
        print("PyTorch side skipped: torch is not installed (pip install torch to compare).")
        return 0
    print(f"PyTorch:             {statistics.median(theirs):.3f} s  (runs: {', '.join(f'{t:.3f}' for t in theirs)})")
    print(f"ratio ours / PyTorch: {statistics.median(ours) / statistics.median(theirs):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
