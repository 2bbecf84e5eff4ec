"""Lab 4, part 0: backpropagation through a small computational graph of scalars.

Three gates, each with its local gradients: add (a + b), multiply (a * b) and max (max(a, b)). The graph of
the lab uses each of them and a fan-out (x feeds two gates, so its two gradients add up):

    q = x * y,    r = max(q, z),    s = r + x,    f = s * w.

All values are Python floats; every gradient is of the graph's output f.
"""
GATES = ("add", "mul", "max")
GRAPH_INPUTS = ("x", "y", "z", "w")
GRAPH_VALUES = ("q", "r", "s", "f")


def gate_forward(gate, a, b):
    """The output of ``gate`` ("add", "mul" or "max") for the inputs a and b (floats)."""
    if gate == "add":
        return a + b
    if gate == "mul":
        return a * b
    if gate == "max":
        return max(a, b)
    raise ValueError(f"Unknown gate {gate!r}: use one of {GATES}.")


def gate_backward(gate, a, b, dout):
    """(da, db): the upstream gradient ``dout`` times the gate's local gradients at (a, b), as floats.

    add: (dout, dout); mul: (dout * b, dout * a); max: dout goes to the larger input, 0 to the other;
    on a tie (a == b) it goes to a.
    """
    if gate == "add":
        return float(dout), float(dout)
    if gate == "mul":
        return float(dout * b), float(dout * a)
    if gate == "max":
        return (float(dout), 0.0) if a >= b else (0.0, float(dout))
    raise ValueError(f"Unknown gate {gate!r}: use one of {GATES}.")


def graph_forward(x, y, z, w):
    """The intermediate values of the graph: {"q", "r", "s", "f"} as floats."""
    q = gate_forward("mul", x, y)
    r = gate_forward("max", q, z)
    s = gate_forward("add", r, x)
    f = gate_forward("mul", s, w)
    return {"q": float(q), "r": float(r), "s": float(s), "f": float(f)}


def graph_backward(x, y, z, w):
    """The gradients of f with respect to the inputs: {"x", "y", "z", "w"} as floats.

    The gates are visited from f back to the inputs; x receives one gradient from the add gate and one from
    the multiply gate, and they add up.
    """
    v = graph_forward(x, y, z, w)
    ds, dw = gate_backward("mul", v["s"], w, 1.0)
    dr, dx_from_add = gate_backward("add", v["r"], x, ds)
    dq, dz = gate_backward("max", v["q"], z, dr)
    dx_from_mul, dy = gate_backward("mul", x, y, dq)
    return {"x": dx_from_add + dx_from_mul, "y": dy, "z": dz, "w": dw}
