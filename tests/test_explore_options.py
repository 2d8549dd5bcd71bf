"""``verify explore``'s options beyond their signs: each message names the part of the option that is
wrong, options a study would ignore are refused, and the Dask scheduler's address is checked before
any work.  Every check has a negative control (a value just inside, or the same option where it is used).
"""

from __future__ import annotations

import pytest

from verify import cli
from verify.explore.grid import check_options


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize("argv, message", [
    (["step", "--eta-range", "1e-3", "1", "1.5"], "--eta-range: POINTS must be an integer, got '1.5'"),
    (["phase", "--t-range", "0", "1", "2.5"], "--t-range: POINTS must be an integer, got '2.5'"),
    (["phase", "--t-range", "zero", "1", "3"], "--t-range: MIN must be a number, got 'zero'"),
    (["radius", "--radius-range", "1e-3", "big", "3"], "--radius-range: MAX must be a number, got 'big'"),
])
def test_a_range_names_the_part_that_is_wrong(argv, message, capsys):
    assert cli.main(["explore", *argv]) == 2
    assert message in _one_line(capsys)


def test_range_ends_may_be_any_numbers_and_points_an_integer():
    # the control: the same ranges with well-formed parts are taken as given
    assert check_options("step", "quick", {"eta_range": ["1e-3", "1.5", "3"]}).eta_range == (1e-3, 1.5, 3)
    assert check_options("phase", "quick", {"t_range": ["0", "2.5", "3"]}).t_range == (0.0, 2.5, 3)


@pytest.mark.parametrize("study, given, message", [
    ("noise", {"radius_points": "5"}, "--radius-points is not used by the noise study"),
    ("step", {"radius_points": "5"}, "--radius-points is not used by the step study"),
    ("phase", {"radius_points": "5"}, "--radius-points is not used by the phase study"),
    ("radius", {"radius_points": "2", "radius_range": ["1e-3", "1", "5"]},
     "--radius-points and --radius-range both set the radius grid"),
    ("phase", {"rounds": "3"}, "--rounds is not used by the phase study"),
    ("phase", {"per_round": "3"}, "--per-round is not used by the phase study"),
    ("phase", {"max_steps": "9000"}, "--max-steps is not used by the phase study"),
    ("noise", {"workers": "2", "scheduler": "tcp://127.0.0.1:8786"}, "--workers and --dask-scheduler"),
])
def test_an_option_the_study_would_ignore_is_refused(study, given, message):
    with pytest.raises(ValueError, match=message):
        check_options(study, "quick", given)


def test_the_same_options_are_taken_where_they_are_used():
    # the controls: each option alone, where the study uses it
    assert check_options("radius", "quick", {"radius_points": "5"}).radius_points == 5
    assert check_options("radius", "quick", {"radius_range": ["1e-3", "1", "5"]}).radius_range == (1e-3, 1.0, 5)
    assert check_options("noise", "quick", {"rounds": "3", "per_round": "3", "max_steps": "9000"}).rounds == 3
    assert check_options("noise", "quick", {"workers": "2"}).workers == 2
    assert check_options("noise", "quick", {"scheduler": "tcp://127.0.0.1:8786"}).scheduler == "tcp://127.0.0.1:8786"


def test_an_ignored_option_on_the_command_line_is_one_line_and_exit_2(capsys):
    assert cli.main(["explore", "noise", "--radius-points", "5", "--no-cache", "--workers", "1"]) == 2
    assert "--radius-points is not used by the noise study" in _one_line(capsys)


# -- the Dask scheduler ----------------------------------------------------------------------------


@pytest.mark.parametrize("address, message", [
    ("notanaddress", "missing port number"),
    ("tcp://127.0.0.1:port", "is not a scheduler address"),
    ("nosuchscheme://127.0.0.1:8786", "unknown address scheme"),
    ("tcp://127.0.0.1:70000", "the port must be in 1..65535"),
    ("tcp://:8786", "names no host"),
])
def test_a_malformed_scheduler_address_is_refused_before_any_work(address, message, capsys):
    with pytest.raises(ValueError, match=message):
        check_options("noise", "quick", {"scheduler": address})
    assert cli.main(["explore", "noise", "--dask-scheduler", address, "--no-cache"]) == 2
    line = _one_line(capsys)
    assert "--dask-scheduler" in line and message in line


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "127.0.0.1:8786", "tcp://[::1]:8786", "wss://host:1"])
def test_well_formed_scheduler_addresses_are_taken(address):
    assert check_options("noise", "quick", {"scheduler": address}).scheduler == address


# Dask's settings, as the environment or a config file may give them: with none, Client would meet a
# tls:// address with a TypeError traceback and, encryption required, a tcp:// one with a RuntimeError.
_TLS = {"distributed.comm.tls.ca-file": "/etc/dask/ca.pem", "distributed.comm.tls.client.cert": "/etc/dask/client.pem"}


@pytest.mark.parametrize("address, settings, message", [
    ("tls://127.0.0.1:8786", {}, "tls:// needs a client certificate and the cluster's CA"),
    ("tls://127.0.0.1:8786", {"distributed.comm.tls.ca-file": "/etc/dask/ca.pem"},
     "tls:// needs a client certificate and the cluster's CA"),
    ("tcp://127.0.0.1:8786", {"distributed.comm.require-encryption": True},
     "tcp:// is not encrypted and Dask's settings require encryption"),
    ("127.0.0.1:8786", {"distributed.comm.require-encryption": True},
     "tcp:// is not encrypted and Dask's settings require encryption"),
])
def test_a_scheduler_dask_cannot_secure_is_refused_before_connecting(address, settings, message, capsys):
    import dask

    with dask.config.set(settings):
        with pytest.raises(ValueError, match=message):
            check_options("noise", "quick", {"scheduler": address})
        assert cli.main(["explore", "noise", "--dask-scheduler", address, "--no-cache"]) == 2
    line = _one_line(capsys)  # one line, no "connecting to" first: nothing was tried
    assert line.startswith("verify explore: error: --dask-scheduler") and message in line


@pytest.mark.parametrize("address, settings", [
    ("tls://host:1", _TLS),
    ("tls://host:1", {**_TLS, "distributed.comm.require-encryption": True}),
    ("wss://host:1", {"distributed.comm.require-encryption": True}),
    ("tls://host:1", {"distributed.client.security-loader": "site_security.load"}),  # (it brings its own)
])
def test_a_scheduler_dask_can_secure_is_taken(address, settings):
    # the controls: the same schemes once Dask's settings provide what they need
    import dask

    with dask.config.set(settings):
        assert check_options("noise", "quick", {"scheduler": address}).scheduler == address


def test_an_unreachable_scheduler_is_one_line_after_saying_it_connects(capsys):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert cli.main(["explore", "noise", "--dask-scheduler", "tcp://127.0.0.1:1", "--no-cache"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and not any("Traceback" in line for line in err), err
    assert "connecting to the Dask scheduler at tcp://127.0.0.1:1" in err[0] and "timeout 1 s" in err[0]
    assert err[1].startswith("verify explore: error: --dask-scheduler tcp://127.0.0.1:1: could not connect")


@pytest.mark.parametrize("setting", ["abc", "-1s"])
def test_a_bad_dask_connect_timeout_is_one_line_before_connecting(setting, capsys):
    import dask

    from verify.explore.executors import dask_connect_timeout

    with dask.config.set({"distributed.comm.timeouts.connect": setting}):
        assert cli.main(["explore", "noise", "--dask-scheduler", "tcp://127.0.0.1:1", "--no-cache"]) == 2
        assert "is not a positive duration" in _one_line(capsys)
    with dask.config.set({"distributed.comm.timeouts.connect": "2.5s"}):  # the control: a duration is read
        assert dask_connect_timeout() == 2.5


# -- an option given twice -------------------------------------------------------------------------

#: each option of ``verify explore`` with two values it takes (the second given replaces the first in
#: plain argparse, which dropped the first silently)
_TWICE = [
    ("--budget", ["full"], ["quick"]), ("--n", ["2"], ["3"]), ("--d", ["1"], ["2"]), ("--M0", ["4"], ["5"]),
    ("--radius", ["1e-3"], ["1e-2"]), ("--t", ["0"], ["1"]), ("--eta", ["0.05"], ["0.1"]),
    ("--radius-range", ["1e-3", "1", "3"], ["1e-2", "1", "3"]), ("--radius-points", ["3"], ["4"]),
    ("--t-range", ["0", "1", "3"], ["0", "2", "3"]), ("--eta-range", ["0.01", "1", "3"], ["0.01", "2", "3"]),
    ("--layout", ["leader"], ["gaussian"]), ("--convention", ["scaled"], ["unscaled"]), ("--seeds", ["2"], ["3"]),
    ("--steps", ["5"], ["6"]), ("--max-steps", ["50"], ["60"]), ("--rounds", ["1"], ["2"]),
    ("--per-round", ["2"], ["3"]), ("--out", ["out1"], ["out2"]), ("--cache", ["c1"], ["c2"]),
    ("--workers", ["2"], ["1"]), ("--dask-scheduler", ["tcp://127.0.0.1:8786"], ["tcp://127.0.0.1:8787"]),
]


@pytest.mark.parametrize("option, first, second", _TWICE, ids=[o for o, _, _ in _TWICE])
def test_an_option_given_twice_is_one_line_and_exit_2(option, first, second, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["explore", "noise", option, *first, option, *second]) == 2
    assert f"argument {option}: given twice; give it once" in _one_line(capsys)


@pytest.mark.parametrize("option, first, second", _TWICE, ids=[o for o, _, _ in _TWICE])
def test_each_option_given_once_is_parsed(option, first, second, tmp_path, monkeypatch):
    # the control: the same option once parses to its value (nothing is run)
    monkeypatch.chdir(tmp_path)
    parser = cli.build_parser("explore")
    args = parser.parse_args(["explore", "noise", option, *first])
    dest = {a.option_strings[0]: a.dest for a in parser._subparsers._group_actions[0].choices["explore"]._actions
            if a.option_strings}[option]
    value = getattr(args, dest)
    assert value is not None and str(first[-1]) in str(value)


# -- options that would have no effect, and a value given twice in a list ----------------------------


@pytest.mark.parametrize("study, given, message", [
    ("radius", {"seeds": "3", "layout": ["leader"]}, "--seeds has no effect with --layout leader"),
    ("noise", {"seeds": "3", "layout": ["leader", "opposite"]}, "--seeds has no effect with --layout leader opposite"),
    ("phase", {"seeds": "3"}, "--seeds has no effect with --layout leader"),  # phase's budget runs leader only
    ("noise", {"per_round": "5", "rounds": "0"}, "--per-round has no effect with --rounds 0"),
    ("radius", {"max_steps": "9000", "rounds": "0"}, "--max-steps has no effect with --rounds 0"),
    ("noise", {"n": ["2", "2"]}, "--n: '2' given twice; give each value once"),
    ("noise", {"M0": ["4", "4.0"]}, "--M0: '4.0' (= '4') given twice"),
    ("radius", {"t": ["0", "1", "0"]}, "--t: '0' given twice"),
    ("noise", {"radius": ["1e-3", "0.001"]}, "--radius: '0.001' (= '1e-3') given twice"),
    ("step", {"d": ["1", "1"]}, "--d: '1' given twice"),
    ("noise", {"eta": ["0.1", "0.1"]}, "--eta: '0.1' given twice"),
    ("radius", {"layout": ["leader", "leader"]}, "--layout: 'leader' given twice"),
])
def test_an_option_that_would_change_nothing_is_refused(study, given, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_options(study, "quick", given)


def test_the_same_options_are_taken_where_they_change_the_run():
    # the controls: --seeds with a layout that uses the seed, --per-round/--max-steps with rounds, distinct lists
    assert check_options("radius", "quick", {"seeds": "3", "layout": ["leader", "gaussian"]}).seeds == 3
    assert check_options("noise", "quick", {"seeds": "3"}).seeds == 3  # noise's budget runs the gaussian layout
    assert check_options("noise", "quick", {"rounds": "0"}).rounds == 0
    assert check_options("noise", "quick", {"per_round": "5", "rounds": "1"}).per_round == 5
    assert check_options("radius", "quick", {"max_steps": "9000", "rounds": "1"}).max_steps == 9000
    assert check_options("noise", "quick", {"n": ["2", "3"], "M0": ["4", "4.5"]}).n == (2, 3)
    assert check_options("radius", "quick", {"layout": ["leader", "gaussian"]}).layout == ("leader", "gaussian")


@pytest.mark.parametrize("argv, message", [
    (["radius", "--seeds", "3", "--layout", "leader"], "--seeds has no effect with --layout leader"),
    (["noise", "--per-round", "5", "--rounds", "0"], "--per-round has no effect with --rounds 0"),
    (["noise", "--n", "2", "2"], "--n: '2' given twice"),
])
def test_an_option_that_would_change_nothing_is_one_line_and_exit_2(argv, message, capsys):
    assert cli.main(["explore", *argv, "--no-cache", "--workers", "1"]) == 2
    assert message in _one_line(capsys)
