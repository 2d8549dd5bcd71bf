"""The two actions that refuse repeats (:mod:`verify.console.arguments`) with list options: StoreOnce
takes a whole list once and refuses the option given again; AppendOnce takes one value per option and
refuses ``nargs`` (each list would be one item, repeats inside it unchecked)."""

from __future__ import annotations

import pytest

from verify.console.arguments import AppendOnce, ArgumentParser, StoreOnce


def _parser(**kwargs) -> ArgumentParser:
    p = ArgumentParser(prog="verify test")
    p.add_argument("--x", **kwargs)
    return p


def test_store_once_with_nargs_takes_the_list_once_and_refuses_a_second(capsys):
    p = _parser(action=StoreOnce, nargs="+")
    assert p.parse_args(["--x", "1", "2"]).x == ["1", "2"]  # the control
    with pytest.raises(SystemExit) as exc:
        p.parse_args(["--x", "1", "--x", "2"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and "argument --x: given twice; give it once" in err


def test_append_once_refuses_nargs_when_the_option_is_declared():
    with pytest.raises(ValueError, match="AppendOnce takes one value per option, not nargs='\\+'"):
        _parser(action=AppendOnce, nargs="+")
    p = _parser(action=AppendOnce)  # the control: one value per option, a repeat refused
    assert p.parse_args(["--x", "a", "--x", "b"]).x == ["a", "b"]
    with pytest.raises(SystemExit):
        p.parse_args(["--x", "a", "--x", "a"])
