"""The judge's agent in the kernel being graded, and the codec both ends of the conversation share.

The judge (``autograder.judge.remote``) sends this file's source to the student's kernel, which then
runs the student's functions on what the judge asks for. The file imports nothing from ``autograder``, so it
runs where that cannot be imported; of the course it uses only ``course_utils`` (which graded kernels import), for
``with_globals``. Nothing that happens in the kernel is trusted: the student's code may have replaced any of this,
which can only spoil the student's own answers.

The conversation is strict turn-taking over the kernel's input channel: the kernel speaks with
``input(message)``, and the judge's reply is ``input``'s result. A message is JSON text:
- a request ``{"op": "lookup" | "call" | "getattr" | "setattr" | "getitem" | "rebind", ...}``, or
  ``{"op": "batch", "requests": [...]}``: several requests answered in turn, up to the first that raises, in
  one turn (``{"op": "value", "answers": [...]}``),
- or the answer to the last request, ``{"op": "value", "v": ...}`` or ``{"op": "raise", ...}``.
Whoever waits for an answer may receive a request first (a callback) and answers it before going on.

Values travel as plain data: None, bool, int, float, str, lists, tuples, dicts, NumPy arrays and
numbers (dtype, shape and raw bytes: numeric dtypes only, never a pickle), dtypes and slices. Anything else stays
where it lives and travels as a numbered reference ``{"t": "ref", ...}`` (a callable's with the names and kinds of
its parameters, which the judge's messages use); handing a reference back to its owner is ``{"t": "own", "v": id}``.
"""
import base64
import builtins
import contextlib
import functools
import inspect
import io
import json
import math
import time
import types
import warnings

import numpy as np

from course_utils.checks import stand_ins

MAX_DEPTH = 64
MAX_PARAMETERS = 64  # parameters of a function's signature sent with a reference to it (more: none sent)
MAX_TEXT = 20_000  # characters of a function's printed output sent back with its answer
NUMERIC_KINDS = "biufc"
INTERRUPT_OVERLAP = 1.0  # seconds after an answer in which an interrupt is taken as meant for the call it answered


class _Ref:
    """Base of the objects that stand for something living on the other end."""


def _array(array):
    """``[dtype, shape, base64 of the C-order bytes]`` of a numeric array."""
    return [array.dtype.str, list(array.shape), base64.b64encode(array.tobytes()).decode("ascii")]


def _from_array(body):
    """The array ``_array`` described, checked to be numeric and of the size its shape says."""
    if type(body) is not list or len(body) != 3 or type(body[0]) is not str or type(body[1]) is not list \
            or type(body[2]) is not str or not all(type(n) is int and n >= 0 for n in body[1]):
        raise ValueError("the array is not in the judge's format")
    try:
        dtype = np.dtype(body[0])
    except (TypeError, ValueError, SyntaxError) as error:
        raise ValueError(f"unknown dtype {body[0]!r}") from error
    if dtype.kind not in NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"arrays of dtype {dtype} are not accepted")
    data = bytearray(base64.b64decode(body[2], validate=True))  # writable, as the student's code may expect
    if len(data) != math.prod(body[1]) * dtype.itemsize:
        raise ValueError("the array's bytes do not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(body[1])


def parameters(func):
    """``[[name, kind, has a default], ...]`` of a callable's signature (kind: ``inspect.Parameter.kind`` as an int),
    or None if it has none or too many."""
    try:
        found = list(inspect.signature(func).parameters.values())
    except Exception:
        return None
    if len(found) > MAX_PARAMETERS:
        return None
    return [[str(p.name), int(p.kind), p.default is not p.empty] for p in found]


class Codec:
    """Turns values into JSON-able trees and back.

    ``refer(obj) -> tree`` encodes an object that is not plain data (or refuses it by raising);
    ``own(id)`` is the object this end once referred to under ``id``; ``peer(tree)`` builds the
    local stand-in for an object of the other end. Exact types only: a subclass of ``float`` or of
    ``ndarray`` is not plain data.
    """

    def __init__(self, refer, own, peer):
        self.refer, self.own, self.peer = refer, own, peer

    def encode(self, value, depth=0):
        if depth > MAX_DEPTH:
            raise ValueError("the value is nested too deeply")
        kind = type(value)
        if value is None or kind in (bool, int, str):
            return value
        if kind is float:
            return value if value == value and abs(value) != float("inf") else {"t": "float", "v": repr(value)}
        if kind in (list, tuple):
            return {"t": kind.__name__, "v": [self.encode(item, depth + 1) for item in value]}
        if kind is dict:
            return {"t": "dict", "v": [[self.encode(key, depth + 1), self.encode(item, depth + 1)]
                                       for key, item in value.items()]}
        if kind is np.ndarray and value.dtype.kind in NUMERIC_KINDS:
            return {"t": "nd", "v": _array(value)}
        if isinstance(value, np.generic) and kind.__module__ == "numpy" and value.dtype.kind in NUMERIC_KINDS:
            return {"t": "scalar", "v": _array(np.asarray(value))}
        if isinstance(value, type) and issubclass(value, np.generic) and value.__module__ == "numpy":
            return {"t": "dtype", "v": np.dtype(value).name}
        if isinstance(value, np.dtype) and value.kind in NUMERIC_KINDS:
            return {"t": "dtype_object", "v": value.name}
        if kind is slice:
            return {"t": "slice", "v": [self.encode(part, depth + 1) for part in (value.start, value.stop, value.step)]}
        if isinstance(value, _Ref) and value._owner is self:
            return {"t": "own", "v": value._id}
        return self.refer(value)

    def decode(self, tree, depth=0):
        if depth > MAX_DEPTH:
            raise ValueError("the value is nested too deeply")
        if tree is None or type(tree) in (bool, int, float, str):
            return tree
        if type(tree) is not dict or type(tree.get("t")) is not str:
            raise ValueError("the value is not in the judge's format")
        tag, body = tree["t"], tree.get("v")
        if tag in ("list", "tuple"):
            items = [self.decode(item, depth + 1) for item in body]
            return items if tag == "list" else tuple(items)
        if tag == "dict":
            return {self.decode(k, depth + 1): self.decode(v, depth + 1) for k, v in body}
        if tag == "float":
            if body not in ("nan", "inf", "-inf"):
                raise ValueError("not a special float")
            return float(body)
        if tag == "nd":
            return _from_array(body)
        if tag == "scalar":
            return _from_array(body)[()]
        if tag in ("dtype", "dtype_object"):
            dtype = np.dtype(str(body))
            if dtype.kind not in NUMERIC_KINDS:
                raise ValueError(f"dtype {dtype} is not accepted")
            return dtype.type if tag == "dtype" else dtype
        if tag == "slice":
            parts = [self.decode(part, depth + 1) for part in body]
            if not all(part is None or type(part) is int for part in parts):
                raise ValueError("slices hold integers only")
            return slice(*parts)
        if tag == "own":
            return self.own(body)
        if tag == "ref":
            return self.peer(tree)
        raise ValueError(f"unknown value type {tag!r}")


def error_named(name, message):
    """A local exception standing for one raised on the other end (same name, same message).

    Built-in exception classes keep their meaning (``except ValueError`` works); any other name is a
    plain Exception subclass of that name.
    """
    name = name if isinstance(name, str) and name.isidentifier() else "Exception"
    base = getattr(builtins, name, None)
    base = base if isinstance(base, type) and issubclass(base, Exception) else Exception
    return type(name, (base,), {"__module__": "builtins"})(str(message or ""))


def with_globals(func, names):
    """``func`` running with ``names`` (name -> object) in place of the notebook's functions of those names for the
    time of each call, wherever the notebook reaches them: by any global name, in the dicts, lists and tuples its
    functions name, as default arguments, in closures (``course_utils.checks.stand_ins``, the visible tests' own way). It has ``func``'s name,
    signature and globals (``student.beside`` reads them); made from a function made so, it runs the original
    ``func`` with both sets of names, the later ones winning."""
    func, names = (func.__stand_ins__[0], {**func.__stand_ins__[1], **names}) if hasattr(func, "__stand_ins__") \
        else (func, names)
    enter = stand_ins

    def swapped(*args, **kwargs):
        with enter(func.__globals__, **names):
            return func(*args, **kwargs)
    # swapped's code uses no global name: it can run with the notebook's globals
    wrapper = functools.update_wrapper(types.FunctionType(swapped.__code__, func.__globals__, func.__name__, None,
                                                          swapped.__closure__), func)
    wrapper.__stand_ins__ = (func, names)
    return wrapper


class _LimitedText(io.StringIO):
    """A StringIO that keeps the first MAX_TEXT characters written to it."""

    def write(self, text):
        room = MAX_TEXT - self.tell()
        return super().write(text[:room]) if room > 0 else len(text)


def serve(user_ns, send):
    """Answer the judge's requests until it says "done". ``send(message) -> reply`` is one turn."""
    objects = {}

    def refer(obj):
        objects.setdefault(id(obj), obj)
        name = getattr(obj, "__name__", None)
        return {"t": "ref", "v": id(obj), "type": type(obj).__name__, "call": callable(obj),
                "name": name if isinstance(name, str) else None, "params": parameters(obj) if callable(obj) else None}

    def own(key):
        if key not in objects:
            raise ValueError("unknown reference")
        return objects[key]

    class JudgeObject(_Ref):
        """An object of the judge (a reference function or layer): calls and attribute reads go to the judge."""

        def __init__(self, tree):
            self._owner, self._id, self._type = codec, tree["v"], tree.get("type")

        def __call__(self, *args, **kwargs):
            return exchange({"op": "call", "target": self._id, "args": codec.encode(list(args)),
                             "kwargs": codec.encode(kwargs)})

        def __getattr__(self, name):
            if name.startswith("_"):
                raise AttributeError(name)
            return exchange({"op": "getattr", "target": self._id, "name": name})

        def __repr__(self):
            return f"<{self._type} of the grader>"

    codec = Codec(refer, own, JudgeObject)

    def exchange(request):
        """Send a request, answer the judge's callbacks meanwhile, and return the answer's value."""
        message = send(request)
        while message.get("op") not in ("value", "raise"):
            message = send(handle(message))
        if message["op"] == "raise":
            raise error_named(message.get("type"), message.get("message"))
        return codec.decode(message.get("v"))

    def run(func, args, kwargs):
        """Call a kernel object as ``hidden.common.call`` calls a local one: floating-point errors ignored, whatever
        the notebook set (and its setting restored afterwards), warnings filters restored, prints returned."""
        printed = _LimitedText()
        with contextlib.redirect_stdout(printed), warnings.catch_warnings(), np.errstate(all="ignore"):
            result = func(*args, **kwargs)
        return {"op": "value", "v": codec.encode(result), "args": codec.encode(list(args)),
                "kwargs": codec.encode(kwargs), "stdout": printed.getvalue()}

    def handle(request):
        try:
            op = request.get("op")
            if op == "lookup":
                name = str(request["name"])
                if name not in user_ns:
                    raise NameError(f"name {name!r} is not defined")
                return {"op": "value", "v": codec.encode(user_ns[name])}
            target = codec.decode(request.get("target"))
            if op == "call":
                return run(target, codec.decode(request["args"]), codec.decode(request["kwargs"]))
            if op == "getattr":
                return {"op": "value", "v": codec.encode(getattr(target, str(request["name"])))}
            if op == "setattr":
                setattr(target, str(request["name"]), codec.decode(request["value"]))
                return {"op": "value", "v": None}
            if op == "getitem":
                return {"op": "value", "v": codec.encode(target[codec.decode(request["key"])])}
            if op == "batch":
                answers = []
                for item in request["requests"]:
                    answers.append(handle(item))
                    if answers[-1]["op"] == "raise":
                        break
                return {"op": "value", "v": None, "answers": answers}
            if op == "rebind":
                return {"op": "value", "v": codec.encode(with_globals(target, codec.decode(request["names"])))}
            raise ValueError(f"unknown request {op!r}")
        except BaseException as error:  # the student's code failed: the judge reports it
            return {"op": "raise", "type": type(error).__name__, "message": str(error)[:2000]}

    message = send({"op": "ready"})
    while message.get("op") != "done":
        message = send(handle(message))


def _asker():
    """``ask(text) -> reply``: one turn over the kernel's input channel.

    The same messages as ``input(text)`` in an IPython kernel, without its flushing of both output streams
    before each question (two hand-offs to the kernel's output thread, about a quarter of a turn); the
    kernel flushes them when the cell ends. Where the kernel is not one of the expected make, ``input``.
    """
    try:
        import zmq
        from IPython import get_ipython

        kernel = get_ipython().kernel
        socket, session = kernel.stdin_socket, kernel.session
        ident, parent = kernel._parent_ident["shell"], kernel.get_parent("shell")
        if not (kernel._allow_stdin and parent and socket is not None):
            raise ValueError("no input channel")
    except Exception:
        return builtins.input

    def ask(text):
        while True:  # stale replies are dropped, as input() does
            try:
                socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
        session.send(socket, "input_request", {"prompt": text, "password": False}, parent, ident=ident)
        sent = time.monotonic()
        while True:
            try:
                if socket.poll(100):  # a timeout, so that an interrupt is noticed
                    _, reply = session.recv(socket)
                    if reply is not None:
                        break
            except KeyboardInterrupt:
                if time.monotonic() - sent > INTERRUPT_OVERLAP:
                    raise
                # meant for the call that has just answered (the judge stopped a first try as it ended): go on
        value = reply["content"]["value"]
        if value == "\x04":  # end-of-file
            raise EOFError
        return value

    return ask


def start(user_ns):
    """Serve the judge over the kernel's input channel (called by the code the judge executes)."""
    ask = _asker()
    serve(user_ns, lambda message: json.loads(ask(json.dumps(message))))
