"""The data-only pickle interpreter behind ``deepseek._torch_format``: a stack machine over the
opcodes ``torch.save`` writes, where GLOBAL resolves through the builder's allow-list and REDUCE
calls only what that returned. It never imports or calls anything the stream names."""

from __future__ import annotations

import struct
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from . import _Builder

class _Invalid(Exception):
    """Raised inside the reader; :class:`_Reader` turns it into one ``[load]`` RuntimeError
    that names the file, the stream, the opcode and its byte position."""



class _Callable:
    """An allowed global that REDUCE (or NEWOBJ, where ``newobj``) may call: ``fn`` is ours."""

    __slots__ = ("name", "fn", "newobj")

    def __init__(self, name: str, fn: Callable, newobj: bool = False) -> None:
        self.name, self.fn, self.newobj = name, fn, newobj

    def __repr__(self) -> str:
        return self.name



def _set_state(obj: Any, state: Any, what: str) -> None:
    """Python attributes saved with a tensor or an OrderedDict (``_metadata``), set as data:
    names that would shadow the class's own attributes are refused."""
    if isinstance(state, tuple) and len(state) == 2:
        for part in state:
            _set_state(obj, part, what)
        return
    if state is None:
        return
    if not isinstance(state, dict):
        raise _Invalid(f"state of {what} must be a dict, got {type(state).__name__}")
    for name, value in state.items():
        if not isinstance(name, str) or name.startswith("__") or hasattr(type(obj), name):
            raise _Invalid(f"attribute {name!r:.80} of {what} cannot be set from a checkpoint")
        obj.__dict__[name] = value



# ---- the opcode interpreter -------------------------------------------------------------


_MARK = object()  # a MARK on the stack


class _Reader:
    """Runs one pickle opcode stream as data: a stack, a memo and the opcodes that build
    containers, numbers and strings; GLOBAL goes through ``builder.resolve``, REDUCE and NEWOBJ
    only call what it returned, BINPERSID goes to ``persistent_load``."""

    def __init__(self, data: bytes, start: int, stream: str, what: str, builder: _Builder,
                 persistent_load: Optional[Callable]) -> None:
        self.data, self.pos, self.stream, self.what = data, start, stream, what
        self.builder, self.persistent_load = builder, persistent_load
        self.stack: list = []
        self.memo: dict = {}
        self.op_pos, self.op_name = start, "?"

    def fail(self, detail: str) -> RuntimeError:
        return RuntimeError(f"[load] {self.what}: {self.op_name} at byte {self.op_pos} of "
                            f"{self.stream}: {detail}")

    def run(self) -> tuple:
        """Interpret up to STOP; return ``(object, position after STOP)``."""
        while True:
            self.op_pos = self.pos
            if self.pos >= len(self.data):
                self.op_name = "end of data"
                raise self.fail("truncated: the stream ends without STOP")
            code = self.data[self.pos]
            self.pos += 1
            entry = _OPS.get(code)
            if entry is None:
                name = _opcode_name(code)
                self.op_name = name or f"byte 0x{code:02x}"
                raise self.fail(f"opcode {name} (0x{code:02x}) is not read: the data-only reader "
                                "handles the opcodes torch.save writes" if name else
                                "not a pickle opcode (the file is damaged or not a checkpoint)")
            self.op_name = entry[0]
            try:
                if entry[1](self):
                    return self.pop(), self.pos
            except _Invalid as e:
                raise self.fail(str(e)) from None
            except (TypeError, ValueError, LookupError, AttributeError, OverflowError,
                    RuntimeError, MemoryError, RecursionError) as e:
                if isinstance(e, RuntimeError) and str(e).startswith("[load]"):
                    raise
                raise self.fail(f"{type(e).__name__}: {e}") from None

    # reading and the stack
    def read(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise _Invalid(f"truncated: needs {n} bytes, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))[0]

    def line(self) -> str:
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise _Invalid("truncated: a GLOBAL name has no end of line")
        text = self.data[self.pos:end].decode("utf-8", "replace")
        self.pos = end + 1
        return text

    def pop(self) -> Any:
        if not self.stack or self.stack[-1] is _MARK:
            raise _Invalid("the stack is empty")
        return self.stack.pop()

    def top(self) -> Any:
        value = self.pop()
        self.stack.append(value)
        return value

    def pop_mark(self) -> list:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i] is _MARK:
                items = self.stack[i + 1:]
                del self.stack[i:]
                return items
        raise _Invalid("no MARK to pop to")

    def target(self, kinds: tuple, action: str) -> Any:
        target = self.top()
        if type(target) not in kinds:
            raise _Invalid(f"cannot {action} a {type(target).__name__}")
        return target

    # opcodes with more to them than a value to push; each returns True only for STOP
    def op_proto(self) -> None:
        version = self.read(1)[0]
        if version > 5:
            raise _Invalid(f"pickle protocol {version} is newer than 5")

    def op_frame(self) -> None:
        self.read(8)  # a length hint; the frame's bytes follow in line

    def op_stop(self) -> bool:
        return True

    def op_mark(self) -> None:
        self.stack.append(_MARK)

    def op_pop(self) -> None:
        self.pop()

    def op_pop_mark(self) -> None:
        self.pop_mark()

    def op_dup(self) -> None:
        self.stack.append(self.top())

    def op_tuple(self) -> None:
        self.stack.append(tuple(self.pop_mark()))

    def op_small_tuple(self, n: int) -> None:
        items = [self.pop() for _ in range(n)]
        self.stack.append(tuple(reversed(items)))

    def op_list(self) -> None:
        self.stack.append(self.pop_mark())

    def op_dict(self) -> None:
        self.stack.append(dict(_pairs(self.pop_mark(), "DICT")))

    def op_frozenset(self) -> None:
        self.stack.append(frozenset(self.pop_mark()))

    def op_append(self) -> None:
        item = self.pop()
        self.target((list,), "append to").append(item)

    def op_appends(self) -> None:
        items = self.pop_mark()
        self.target((list,), "append to").extend(items)

    def op_setitem(self) -> None:
        value, key = self.pop(), self.pop()
        self.target((dict, OrderedDict), "set an item of")[key] = value

    def op_setitems(self) -> None:
        pairs = _pairs(self.pop_mark(), "SETITEMS")
        self.target((dict, OrderedDict), "set items of").update(pairs)

    def op_additems(self) -> None:
        items = self.pop_mark()
        self.target((set,), "add items to").update(items)

    def op_put(self, index_format: Optional[str]) -> None:
        index = len(self.memo) if index_format is None else self.unpack(index_format)
        self.memo[index] = self.top()

    def op_get(self, index_format: str) -> None:
        index = self.unpack(index_format)
        if index not in self.memo:
            raise _Invalid(f"memo index {index} is out of range (the memo holds "
                           f"{len(self.memo)} entries)")
        self.stack.append(self.memo[index])

    def op_global(self) -> None:
        module = self.line()
        self.stack.append(self.builder.resolve(module, self.line()))

    def op_stack_global(self) -> None:
        name, module = self.pop(), self.pop()
        if not isinstance(module, str) or not isinstance(name, str):
            raise _Invalid("STACK_GLOBAL needs a module and a name as strings")
        self.stack.append(self.builder.resolve(module, name))

    def op_reduce(self, newobj: bool = False) -> None:
        args, fn = self.pop(), self.pop()
        if not isinstance(fn, _Callable) or (newobj and not fn.newobj):
            raise _Invalid(f"{'NEWOBJ' if newobj else 'REDUCE'} of {fn!r:.80} "
                           f"({type(fn).__name__}), which is not an allowed callable")
        if not isinstance(args, tuple):
            raise _Invalid(f"{fn.name} with arguments that are not a tuple")
        try:
            self.stack.append(fn.fn(*args))
        except (_Invalid, TypeError) as e:  # TypeError: the wrong number of arguments
            raise _Invalid(f"{fn.name}: {e}") from None

    def op_build(self) -> None:
        state = self.pop()
        target = self.top()
        if type(target) is not OrderedDict:
            raise _Invalid(f"BUILD of a {type(target).__name__}: only an OrderedDict's "
                           "attributes (a state_dict's _metadata) are read")
        _set_state(target, state, "an OrderedDict")

    def op_binpersid(self) -> None:
        pid = self.pop()
        if self.persistent_load is None:
            raise _Invalid("a persistent id outside the checkpoint's object stream")
        self.stack.append(self.persistent_load(pid))


def _pairs(items: list, opcode: str) -> list:
    if len(items) % 2:
        raise _Invalid(f"{opcode} needs key, value pairs")
    return list(zip(items[::2], items[1::2]))


def _python2_str(raw: bytes) -> Any:
    """A Python 2 ``str``: text where it decodes, as torch.load's utf-8 default gives."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _constant(make: Callable) -> Callable:
    return lambda reader: reader.stack.append(make())


def _number(fmt: str) -> Callable:
    return lambda reader: reader.stack.append(reader.unpack(fmt))


def _sized(length_format: str, make: Callable) -> Callable:
    return lambda reader: reader.stack.append(make(reader.read(reader.unpack(length_format))))


def _utf8(raw: bytes) -> str:
    return str(raw, "utf-8", "surrogatepass")


def _long(raw: bytes) -> int:
    return int.from_bytes(raw, "little", signed=True)


_R = _Reader
_OPS = {ord(code) if isinstance(code, str) else code: (name, handler) for code, name, handler in [
    (0x80, "PROTO", _R.op_proto), (0x95, "FRAME", _R.op_frame), (".", "STOP", _R.op_stop),
    ("(", "MARK", _R.op_mark), ("0", "POP", _R.op_pop), ("1", "POP_MARK", _R.op_pop_mark),
    ("2", "DUP", _R.op_dup),
    ("N", "NONE", _constant(lambda: None)), (0x88, "NEWTRUE", _constant(lambda: True)),
    (0x89, "NEWFALSE", _constant(lambda: False)), (")", "EMPTY_TUPLE", _constant(tuple)),
    ("]", "EMPTY_LIST", _constant(list)), ("}", "EMPTY_DICT", _constant(dict)),
    (0x8F, "EMPTY_SET", _constant(set)),
    ("J", "BININT", _number("<i")), ("K", "BININT1", _number("<B")),
    ("M", "BININT2", _number("<H")), ("G", "BINFLOAT", _number(">d")),
    (0x8A, "LONG1", _sized("<B", _long)), (0x8B, "LONG4", _sized("<i", _long)),
    ("X", "BINUNICODE", _sized("<I", _utf8)), (0x8C, "SHORT_BINUNICODE", _sized("<B", _utf8)),
    (0x8D, "BINUNICODE8", _sized("<Q", _utf8)), ("B", "BINBYTES", _sized("<I", bytes)),
    ("C", "SHORT_BINBYTES", _sized("<B", bytes)), (0x8E, "BINBYTES8", _sized("<Q", bytes)),
    (0x96, "BYTEARRAY8", _sized("<Q", bytearray)),
    ("T", "BINSTRING", _sized("<i", _python2_str)),
    ("U", "SHORT_BINSTRING", _sized("<B", _python2_str)),
    ("t", "TUPLE", _R.op_tuple), (0x85, "TUPLE1", lambda r: r.op_small_tuple(1)),
    (0x86, "TUPLE2", lambda r: r.op_small_tuple(2)),
    (0x87, "TUPLE3", lambda r: r.op_small_tuple(3)),
    ("l", "LIST", _R.op_list), ("d", "DICT", _R.op_dict), (0x91, "FROZENSET", _R.op_frozenset),
    ("a", "APPEND", _R.op_append), ("e", "APPENDS", _R.op_appends),
    ("s", "SETITEM", _R.op_setitem), ("u", "SETITEMS", _R.op_setitems),
    (0x90, "ADDITEMS", _R.op_additems),
    ("q", "BINPUT", lambda r: r.op_put("<B")), ("r", "LONG_BINPUT", lambda r: r.op_put("<I")),
    (0x94, "MEMOIZE", lambda r: r.op_put(None)),
    ("h", "BINGET", lambda r: r.op_get("<B")), ("j", "LONG_BINGET", lambda r: r.op_get("<I")),
    ("c", "GLOBAL", _R.op_global), (0x93, "STACK_GLOBAL", _R.op_stack_global),
    ("R", "REDUCE", _R.op_reduce), (0x81, "NEWOBJ", lambda r: r.op_reduce(newobj=True)),
    ("b", "BUILD", _R.op_build), ("Q", "BINPERSID", _R.op_binpersid),
]}
del _R


def _opcode_name(code: int) -> Optional[str]:
    import pickletools  # names only: pickletools' opcode table, which unpickles nothing

    op = pickletools.code2op.get(chr(code))
    return op.name if op is not None else None
