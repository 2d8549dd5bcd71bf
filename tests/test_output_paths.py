"""Every output option of every command is tried for writing while it is parsed
(:func:`verify.console.arguments.output_file`, :func:`~verify.console.arguments.output_dir`).

The wrong inputs: ``/proc/version``, which opens for writing as root but takes no write (``os.access``
said yes to root, so the error came only after the claims or checks had run), a folder given for a
file, a folder where no file can be created (``/proc/sys``) and one that cannot be created.  Each is one
line naming the option, exit status 2, before any work.  The controls: a writable path is taken, the
try leaves nothing behind, and an existing file's contents survive a run that fails after parsing.
"""

from __future__ import annotations

import pytest

import verify.claims
from verify.cli import build_parser, main

IMPL = "verify.gate.examples.reference:implementation"

#: (the command's words before the option, the option, what the option names: "file" or "folder").  The words
#: hold a mistake the command finds only when it runs (report: no claim registered, below), so a path
#: that parsing let through ends in that mistake's message within a second, not after minutes of work.
OPTIONS = [
    (["report"], "--json", "file"),
    (["report"], "--figures", "folder"),
    (["gate", IMPL, "--check", "invariance", "--generated", "3"], "--json", "file"),
    (["explore", "noise", "--n", "1", "--layout", "opposite"], "--out", "folder"),
    (["explore", "noise", "--n", "1", "--layout", "opposite"], "--cache", "folder"),
]

WRONG = {
    "file": [("/proc/version", "cannot write /proc/version"), ("{tmp}", "is a folder; give a file name")],
    "folder": [("/proc/sys", "cannot write into /proc/sys: a file cannot be created there"),
               ("/proc/verify-new-folder", "cannot create /proc/verify-new-folder"),
               ("/proc/version", "exists and is not a folder")],
}

CASES = [(words, option, path, message) for words, option, kind in OPTIONS for path, message in WRONG[kind]]


@pytest.mark.parametrize(("words", "option", "path", "message"), CASES,
                         ids=[f"{w[0]}{o}={p}" for w, o, p, _ in CASES])
def test_an_output_path_that_cannot_be_written_is_refused_at_once_by_name(tmp_path, monkeypatch, refused, words,
                                                                         option, path, message):
    monkeypatch.setattr(verify.claims, "all_claims", lambda: {})
    path = path.replace("{tmp}", str(tmp_path))
    err = refused([*words, option, path], message.replace("{tmp}", str(tmp_path)))
    assert f"argument {option}: " in err, err


@pytest.mark.parametrize(("words", "option", "kind"), OPTIONS, ids=[f"{w[0]}{o}" for w, o, _ in OPTIONS])
def test_a_writable_path_is_taken_and_the_try_leaves_nothing(tmp_path, words, option, kind):
    new = tmp_path / ("new.json" if kind == "file" else "new")
    args = build_parser(words[0]).parse_args([*words, option, str(new)])
    assert str(new) in [str(v) for v in vars(args).values()]
    assert list(tmp_path.iterdir()) == [], "the try creates nothing that stays"
    if kind == "file":  # an existing file: taken, not cut
        old = tmp_path / "old.json"
        old.write_text("the last run's results\n")
        build_parser(words[0]).parse_args([*words, option, str(old)])
        assert old.read_text() == "the last run's results\n"
    else:  # an existing folder: taken, its files untouched, no file of the try left in it
        (tmp_path / "kept").write_text("x")
        build_parser(words[0]).parse_args([*words, option, str(tmp_path)])
        assert [p.name for p in tmp_path.iterdir()] == ["kept"]


@pytest.mark.parametrize("argv", [
    ["gate", "verify.gate.examples.no_such_module:x", "--json"],  # fails loading the implementation
    ["report", "--json"],  # fails with no claim registered (below)
], ids=["gate", "report"])
def test_a_run_that_fails_after_parsing_keeps_an_existing_file_and_leaves_no_new_one(tmp_path, monkeypatch,
                                                                                     capsys, argv):
    monkeypatch.setattr(verify.claims, "all_claims", lambda: {})
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text("the last run's results\n")
    assert main([*argv, str(old)]) == 2
    assert old.read_text() == "the last run's results\n"
    assert main([*argv, str(new)]) == 2
    assert not new.exists()
    assert "error:" in capsys.readouterr().err


class _PastTheChecks(Exception):
    """Raised where ``verify explore`` would start planning its work: every check before it passed."""


def _stop_at_the_plan(opts):
    raise _PastTheChecks


def test_explore_refuses_a_default_cache_it_cannot_write_at_once(tmp_path, monkeypatch, refused):
    """The default cache is no option (so no parse-time try), but the same try runs before any cell does.  The
    wrong input: a default in /proc/sys; the controls: --no-cache with it, and a writable default whose
    folders do not exist yet (created by the first finished cell, so the try leaves nothing)."""
    from verify.explore import command

    monkeypatch.setattr(command, "plan", _stop_at_the_plan)
    monkeypatch.setattr(command, "DEFAULT_DIR", command.Path("/proc/sys/verify-cache/explore"))
    err = refused(["explore", "noise"], "cannot keep finished cells in /proc/sys/verify-cache/explore: a file "
                                        "cannot be created in /proc/sys")
    assert "give --cache DIR or --no-cache" in err
    with pytest.raises(_PastTheChecks):
        main(["explore", "noise", "--no-cache"])
    monkeypatch.setattr(command, "DEFAULT_DIR", tmp_path / "verify-cache" / "explore")
    with pytest.raises(_PastTheChecks):
        main(["explore", "noise"])
    assert list(tmp_path.iterdir()) == []


def test_a_dangling_link_is_taken_and_its_target_left_uncreated(tmp_path):
    """A symbolic link to a file not yet written: the write goes through the link and creates the
    target, so the try takes it (it said "no such file or directory", review 23b); the try leaves no
    target behind.  Control: a link into a folder that cannot take a file is refused."""
    link, target = tmp_path / "report.json", tmp_path / "results" / "report.json"
    (tmp_path / "results").mkdir()
    link.symlink_to(target)
    build_parser("report").parse_args(["report", "--json", str(link)])
    assert link.is_symlink() and not target.exists()
    bad = tmp_path / "bad.json"
    bad.symlink_to("/proc/sys/verify-new.json")
    with pytest.raises(SystemExit):
        build_parser("report").parse_args(["report", "--json", str(bad)])
