"""torch operator schemas for ``deepseek.library``: "name(Tensor x, float alpha=1.0) -> Tensor"
parsed once per op, and inferred from a function's annotations (``infer_schema``)."""

from __future__ import annotations

import ast
import collections.abc
import inspect
import re
import types
import typing
from typing import Any, Callable, Iterable, Optional, Sequence, Union

import numpy as np

from ..backend.device import device as _device
from ..dtypes import dtype as _dtype
from ..tensor import Tensor

# ---------------------------------------------------------------------------------------------
# Schemas: "name(Tensor x, float alpha=1.0) -> Tensor", parsed once per op
# ---------------------------------------------------------------------------------------------

_KINDS = {"Tensor": "Tensor", "int": "int", "SymInt": "int", "float": "float", "bool": "bool",
          "str": "str", "Scalar": "Scalar", "ScalarType": "ScalarType", "Device": "Device"}
_LISTABLE = ("Tensor", "int", "float", "bool", "Scalar")
_TYPE = re.compile(r"(\w+)(?:\((\w+)(!?)\))?(\?)?(?:\[(\d*)\])?(\?)?")
_ARG = re.compile(r"(\S+)\s+([A-Za-z_]\w*)(?:\s*=\s*(.+))?", re.S)
_REQUIRED = object()  # the default of an argument that has none
_RESERVED = ("_layout", "_target")  # attribute names the registered primitive uses itself


def _schema_error(schema: str, why: str) -> RuntimeError:
    return RuntimeError(f"[ds.library] unsupported schema {schema!r}: {why}")


class _Argument:
    """One schema argument: its type (``kind``, list, optional, mutated) and default."""

    __slots__ = ("name", "type", "kind", "is_list", "size", "optional", "mutable", "default",
                 "kwarg_only")

    def convert(self, op: str, value: Any, position: int, declaration: str) -> Any:
        """``value`` checked against this argument's type; lists of numbers become tuples."""
        if value is None and self.optional:
            return None
        if self.is_list:
            if self.size and self.kind != "Tensor" and not isinstance(value, (list, tuple)):
                value = [value] * self.size  # int[2] stride=1 means (1, 1)
            if isinstance(value, (list, tuple)):
                items = [self._item(x) for x in value]
                if not any(x is None for x in items):
                    return items if self.kind == "Tensor" else tuple(items)
        else:
            item = self._item(value)
            if item is not None:
                return item
        raise RuntimeError(f"[{op}] expected a value of type '{self.type}' for argument "
                           f"'{self.name}' but instead found type '{type(value).__name__}'. "
                           f"Position: {position}. Declaration: {declaration}")

    def _item(self, x: Any) -> Any:
        kind = self.kind
        if kind == "Tensor":
            return x if isinstance(x, Tensor) else None
        if kind == "int":
            return int(x) if isinstance(x, (int, np.integer)) else None
        if kind == "float":
            ok = isinstance(x, (int, float, np.integer, np.floating))
            return float(x) if ok else None
        if kind == "bool":
            return bool(x) if isinstance(x, (bool, np.bool_)) else None
        if kind == "Scalar":
            if isinstance(x, np.generic) and isinstance(x, (np.number, np.bool_)):
                return x.item()
            return x if isinstance(x, (bool, int, float, complex)) else None
        if kind == "str":
            return x if isinstance(x, str) else None
        if kind == "ScalarType":
            return x if isinstance(x, _dtype) else None
        return _device(x) if isinstance(x, (_device, str)) else None  # Device


class _Schema:
    """A parsed schema: ``arguments`` in order, ``returns`` (type texts), ``text`` (without
    the name), ``mutable`` (some argument is ``Tensor(a!)``) and ``dynamic`` (an optional or
    list Tensor argument, so a call records how its tensors map to the arguments)."""

    __slots__ = ("name", "arguments", "returns", "text", "mutable", "dynamic", "positional")

    def bind(self, op: str, args: tuple, kwargs: dict) -> list:
        """One checked value per argument, defaults filled in, as torch's dispatcher parses a
        call."""
        declaration = op + self.text
        if len(args) > self.positional:
            raise RuntimeError(f"[{op}] expected at most {self.positional} argument(s) but "
                               f"received {len(args)} argument(s). Declaration: {declaration}")
        values = []
        for i, a in enumerate(self.arguments):
            if i < len(args):
                if a.name in kwargs:
                    raise RuntimeError(f"[{op}] got multiple values for argument '{a.name}'. "
                                       f"Declaration: {declaration}")
                v = args[i]
            elif a.name in kwargs:
                v = kwargs[a.name]
            elif a.default is not _REQUIRED:
                values.append(a.default)
                continue
            else:
                raise RuntimeError(f"[{op}] missing value for argument '{a.name}'. "
                                   f"Declaration: {declaration}")
            values.append(a.convert(op, v, i, declaration))
        unknown = sorted(set(kwargs) - {a.name for a in self.arguments})
        if unknown:
            raise RuntimeError(f"[{op}] unknown keyword argument '{unknown[0]}'. "
                               f"Declaration: {declaration}")
        return values


def _split_top(text: str) -> list:
    """``text`` split at the commas outside brackets, parentheses and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, c in enumerate(text):
        if quote:
            quote = "" if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    last = text[start:].strip()
    return parts + [last] if last or parts else parts


def _parse_type(schema: str, text: str) -> tuple:
    m = _TYPE.fullmatch(text)
    if m is None:
        raise _schema_error(schema, f"cannot parse the type '{text}'")
    base, alias, write, element_optional, size, list_optional = m.groups()
    kind = _KINDS.get(base)
    if kind is None:
        raise _schema_error(schema, f"unknown type '{base}'; supported: Tensor, int, SymInt, "
                            "float, bool, str, Scalar, ScalarType, Device, with ? and []")
    if alias and (kind != "Tensor" or not write):
        raise _schema_error(schema, f"'{text}': only Tensor(a!) (a Tensor mutated in place) is "
                            "supported; aliasing outputs (views) are not")
    is_list = size is not None
    if is_list and (element_optional or kind not in _LISTABLE):
        raise _schema_error(schema, f"lists of type '{text}' are not supported")
    if element_optional and list_optional:
        raise _schema_error(schema, f"cannot parse the type '{text}'")
    return kind, is_list, int(size) if size else None, bool(element_optional or list_optional), \
        bool(alias)


def _parse_default(schema: str, arg: _Argument, text: str) -> Any:
    text = text.strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        try:
            value = float(text)  # inf, -inf, nan
        except ValueError:
            raise _schema_error(schema, f"cannot parse the default value '{text}' of "
                                f"'{arg.name}'") from None
    if arg.kind == "ScalarType" and value is not None:
        raise _schema_error(schema, f"ScalarType defaults other than None ('{arg.name}={text}')"
                            " are not supported")
    try:
        return arg.convert("ds.library", value, 0, schema)
    except RuntimeError:
        raise _schema_error(schema, f"the default '{text}' of '{arg.name}' does not fit its "
                            f"type '{arg.type}'") from None


def _parse_schema(schema: str, *, named: bool) -> _Schema:
    """Parse torch's schema syntax: ``name(Tensor x, *, float alpha=1.0) -> Tensor``."""
    m = re.fullmatch(r"\s*([\w.]*)\s*\((.*)\)\s*->\s*(.+?)\s*", schema, re.S)
    if m is None:
        raise _schema_error(schema, "expected 'name(arguments) -> returns'")
    name, args_text, returns_text = m.groups()
    if named and not re.fullmatch(r"[A-Za-z_]\w*", name):
        why = ("overload names (name.overload) are not supported" if "." in name
               else "expected an operator name before '('")
        raise _schema_error(schema, why)
    if not named and name:
        raise _schema_error(schema, "the schema must not name the operator here, e.g. "
                            "'(Tensor x) -> Tensor'")
    out = _Schema()
    out.name, out.arguments = name, []
    kwarg_only = False
    for part in _split_top(args_text):
        if part == "*":
            kwarg_only = True
            continue
        am = _ARG.fullmatch(part)
        if am is None:
            raise _schema_error(schema, f"cannot parse the argument '{part}'")
        type_text, arg_name, default = am.groups()
        a = _Argument()
        a.name, a.type, a.kwarg_only = arg_name, type_text, kwarg_only
        a.kind, a.is_list, a.size, a.optional, a.mutable = _parse_type(schema, type_text)
        a.default = _REQUIRED if default is None else _parse_default(schema, a, default)
        if arg_name in _RESERVED or any(b.name == arg_name for b in out.arguments):
            raise _schema_error(schema, f"the argument name '{arg_name}' is repeated or "
                                "reserved")
        out.arguments.append(a)
    returns_text = returns_text.strip()
    if returns_text.startswith("(") and returns_text.endswith(")"):
        out.returns = _split_top(returns_text[1:-1])
    else:
        out.returns = [returns_text]
    for r in out.returns:
        _parse_type(schema, r)
    out.text = schema[schema.index("("):].strip()
    out.mutable = any(a.mutable for a in out.arguments)
    out.dynamic = any(a.kind == "Tensor" and (a.is_list or a.optional) for a in out.arguments)
    out.positional = sum(not a.kwarg_only for a in out.arguments)
    return out


def _check_supported(qualname: str, schema: _Schema) -> None:
    """Refuse schemas a registered primitive cannot serve (one Tensor out, or none when
    mutating), naming the schema."""
    text = qualname + schema.text
    if schema.returns not in ([], ["Tensor"]):
        raise _schema_error(text, f"returns ({', '.join(schema.returns)}): deepseek.library ops "
                            "return one Tensor, or nothing when they mutate inputs")
    if schema.mutable and schema.returns:
        raise _schema_error(text, "an op that mutates its inputs must return nothing (-> ())")
    if not schema.mutable and not schema.returns:
        raise _schema_error(text, "an op that mutates nothing must return a Tensor")
    for a in schema.arguments:
        if a.kind == "Tensor" and a.kwarg_only and not a.mutable:
            raise NotImplementedError(f"[{qualname}] custom ops with kwarg-only Tensor "
                                      f"arguments ('{a.name}'); make them positional. "
                                      f"Got: {text}")


# ---------------------------------------------------------------------------------------------
# infer_schema: the schema from a function's type annotations
# ---------------------------------------------------------------------------------------------

_SCALAR_ANNOTATIONS = {Tensor: "Tensor", int: "SymInt", float: "float", bool: "bool",
                       str: "str", _dtype: "ScalarType", _device: "Device"}
_SEQUENCES = (list, collections.abc.Sequence)
_RETURNS = {Tensor: "Tensor", int: "SymInt", float: "float", bool: "bool"}


def _union_args(annotation: Any) -> Optional[tuple]:
    origin = typing.get_origin(annotation)
    return typing.get_args(annotation) if origin in (Union, types.UnionType) else None


def _annotation_type(annotation: Any) -> Optional[str]:
    """The schema type of a parameter annotation (torch's table, with deepseek's Tensor,
    dtype and device), or None."""
    if annotation in _SCALAR_ANNOTATIONS:
        return _SCALAR_ANNOTATIONS[annotation]
    members = _union_args(annotation)
    if members is not None:
        rest = tuple(m for m in members if m is not type(None))
        if set(rest) == {int, float, bool}:
            return "Scalar" if len(rest) == len(members) else "Scalar?"
        if len(rest) == 1 and len(members) == 2:
            inner = _annotation_type(rest[0])
            if inner is not None and not inner.endswith("?"):
                return inner + "?"
        return None
    if typing.get_origin(annotation) in _SEQUENCES:
        (item,) = typing.get_args(annotation) or (None,)
        inner = _annotation_type(item)
        if inner in ("Tensor", "SymInt", "float", "bool", "Scalar", "Tensor?"):
            return inner + "[]"
    return None


def infer_schema(prototype_function: Callable, /, *, mutates_args: Union[str, Iterable[str]],
                 op_name: Optional[str] = None, tags: Any = ()) -> str:
    """The schema of ``prototype_function`` inferred from its type annotations, as
    ``torch.library.infer_schema``.

    Supported parameter types: ``Tensor``, ``int``, ``float``, ``bool``, ``str``,
    ``deepseek.dtype``, ``deepseek.device``, ``Union[int, float, bool]`` (Scalar), their
    ``Optional`` and ``list``/``Sequence`` forms. String annotations are evaluated in the
    function's globals (``"Tensor"`` means deepseek's when they have none).

    Args:
        prototype_function: the annotated function.
        mutates_args: names of the arguments it mutates in place, or ``"unknown"`` (all
            Tensors).
        op_name: prefix the schema with this name.

    Example:
        >>> def foo(x: deepseek.Tensor, alpha: float = 1.0) -> deepseek.Tensor: ...
        >>> deepseek.library.infer_schema(foo, mutates_args=())
        '(Tensor x, float alpha=1.0) -> Tensor'
    """
    return _infer_schema(prototype_function, mutates_args, op_name, "infer_schema(func)")


def _infer_schema(fn: Callable, mutates_args: Any, op_name: Optional[str], who: str) -> str:
    sig = inspect.signature(fn)

    def fail(what: str) -> ValueError:
        return ValueError(f"{who}: {what} Got func with signature {sig})")

    def resolve(annotation: Any) -> Any:
        if not isinstance(annotation, str):
            return annotation
        names = {"Tensor": Tensor, "dtype": _dtype, "device": _device, "Optional": Optional,
                 "List": typing.List, "Sequence": Sequence, "Union": Union}  # noqa: UP006
        names.update(getattr(fn, "__globals__", {}))
        try:
            return eval(annotation, names)  # noqa: S307  (the user's own annotation)
        except Exception as e:
            raise fail(f"Unsupported type annotation {annotation}. It is not a type. "
                       f"({type(e).__name__}: {e})") from None

    if mutates_args == "unknown":
        mutated: Any = "unknown"
    elif isinstance(mutates_args, str):
        raise ValueError("mutates_args must either be a sequence of the names of the arguments "
                         "that are mutated or the string 'unknown'. ")
    else:
        mutated = tuple(mutates_args)
    params, seen, kwarg_only = [], set(), False
    for idx, (name, p) in enumerate(sig.parameters.items()):
        if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            raise fail("We do not support positional-only args, varargs, or varkwargs.")
        if p.kind == p.KEYWORD_ONLY and not kwarg_only:
            params.append("*")
            kwarg_only = True
        if p.annotation is p.empty:
            raise fail(f"Parameter {name} must have a type annotation.")
        annotation = resolve(p.annotation)
        schema_type = _annotation_type(annotation)
        if schema_type is None:
            hint = (" We do not support Tuple inputs in schema. As a workaround, please try to "
                    "use List instead." if typing.get_origin(annotation) is tuple else "")
            raise fail(f"Parameter {name} has unsupported type {p.annotation}.{hint}")
        if (schema_type.startswith("Tensor") if mutated == "unknown" else name in mutated):
            if not schema_type.startswith("Tensor"):
                raise fail(f"Parameter {name} is in mutable_args but only Tensors or "
                           "collections of Tensors can be mutated")
            schema_type = f"Tensor(a{idx}!){schema_type[len('Tensor'):]}"
        seen.add(name)
        if p.default is p.empty:
            params.append(f"{schema_type} {name}")
            continue
        d = p.default
        if d is None or isinstance(d, (bool, int, float)):
            text = str(d)
        elif isinstance(d, (str, _device)):
            text = f'"{d}"'
        elif isinstance(d, _dtype):
            text = d.name
        else:
            raise fail(f"Parameter {name} has an unsupported default value type {type(d)}.")
        params.append(f"{schema_type} {name}={text}")
    if mutated != "unknown" and set(mutated) - seen:
        raise fail(f"{set(mutated) - seen} in mutates_args were not found in the custom op's "
                   "signature. mutates_args should contain the names of all args that the "
                   "custom op mutates, or just the string 'unknown' if you don't know.")
    ret = resolve(sig.return_annotation)
    if ret is None:
        returns = "()"
    elif ret is sig.empty:
        raise fail("No return type annotation was provided. Please add one.")
    elif typing.get_origin(ret) is tuple:
        items = [_RETURNS.get(a) for a in typing.get_args(ret)]
        if None in items:
            raise fail(f"Return has unsupported type {ret}.")
        returns = f"(({items[0]}))" if len(items) == 1 else f"({', '.join(items)})"
    elif ret in _RETURNS or typing.get_origin(ret) in _SEQUENCES and typing.get_args(ret) == (
            Tensor,):
        returns = _RETURNS.get(ret, "Tensor[]")
    else:
        raise fail(f"Return has unsupported type {ret}.")
    return f"{op_name or ''}({', '.join(params)}) -> {returns}"
