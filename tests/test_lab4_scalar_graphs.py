"""Lab 4, part 0: the reference scalar gates and graph, and the hidden checks built on them.

The references are tested against the hand-worked values of the notebook, a closed formula and centred
differences; the hidden checks must pass on the references and fail, with the right hint and without
revealing expected values, on typical mistakes.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.hidden import lab4
from autograder.judge.student import secret_seed
from autograder.reference import scalar_graphs
from hidden_checks import SEEDS, failure_message


def f_closed_form(x, y, z, w):
    return (max(x * y, z) + x) * w


def centred(func, args, index, h=1e-6):
    plus, minus = list(args), list(args)
    plus[index] += h
    minus[index] -= h
    return (func(*plus) - func(*minus)) / (2 * h)


def test_the_hand_worked_values_of_the_notebook():
    assert scalar_graphs.graph_forward(2.0, 3.0, 1.0, -1.0) == {"q": 6.0, "r": 6.0, "s": 8.0, "f": -8.0}
    assert scalar_graphs.graph_backward(2.0, 3.0, 1.0, -1.0) == {"x": -4.0, "y": -2.0, "z": 0.0, "w": 8.0}
    assert scalar_graphs.graph_forward(2.0, 3.0, 7.0, -1.0) == {"q": 6.0, "r": 7.0, "s": 9.0, "f": -9.0}
    assert scalar_graphs.graph_backward(2.0, 3.0, 7.0, -1.0) == {"x": -1.0, "y": 0.0, "z": -1.0, "w": 9.0}
    assert scalar_graphs.gate_backward("add", 3.0, -4.0, 2.0) == (2.0, 2.0)
    assert scalar_graphs.gate_backward("mul", 3.0, -4.0, 2.0) == (-8.0, 6.0)
    assert scalar_graphs.gate_backward("max", 3.0, -4.0, 2.0) == (2.0, 0.0)
    assert scalar_graphs.gate_backward("max", -4.0, 3.0, 2.0) == (0.0, 2.0)
    assert scalar_graphs.gate_backward("max", 1.5, 1.5, 2.0) == (2.0, 0.0)  # a tie: a gets dout
    # the worked example f = (x + y) z at (-2, 5, -4)
    dq, dz = scalar_graphs.gate_backward("mul", 3.0, -4.0, 1.0)
    assert (dq, dz) == (-4.0, 3.0) and scalar_graphs.gate_backward("add", -2.0, 5.0, dq) == (-4.0, -4.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=4, max_size=4))
def test_graph_matches_the_closed_form_and_centred_differences(point):
    x, y, z, w = point
    assert scalar_graphs.graph_forward(x, y, z, w)["f"] == pytest.approx(f_closed_form(x, y, z, w), abs=1e-12)
    if abs(x * y - z) < 1e-3:  # the max gate's kink: no derivative there
        return
    grads = scalar_graphs.graph_backward(x, y, z, w)
    for index, key in enumerate(scalar_graphs.GRAPH_INPUTS):
        assert grads[key] == pytest.approx(centred(f_closed_form, point, index), abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(scalar_graphs.GATES), st.floats(-5, 5), st.floats(-5, 5), st.floats(-3, 3))
def test_gate_gradients_are_dout_times_the_local_derivatives(gate, a, b, dout):
    if gate == "max" and abs(a - b) < 1e-3:
        return
    da, db = scalar_graphs.gate_backward(gate, a, b, dout)
    forward = lambda a, b: dout * scalar_graphs.gate_forward(gate, a, b)  # noqa: E731
    assert da == pytest.approx(centred(forward, [a, b], 0), abs=1e-6)
    assert db == pytest.approx(centred(forward, [a, b], 1), abs=1e-6)


def test_an_unknown_gate_is_an_error():
    with pytest.raises(ValueError, match="add"):
        scalar_graphs.gate_backward("min", 1.0, 2.0, 1.0)


# ----------------------------------------------------------------------------- hidden checks

REFERENCES = {"gate_backward": scalar_graphs.gate_backward, "graph_forward": scalar_graphs.graph_forward,
              "graph_backward": lambda x, y, z, w, values: scalar_graphs.graph_backward(x, y, z, w)}


@pytest.mark.parametrize("name", REFERENCES)
@pytest.mark.parametrize("seed", SEEDS)
def test_hidden_checks_pass_on_the_reference(name, seed):
    with secret_seed(seed):
        getattr(lab4, f"check_{name}")(REFERENCES[name])


def gate_without_dout(gate, a, b, dout):
    return scalar_graphs.gate_backward(gate, a, b, 1.0)


def gate_mul_not_swapped(gate, a, b, dout):
    return (dout * a, dout * b) if gate == "mul" else scalar_graphs.gate_backward(gate, a, b, dout)


def gate_max_to_the_smaller(gate, a, b, dout):
    if gate == "max":
        return (dout, 0.0) if a <= b else (0.0, dout)
    return scalar_graphs.gate_backward(gate, a, b, dout)


def gate_as_list_of_three(gate, a, b, dout):
    return [*scalar_graphs.gate_backward(gate, a, b, dout), 0.0]


@pytest.mark.parametrize("student, expected", [
    (gate_without_dout, "multiply the local gradient by dout"),
    (gate_mul_not_swapped, "the *other* input"),
    (gate_max_to_the_smaller, "goes to the larger input"),
    (gate_as_list_of_three, "should return a tuple (da, db)"),
])
def test_check_gate_backward_catches(student, expected):
    assert expected in failure_message(lab4.check_gate_backward, student)


def forward_with_min(x, y, z, w):
    q = x * y
    r = min(q, z)
    return {"q": q, "r": r, "s": r + x, "f": (r + x) * w}


def forward_forgetting_the_fan_out(x, y, z, w):
    r = max(x * y, z)
    return {"q": x * y, "r": r, "s": r, "f": r * w}


@pytest.mark.parametrize("student, expected", [
    (forward_with_min, "result['r'] has the wrong value: r = max(q, z)"),
    (forward_forgetting_the_fan_out, "result['s'] has the wrong value: s = r + x"),
    (lambda x, y, z, w: {"q": x * y}, "has no key 'r'"),
])
def test_check_graph_forward_catches(student, expected):
    message = failure_message(lab4.check_graph_forward, student)
    assert expected in message


def backward_one_path_of_x(x, y, z, w, values):
    return {**scalar_graphs.graph_backward(x, y, z, w), "x": w}


def backward_max_reversed(x, y, z, w, values):
    dq, dz = (0.0, w) if values["q"] >= z else (w, 0.0)
    return {"x": w + dq * y, "y": dq * x, "z": dz, "w": values["s"]}


def backward_through_own_helpers(x, y, z, w, values):
    """Calls gate_backward, as a student may: the check swaps in the reference one (this module has none)."""
    ds, dw = gate_backward("mul", values["s"], w, 1.0)  # noqa: F821 -- supplied by the check
    dr, dx_add = gate_backward("add", values["r"], x, ds)  # noqa: F821
    dq, dz = gate_backward("max", values["q"], z, dr)  # noqa: F821
    dx_mul, dy = gate_backward("mul", x, y, dq)  # noqa: F821
    return {"x": dx_add + dx_mul, "y": dy, "z": dz, "w": dw}


@pytest.mark.parametrize("student, expected", [
    (backward_one_path_of_x, "you kept only one of the two paths of x"),
    (backward_max_reversed, "the max gate sends dr to the larger of q and z"),
])
def test_check_graph_backward_catches(student, expected):
    message = failure_message(lab4.check_graph_backward, student)
    assert expected in message
    for point in lab4._graph_points(np.random.default_rng(4303)):
        for value in scalar_graphs.graph_backward(*point).values():
            if value:
                assert f"{value:.4g}" not in message


def test_check_graph_backward_grades_it_with_the_reference_gates():
    lab4.check_graph_backward(backward_through_own_helpers)
