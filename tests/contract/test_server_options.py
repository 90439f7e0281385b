"""The committed option table of `mlflow server` is the real program's (regenerate it with
`python tests/contract/server_options.py > shared/model/data/mlflow-server-options.json`
in the MLflow venv)."""

from server_options import COMMITTED, render, table


def test_the_committed_option_table_is_mlflows():
    fresh = render(table())
    assert COMMITTED.read_text() == fresh, (
        f"{COMMITTED} differs from the option table of the installed MLflow: regenerate it with "
        "`python tests/contract/server_options.py > shared/model/data/mlflow-server-options.json`"
    )


def test_the_table_has_the_options_the_chart_uses():
    names = {o["name"]: o for o in table()["options"]}
    assert names["port"]["type"] == "int"
    assert names["app_name"]["choices"] == ["basic-auth"]
    assert "no_serve_artifacts" in names["serve_artifacts"]["names"]
    assert names["enable_workspaces"]["kind"] == "flag"
