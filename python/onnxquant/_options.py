"""Keyword arguments to the CLI's own arguments, so Python and the CLI share one option table.

`method="entropy"` -> `--method entropy`, `static_int8=True` -> `--static-int8`, a list -> the option
repeated, a dict -> `NAME=VALUE` items (`dim={"batch": 1}` -> `--dim batch=1`), a list value inside a
dict -> comma-separated (`input_shape={"x": [1, 3, 640, 640]}` -> `--input-shape x=1,3,640,640`);
`False` and `None` are left out, which leaves the CLI's default.
"""
import os

# The Python functions return the JSON report, so the output format is not the caller's choice.
_RESERVED = {"format"}


def _text(value):
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_text(v) for v in value)
    return str(value)


def to_arguments(options):
    """The command-line arguments for `options` (a dict of keyword arguments), in the given order."""
    args = []
    for key, value in options.items():
        if key in _RESERVED:
            raise TypeError(f"onnxquant: '{key}' is set by the Python module (results come back as dicts)")
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif isinstance(value, dict):
            for name, item in value.items():
                args += [flag, f"{name}={_text(item)}"]
        elif isinstance(value, (list, tuple)):
            for item in value:
                args += [flag, _text(item)]
        else:
            args += [flag, _text(value)]
    return args
