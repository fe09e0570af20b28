"""The shareable report: self-contained, offline, the API's numbers, and the same file from the CLI and the app."""

import re

import numpy as np
import pytest
from browser import CHROMIUM, FLAGS

import workbench
from workbench.cli import main
from workbench.ui.report import ReportButton, build_report
from workbench.ui.workspace import Workspace

N_BOOT, N_PERM = 50, 50


@pytest.fixture(scope="module")
def study():
    return workbench.simulate_study(seed=3, n_items=80, ratings_per_item=5, n_raters=16)


@pytest.fixture(scope="module")
def interactive(study, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "demo.html"
    return workbench.report(study.ratings, path, models=study.scores, n_boot=N_BOOT, n_perm=N_PERM)


def _headings(text: str) -> list[str]:
    return re.findall(r"<h2>([^<]+)</h2>", text)


def _open(path):
    """Open a report from disk in headless Chromium; returns (requests to any host, console errors, figures drawn, text)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            requests, errors = [], []
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:")) else requests.append(r.url))
            page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())
            page.wait_for_function("() => window.Bokeh && Object.keys(Bokeh.index).length > 0", timeout=90_000)
            drawn = page.evaluate("() => Object.keys(Bokeh.index).length")
            return requests, errors, drawn, page.inner_text("body")
        finally:
            browser.close()


@pytest.mark.slow
def test_the_report_opens_offline_and_draws_its_figures(interactive, study):
    requests, errors, drawn, text = _open(interactive)
    assert requests == [] and errors == []
    assert drawn >= interactive.read_text().count("<!--plot") + interactive.read_text().count('class="figure"') > 3
    assert "80 items" in text and "Krippendorff's alpha" in text


def test_the_report_holds_the_api_numbers(interactive, study):
    text = interactive.read_text()
    value, low, high = (float(x) for x in re.search(
        r'data-metric="alpha" data-value="([^"]+)" data-ci-low="([^"]+)" data-ci-high="([^"]+)"', text).groups())
    row = workbench.reliability(study.ratings, n_boot=N_BOOT, seed=0).iloc[0]
    assert (value, low, high) == (row["value"], row["ci_low"], row["ci_high"])
    assert f"{row['value']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]" in text
    by_age = workbench.reliability(study.ratings, by="age_band", n_boot=N_BOOT, seed=0)
    for _, slice_row in by_age.iterrows():
        assert re.search(rf"<td>{re.escape(slice_row['age_band'])}</td>\s*<td>{slice_row['value']:.3f}</td>", text)
    assert _headings(text) == ["Datasheet", "Agreement", "Disagreement", "Reward models against people", "Reproducibility"]
    assert "sha256 of the ratings" in text and f"n_boot={N_BOOT}" in text
    models = workbench.compare_models(study.ratings, study.scores, n_boot=N_BOOT, seed=0)
    first = models[models["slice"] == "all"].iloc[0]
    assert f"{first['accuracy']:.3f} [{first['accuracy_low']:.3f}, {first['accuracy_high']:.3f}]" in text
    assert "accuracy per model, all items (95 % interval)" in text


def test_the_static_variant_has_no_script(study, tmp_path):
    path = workbench.report(study.ratings, tmp_path / "static.html", static=True, n_boot=N_BOOT, n_perm=N_PERM)
    text = path.read_text()
    assert "<script" not in text.lower() and text.count("<svg") > 3
    assert re.findall(r'(?:src|href)="(https?:)?//', text) == []


def test_tags_and_a_recipe_with_its_provenance(study, tmp_path):
    store = workbench.Store(tmp_path / "p.sqlite")
    for item in study.ratings.items.index[:6]:
        store.add_tag(item, "subjectivity", "manifest", tagger="ana")
        store.add_tag(item, "subjectivity", "latent_pattern" if item.endswith(("1", "3")) else "manifest", tagger="ben")
    store.save_recipe("no-failed-checks", {"rules": [{"rule": "drop_raters", "where": "attention_check == 'failed'"}]})
    text = build_report(study.ratings, store=store, recipe="no-failed-checks", n_boot=N_BOOT, n_perm=N_PERM, static=True)
    assert "Tags" in _headings(text) and "Cleaning: no-failed-checks" in _headings(text)
    assert 'download="provenance.csv" href="data:text/csv;base64,' in text
    assert "items where taggers differ" in text


def test_a_recipe_that_needs_missing_columns_says_so(study):
    text = build_report(study.ratings, recipe=[{"rule": "flip", "where": "committee_group == 'NoAgree'"}], n_boot=N_BOOT,
                        n_perm=N_PERM, static=True)
    assert "the recipe&#x27;s effect: not available — " in text and "committee_group" in text


def test_bad_options_are_refused(study):
    with pytest.raises(workbench.WorkbenchDataError, match="by='nope' is not a rater or item column"):
        build_report(study.ratings, by="nope")
    with pytest.raises(workbench.WorkbenchDataError, match="n_boot must be a positive whole number"):
        build_report(study.ratings, n_boot=0)
    with pytest.raises(workbench.WorkbenchDataError, match="pass the store"):
        build_report(study.ratings, recipe="mine")


def test_the_app_button_gives_the_same_sections(study):
    button = ReportButton(Workspace(ratings=study.ratings), n_boot=N_BOOT, n_perm=N_PERM, static=True)
    text = button._file().read().decode()
    assert _headings(text) == ["Datasheet", "Agreement", "Disagreement", "Reproducibility"]
    assert "Command: <code>the app&#x27;s Report button</code>" in text


def test_the_cli_writes_the_report_with_its_command(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", "-o", str(out), "--static", "--n-boot", "20", "--n-perm", "20", "--by", "region"]) == 0
    text = out.read_text()
    assert "wrote" in capsys.readouterr().out and "alpha by region" in text
    assert "workbench report -o" in text and "--by region" in text


@pytest.mark.realdata
@pytest.mark.slow
def test_convabuse_report_opens_offline(shared_data, tmp_path):
    out = tmp_path / "convabuse.html"
    assert main(["report", str(shared_data / "convabuse/ConvAbuseEMNLPfull.csv.gz"), "-o", str(out), "--n-boot", "50",
                 "--n-perm", "50"]) == 0
    requests, errors, drawn, text = _open(out)
    assert requests == [] and errors == [] and drawn > 2
    assert "4185" in text and "ConvAbuse full CSV" in text
    digest = re.search(r'class="sha256">([0-9a-f]{64})<', out.read_text()).group(1)
    import hashlib

    assert digest == hashlib.sha256((shared_data / "convabuse/ConvAbuseEMNLPfull.csv.gz").read_bytes()).hexdigest()
    assert np.isfinite(float(re.search(r'data-value="([^"]+)"', out.read_text()).group(1)))


def test_the_app_button_reports_the_clean_tabs_recipe_on_the_data_it_read(study):
    """A recipe made in the Clean tab reads columns the raw ratings lack (committee groups): the button uses its source."""
    from workbench.ui.cleaner import Cleaner

    workspace = Workspace(ratings=study.ratings)
    cleaner = Cleaner(workspace=workspace, scores=study.scores, fit_now=False)
    cleaner.use()
    assert workspace.recipe_source is cleaner.enriched
    text = ReportButton(workspace, n_boot=N_BOOT, n_perm=N_PERM, static=True)._file().read().decode()
    assert any(h.startswith("Cleaning: ") for h in _headings(text)) and "not available" not in text.split("Cleaning: ")[1]


def test_a_report_made_in_a_notebook_after_the_extension_points_at_no_server(study):
    """workbench.extension() makes Panel list its own stylesheets; a file opened from disk cannot reach them."""
    workbench.extension()
    text = build_report(study.ratings, n_boot=N_BOOT, n_perm=N_PERM)
    assert re.findall(r'<(?:link|script)[^>]*\s(?:href|src)="(?!data:)[^"]*"', text) == []
