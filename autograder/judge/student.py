"""The judge's one interface to a student's objects, for the hidden checks (``autograder.hidden``).

A check receives the student's functions and classes as they are: local objects when an instructor runs
the source notebook, stand-ins for objects of the sandboxed kernel when the judge grades. It never asks
where they live; this is all it does with them, the same way for both:
- call them, ``func(*args, **kwargs)``: arguments and results travel by value, and what the function
  changed in an array, dict or list argument is changed for the caller too. Checks call through
  ``hidden.common.call`` (copies of the arguments, the in-place check, messages for the student), which
  runs the function with warnings silenced and NumPy's floating-point errors ignored; a kernel function
  ignores them in every call, whatever the notebook set (its setting is restored afterwards). There is no
  call with floating-point traps: stability is checked on the results (finite, right for large inputs),
  never by trapping warnings;
- ``call_each(func, arguments, before)``: many calls of one function, in one round trip when it lives in the
  kernel (a numerical gradient through a student's layer), each on copies of its arguments;
- ``with_helpers(func, helpers)``: ``func`` calling reference versions of the notebook's other functions;
  a check of such a function is decorated ``@own_helpers_first(helpers)``: it runs first on the function as
  it is (the student's own helpers, no round trip per helper call) and, only if that fails, again with the
  helpers swapped, and that verdict counts;
- ``beside(func, name)``: the notebook's other global ``name`` (None if there is none), e.g. the student's own
  loss function for a first try (``own_first``) of a training loop that takes it as an argument;
- ``type_name(obj)``: the name of the object's class; ``same_object(a, b)``: ``a is b``;
- read and set attributes (``layer.W``), index (``obj[key]``).
A kernel that cannot answer (it died, or ran out of time) raises ``KernelUnavailable``; checks let it pass.
The judge owns the secret seed of the test inputs: it sets it around a cell's checks (``secret_seed``),
and each check draws its own generator from it (``secret_rng``).
"""
import contextlib
import contextvars
import copy
import functools
import io
import sys
import types

import numpy as np

from .agent import with_globals
from .remote import KernelUnavailable, RemoteFunction, RemoteObject, first_try, same_object, type_name

__all__ = ["KernelUnavailable", "beside", "both_ways", "call_each", "own_first", "own_helpers_first", "same_object",
           "secret_rng", "secret_seed", "type_name", "with_helpers"]

_SEED = contextvars.ContextVar("secret_seed", default=0)  # 0 in a source notebook; secret when the judge grades
_BOTH_WAYS = contextvars.ContextVar("both_ways", default=False)  # True while the judge grades the canary


@contextlib.contextmanager
def secret_seed(seed):
    """Inside the block, ``secret_rng`` draws from ``seed`` (the judge picks a secret one per submission)."""
    token = _SEED.set(int(seed))
    try:
        yield
    finally:
        _SEED.reset(token)


def secret_rng(salt):
    """The random generator of one check: from the judge's secret seed and the check's own ``salt`` (an int).

    Under the judge the seed is secret, so a submission cannot know the test inputs in advance.
    """
    return np.random.default_rng([_SEED.get(), int(salt)])


def _plain_function(func):
    return func._type == "function" if isinstance(func, RemoteFunction) else isinstance(func, types.FunctionType)


def with_helpers(func, helpers):
    """``func`` running with ``helpers`` (notebook name -> reference function) in place of the notebook's own.

    A check of a function that calls the student's other graded functions runs it this way, so that one
    wrong function loses one question. The helper named like ``func`` itself is never swapped in; objects
    that are not plain Python functions come back unchanged. The helpers take the place of the notebook's own
    wherever its functions find them (by any global name, in a dict or tuple, through a function of the student's own,
    as a default argument, in a closure: ``course_utils.checks.stand_ins``), and only for the time of each call; in a
    kernel, they call back to the grader.
    """
    if not _plain_function(func):
        return func
    swapped = {name: ref for name, ref in helpers.items() if name != func.__name__}
    return func.rebind(swapped) if isinstance(func, RemoteFunction) else with_globals(func, swapped)


@contextlib.contextmanager
def both_ways():
    """Inside the block, ``own_helpers_first`` checks run both ways, and both must pass.

    The judge grades the lab's own solution (the canary) so: each cell's time, which sets the time limits of
    the students' cells, then covers the longer way a submission with a wrong helper takes.
    """
    token = _BOTH_WAYS.set(True)
    try:
        yield
    finally:
        _BOTH_WAYS.reset(token)


def call_each(func, arguments, before=None):
    """``[func(*args) for args in arguments]``, each call on copies of its ``args``: one round trip to the kernel
    when ``func`` lives there. before: ``(obj, name, values)``: ``obj.name`` is set to (a copy of) ``values[i]``
    just before the i-th call. What the calls change in their arguments is not brought back."""
    if isinstance(func, RemoteFunction):
        return func.call_each(arguments, before)
    results = []
    for i, args in enumerate(arguments):
        if before is not None:
            setattr(before[0], before[1], copy.deepcopy(before[2][i]))
        results.append(func(*copy.deepcopy(args)))
    return results


def beside(func, name):
    """The notebook's global ``name`` where ``func`` was defined (in the kernel when the judge grades), or None."""
    try:
        return func._session.lookup(name) if isinstance(func, RemoteObject) else getattr(func, "__globals__", {}).get(name)
    except NameError:
        return None


def own_first(own, fallback):
    """``own()``, a check on the student's own functions only (in a kernel: no round trip to the grader per
    call), as a first try in at most half the time left (``remote.first_try``); if it fails, ``fallback()``,
    the same check with reference functions where the student's may be wrong, whose verdict counts. What
    the first try printed is kept only if it passed. Under ``both_ways`` both run, and both must pass.
    """
    both = _BOTH_WAYS.get()
    printed = io.StringIO()
    try:
        with first_try(), contextlib.redirect_stdout(printed):
            result = own()
    except KernelUnavailable:
        raise
    except Exception:
        if both:
            raise
    else:
        sys.stdout.write(printed.getvalue())
        if not both:
            return result
    return fallback()


def own_helpers_first(helpers):
    """Decorator of a check ``check(func, *args)`` whose ``func`` calls the notebook's other graded functions.

    ``own_first``: the check runs first on ``func`` as it is, calling the student's own helpers, and only if
    that fails on ``with_helpers(func, helpers)``, whose verdict counts: a wrong helper still loses only its
    own question.
    """
    def decorate(check):
        @functools.wraps(check)
        def run(func, *args):
            if not _plain_function(func):
                return check(func, *args)
            return own_first(lambda: check(func, *args), lambda: check(with_helpers(func, helpers), *args))
        return run
    return decorate
