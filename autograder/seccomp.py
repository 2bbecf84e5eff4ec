"""The system calls a sandboxed kernel may not make: a seccomp filter, as ``bwrap --seccomp FD`` reads it.

``memfd_create`` and ``shmget`` make memory that is not the kernel's address space once it is unmapped (a file in
memory, a System V segment), so ``RLIMIT_AS`` does not count it: a kernel could hold gigabytes past its limit and
starve the kernels graded beside it. Both fail with ``EPERM`` instead; Python, NumPy, matplotlib and Jupyter's kernel
do not use them. The filter is classic BPF (``struct sock_filter``), built here for the two machine types Linux
graders run on; elsewhere there is none (``filter_program`` returns None), and the limits are as before.
"""
import contextlib
import errno
import os
import platform
import struct

DENIED = ("memfd_create", "shmget")
# machine -> (AUDIT_ARCH_* of linux/audit.h, {system call: its number}, whether x32 calls share the architecture)
MACHINES = {
    "x86_64": (0xC000003E, {"memfd_create": 319, "shmget": 29}, True),
    "aarch64": (0xC00000B7, {"memfd_create": 279, "shmget": 194}, False),
}
X32_BIT = 0x40000000  # x32 calls are the x86_64 ones with this bit: refused whole, as no kernel makes them

LOAD_WORD = 0x20     # BPF_LD | BPF_W | BPF_ABS: load a 32-bit word of struct seccomp_data
JUMP_EQUAL = 0x15    # BPF_JMP | BPF_JEQ | BPF_K
JUMP_AT_LEAST = 0x35  # BPF_JMP | BPF_JGE | BPF_K
RETURN = 0x06        # BPF_RET | BPF_K
NR, ARCH = 0, 4      # offsets in struct seccomp_data
ALLOW, ERRNO = 0x7FFF0000, 0x00050000  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | errno


def _instruction(code: int, k: int, jump_true: int = 0, jump_false: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jump_true, jump_false, k)


def filter_program(machine: str | None = None) -> bytes | None:
    """The filter for ``machine`` (``platform.machine()`` by default), or None for a machine type not in
    ``MACHINES``. Calls of another architecture than the machine's own (32-bit ones, which a 64-bit process can
    make too, with other numbers) are refused whole: the sandbox's Python is the machine's own."""
    arch, numbers, x32 = MACHINES.get(machine or platform.machine(), (None, None, None))
    if arch is None:
        return None
    refuse = _instruction(RETURN, ERRNO | errno.EPERM)
    tests = [(JUMP_AT_LEAST, X32_BIT)] * x32 + [(JUMP_EQUAL, numbers[name]) for name in DENIED]
    # load the architecture; another one is refused; load the call's number; each test jumps to the refusal at the end
    program = [_instruction(LOAD_WORD, ARCH), _instruction(JUMP_EQUAL, arch, 1, 0), refuse,
               _instruction(LOAD_WORD, NR)]
    program += [_instruction(code, k, len(tests) - index, 0) for index, (code, k) in enumerate(tests)]
    program += [_instruction(RETURN, ALLOW), refuse]
    return b"".join(program)


@contextlib.contextmanager
def filter_fd():
    """A file descriptor from which ``bwrap --seccomp`` reads the filter (the read end of a pipe that holds it whole),
    to pass to bwrap (``pass_fds``), closed on leaving; None where there is no filter."""
    program = filter_program()
    if program is None:
        yield None
        return
    read, write = os.pipe()
    try:
        os.write(write, program)  # a few dozen bytes: far below a pipe's buffer
        os.close(write)
        write = None
        yield read
    finally:
        os.close(read)
        if write is not None:
            os.close(write)
