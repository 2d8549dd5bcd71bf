"""A word a subcommand does not know is that subcommand's error: the line names ``verify SUBCOMMAND`` and
points to ``verify SUBCOMMAND --help`` (before: ``verify: error: ... (see verify --help)``, whose help does
not list the subcommand's options).  A word the top command does not know is still ``verify``'s error."""

from __future__ import annotations

import pytest

from verify import cli


def _one_line(capsys) -> str:
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in captured.err and captured.out == "", captured
    return err[0]


@pytest.mark.parametrize("argv, command, words", [
    (["report", "--bogus"], "verify report", "--bogus"),
    (["report", "extra"], "verify report", "extra"),
    (["selfcheck", "extra"], "verify selfcheck", "extra"),
    (["selfcheck", "--bogus"], "verify selfcheck", "--bogus"),
    (["selfcheck", "--bench", "--bench-case", "k4", "extra"], "verify selfcheck", "extra"),
    (["gate", "--bogus"], "verify gate", "--bogus"),
    (["gate", "mypackage.score:Impl", "extra"], "verify gate", "extra"),
    (["explore", "noise", "--bogus"], "verify explore", "--bogus"),
    (["explore", "noise", "extra"], "verify explore", "extra"),
])
def test_an_unknown_word_names_the_subcommand_and_its_help(argv, command, words, capsys):
    assert cli.main(argv) == 2
    line = _one_line(capsys)
    assert line == f"{command}: error: unrecognized arguments: {words} (see {command} --help)", line


@pytest.mark.parametrize("argv", [["--bogus"], ["--bogus", "report"]])
def test_an_unknown_word_of_the_top_command_names_verify(argv, capsys):
    # the control: before the subcommand, the word is the top command's
    assert cli.main(argv) == 2
    assert _one_line(capsys) == "verify: error: unrecognized arguments: --bogus (see verify --help)"


@pytest.mark.parametrize("argv", [["report", "--claim", "thm-2.1"], ["selfcheck", "--bench", "--bench-case", "k4"],
                                  ["gate", "mypackage.score:Impl"], ["explore", "noise", "--n", "2"]])
def test_known_words_parse(argv):
    # the control: each subcommand's own words are taken (parsed only; nothing runs)
    args = cli.build_parser(argv[0]).parse_args(argv)
    assert args.command == argv[0] and callable(args._run)
