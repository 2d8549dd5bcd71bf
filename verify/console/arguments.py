"""Command-line arguments, checked before any work: one line on stderr and exit status 2 for a mistake.

:class:`ArgumentParser` makes every argparse error (unknown option, missing value, a value
rejected by a ``type=`` below) one line, ``verify report: error: ...``, with no usage block
and no traceback.  The ``type=`` functions check a value when it is parsed, so a bad seed, a
count out of range, an output path that cannot be written or a malformed ``MODULE:ATTR`` stops
the command before it imports or computes anything:

* :func:`seed` -- an integer in [0, 2**32 - 1] (numpy's legacy seeding takes no more);
* :func:`count` -- an integer with a lower bound;
* :func:`seconds` -- a time limit in seconds (> 0), or 0 for none;
* :func:`output_file` -- a file to write: its folder exists, it is not a folder, and it opens for writing;
* :func:`output_dir` -- a folder to write into: it exists and takes a file, or its parent does
  (then this one folder is created when the command writes to it; never a chain of folders);
* :func:`folder_problem` -- the same try, at run time, for a folder no option names (``verify explore``'s
  default cache), which the command creates with its parents;
* :func:`module_spec` -- ``MODULE`` or ``MODULE:ATTR`` made of Python identifiers.

The three output checks try the write itself (:func:`_try_file`, :func:`_try_folder`) rather than ask
``os.access``, which says yes to root for every path, ``/proc/version`` included; the try changes nothing
(no file's contents are cut, whatever it creates it removes at once), so a run that fails later leaves
the path as it was.

Two ``action=`` classes refuse a repeat that argparse would take silently: :class:`StoreOnce`
(an option given twice, whose first value argparse would drop; with ``nargs`` the whole list is its
value) and :class:`AppendOnce` (a repeatable option given the same value twice, which would run the same
thing twice; one value per option); :class:`FlagOnce` is ``store_true`` refusing a repeat.  All
record the option in :func:`given`, so a command can tell an option the user gave from its default.
"""

from __future__ import annotations

import argparse
import keyword
import os
import stat
import sys
import tempfile
from pathlib import Path

__all__ = ["ArgumentParser", "seed", "count", "seconds", "output_file", "output_file_or_stdout", "output_dir",
           "folder_problem", "module_spec", "one_of", "fail", "StoreOnce", "FlagOnce", "AppendOnce", "given"]

SEED_MAX = 2**32 - 1


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2) and the same class for subcommands."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        message = " ".join(str(message).split())
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def add_subparsers(self, **kwargs):
        kwargs.setdefault("parser_class", ArgumentParser)
        return super().add_subparsers(**kwargs)


def _integer(text: str, what: str) -> int:
    try:
        return int(str(text).strip(), 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be an integer, got {text!r}") from None


def seed(text: str) -> int:
    """A seed: an integer in [0, 2**32 - 1]."""
    value = _integer(text, "a seed")
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"a seed must be in [0, {SEED_MAX}], got {value}")
    return value


def count(minimum: int, what: str = "a count"):
    """``type=`` for an integer >= ``minimum``."""

    def parse(text: str) -> int:
        value = _integer(text, what)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{what} must be >= {minimum}, got {value}")
        return value

    parse.__name__ = "count"  # argparse names the type in its messages
    return parse


def seconds(text: str) -> float:
    """A time limit in seconds: a finite number > 0, or 0 for no limit."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a time limit must be a number of seconds, got {text!r}") from None
    if not (value >= 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"a time limit must be >= 0 seconds (0: no limit), got {text!r}")
    return value


def _try_file(path: Path) -> None:
    """Open ``path`` for writing and write no bytes to it, changing nothing (raises :class:`OSError`).

    An existing file is opened to append (its contents stay), a new one is created and removed at once
    (for a dangling symbolic link: its target, which the write would create).
    The empty write is what refuses a file that opens but takes no writes (``/proc/version``, even for
    root); a named pipe is taken as it is (opening it would wait for its reader)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        created = True
    except FileExistsError:
        if os.path.islink(path) and not os.path.exists(path):  # a dangling link: the write creates its target
            return _try_file(Path(os.path.realpath(path)))
        if stat.S_ISFIFO(os.stat(path).st_mode):
            return
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        created = False
    try:
        os.write(fd, b"")
    finally:
        os.close(fd)
        if created:
            os.unlink(path)


def _try_folder(path: Path) -> None:
    """Create a file in folder ``path`` and remove it (raises :class:`OSError`); a missing ``path`` is
    created for the try and removed again."""
    created = not path.exists()
    if created:
        path.mkdir()
    try:
        fd, name = tempfile.mkstemp(dir=path, prefix=".verify-try-")
        os.close(fd)
        os.unlink(name)
    finally:
        if created:
            path.rmdir()


def folder_problem(path: Path) -> str | None:
    """Why the command cannot write into folder ``path``, which it creates with its missing parents when it
    first writes (None: it can).  For a folder that is not an option (an option's is :func:`output_dir`):
    :func:`_try_folder` in the nearest existing one, so nothing is left behind."""
    existing = Path(path)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a folder"
    try:
        _try_folder(existing)
    except OSError as exc:
        return f"a file cannot be created in {existing} ({_reason(exc)})"
    return None


def output_file(text: str, *, allow_stdout: bool = False):
    """A file the command will write: ``'-'`` (stdout, if allowed) or a path whose folder exists and
    that opens for writing (:func:`_try_file`).  Nothing is left created here, and no folder is ever
    created for it."""
    if allow_stdout and text == "-":
        return "-"
    path = Path(text).expanduser()
    if not str(text).strip():
        raise argparse.ArgumentTypeError("an output file name must not be empty")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name")
    parent = path.parent
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: its folder {parent} does not exist")
    try:
        _try_file(path)
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"cannot write {text}: {_reason(exc)}") from None
    return path


def output_file_or_stdout(text: str):
    """:func:`output_file`, or ``'-'`` for stdout."""
    return output_file(text, allow_stdout=True)


def output_dir(text: str) -> Path:
    """A folder the command writes into: existing and taking a file, or its parent taking it (the folder
    itself is then created when the command first writes to it; a missing parent is an error, never
    created).  Tried by :func:`_try_folder`, which leaves nothing behind."""
    if not str(text).strip():
        raise argparse.ArgumentTypeError("a folder name must not be empty")
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} exists and is not a folder")
    if not path.exists() and not path.parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"cannot create {text}: its parent folder {path.parent} does not exist")
    try:
        _try_folder(path)
    except OSError as exc:
        problem = (f"cannot write into {text}: a file cannot be created there" if path.exists()
                   else f"cannot create {text}")
        raise argparse.ArgumentTypeError(f"{problem} ({_reason(exc)})") from None
    return path


def _reason(exc: OSError) -> str:
    """The system's reason in lower case, e.g. ``permission denied``, ``input/output error``."""
    return (exc.strerror or type(exc).__name__).lower()


def module_spec(text: str) -> str:
    """``MODULE`` or ``MODULE:ATTR``: dotted Python identifiers (the module is imported later, once)."""
    module, colon, attr = str(text).strip().partition(":")
    parts = module.split(".") + (attr.split(".") if colon else [])
    bad = [p for p in parts if not p.isidentifier() or keyword.iskeyword(p)]
    if not module or (colon and not attr) or bad:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not MODULE:ATTR (dotted Python names, e.g. mypackage.score:Implementation)")
    return str(text).strip()


def one_of(choices, what: str):
    """``type=`` for one of ``choices`` (a one-line message listing them)."""
    choices = tuple(choices)

    def parse(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(f"unknown {what} {text!r}; choose from {', '.join(choices)}")
        return text

    parse.__name__ = what
    return parse


def given(namespace) -> set[str]:
    """The ``dest`` of every :class:`StoreOnce`/:class:`AppendOnce` option given on the command line."""
    return namespace.__dict__.setdefault("_given", set())


class StoreOnce(argparse.Action):
    """``store``, but the option given a second time is an error (argparse would drop the first value)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if self.dest in given(namespace):
            raise argparse.ArgumentError(self, "given twice; give it once")
        given(namespace).add(self.dest)
        setattr(namespace, self.dest, values)


class FlagOnce(argparse.Action):
    """``store_true``, but the flag given twice is an error (a repeat is a mistake the command should name,
    as for :class:`StoreOnce`)."""

    def __init__(self, option_strings, dest, default=False, required=False, help=None):
        super().__init__(option_strings, dest, nargs=0, const=True, default=default, required=required, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        if self.dest in given(namespace):
            raise argparse.ArgumentError(self, "given twice; give it once")
        given(namespace).add(self.dest)
        setattr(namespace, self.dest, True)


class AppendOnce(argparse.Action):
    """``append``, but the same value given twice is an error (it would be done twice).  One value per
    option: with ``nargs`` each list would be one item, its repeats inside unchecked (a list option is
    :class:`StoreOnce` with ``nargs``, its values checked by the command)."""

    def __init__(self, option_strings, dest, nargs=None, **kwargs):
        if nargs is not None:
            raise ValueError(f"AppendOnce takes one value per option, not nargs={nargs!r} ({option_strings})")
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        items = list(getattr(namespace, self.dest, None) or [])
        if values in items:
            raise argparse.ArgumentError(self, f"{values!r} given twice; give each once")
        given(namespace).add(self.dest)
        setattr(namespace, self.dest, items + [values])


def fail(prog: str, message: str) -> int:
    """Print ``prog: error: message`` as one line on stderr; return exit status 2."""
    print(f"{prog}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2
