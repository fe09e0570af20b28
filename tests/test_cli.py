import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from workbench.cli import main


def test_info_on_demo(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "demo study (simulated)" in out and "40000" in out and "age_band" in out


def test_info_on_a_file(tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text("q,w,score\na,1,3\na,2,4\nb,1,4\n")
    assert main(["info", str(path), "--item", "q", "--rater", "w", "--label", "score", "--level", "interval"]) == 0
    assert "interval" in capsys.readouterr().out


def test_info_reports_bad_input_without_traceback(tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text("q,w,score\na,1,3\n")
    assert main(["info", str(path), "--item", "q", "--rater", "who"]) == 2
    err = capsys.readouterr().err
    assert "missing column 'who'" in err and "Traceback" not in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _texts(document) -> str:
    texts = []
    for model in document.models:
        for name in ("text", "title", "object", "name"):
            value = getattr(model, name, None) if name in model.properties() else None
            if isinstance(value, str):
                texts.append(value)
    return "\n".join(texts)


@pytest.mark.slow
def _serve_and_pull(arguments, path=""):
    """Start ``workbench serve`` with ``arguments`` on a free port; the page's HTML and its Bokeh texts."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli", "serve", "--port", str(port), *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/{path}"
        deadline = time.monotonic() + 90
        while True:
            try:
                page = urllib.request.urlopen(url, timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(f"server did not answer: {server.stdout.read() if server.poll() is not None else ''}")
                time.sleep(0.5)
        import panel.models  # noqa: F401  (registers Panel's Bokeh models for deserialising)
        import panel.models.tabulator  # noqa: F401  (the Overview's rater table)
        from bokeh.client import pull_session

        with pull_session(url=url) as session:
            return page, _texts(session.document)
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_serve_answers_with_the_overview_of_the_demo():
    page, texts = _serve_and_pull([])
    assert "<title>workbench" in page and "demo study (simulated)" in texts  # the header names the data set
    assert "Overview" in texts and "ratings per item (min / median / max)" in texts and "40000" in texts and "age_band" in texts


def test_serve_a_notebook_as_an_app(tmp_path):
    import nbformat

    pytest.importorskip("nbconvert", reason="serving a notebook needs the [notebook] extra")

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        'import panel as pn\npn.pane.Markdown("hello from a notebook").servable()')])
    nbformat.write(notebook, tmp_path / "tour.ipynb")
    _, texts = _serve_and_pull(["--notebook", str(tmp_path / "tour.ipynb")], path="tour")
    assert "hello from a notebook" in texts


def test_serve_refuses_what_is_not_a_notebook(tmp_path, capsys):
    assert main(["serve", "--notebook", str(tmp_path / "missing.ipynb")]) == 2
    assert "needs an .ipynb file" in capsys.readouterr().err


def test_server_binds_localhost_by_default(monkeypatch):
    from workbench.ui import app

    captured = {}
    monkeypatch.setattr(app, "serve", lambda ratings, **kwargs: captured.update(kwargs))
    assert main(["serve", "--port", "5999"]) == 0
    assert captured["address"] == "127.0.0.1" and captured["port"] == 5999


@pytest.mark.realdata
@pytest.mark.parametrize("folder, name, fmt, expected", [
    ("convabuse", "ConvAbuseEMNLPfull.csv.gz", "convabuse", "12411"),
    ("multipico_lewidi2025", "MP_dev.json.gz", "multipico", "15178"),
    ("chaosnli", "chaosNLI_mnli_m.jsonl.gz", "chaosnli", "159900"),
    ("hh_rlhf", "harmless-base/test.jsonl.gz", "hh", "2312"),
    ("squality_human_eval", "all-responses.jsonl.gz", "squality", "900"),
])
def test_info_on_each_real_data_set(shared_data, capsys, folder, name, fmt, expected):
    assert main(["info", str(shared_data / folder / name), "--format", fmt]) == 0
    assert expected in capsys.readouterr().out


def test_duplicates_flag_resolves_repeated_pairs(tmp_path, capsys):
    path = tmp_path / "twice.csv"
    path.write_text("item_id,rater_id,label\n1,a,x\n1,a,y\n2,a,x\n2,b,x\n")
    assert main(["info", str(path)]) == 2
    assert "duplicates='first'" in capsys.readouterr().err
    assert main(["info", str(path), "--duplicates", "first"]) == 0
    assert "3" in capsys.readouterr().out


def test_reader_options_it_does_not_take_are_named(capsys):
    assert main(["info", "x.json.gz", "--format", "chaosnli", "--duplicates", "first"]) == 2
    assert "takes no duplicates option" in capsys.readouterr().err


def test_serve_passes_team_options_through(monkeypatch):
    from workbench.ui import app

    captured = {}
    monkeypatch.setattr(app, "serve", lambda ratings, **kwargs: captured.update(kwargs))
    assert main(["serve", "--allow-websocket-origin", "lab.example:8080", "--basic-auth", "pw", "--cookie-secret", "s",
                 "--max-upload-mb", "5"]) == 0
    assert captured["allow_websocket_origin"] == ["lab.example:8080"]
    assert (captured["basic_auth"], captured["cookie_secret"], captured["max_upload_mb"]) == ("pw", "s", 5)


def test_info_with_a_composite_item_key_and_a_rater_file(tmp_path, capsys):
    ratings = tmp_path / "r.csv"
    ratings.write_text("conv,turn,who,y\n1,a,w1,0\n1,a,w2,1\n1,b,w1,1\n1,b,w2,1\n2,a,w1,0\n2,a,w2,0\n")
    people = tmp_path / "people.tsv"
    people.write_text("id\tGroup Name\nw1\tx\nw2\ty\n")
    assert main(["info", str(ratings), "--item", "conv", "turn", "--rater", "who", "--label", "y", "--raters", str(people)]) == 0
    out = capsys.readouterr().out
    assert "items                                    3" in out
    assert "2 of 2 raters matched, 1 attributes: group_name" in out and "group_name" in out


@pytest.mark.realdata
def test_info_multipico_with_its_annotator_file(shared_data, capsys):
    folder = shared_data / "multipico_lewidi2025"
    assert main(["info", str(folder / "MP_dev.json.gz"), "--raters", str(folder / "MP_annotators_meta.json.gz")]) == 0
    out = capsys.readouterr().out
    assert "506 of 506 raters matched" in out or "gender" in out
    assert "raters                                   506" in out and "gender" in out and "age" in out


def test_a_bad_rater_file_is_one_sentence(tmp_path, capsys):
    ratings = tmp_path / "r.csv"
    ratings.write_text("q,w,y\na,1,0\na,2,1\n")
    people = tmp_path / "p.csv"
    people.write_text("name,age\nzz,3\n")
    assert main(["info", str(ratings), "--item", "q", "--rater", "w", "--label", "y", "--raters", str(people)]) == 2
    err = capsys.readouterr().err
    assert "matches the rater ids" in err and "Traceback" not in err


def test_an_unexpected_failure_is_one_sentence(monkeypatch, capsys):
    import workbench.cli

    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(workbench.cli, "_info", broken)
    monkeypatch.delenv("WORKBENCH_DEBUG", raising=False)
    assert main(["info"]) == 1
    err = capsys.readouterr().err
    assert "this could not be done (boom)" in err and "Traceback" not in err and "RuntimeError" not in err
    monkeypatch.setenv("WORKBENCH_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["info"])
