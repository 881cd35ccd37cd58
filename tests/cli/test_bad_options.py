"""Every command-line option that takes a number or a choice, fed a bad value: exit 2, one message naming the
option and the value, never a traceback."""

from __future__ import annotations

import enum

import pytest
import typer

from svitlo.cli.main import app, main


def _typed(p) -> bool:
    """A non-flag option taking a number or a choice (typer's own parameter classes or click's)."""
    if getattr(p, "param_type_name", "") != "option" or getattr(p, "is_flag", False):
        return False
    desc = getattr(p, "type_descriptor", None)
    if desc is not None:
        ann = desc.annotation
        return ann in (int, float) or (isinstance(ann, type) and issubclass(ann, enum.Enum))
    return type(getattr(p, "type", None)).__name__ in ("IntParamType", "FloatParamType", "Choice", "IntRange",
                                                       "FloatRange")


def _typed_options():
    cmd = typer.main.get_command(app)
    out = []
    for name, sub in sorted(cmd.commands.items()):
        args = ["x" for p in sub.params if getattr(p, "param_type_name", "") == "argument" and p.required]
        for p in sub.params:
            if _typed(p):
                out.append(pytest.param(name, args, p.opts[0], id=f"{name} {p.opts[0]}"))
    return out


OPTIONS = _typed_options()


def test_there_are_typed_options():
    assert len(OPTIONS) >= 5


@pytest.mark.parametrize(("command", "args", "option"), OPTIONS)
def test_bad_value_exits_2_naming_option(command, args, option, capsys):
    code = main([command, *args, option, "not-a-value"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert option in err and "not-a-value" in err


def test_unknown_mode_in_scenario_is_input_error(tmp_path, capsys):
    y = tmp_path / "s.yaml"
    y.write_text("grid: case9\nmode: foo\n")
    assert main(["assess", str(y)]) == 2
    err = capsys.readouterr().err
    assert "mode" in err and "foo" in err and "Traceback" not in err


def test_deprecated_alias_errors_are_one_line(tmp_path, capsys):
    assert main(["report-html", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")


def _out_options():
    cmd = typer.main.get_command(app)
    return sorted(name for name, sub in cmd.commands.items()
                  if any("--out" in getattr(p, "opts", ()) for p in sub.params)
                  and name in ("assess", "simulate", "sweep", "rank", "harden", "restore", "site"))


@pytest.mark.parametrize("command", _out_options())
def test_empty_out_is_refused_not_read_as_the_current_folder(command, tmp_path, monkeypatch, capsys):
    y = tmp_path / "s.yaml"
    y.write_text("grid: case9\nstrikes:\n  - random: {k: 1}\n")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    extra = {"rank": ["--k", "1"], "harden": ["--budget", "1", "--n", "4"], "sweep": ["--n", "4"]}
    code = main([command, str(y), *extra.get(command, []), "--out", ""])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--out" in err and "Traceback" not in err
    assert not any(work.iterdir())
