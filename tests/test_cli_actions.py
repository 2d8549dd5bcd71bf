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


@pytest.mark.parametrize("argv, option", [
    (["report", "--verbose", "--verbose"], "--verbose/-v"),
    (["report", "-vv"], "--verbose/-v"),
    (["selfcheck", "--bench", "--bench"], "--bench"),
    (["selfcheck", "--bench", "--bench-quick", "--bench-quick"], "--bench-quick"),
    (["explore", "noise", "--quiet", "--quiet"], "--quiet"),
    (["explore", "noise", "--no-cache", "--no-cache"], "--no-cache"),
])
def test_a_flag_given_twice_is_one_line_and_exit_2(argv, option, capsys):
    from verify import cli

    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and f"argument {option}: given twice; give it once" in err[0], captured.err


@pytest.mark.parametrize("argv, dest", [
    (["report", "-v"], "verbose"), (["selfcheck", "--bench", "--bench-quick"], "bench_quick"),
    (["explore", "noise", "--quiet", "--no-cache"], "no_cache"),
])
def test_a_flag_given_once_is_set_and_absent_is_false(argv, dest):
    # the control: parsed only (nothing runs)
    from verify import cli

    assert getattr(cli.build_parser(argv[0]).parse_args(argv), dest) is True
    assert getattr(cli.build_parser(argv[0]).parse_args(argv[:1] + (["noise"] if argv[0] == "explore" else [])),
                   dest) is False
