"""The judge's end of the conversation with a kernel being graded: kernel objects as local stand-ins.

``KernelSession`` starts the agent (``agent.py``) in the kernel and exchanges messages with it over
the kernel's input channel. ``session.lookup(name)`` gives a notebook global: plain data by value,
anything else as a ``RemoteObject`` (or ``RemoteFunction``) whose calls, attribute reads and writes
run in the kernel. Arguments travel by value, and arrays, dicts and lists the kernel changed in
place are changed in place here too, so hidden checks can see what a function did to its inputs.

Objects of the judge passed as arguments (reference functions and layers) stay here: the kernel gets
stand-ins whose calls and public attribute reads come back to the judge. Only objects defined in the
``autograder`` package are shared this way; nothing else of the judge (no module, no code, no file)
can be reached from the kernel.

An answer larger than the session's limit never enters the grader's memory whole: the judge's client
(``judge_client``) has ZeroMQ refuse it, and the session then fails the check that asked for it.
"""
import contextlib
import contextvars
import functools
import inspect
import json
import os
import queue
import resource
import sys
import time
import types
from pathlib import Path

import numpy as np
import zmq
from jupyter_client import BlockingKernelClient
from zmq.utils.monitor import recv_monitor_message

from ..sandbox import size_text  # not from findings: checks import this module, and findings imports nbgrader
from .agent import MAX_PARAMETERS, Codec, _Ref, error_named

AGENT_SOURCE = Path(__file__).with_name("agent.py").read_text(encoding="utf-8")
MAX_ANSWER = 64 * 1024**2  # bytes of one message from the kernel, by default
RECONNECT_SECONDS = 5  # to connect again after ZeroMQ dropped a message (and with it the connection)
CALLBACK_OPS = ("call", "getattr")
CALLBACK_MEMORY = 256 * 1024**2  # bytes by which one call of the kernel on a judge object may grow the grader
# Attributes Python's own machinery looks for on any callable (inspect.signature, on every checked call):
# a student's object has no use for them, and asking the kernel would cost a round trip each time.
PROBED_HERE = frozenset({"_partialmethod"})
KINDS = tuple(inspect.Parameter.POSITIONAL_ONLY.__class__)  # inspect.Parameter's kinds, by their number
MAX_NAME = 64  # characters of a parameter's name from the kernel
MAX_ENDED_BY = 300  # characters of the error, as the kernel names it, that ended the agent before it was ready
UNREADABLE = (TypeError, ValueError, RecursionError)  # what reading a message of the kernel's may raise
_FIRST_TRY = contextvars.ContextVar("first_try", default=None)  # when the first try in progress began


@contextlib.contextmanager
def first_try():
    """Inside the block, the kernel gets at most half the time left when the block began: after that, the call
    it is running is interrupted (it fails with a KeyboardInterrupt), and the second try gets the session's
    ``second_try`` seconds from then on (the deadline moves on if it was sooner).
    """
    token = _FIRST_TRY.set(time.monotonic())
    try:
        yield
    finally:
        _FIRST_TRY.reset(token)


class KernelUnavailable(Exception):
    """The kernel cannot answer (it died, ran out of time or broke the conversation); the message says why."""


@contextlib.contextmanager
def memory_budget(nbytes):
    """Let this process's address space grow by at most ``nbytes`` meanwhile: past it, allocating raises MemoryError.

    For work the kernel asks of the grader (a reference helper called with sizes the student chose): the process's
    soft RLIMIT_AS is lowered for the while, unless a limit as low is already set.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm", encoding="utf-8") as statm:
        limit = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE") + nbytes
    if soft != resource.RLIM_INFINITY and soft <= limit:  # the hard limit is never below the soft one
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _shared(obj):
    """True if the kernel may hold a stand-in for this judge object: course code only."""
    if isinstance(obj, functools.partial):
        return _shared(obj.func)
    if isinstance(obj, types.MethodType):
        return _shared(obj.__self__) and _shared(obj.__func__)
    if isinstance(obj, types.FunctionType):
        return (obj.__module__ or "").startswith("autograder.")
    if isinstance(obj, (type, types.ModuleType, types.BuiltinFunctionType)):
        return False
    return type(obj).__module__.startswith("autograder.")


class RemoteObject(_Ref):
    """An object living in the kernel. Attribute reads and writes, and ``obj[key]``, happen there."""

    def __init__(self, session, tree):
        vars(self).update(_owner=session.codec, _session=session, _id=tree["v"], _type=str(tree.get("type")),
                          __name__=tree.get("name") or str(tree.get("type")))

    def __getattr__(self, name):
        if name.startswith("__") or name in PROBED_HERE:
            raise AttributeError(name)
        return self._session.request({"op": "getattr", "target": self._session.codec.encode(self), "name": name})

    def __setattr__(self, name, value):
        codec = self._session.codec
        self._session.request({"op": "setattr", "target": codec.encode(self), "name": name,
                               "value": codec.encode(value)})

    def __getitem__(self, key):
        codec = self._session.codec
        return self._session.request({"op": "getitem", "target": codec.encode(self), "key": codec.encode(key)})

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        return f"<{self._type} {self.__name__} in the kernel>"


def kernel_signature(params):
    """The signature the kernel sent with a callable (see ``agent.parameters``): plain identifiers only. Anything
    else, or nothing, gives an empty signature, which binds no argument, so that messages name arguments by position.
    """
    try:
        if type(params) is not list or len(params) > MAX_PARAMETERS:
            raise ValueError("not a list of parameters")
        found = []
        for item in params:
            if type(item) is not list or len(item) != 3:
                raise ValueError("not a parameter")
            name, kind, default = item
            if type(name) is not str or len(name) > MAX_NAME or not name.isidentifier() or type(kind) is not int \
                    or not 0 <= kind < len(KINDS) or type(default) is not bool:
                raise ValueError("not a parameter")
            found.append(inspect.Parameter(name, KINDS[kind], default=... if default else inspect.Parameter.empty))
        return inspect.Signature(found)  # it refuses keywords, repeated names and a wrong order
    except (TypeError, ValueError):
        return inspect.Signature()


class RemoteFunction(RemoteObject):
    """A callable living in the kernel (a function, a class or a method).

    Calling it runs it in the kernel on copies of the arguments; what it printed is printed here,
    and what it changed in its arguments is changed here too. Its signature (``inspect.signature``) has the
    parameter names the kernel sent, so that messages name an argument as the student's code does.
    """

    def __init__(self, session, tree):
        super().__init__(session, tree)
        vars(self)["__signature__"] = kernel_signature(tree.get("params"))

    def __call__(self, *args, **kwargs):
        session, codec = self._session, self._session.codec
        answer = session.request({"op": "call", "target": codec.encode(self), "args": codec.encode(list(args)),
                                  "kwargs": codec.encode(kwargs)}, whole=True)
        sys.stdout.write(str(answer.get("stdout", "")))
        _update(list(args), session.decode(answer.get("args")))
        _update(kwargs, session.decode(answer.get("kwargs")))
        return session.decode(answer.get("v"))

    def call_each(self, arguments, before=None):
        """``[self(*args) for args in arguments]`` in one round trip, each call on copies of its ``args``.

        before: ``(obj, name, values)``, an object of the same kernel: ``obj.name = values[i]`` just before the
        i-th call. What the calls print is printed here; what they change in their arguments is not brought back.
        The first call that raises ends the calls, and its exception is raised here.
        """
        codec, requests = self._session.codec, []
        for i, args in enumerate(arguments):
            if before is not None:
                requests.append({"op": "setattr", "target": codec.encode(before[0]), "name": before[1],
                                 "value": codec.encode(before[2][i])})
            requests.append({"op": "call", "target": codec.encode(self), "args": codec.encode(list(args)),
                             "kwargs": codec.encode({})})
        answers = self._session.request({"op": "batch", "requests": requests}, whole=True).get("answers")
        if not isinstance(answers, list) or not all(isinstance(answer, dict) for answer in answers):
            raise AssertionError("the answers of the notebook could not be read.")
        results = []
        for answer in answers:
            if answer.get("op") == "raise":
                raise error_named(answer.get("type"), answer.get("message"))
            if "stdout" in answer:  # a call's answer (a setattr's has none)
                sys.stdout.write(str(answer["stdout"]))
                results.append(self._session.decode(answer.get("v")))
        if len(results) != len(arguments):
            raise AssertionError(f"the notebook answered {len(results)} of {len(arguments)} calls.")
        return results

    def rebind(self, names):
        """A copy of this (kernel) function in which the global ``names`` refer to the given judge objects."""
        codec = self._session.codec
        return self._session.request({"op": "rebind", "target": codec.encode(self), "names": codec.encode(names)})


def type_name(obj):
    """The name of an object's class, wherever the object lives."""
    return obj._type if isinstance(obj, RemoteObject) else type(obj).__name__


def same_object(a, b) -> bool:
    """True if ``a`` and ``b`` are one object (``a is b``), wherever they live."""
    if isinstance(a, RemoteObject) and isinstance(b, RemoteObject):
        return a._session is b._session and a._id == b._id
    return a is b


def _update(local, changed):
    """Make ``local`` (a judge value sent to the kernel) equal to ``changed`` (what the kernel made of it), in place."""
    if isinstance(local, np.ndarray):
        if not isinstance(changed, np.ndarray) or changed.shape != local.shape or changed.dtype != local.dtype:
            raise AssertionError("a function changed the shape or dtype of an input array in place.")
        if not np.array_equal(local, changed, equal_nan=True):
            np.copyto(local, changed)
    elif isinstance(local, dict) and isinstance(changed, dict):
        for key in [key for key in local if key not in changed]:
            del local[key]
        for key, value in changed.items():
            if key in local and _updatable(local[key], value):
                _update(local[key], value)
            else:
                local[key] = value
    elif isinstance(local, list) and isinstance(changed, list):
        if len(local) != len(changed):
            local[:] = changed
        for i, (item, new) in enumerate(zip(local, changed)):
            if _updatable(item, new):
                _update(item, new)
            elif item is not new:
                local[i] = new
    elif isinstance(local, tuple) and isinstance(changed, tuple) and len(local) == len(changed):
        for a, b in zip(local, changed):
            if _updatable(a, b):
                _update(a, b)


def _updatable(local, changed):
    if isinstance(local, np.ndarray):
        return isinstance(changed, np.ndarray) and changed.shape == local.shape and changed.dtype == local.dtype
    return type(local) is type(changed) and isinstance(local, (dict, list, tuple))


def _encodable(text):
    """``text`` with what UTF-8 cannot encode (a lone surrogate, ``"\\ud800"``) written out as a backslash escape."""
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode("utf-8")


def encodable_strings(tree):
    """Make every string in ``tree`` (JSON data: dicts, lists and plain values) ``_encodable``, in place; return it.

    Not recursive: what the kernel sent may be nested as deeply as the JSON parser allows.
    """
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict) and not all(type(key) is not str or key.isascii() for key in node):
            pairs = list(node.items())
            node.clear()
            node.update((_encodable(key) if type(key) is str else key, value) for key, value in pairs)
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            if type(value) is str and not value.isascii():
                node[key] = _encodable(value)
            elif isinstance(value, (dict, list)):
                stack.append(value)
    return tree


def read_message(text):
    """The message (a dict) a kernel sent as JSON ``text``, or None if it is not one.

    Its strings are made ``_encodable``: the kernel's texts (its errors, prints and values) end up in messages and
    in the graded notebook, which a lone surrogate would keep from being written.
    """
    try:
        message = json.loads(text)
    except UNREADABLE:  # RecursionError: nested too deeply to be read
        return None
    return encodable_strings(message) if isinstance(message, dict) else None


def judge_client(connection_info, max_message=MAX_ANSWER):
    """A started client of a kernel (shell and input channels) that takes no message over ``max_message`` bytes.

    ZeroMQ checks the size a message announces before reading it, and drops the connection instead of
    reading a larger one; ``KernelSession`` notices, connects again and fails the check that asked.
    """
    client = BlockingKernelClient()
    client.load_connection_info(connection_info)
    client.context.setsockopt(zmq.MAXMSGSIZE, max_message)  # the client's own context: its sockets, made next
    client.start_channels(shell=True, iopub=False, stdin=True, hb=False, control=False)
    return client


def stop_judge_client(client):
    """Stop a ``judge_client`` and the event monitor of its input channel (``KernelSession`` attaches one)."""
    socket = client.stdin_channel.socket
    if socket is not None and not socket.closed:
        events = socket.get_monitor_socket()  # pyzmq keeps one per socket: the sessions' own
        socket.disable_monitor()
        events.close(linger=0)
    client.stop_channels()


class KernelSession:
    """One conversation with the agent in a running kernel, for the hidden tests of one cell.

    client: a blocking jupyter_client KernelClient of the kernel (stdin and shell channels);
    deadline: ``time.monotonic()`` value after which the kernel is given up; second_try: seconds a second try gets
    once a first try ran out of its half (``first_try``), by default the session's time; is_alive: function
    telling whether the kernel still runs; interrupt: function interrupting the kernel; max_message:
    the largest message (bytes) taken from the kernel, which ``judge_client`` also gives its sockets.
    Use it as a context manager: leaving it ends the conversation. If the kernel never takes the
    conversation up, every request raises KernelUnavailable saying why.
    """

    def __init__(self, client, deadline, is_alive, interrupt, max_message=MAX_ANSWER, second_try=None):
        self.client, self.deadline, self.is_alive, self.interrupt = client, deadline, is_alive, interrupt
        self.second_try = max(0.0, deadline - time.monotonic()) if second_try is None else second_try
        self.max_message = max_message
        self.events = client.stdin_channel.socket.get_monitor_socket(  # one per socket, kept by pyzmq
            zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
        self.shared = {}  # id -> judge object the kernel holds a stand-in for
        self.broken = None  # why the conversation ended early
        self.finished = False  # the kernel has replied to the agent's execution: it runs no more
        self.ended_by = None  # the error that ended the agent's execution, as the kernel named it
        self.asked = False  # the kernel waits for a reply to its last message
        self.tried = None  # the first try whose time ran out (its start), once the kernel was interrupted for it
        self.codec = Codec(self._refer, self._own, self._peer)
        self.msg_id = client.execute(
            f"exec({AGENT_SOURCE!r}, _judge_agent := {{'__name__': '_judge_agent'}})\n"
            "_judge_agent.pop('start')(globals())\ndel _judge_agent",
            silent=False, store_history=False, allow_stdin=True,
            stop_on_error=False)  # the agent's end by an error must not abort the notebook's next cell
        try:
            if self._listen().get("op") != "ready":
                self._break("the notebook's kernel did not start the tests: did your code change input() or IPython?")
        except KernelUnavailable:  # self.broken says why; requests report it
            if self.ended_by:  # the agent's execution ended with an error before it was ready
                self.broken = (f"the tests could not start in the notebook's kernel ({self.ended_by}): did your "
                               "code change course_utils, input() or IPython?")

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # --------------------------------------------------------------------------------- values
    def _refer(self, obj):
        if not _shared(obj):
            raise TypeError(f"the grader does not share objects of type {type(obj).__name__}")
        self.shared.setdefault(id(obj), obj)
        return {"t": "ref", "v": id(obj), "type": type(obj).__name__, "call": callable(obj)}

    def _own(self, key):
        if key not in self.shared:
            raise ValueError("unknown reference")
        return self.shared[key]

    def _peer(self, tree):
        return (RemoteFunction if tree.get("call") is True else RemoteObject)(self, tree)

    def lookup(self, name):
        """The notebook's global ``name``: plain data by value, anything else as a remote object."""
        return self.request({"op": "lookup", "name": name})

    # --------------------------------------------------------------------------------- turns
    def _break(self, reason):
        self.broken = reason
        raise KernelUnavailable(reason)

    def _listen(self):
        """The kernel's next message (waits for it until the deadline)."""
        next_alive_check = time.monotonic() + 2
        while True:
            now = time.monotonic()
            began = _FIRST_TRY.get()
            if began is not None and began != self.tried and now > (began + self.deadline) / 2 \
                    and not self.client.stdin_channel.msg_ready():  # an answer on its way is not interrupted
                self.tried = began
                self.deadline = max(self.deadline, now + self.second_try)  # a helper's endless loop costs only its
                self.interrupt()  # own question; the student's code fails with KeyboardInterrupt, the agent says so
            if now > self.deadline:
                self.interrupt()
                self._break("the tests ran out of time: a function did not return (an endless loop?) "
                            "or was far too slow")
            try:
                message = self.client.get_stdin_msg(timeout=min(0.5, max(0.01, self.deadline - now)))
            except UNREADABLE:  # a message of the kernel's own whose parts are not JSON the client can read
                self.asked = True  # it may wait for a reply: closing sends one
                self._unreadable()
            except queue.Empty:
                if self._dropped():
                    self._too_large()
                ask_alive = now > next_alive_check
                if self._finished() or (ask_alive and not self.is_alive()):
                    self._break("the notebook's kernel stopped answering the tests (it exited or crashed)")
                if ask_alive:
                    next_alive_check = now + 2
                continue
            if message.get("msg_type") != "input_request":
                continue
            self.asked = True  # the kernel now waits for a reply
            content = message.get("content")
            prompt = content.get("prompt", "") if isinstance(content, dict) else None
            if isinstance(prompt, str) and len(prompt) > self.max_message:
                self._too_large()
            decoded = read_message(prompt)
            if decoded is None:
                self._unreadable()
            return decoded

    def _unreadable(self):
        self._break("the notebook's kernel answered the tests in a way they cannot read: did your code "
                    "call input() or change how the kernel prints or reads?")

    def _too_large(self):
        self.asked = True  # the kernel waits for a reply to the answer the judge did not read: closing sends one
        self.interrupt()
        self._break(f"the notebook's kernel sent an answer larger than the limit of {size_text(self.max_message)}: "
                    "return smaller values")

    def _dropped(self):
        """True if ZeroMQ dropped a message of the kernel for its size; the input channel is connected again.

        Dropping a message ends the connection for good; if connecting again succeeds, the kernel is alive
        (a kernel that died also ends the connection, but cannot be connected to again).
        """
        if not self.events.poll(0):
            return False
        event = recv_monitor_message(self.events)
        if event["event"] != zmq.EVENT_DISCONNECTED:
            return False
        socket, endpoint = self.client.stdin_channel.socket, event["endpoint"].decode()
        time.sleep(0.1)  # the kernel first lets go of the old connection: it would refuse a second one of ours
        socket.disconnect(endpoint)
        socket.connect(endpoint)
        return bool(self.events.poll(RECONNECT_SECONDS * 1000)) and \
            recv_monitor_message(self.events)["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED

    def _finished(self):
        """True once the kernel has finished running the agent (so it will not answer any more)."""
        while not self.finished and self.client.shell_channel.msg_ready():
            reply = self.client.get_shell_msg(timeout=0)
            self.finished = reply.get("parent_header", {}).get("msg_id") == self.msg_id
            content = reply.get("content")
            if self.finished and isinstance(content, dict) and content.get("status") == "error":
                self.ended_by = _encodable(f"{content.get('ename')}: {content.get('evalue')}"[:MAX_ENDED_BY])
        return self.finished

    def _wait(self, seconds):
        """Wait until the kernel asks something or replies to the agent's execution (True), at most ``seconds``."""
        poller = zmq.Poller()
        poller.register(self.client.stdin_channel.socket, zmq.POLLIN)
        poller.register(self.client.shell_channel.socket, zmq.POLLIN)
        return bool(poller.poll(int(seconds * 1000)))

    def _say(self, message):
        self.asked = False
        self.client.input(json.dumps(message))
        return self._listen()

    def request(self, message, whole=False):
        """Send a request and return the answer's decoded value (or the whole answer), serving callbacks meanwhile."""
        if self.broken:
            raise KernelUnavailable(self.broken)
        answer = self._say(message)
        while answer.get("op") not in ("value", "raise"):
            answer = self._say(self._serve(answer))
        if answer["op"] == "raise":
            raise error_named(answer.get("type"), answer.get("message"))
        return answer if whole else self.decode(answer.get("v"))

    def decode(self, tree):
        """A value the kernel sent; one it sent in a form the codec refuses fails the check asking for it."""
        try:
            return self.codec.decode(tree)
        except (ValueError, TypeError, KeyError) as error:
            raise AssertionError(f"a value from the notebook could not be read: {error}.") from None

    def _serve(self, request):
        """Answer a callback of the kernel on a judge object."""
        try:
            if request.get("op") not in CALLBACK_OPS:
                raise PermissionError(f"the grader does not answer {request.get('op')!r} requests")
            target = self._own(request.get("target"))
            if request["op"] == "getattr":
                name = request.get("name")
                if not isinstance(name, str) or name.startswith("_"):
                    raise AttributeError(f"{type(target).__name__} object has no attribute {name!r}")
                return {"op": "value", "v": self.codec.encode(getattr(target, name))}
            args, kwargs = self.codec.decode(request.get("args")), self.codec.decode(request.get("kwargs"))
            well_formed = isinstance(args, list) and isinstance(kwargs, dict)
            if not well_formed or not all(isinstance(key, str) for key in kwargs):
                raise TypeError("malformed call")
            with memory_budget(CALLBACK_MEMORY):
                result = target(*args, **kwargs)
            return {"op": "value", "v": self.codec.encode(result)}
        except MemoryError as error:
            return {"op": "raise", "type": "MemoryError",
                    "message": f"the grader gives a call of its functions at most {size_text(CALLBACK_MEMORY)} of "
                               f"memory ({str(error)[:200] or 'out of memory'})"}
        except KernelUnavailable:
            raise
        except Exception as error:
            return {"op": "raise", "type": type(error).__name__, "message": str(error)[:2000]}

    def close(self, grace=10.0):
        """End the conversation and wait (at most ``grace`` seconds) until the kernel has left the agent.

        After a clean end the agent is told "done"; after a broken one, every question the kernel
        still asks is answered with end-of-file, which ends the agent with an EOFError.
        """
        try:
            if not self.broken:
                self.client.input(json.dumps({"op": "done"}))
            elif self.asked:  # a question the conversation broke on: end-of-file, or the kernel waits for ever
                self.client.input("\x04")
            end = time.monotonic() + grace
            while time.monotonic() < end:
                if self._finished():
                    return
                if not self._wait(0.2):  # nothing asked, and no reply
                    if not self.is_alive():
                        return
                    continue
                try:
                    message = self.client.get_stdin_msg(timeout=0)
                except queue.Empty:  # the kernel's reply came: _finished reads it
                    continue
                if message.get("msg_type") == "input_request":
                    self.client.input("\x04")
        except Exception:  # the channels are gone with the kernel
            return

