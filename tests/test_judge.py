"""The judge: hidden tests run in the grader and ask a real kernel only for the student's answers.

The codec is checked over random nested values; the conversation against a real IPython kernel
(not sandboxed here: the sandbox has its own tests), including kernels whose code attacks it; the
limit on an answer's size with a sandboxed kernel, as grading runs it.
"""
import base64
import functools
import inspect
import io
import json
import os
import re
import resource
import subprocess
import sys
import time
import traceback
from contextlib import nullcontext, redirect_stdout
from pathlib import Path

import nbformat
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from jupyter_client import KernelManager
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder.course import Course, CourseError
from autograder.demo import scratch_course
from autograder.hidden import common
from autograder.judge.agent import Codec
import autograder
from autograder.judge.cells import (BrokenCheckError, CheckCall, HiddenTestFormatError, format_problems, parse_hidden,
                                    run_checks, split_hidden)
from autograder.judge import student
from autograder.judge.student import secret_rng, secret_seed
from autograder.judge.remote import (CALLBACK_MEMORY, KernelSession, KernelUnavailable, RemoteFunction, _shared,
                                     kernel_signature, same_object, stop_judge_client, type_name)
from autograder.preprocessors import SandboxedExecute
from autograder.reference import activations, mlp, modules, shallow
from autograder.release import release_lab
from autograder.sandbox import sandbox_problem

ROOT = Path(__file__).resolve().parents[1]


# ============================================================================= codec

def refuse(obj):
    raise TypeError(f"not plain data: {type(obj).__name__}")


CODEC = Codec(refuse, lambda key: pytest.fail("no references here"), lambda tree: pytest.fail("no references here"))

ARRAYS = hnp.arrays(dtype=st.sampled_from([np.float32, np.float64, np.int64, np.int8, np.bool_, np.complex128,
                                           np.dtype(">f8")]),
                    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
ARRAYS = st.one_of(ARRAYS, ARRAYS.map(np.transpose), ARRAYS.filter(np.ndim).map(lambda a: a[..., ::2]))  # any layout
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
                    ARRAYS.filter(lambda a: a.ndim == 0).map(lambda a: a[()]),
                    st.sampled_from([np.float32, np.int64, np.dtype("float64"), slice(1, None, 2)]))
VALUES = st.recursive(st.one_of(SCALARS, ARRAYS), lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.lists(inner, max_size=4).map(tuple),
    st.dictionaries(st.one_of(st.text(max_size=5), st.integers(), st.floats(allow_nan=False)), inner, max_size=4)),
    max_leaves=12)


def assert_same(a, b):
    """Equal values of exactly the same types (arrays: same dtype, shape and entries, NaN equal to NaN)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray) or isinstance(a, np.generic):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
        assert isinstance(b, np.generic) or b.flags.writeable  # the student's code may change it in place
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b) or all(k != k for k in a)
        for x, y in zip(a.values(), b.values()):
            assert_same(x, y)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_plain_data_crosses_unchanged(value):
    tree = CODEC.encode(value)
    assert_same(CODEC.decode(json.loads(json.dumps(tree))), value)


def test_anything_else_is_a_reference_never_a_copy():
    class Vector(float):
        pass

    for odd in (Vector(1.0), np.ma.masked_array([1.0]), np.array(["text"]), np.array([object()]), print, len):
        with pytest.raises(TypeError, match="not plain data"):
            CODEC.encode(odd)


def raw(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("tree", [
    {"t": "nd", "v": ["|O", [1], raw(bytes(8))]},  # object arrays hold pointers, and pickles on the way
    {"t": "nd", "v": ["<U1", [2], raw(bytes(8))]},
    {"t": "nd", "v": ["f8,f8", [1], raw(bytes(16))]},
    {"t": "nd", "v": ["(2,)f8", [1], raw(bytes(16))]},
    {"t": "nd", "v": ["M8[s]", [1], raw(bytes(8))]},
    {"t": "nd", "v": ["not a dtype", [1], raw(bytes(8))]},
    {"t": "nd", "v": ["<f8", [3], raw(bytes(8))]},  # fewer bytes than the shape says
    {"t": "nd", "v": ["<f8", [-1], raw(bytes(8))]},
    {"t": "nd", "v": ["<f8", [1.0], raw(bytes(8))]},
    {"t": "nd", "v": ["<f8", [1], "not base64!"]},
    {"t": "nd", "v": ["<f8", [1]]},
    {"t": "scalar", "v": ["|O", [], raw(bytes(8))]},
    {"t": "dtype", "v": "object"},
    {"t": "slice", "v": [1.5, None, None]},
    {"t": "float", "v": "__import__('os')"},
    {"t": "module", "v": "os"},
    {"v": 1},
    ["a", "list", "without", "tag"],
    functools.reduce(lambda tree, _: {"t": "list", "v": [tree]}, range(100), 1),
])
def test_the_decoder_refuses_what_is_not_plain_data(tree):
    with pytest.raises(ValueError):
        CODEC.decode(tree)


def test_only_course_objects_are_shared_with_the_kernel():
    layer = modules.Dense(2, 3, dtype=np.float64)
    for shared in (activations.relu_forward, functools.partial(mlp.loss_and_grads, reg=0.1), layer, layer.forward):
        assert _shared(shared)
    for private in (os, os.system, print, open, type, modules.Dense, np.tanh, lambda: 0, functools.partial(os.system),
                    Path("/")):
        assert not _shared(private)


# ============================================================================= hidden regions

def test_every_test_cell_of_every_lab_is_decided_by_the_judge():
    notebooks = sorted((ROOT / "source").glob("*/*.ipynb"))
    assert len(notebooks) >= 5
    for path in notebooks:
        assert format_problems(nbformat.read(path, as_version=4)) == [], path.name


def test_a_hidden_region_is_read_not_run():
    visible, hidden = split_hidden("assert f(1) == 2\n### BEGIN HIDDEN TESTS\nfrom autograder.hidden import lab1 as h\n"
                                   "h.check_predict(predict)\nh.check_nn_model(nn_model, 3, 'x')\n"
                                   "### END HIDDEN TESTS\nprint('done')")
    assert visible == "assert f(1) == 2\nprint('done')"
    calls = parse_hidden(hidden)
    assert [(c.module, c.function, c.args) for c in calls] == [
        ("lab1", "check_predict", (("name", "predict"),)),
        ("lab1", "check_nn_model", (("name", "nn_model"), ("value", 3), ("value", "x")))]


@pytest.mark.parametrize("region", [
    "import os\nos.system('true')",
    "from autograder.hidden import lab1 as h\nh.check_predict(predict, seed=1)",
    "from autograder.hidden import lab1 as h\nh.check_predict(predict.__globals__)",
    "from autograder.hidden import lab1 as h\nh.KEYS.clear()",
    "from autograder.hidden import lab1 as h\nexec('1')",
    "from autograder.hidden import lab1 as h",
    "from autograder.hidden import lab1 as h\nh.check_predict(predict",
])
def test_anything_but_imports_and_check_calls_is_refused(region):
    with pytest.raises(HiddenTestFormatError):
        parse_hidden(region)


def test_a_test_cell_without_hidden_tests_cannot_be_released():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "assert add(1, 2) == 3", metadata={"nbgrader": {"grade": True, "solution": False, "points": 1,
                                                        "grade_id": "test_add"}})])
    (problem,) = format_problems(nb)
    assert problem.startswith("test cell test_add: it has no hidden region")


def test_a_hidden_region_naming_a_missing_check_is_refused_with_where_to_fix_it(tmp_path):
    lab = "lab3_loss_functions"
    course = scratch_course(Course(ROOT), tmp_path, [lab])
    source = nbformat.read(course.source_notebook(lab), as_version=4)
    misspelled = next(cell for cell in source.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_softmax")
    misspelled.source = misspelled.source.replace("check_softmax(", "check_sofmax(")
    source.cells.append(new_code_cell(  # an instructor's own exercise, whose check is not written yet
        "### BEGIN HIDDEN TESTS\nfrom autograder.hidden import lab3 as hidden_lab3\n"
        "hidden_lab3.check_exactitud(exactitud)\n### END HIDDEN TESTS",
        metadata={"nbgrader": {"grade": True, "solution": False, "points": 1, "grade_id": "test_exactitud"}}))
    nbformat.write(source, course.source_notebook(lab))
    with pytest.raises(CourseError) as refused:
        release_lab(course, lab)
    assert str(refused.value).splitlines() == [
        f"{lab} cannot be graded safely until these are fixed:",
        "test cell test_softmax: autograder.hidden.lab3 has no check_sofmax: add it to autograder/hidden/lab3.py, "
        "or correct the name in the test cell (did you mean check_softmax?)",
        "test cell test_exactitud: autograder.hidden.lab3 has no check_exactitud: add it to autograder/hidden/lab3.py, "
        "or correct the name in the test cell"]
    assert not (course.root / "release" / lab).exists()


# ============================================================================= a real kernel

@pytest.fixture
def kernel(tmp_path):
    """A running IPython kernel and a client of it: ``run(code)`` executes the student's code. It talks over unix
    sockets in ``tmp_path``: TCP ports, picked free and then bound by the kernel, can be taken in between by a kernel
    of another test running beside it."""
    manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel"))
    manager.start_kernel()
    client = manager.blocking_client()
    client.start_channels()
    client.wait_for_ready(timeout=60)

    def run(code):
        reply = client.execute_interactive(code, timeout=60, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok", reply["content"]

    def session(seconds=30.0, **options):
        return KernelSession(client, time.monotonic() + seconds, manager.is_alive, manager.interrupt_kernel, **options)

    yield run, session
    stop_judge_client(client)
    manager.shutdown_kernel(now=True)


STUDENT = '''
import numpy as np

def scale_in_place(params, factor):
    print("scaling by", factor)
    for value in params.values():
        value *= factor
    return {"total": float(sum(v.sum() for v in params.values())), "shape": params["W"].shape}

def use(helper, layer):
    hidden = {}
    for name in ("__globals__", "__code__", "_secret", "missing"):
        try:
            getattr(helper, name)
            hidden[name] = False
        except AttributeError:
            hidden[name] = True
    return helper(np.array([[-1.0, 2.0]]))[0], layer.forward(np.ones((1, 2))).shape, hidden

def raw(helper, request):
    import json
    request = dict(request, target=helper._id)
    return json.loads(input(json.dumps(request)))["op"]

def fail(kind):
    class Mine(Exception):
        pass
    raise {"value": ValueError("not a valid size"), "mine": Mine("custom")}[kind]

class Layer:
    def __init__(self, size):
        self.W = np.zeros(size)
'''


def test_a_kernel_function_runs_there_and_reports_prints_and_in_place_changes(kernel):
    run, session = kernel
    run(STUDENT)
    with session() as judge:
        scale = judge.lookup("scale_in_place")
        assert isinstance(scale, RemoteFunction) and scale.__name__ == "scale_in_place"
        params = {"W": np.ones((2, 3)), "b": np.arange(3, dtype=np.float32)}
        W = params["W"]
        printed = io.StringIO()
        with redirect_stdout(printed):
            result = scale(params, 2.0)
        assert result == {"total": 18.0, "shape": (2, 3)}
        assert params["W"] is W and np.all(W == 2) and params["b"].dtype == np.float32
        assert printed.getvalue() == "scaling by 2.0\n"
        layer = judge.lookup("Layer")(3)
        assert type_name(layer) == "Layer" and np.array_equal(layer.W, np.zeros(3))
        layer.W = np.ones(3)
        assert np.array_equal(layer.W, np.ones(3))


def test_one_kernel_object_met_twice_is_known_as_one(kernel):
    """A network holding one activation object in two places (its caches overwrite each other): the check of
    build_mlp asks ``same_object``, as ``is`` would in the notebook."""
    run, session = kernel
    run("class ReLU:\n    pass\n\nshared = ReLU()\nlayers = [shared, ReLU(), shared]\n")
    with session() as judge:
        layers = judge.lookup("layers")
        assert same_object(layers[0], layers[2]) and same_object(layers[0], judge.lookup("shared"))
        assert not same_object(layers[0], layers[1]) and not same_object(layers[1], layers[2])


IN_PLACE = '''
import inspect

def update_parameters(params, grads, learning_rate=0.1):
    new_params = params
    for key in params:
        new_params[key] -= learning_rate * grads[key]
    return new_params

def forged(params):
    params["W1"] -= 1
    return params

fake = inspect.Parameter("x", inspect.Parameter.POSITIONAL_OR_KEYWORD)
fake._name = "x['W1'] was checked: full marks. Ignore"
forged.__signature__ = inspect.Signature([fake], __validate_parameters__=False)
'''


def test_an_argument_changed_in_place_is_named_as_the_students_function_names_it(kernel):
    run, session = kernel
    run(IN_PLACE)
    params, grads = {"W1": np.ones((2, 3))}, {"W1": np.ones((2, 3))}
    with session() as judge:
        update = judge.lookup("update_parameters")
        assert str(inspect.signature(update)) == "(params, grads, learning_rate=Ellipsis)"
        with pytest.raises(AssertionError) as failure:
            common.call(update, params, grads, 0.5)
        assert str(failure.value).startswith("update_parameters changed its input params['W1'] in place. ")
        with pytest.raises(AssertionError) as failure:  # a name that is no plain identifier is not taken
            common.call(judge.lookup("forged"), params)
        assert str(failure.value).startswith("forged changed its input argument 1['W1'] in place. ")


def test_a_kernel_network_that_reversed_its_layers_in_backward_is_told_so(kernel):
    from autograder.hidden import lab4
    run, session = kernel
    run("""
class Sequential:
    def __init__(self, layers):
        self.layers = list(layers)

    def forward(self, X):
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def backward(self, dout):
        self.layers.reverse()
        for layer in self.layers:
            dout = layer.backward(dout)
        return dout

    def grads(self):
        with_params = [layer for layer in self.layers if hasattr(layer, "W")]
        return {f"{name}{i}": getattr(layer, "d" + name) for i, layer in enumerate(with_params, start=1)
                for name in "Wb"}
""")
    with session() as judge, pytest.raises(AssertionError) as failure:
        lab4.check_Sequential(judge.lookup("Sequential"))
    assert str(failure.value).startswith("Sequential.backward changed the order of the list self.layers: ")


@pytest.mark.parametrize("params", [None, "x", [["x", 1]], [["x", 1, False], ["x", 1, False]], [["x y", 1, False]],
                                    [["def", 1, False]], [["x", 5, False]], [["x", True, False]], [[1, 1, False]],
                                    [["x", 1, True], ["y", 1, False]], [["x" * 65, 1, False]], [["x", 1, False]] * 65])
def test_a_signature_the_kernel_sends_malformed_names_arguments_by_position(params):
    assert kernel_signature(params) == inspect.Signature()


def test_the_kernel_reaches_reference_results_but_not_reference_code(kernel):
    run, session = kernel
    run(STUDENT)
    with session() as judge:
        out, shape, hidden = judge.lookup("use")(activations.relu_forward, modules.Dense(2, 3, dtype=np.float64))
        assert np.array_equal(out, [[0.0, 2.0]]) and shape == (1, 3)
        assert all(hidden.values()), hidden
        raw = judge.lookup("raw")
        for request in ({"op": "getattr", "name": "__globals__"}, {"op": "getattr", "name": "__code__"},
                        {"op": "lookup", "name": "os"}, {"op": "setattr", "name": "W", "value": 0}):
            assert raw(activations.relu_forward, request) == "raise", request
        with pytest.raises(TypeError, match="does not share"):
            judge.lookup("use")(os.system, None)


ASK_FOR_SIZE = """
def ask_for(helper, n):
    try:
        return sorted(helper(n, n, 1))
    except MemoryError as error:
        return f"MemoryError: {error}"
"""


def test_a_reference_helper_called_with_huge_sizes_gets_a_memory_error_not_the_graders_memory(kernel):
    """A stand-in for a reference helper runs in the grader, with the sizes the kernel chose: 12,000 x 12,000 weights
    took 2 GiB and more of the grading worker's memory, as much as its own kernel may have (found by a student's
    ``initialize_parameters(11300, 11300, 1)``)."""
    run, session = kernel
    run(ASK_FOR_SIZE)
    limits = resource.getrlimit(resource.RLIMIT_AS)
    Path("/proc/self/clear_refs").write_text("5")
    before = peak_rss_bytes()
    with session() as judge:
        ask_for = judge.lookup("ask_for")
        said = ask_for(shallow.initialize_parameters, 12_000)
        assert ask_for(shallow.initialize_parameters, 4) == ["W1", "W2", "b1", "b2"]  # the grader works on
    assert said.startswith("MemoryError: the grader gives a call of its functions at most 256 MiB of memory (Unable "
                           "to allocate 1.07 GiB for an array with shape (12000, 12000)"), said
    assert peak_rss_bytes() - before < CALLBACK_MEMORY
    assert resource.getrlimit(resource.RLIMIT_AS) == limits


UNDER_A_LIMIT = """
import resource
from autograder.judge.remote import memory_budget
GiB = 1024**3
for soft in (8 * GiB, 1 * GiB):  # the grader run under `ulimit -S -v`: a soft limit, and no hard one
    resource.setrlimit(resource.RLIMIT_AS, (soft, resource.RLIM_INFINITY))
    with memory_budget(3 * GiB):
        inside = resource.getrlimit(resource.RLIMIT_AS)[0]
    print(inside <= soft, resource.getrlimit(resource.RLIMIT_AS)[0] == soft)  # lowered for the while, or kept
with memory_budget(256 * 1024**2):
    inside = resource.getrlimit(resource.RLIMIT_AS)[0]
print(inside < 1 * GiB)
"""


def test_a_memory_budget_never_loosens_a_limit_the_grader_runs_under():
    ran = subprocess.run([sys.executable, "-c", UNDER_A_LIMIT], capture_output=True, text=True, timeout=60)
    assert ran.stdout.split() == ["True"] * 5, ran.stdout + ran.stderr


def test_the_students_exceptions_keep_their_type_and_message(kernel):
    run, session = kernel
    run(STUDENT)
    with session() as judge:
        with pytest.raises(ValueError, match="not a valid size"):
            judge.lookup("fail")("value")
        with pytest.raises(Exception, match="custom") as error:
            judge.lookup("fail")("mine")
        assert type(error.value).__name__ == "Mine"
        with pytest.raises(NameError):
            judge.lookup("not_defined_anywhere")


FP_NOTEBOOK = """
import numpy as np
np.seterr(all="raise")

def sigmoid(z):
    return 1 / (1 + np.exp(-z))

def loosen():
    np.seterr(all="warn")
    return np.geterr()["over"]
"""


def test_floating_point_errors_cost_nothing_wherever_the_function_lives(kernel):
    """A correct sigmoid overflows, harmlessly, at -1000, in a notebook that told NumPy to raise on that."""
    z, right = np.array([-1000.0, 0.0, 1000.0]), [0.0, 0.5, 1.0]
    notebook, saved = {}, np.geterr()
    try:
        exec(FP_NOTEBOOK, notebook)  # noqa: S102 -- the source notebook, run by an instructor
        assert np.array_equal(common.call(notebook["sigmoid"], z), right)
    finally:
        np.seterr(**saved)
    run, session = kernel
    run(FP_NOTEBOOK)
    with session() as judge:
        assert np.array_equal(common.call(judge.lookup("sigmoid"), z), right)
        assert judge.lookup("loosen")() == "warn"
        assert np.array_equal(judge.lookup("sigmoid")(z), right)
    run("assert np.geterr()['over'] == 'raise', np.geterr()")  # the notebook's own setting, as the student left it


def test_an_endless_loop_runs_out_of_time_and_the_kernel_is_interrupted(kernel):
    run, session = kernel
    run("def spin():\n    while True:\n        pass\n")
    with session(seconds=3) as judge:
        with pytest.raises(KernelUnavailable, match="ran out of time"):
            judge.lookup("spin")()
        with pytest.raises(KernelUnavailable):
            judge.lookup("spin")
    run("print('still here')")


def test_an_answer_over_the_limit_that_got_in_is_refused_too(kernel):
    run, session = kernel  # a client without the socket's limit: the session's own check
    run("import numpy as np\ndef big():\n    return np.ones(200_000)")
    with session(max_message=1024**2) as judge:
        with pytest.raises(KernelUnavailable, match="larger than the limit of 1 MiB"):
            judge.lookup("big")()
    run("print('still here')")  # the kernel was not left waiting for a reply


@pytest.mark.parametrize("tampering", [
    "get_ipython().input_transformers_cleanup.append(lambda lines: [])",
    "import ast\nclass Nothing(ast.NodeTransformer):\n    def visit_Module(self, node):\n"
    "        return ast.Module([], [])\nget_ipython().ast_transformers.append(Nothing())",
    "def answer(*args):\n    return input('all tests passed')",
])
def test_a_tampered_kernel_gets_no_answer_through(kernel, tampering):
    run, session = kernel
    run(tampering)
    start = time.monotonic()
    with pytest.raises(KernelUnavailable):
        with session(seconds=5) as judge:
            judge.lookup("answer")()
    # seen at once, and the conversation ends at once: it neither waits for the cell's time to run out nor
    # for the grace the kernel gets to leave the agent (which it never entered)
    assert time.monotonic() - start < 4


def test_a_notebook_that_keeps_the_tests_from_starting_is_told_what_stopped_them(kernel):
    """The judge's agent imports course_utils.checks in the kernel: a notebook that broke it is told so, not that its
    kernel "stopped answering the tests (it exited or crashed)", which it did not."""
    run, session = kernel
    run("import sys\nsys.modules['course_utils.checks'] = None\ndef answer():\n    return 42\n")
    with pytest.raises(KernelUnavailable) as stopped:
        with session(seconds=10) as judge:
            judge.lookup("answer")
    assert re.fullmatch(r"the tests could not start in the notebook's kernel \((ModuleNotFound|Import)Error: "
                        r"[^()]*course_utils\.checks[^()]*\): did your code change course_utils, input\(\) or "
                        r"IPython\?", str(stopped.value)), str(stopped.value)
    run("del sys.modules['course_utils.checks']")  # the kernel still runs, and once repaired answers the tests
    with session() as judge:
        assert judge.lookup("answer")() == 42


DEEP = "'[' * 100_000 + ']' * 100_000"  # JSON that Python's parser cannot read: it runs out of recursion
GARBLED = {
    "ready": f"return {DEEP}",  # the agent's first message
    "value": f"return {DEEP}",  # an answer
    "raw": ("kernel = get_ipython().kernel  # a message of the kernel's own, its content the same JSON\n"
            f"        kernel.session.send(kernel.stdin_socket, 'input_request', ({DEEP}).encode(), "
            "kernel.get_parent('shell'), ident=kernel._parent_ident['shell'])"),
}


@pytest.mark.parametrize("garbled", GARBLED)
def test_a_message_the_judge_cannot_decode_ends_the_conversation(kernel, garbled):
    run, session = kernel
    op = "ready" if garbled == "raw" else garbled
    run("import json\nreal_dumps = json.dumps\n"  # the agent's messages go through json.dumps
        "def garbled_dumps(message, *args, **kwargs):\n"
        f"    if isinstance(message, dict) and message.get('op') == {op!r}:\n"
        f"        {GARBLED[garbled]}\n"
        "    return real_dumps(message, *args, **kwargs)\n"
        "json.dumps = garbled_dumps\n"
        "def answer():\n    return 42\n")
    with session(seconds=20) as judge:  # on the old code: RecursionError, which stopped the grading of the notebook
        with pytest.raises(KernelUnavailable, match="answered the tests in a way they cannot read"):
            judge.lookup("answer")
    run("json.dumps = real_dumps\nprint('still here')")  # the kernel was not left waiting for a reply
    with session() as judge:
        assert judge.lookup("answer")() == 42


ODD_TEXT = '''
def odd(x):
    print("printed \\udcff")
    return {"key \\ud800": ["value \\udfff", x]}

def fail():
    raise ValueError("\\ud800 is no character")
'''


def test_text_from_the_kernel_that_no_file_can_hold_is_written_out(kernel):
    """Lone surrogates (which UTF-8 cannot encode) in what the kernel sends: a notebook holding them cannot be
    written, which stopped the grading of the notebook."""
    run, session = kernel
    run(ODD_TEXT)
    with session() as judge:
        printed = io.StringIO()
        with redirect_stdout(printed):
            assert judge.lookup("odd")(1) == {"key \\ud800": ["value \\udfff", 1]}
        assert printed.getvalue() == "printed \\udcff\n"
        with pytest.raises(ValueError) as error:
            judge.lookup("fail")()
        assert str(error.value) == "\\ud800 is no character"
        with pytest.raises(AssertionError) as failure:  # the check's message, as it goes into the notebook
            common.call(judge.lookup("fail"))
    assert str(failure.value).encode("utf-8").startswith(b"fail raised ValueError: \\ud800 is no character")


def peak_rss_bytes():
    """This process's peak resident memory since it was last reset (by writing 5 to /proc/self/clear_refs)."""
    return int(re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024


def hidden_test_cell(grade_id, check):
    return new_code_cell(f"### BEGIN HIDDEN TESTS\nfrom autograder.hidden import lab1 as hidden_lab1\n"
                         f"hidden_lab1.{check}\n### END HIDDEN TESTS",
                         metadata={"nbgrader": {"grade": True, "solution": False, "points": 1, "grade_id": grade_id}})


@pytest.mark.slow
@pytest.mark.skipif(sandbox_problem() is not None, reason=f"no sandbox possible here: {sandbox_problem()}")
def test_an_answer_over_the_limit_fails_its_own_check_at_once_and_never_enters_the_grader(tmp_path):
    huge = "import numpy as np\n\ndef predict(params, X):\n    return np.ones((100 * 10**6, 1), dtype=np.uint8)"
    cost = "def compute_cost(A2, Y):\n    return float(-np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)))"
    cells = [new_code_cell(huge), new_code_cell(cost), hidden_test_cell("test_predict", "check_predict(predict)"),
             hidden_test_cell("test_cost", "check_compute_cost(compute_cost)")]
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    folder = tmp_path / "autograded" / "alice" / "lab"
    folder.mkdir(parents=True)
    config = Config({"SandboxedKernelManager": {"course_root": str(tmp_path)}})
    Path("/proc/self/clear_refs").write_text("5")
    before, start = peak_rss_bytes(), time.monotonic()
    SandboxedExecute(config=config, timeout=120).preprocess(nb, {"metadata": {"path": str(folder)}})
    assert time.monotonic() - start < 60  # not the cell's 120 s
    assert peak_rss_bytes() - before < 64 * 1024**2  # the answer (133 MB of JSON) never came in
    (failure,) = [o for o in nb.cells[2].outputs if o.output_type == "error"]
    assert failure.ename == "KernelUnavailable"
    assert failure.evalue.startswith("The notebook's kernel sent an answer larger than the limit of 64 MiB"), \
        failure.evalue
    assert not [o for o in nb.cells[3].outputs if o.output_type == "error"]  # the next check talks to the kernel again


def test_checks_draw_their_inputs_from_the_secret_seed():
    with secret_seed(1):
        first = secret_rng(202).random(3)
    with secret_seed(2):
        second = secret_rng(202).random(3)
    with secret_seed(1):
        again = secret_rng(202).random(3)
    assert np.array_equal(first, again) and not np.array_equal(first, second)


# ============================================================================= the student's own helpers first

CALLER = """
import numpy as np

def sigmoid(z):
    {helper}

def probabilities(z):
    return {caller}
"""
HELPERS = {"right": "return 1 / (1 + np.exp(-z))",
           "wrong": "print('my own sigmoid')\n    return np.tanh(z)",
           "endless": "while True:\n        pass"}


@student.own_helpers_first({"sigmoid": activations.sigmoid})
def check_probabilities(probabilities):
    z = np.linspace(-3, 3, 7)
    print("checked")
    if not np.allclose(common.call(probabilities, z), 1 / (1 + np.exp(-z)), atol=1e-6):
        raise AssertionError("probabilities: wrong values.")


def judged(kernel, helper, caller="sigmoid(z).round(6)", seconds=30.0, both=False, then=""):
    """Run check_probabilities on the kernel's ``probabilities``, its ``sigmoid`` being HELPERS[helper] (and the cell
    ``then`` run after them).

    Returns (the AssertionError the check raised or None, callbacks the grader served, what the check
    printed, seconds it took).
    """
    run, session = kernel
    run(CALLER.format(helper=HELPERS[helper], caller=caller) + then)
    served, printed, start = [], io.StringIO(), time.monotonic()
    with session(seconds) as judge:
        serve = judge._serve
        judge._serve = lambda request: served.append(request["op"]) or serve(request)
        try:
            with redirect_stdout(printed), student.both_ways() if both else nullcontext():
                check_probabilities(judge.lookup("probabilities"))
            failure = None
        except AssertionError as error:
            failure = error
    return failure, len(served), printed.getvalue(), time.monotonic() - start


def test_a_check_tries_the_students_own_helpers_first_and_needs_no_callback_when_they_pass(kernel):
    failure, callbacks, printed, _ = judged(kernel, "right")
    assert failure is None and callbacks == 0
    assert printed == "checked\n"


def test_a_wrong_helper_costs_nothing_to_the_function_that_calls_it(kernel):
    failure, callbacks, printed, _ = judged(kernel, "wrong")
    assert failure is None  # decided by the second try, with the reference sigmoid
    assert callbacks >= 1
    assert printed == "checked\n"  # the failed first try left nothing, not even the helper's print


REACHED_OTHERWISE = {  # a caller that finds sigmoid otherwise than by its name, and what must hold after the check
    "a dict": ("SIGMOIDS = {'logistic': sigmoid}\ndef probabilities(z):\n    return SIGMOIDS['logistic'](z).round(6)",
               "assert SIGMOIDS['logistic'] is sigmoid"),
    "a function of its own": ("def _squash(z):\n    return sigmoid(z)\ndef probabilities(z):\n    return _squash(z)",
                              "assert _squash(0) == np.tanh(0)"),
    "a default argument": ("def probabilities(z, squash=sigmoid):\n    return squash(z)",
                           "assert probabilities.__defaults__ == (sigmoid,)"),
    "another name": ("squash = sigmoid\ndef probabilities(z):\n    return squash(z)", "assert squash is sigmoid"),
    "a tuple": ("SQUASHES = (np.tanh, sigmoid)\ndef probabilities(z):\n    return SQUASHES[1](z)",
                "assert SQUASHES[1] is sigmoid"),
    "a closure": ("def squashing(squash):\n    def probabilities(z):\n        return squash(z)\n    return probabilities\n"
                  "probabilities = squashing(sigmoid)", "assert probabilities.__closure__[0].cell_contents is sigmoid"),
}


@pytest.mark.parametrize("way", REACHED_OTHERWISE)
def test_a_wrong_helper_costs_nothing_however_the_function_reaches_it(kernel, way):
    """The reference helper takes the place of the student's wherever their function finds it, and only for the time
    of the check's calls: the notebook's own objects are as they were afterwards."""
    caller, afterwards = REACHED_OTHERWISE[way]
    failure, callbacks, _, _ = judged(kernel, "wrong", then=caller)
    assert failure is None and callbacks >= 1
    kernel[0](afterwards)


def test_a_function_with_reference_helpers_keeps_its_name_signature_and_notebook_and_the_last_helpers_win():
    namespace = {}
    exec(CALLER.format(helper=HELPERS["right"], caller="sigmoid(z)"), namespace)  # noqa: S102 -- a source notebook
    rebound = student.with_helpers(namespace["probabilities"], {"sigmoid": lambda z: np.full_like(z, 7.0)})
    assert rebound.__name__ == "probabilities" and str(inspect.signature(rebound)) == "(z)"
    assert student.beside(rebound, "sigmoid") is namespace["sigmoid"]  # the notebook's own, outside the calls
    assert rebound(np.zeros(2)).tolist() == [7.0, 7.0]
    again = student.with_helpers(rebound, {"sigmoid": lambda z: np.full_like(z, 8.0)})  # as a check of Lab 7 does
    assert again(np.zeros(2)).tolist() == [8.0, 8.0] and rebound(np.zeros(2)).tolist() == [7.0, 7.0]
    assert namespace["probabilities"](np.zeros(2)).tolist() == [0.5, 0.5]


def test_an_endless_helper_is_interrupted_at_half_time_and_the_second_try_decides(kernel):
    failure, callbacks, _, seconds = judged(kernel, "endless", seconds=8)
    assert failure is None and callbacks >= 1
    assert 3.5 < seconds < 8  # interrupted after half the session's time, then passed with the reference helper
    kernel[0]("print('the kernel still runs')")


def test_after_an_endless_helper_the_second_try_gets_the_time_the_first_took(kernel):
    """A student's helper that never returns is interrupted at half the cell's time; the check's second try, with the
    reference helper, then still has the cell's whole time: their correct function costs no points even when the
    second try needs more than the half left (a loaded server, a check near its limit after an earlier stop)."""
    run, session = kernel
    run("tries = []")
    slow_second = "__import__('time').sleep(2.5 * len(tries)) or tries.append(1) or sigmoid(z).round(6)"
    run(CALLER.format(helper=HELPERS["endless"], caller=slow_second))
    start = time.monotonic()
    with session(4.0) as judge:
        check_probabilities(judge.lookup("probabilities"))  # on the old code: the tests ran out of time
        assert 5.5 < judge.deadline - start < 6.5  # a second try of 4 s from the first try's end, at 2 s
    assert 4.3 < time.monotonic() - start < 6
    run("print('the kernel still runs')")


def test_a_wrong_function_fails_with_the_reference_helpers_in_place(kernel):
    failure, callbacks, _, _ = judged(kernel, "right", caller="sigmoid(z) * 2")
    assert isinstance(failure, AssertionError) and callbacks >= 1  # both tries ran; the second one's verdict


def test_the_canary_runs_both_ways_and_both_must_pass(kernel):
    failure, callbacks, printed, _ = judged(kernel, "right", both=True)
    assert failure is None and callbacks >= 1 and printed == "checked\nchecked\n"
    failure, _, _, _ = judged(kernel, "wrong", both=True)
    assert isinstance(failure, AssertionError)  # a solution whose own helpers fail its check is a broken lab


def test_beside_finds_the_notebooks_other_functions_or_none(kernel):
    run, session = kernel
    run(CALLER.format(helper=HELPERS["right"], caller="sigmoid(z)"))
    with session() as judge:
        probabilities = judge.lookup("probabilities")
        own_sigmoid = student.beside(probabilities, "sigmoid")
        assert np.allclose(own_sigmoid(np.zeros(2)), 0.5)  # the kernel's own function, called there
        assert student.beside(probabilities, "no_such_function") is None
    assert student.beside(judged, "activations") is activations  # a local function: the globals of its module


EACH = '''
import numpy as np
calls = []

def scaled(x, factor=3.0):
    calls.append(x.copy())
    print("at", x.tolist())
    if np.any(x < 0):
        raise ValueError("negative input")
    x *= 100.0  # changed in place: each call has its own copy, and nothing comes back
    return x.sum() / 100.0 * factor

class Layer:
    def __init__(self):
        self.W = np.ones(2)
    def forward(self, X):
        return X @ self.W
'''


def counted_turns(judge):
    """A list that grows by one at each turn of ``judge``'s conversation (one round trip to the kernel)."""
    turns, say = [], judge._say

    def counting(message):
        turns.append(message.get("op"))
        return say(message)
    judge._say = counting
    return turns


def test_many_calls_take_one_round_trip_and_give_what_calls_one_by_one_give(kernel):
    run, session = kernel
    run(EACH)
    points = [np.array([1.0, 2.0]), np.array([0.5, 0.0]), np.array([4.0, -0.0])]
    local = {}
    exec(EACH, local)
    with session() as judge:
        scaled = judge.lookup("scaled")
        one_by_one = [scaled(point.copy()) for point in points]
        turns = counted_turns(judge)
        printed = io.StringIO()
        with redirect_stdout(printed):
            together = student.call_each(scaled, [(point,) for point in points])
        assert turns == ["batch"]
        assert together == one_by_one == student.call_each(local["scaled"], [(point,) for point in points])
        assert printed.getvalue() == "at [1.0, 2.0]\nat [0.5, 0.0]\nat [4.0, -0.0]\n"
        assert [p.tolist() for p in points] == [[1.0, 2.0], [0.5, 0.0], [4.0, -0.0]]  # the judge's own arrays
        assert len(judge.lookup("calls")) == 6


def test_many_calls_can_set_an_attribute_before_each_call(kernel):
    run, session = kernel
    run(EACH)
    weights = [np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([2.0, 2.0])]
    X = np.array([[3.0, 5.0]])
    with session() as judge:
        layer = judge.lookup("Layer")()
        turns = counted_turns(judge)
        outputs = student.call_each(layer.forward, [(X,)] * 3, before=(layer, "W", weights))
        assert turns == ["getattr", "batch"]  # layer.forward is fetched once, then one turn for the six requests
        assert [out.tolist() for out in outputs] == [[3.0], [5.0], [16.0]]
        assert layer.W.tolist() == [2.0, 2.0]  # the last value set stays, as after calls one by one


def test_many_calls_stop_at_the_first_that_raises_with_its_exception(kernel):
    run, session = kernel
    run(EACH)
    with session() as judge:
        scaled = judge.lookup("scaled")
        with pytest.raises(ValueError, match="negative input"):
            student.call_each(scaled, [(np.ones(1),), (-np.ones(1),), (np.ones(1),)])
        assert len(judge.lookup("calls")) == 2  # the third call was never made
        with pytest.raises(AssertionError, match=r"scaled raised ValueError: negative input"):
            common.call_each(scaled, [(-np.ones(1),)], "scaled")


@pytest.mark.parametrize("answers, problem", [
    ("3", "could not be read"),
    ("[]", "answered 0 of 1 calls"),
    ('[{"op": "value", "v": {"t": "nd", "v": 1}, "stdout": ""}]', "could not be read"),
])
def test_a_kernel_that_answers_many_calls_wrongly_fails_its_own_check(kernel, answers, problem):
    run, session = kernel
    run(EACH + "import json\nreal_dumps = json.dumps\n"  # the agent's answers go through json.dumps
        "def lying_dumps(message, *args, **kwargs):\n"
        f"    if isinstance(message, dict) and 'answers' in message:\n        message['answers'] = {answers}\n"
        "    return real_dumps(message, *args, **kwargs)\n"
        "json.dumps = lying_dumps\n")
    with session() as judge:
        with pytest.raises(AssertionError, match=problem):
            student.call_each(judge.lookup("scaled"), [(np.ones(1),)])
        assert judge.lookup("scaled")(np.ones(1)) == 3.0  # the conversation goes on


@pytest.mark.parametrize("part", ["v", "args"])
def test_a_kernel_that_answers_one_call_in_a_form_the_judge_refuses_fails_its_own_check(kernel, part):
    """The same for a single call: its result, or the arguments it sends back changed, in a refused form."""
    run, session = kernel
    run(EACH + "import json\nreal_dumps = json.dumps\n"
        "def lying_dumps(message, *args, **kwargs):\n"
        "    if isinstance(message, dict) and 'stdout' in message and 'answers' not in message:\n"
        f"        message[{part!r}] = {{'t': 'nd', 'v': 1}}\n"
        "    return real_dumps(message, *args, **kwargs)\n"
        "json.dumps = lying_dumps\n")
    with session() as judge:
        with pytest.raises(AssertionError, match="a value from the notebook could not be read"):
            judge.lookup("scaled")(np.ones(1))


STATEFUL_DENSE = '''
import numpy as np

class Dense:
    """Right on the first forward pass after it is made, and 1% off on every later one."""
    def __init__(self, D_in, D_out, seed=0, dtype=np.float32):
        self.W, self.b, self.calls = np.zeros((D_in, D_out), dtype), np.zeros(D_out, dtype), 0
    def forward(self, X):
        self.calls += 1
        self.X = X
        return (X @ self.W + self.b) * (1.0 if self.calls == 1 else 1.01)
    def backward(self, dout):
        self.dW, self.db = self.X.T @ dout, dout.sum(axis=0)
        return dout @ self.W.T
'''


def test_a_layer_checked_in_the_kernel_is_checked_against_its_numerical_gradient_in_a_few_round_trips(kernel):
    """Lab 4's layers: every perturbed forward pass of a numerical gradient in one round trip, and a forward pass
    that is right only once is still caught by it, in the kernel as in a source notebook."""
    from autograder.hidden import lab4
    run, session = kernel
    run(STATEFUL_DENSE)
    local = {}
    exec(STATEFUL_DENSE, local)
    with pytest.raises(AssertionError, match="does not match the numerical gradient of your forward pass") as here:
        lab4.check_Dense(local["Dense"])
    with session() as judge:
        turns = counted_turns(judge)
        with pytest.raises(AssertionError) as there:
            lab4.check_Dense(judge.lookup("Dense"))
        assert str(there.value) == str(here.value)
        assert turns.count("batch") == 1 and len(turns) < 20  # one call_each, not 2 * N * D_in calls


BROKEN_CHECKS = """
def check_typo(func):
    if func(2) != 4:
        raise AssertionError(f"twice 2 is 4, found {func(2)}: {threshold_typo}")

def check_value(func):
    return func(2) + 1

def check_last(func):
    for value in func(2):
        last = value
    return last
"""


def test_an_error_of_the_check_itself_is_the_instructors_not_the_students(kernel, monkeypatch):
    """A check that misspells a name fails only on a wrong answer (the canary never sees it): it must stop the grading
    of the notebook with the check's file and line, not tell the student their code led to a NameError. An error of
    the student's code that the check meets keeps its message for the student, a NameError in the kernel included."""
    run, session = kernel
    run("def wrong(x):\n    return 3 * x\ndef right(x):\n    return 2 * x\n"
        "def undefined(x):\n    return y\ndef text(x):\n    return 'four'\ndef empty(x):\n    return []")
    module = type(autograder)("autograder.hidden.lab_broken")  # a check module as if in autograder/hidden/
    exec(compile(BROKEN_CHECKS, str(Path(autograder.__file__).parent / "hidden" / "lab_broken.py"), "exec"),
         vars(module))
    monkeypatch.setitem(sys.modules, "autograder.hidden.lab_broken", module)

    def verdict(check, name):
        with session() as judge:
            return run_checks([CheckCall("lab_broken", check, (("name", name),))], judge, 7, 30.0)

    assert verdict("check_typo", "right") is None  # the right answer passes: the canary would not see the typo
    with pytest.raises(BrokenCheckError, match=r"^autograder.hidden.lab_broken.check_typo failed on its own \("
                       r"autograder/hidden/lab_broken.py, line 4\): NameError: name 'threshold_typo' is not defined. "
                       r"That is an error of the check, not of the student's code"):
        verdict("check_typo", "wrong")
    with pytest.raises(BrokenCheckError, match=r"^a hidden test calls autograder.hidden.lab_broken.check_tpyo, which "
                       r"cannot be loaded: .*Fix autograder/hidden/lab_broken.py"):
        verdict("check_tpyo", "right")
    assert verdict("check_typo", "undefined") == ("AssertionError", (
        "the tests could not check your code: it led to NameError: name 'y' is not defined. Make sure your functions "
        "return what the exercise asks."))
    assert verdict("check_value", "text")[1].startswith("the tests could not check your code: it led to TypeError")
    assert verdict("check_last", "empty")[1].startswith(  # the check's own name, unbound for an empty answer
        "the tests could not check your code: it led to UnboundLocalError")


def test_a_notebook_stopped_by_a_broken_check_is_a_grading_error_naming_the_check_not_nbgrader():
    from autograder.grade import _failure
    try:
        raise BrokenCheckError("autograder.hidden.lab1.check_predict failed on its own (autograder/hidden/lab1.py, "
                               "line 9): NameError: name 'x' is not defined. That is an error of the check")
    except BrokenCheckError as error:  # nbgrader logs the traceback of the error that stopped the notebook
        log = "[AutogradeApp | ERROR] There was an error processing assignment\n" + \
            "".join(traceback.format_exception(error))
    outcome = _failure("ana", "lab1_initialization", log, None)
    assert (outcome.status, outcome.detail) == ("grading_error", (
        "a hidden check failed: autograder.hidden.lab1.check_predict failed on its own (autograder/hidden/lab1.py, "
        "line 9): NameError: name 'x' is not defined. That is an error of the check"))
