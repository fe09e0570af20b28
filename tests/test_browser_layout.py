"""Every tab of the served app in headless Chromium: no table clipped without a scrollbar, every figure with a
title, labelled axes and a save-as-PNG tool, one heading size per level."""

import re

from browser import needs_chromium, open_page

pytestmark = needs_chromium

#: Tables (HTML tables and Tabulator widgets) shown now, across shadow roots, that spill out of the element the
#: page laid out for them (their pane) with nothing scrolling sideways in between, or whose pane reaches past the
#: window: ``[{table, right, paneRight, window}]``.
CLIPPED_TABLES = """() => {
  const tables = [];
  const collect = (root) => {
    for (const el of root.querySelectorAll("table, .tabulator")) tables.push(el);
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) collect(el.shadowRoot);
  };
  collect(document);
  const out = [];
  for (const table of tables) {
    if (!table.getClientRects().length || table.closest(".tabulator") && table.closest(".tabulator") !== table) continue;
    const root = table.getRootNode(), pane = root.host || document.body;
    let scrolls = false;
    for (let node = table.parentNode; node && node !== root; node = node.parentNode) {
      if (node.nodeType === 1 && ["auto", "scroll"].includes(getComputedStyle(node).overflowX)) { scrolls = true; break; }
    }
    const right = table.getBoundingClientRect().right, paneRight = pane.getBoundingClientRect().right;
    if ((!scrolls && right > paneRight + 1) || paneRight > window.innerWidth + 1) {
      out.push({table: (table.innerText || "").slice(0, 60), right, paneRight, window: window.innerWidth});
    }
  }
  return out;
}"""

#: Every Bokeh plot in the page's documents: its title, axis labels and tools.
PLOTS = """() => {
  const out = [];
  for (const doc of (window.Bokeh ? Bokeh.documents : [])) {
    for (const model of doc.all_models) {
      if (!("toolbar" in model && "below" in model && "left" in model && "renderers" in model)) continue;
      const title = model.title == null ? "" : (typeof model.title === "string" ? model.title : model.title.text);
      const axes = [...model.below, ...model.left].filter(a => "axis_label" in a);
      out.push({title: title || "", labels: axes.map(a => a.axis_label || ""),
                tools: model.toolbar.tools.map(t => t.type || t.constructor.name)});
    }
  }
  return out;
}"""

#: Font size and text of every h2 and h3 the tabs show, across shadow roots: ``{H2: ["32px Overview"], H3: [...]}``.
HEADINGS = """() => {
  const out = {H2: [], H3: []};
  const walk = (root) => {
    for (const el of root.querySelectorAll("h2, h3")) {
      if (el.getClientRects().length) out[el.tagName].push(getComputedStyle(el).fontSize + " " + el.textContent.slice(0, 40));
    }
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document.querySelector("#main") || document.body);  // the tabs, not the sidebar's own style
  return out;
}"""


def _wait_for_figure(page, title_start: str) -> None:
    """Wait until a Bokeh figure whose title starts with ``title_start`` is in the page (titles are drawn on canvas)."""
    page.wait_for_function(f"(start) => ({PLOTS})().some(p => p.title.startsWith(start))", arg=title_start, timeout=120_000)


def _open_every_tab(page) -> dict[str, dict]:
    """Visit each tab until its tables and figures are drawn; what each showed (clipped tables, headings)."""
    seen = {}

    def record(tab):
        page.wait_for_timeout(500)  # Bokeh lays out after the last message
        seen[tab] = {"clipped": page.evaluate(CLIPPED_TABLES), "headings": page.evaluate(HEADINGS),
                     "too_wide": page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")}

    page.get_by_text("ratings per item (min / median / max)").first.wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"Krippendorff's alpha\s*\(nominal\): 0\.\d+")).first.wait_for(timeout=60_000)
    page.locator("select", has=page.locator("option[value=region]")).first.wait_for(timeout=60_000)
    _wait_for_figure(page, "Krippendorff's alpha per")  # the slice figure, drawn after the first paint
    record("Overview")

    page.get_by_text("Explorer", exact=True).first.click()
    page.get_by_text("Cross-group agreement").first.wait_for(timeout=120_000)
    page.locator(".tabulator-row").first.click()
    _wait_for_figure(page, "Labels of")  # the selected item's labels by group
    _wait_for_figure(page, "xRR between")
    record("Explorer")

    page.get_by_text("Tag", exact=True).first.click()
    page.get_by_text("items tagged in").first.wait_for(timeout=30_000)
    record("Tag")

    page.get_by_text("Clean", exact=True).first.click()
    page.get_by_text(re.compile(r"\d+ flipped · \d+ dropped · \d+ kept")).first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Fit attentiveness").click()
    _wait_for_figure(page, "Attentiveness η̂ per user")
    record("Clean")

    page.get_by_text("Models", exact=True).first.click()
    page.get_by_text("Models to compare").first.wait_for(timeout=30_000)
    page.locator("select:has(option[value='rm-5'])").nth(1).select_option("rm-5")
    page.get_by_role("button", name="Compare").click()
    page.get_by_text("agrees with people better").first.wait_for(timeout=60_000)
    page.get_by_text("Metrics per model and slice").first.wait_for(timeout=60_000)
    _wait_for_figure(page, "Calibration")
    record("Models")
    return seen


def test_tables_scroll_figures_are_labelled_and_headings_keep_their_size(served_committee):
    with open_page(served_committee) as (page, errors):
        seen = _open_every_tab(page)
        clipped = {tab: shown["clipped"] for tab, shown in seen.items() if shown["clipped"]}
        assert not clipped, f"tables cut off without a scrollbar: {clipped}"
        too_wide = {tab: shown["too_wide"] for tab, shown in seen.items() if shown["too_wide"] > 1}
        assert not too_wide, f"the page is wider than the window by (px): {too_wide}"

        plots = page.evaluate(PLOTS)
        assert len(plots) >= 10, plots  # every tab's figures are in the page (tabs are kept once built)
        untitled = [p for p in plots if not p["title"].strip()]
        unlabelled = [p for p in plots if len(p["labels"]) < 2 or not all(label.strip() for label in p["labels"])]
        unsaveable = [p["title"] for p in plots if "SaveTool" not in p["tools"]]
        assert not untitled, f"figures without a title: {untitled}"
        assert not unlabelled, f"figures with an unlabelled axis: {unlabelled}"
        assert not unsaveable, f"figures without a save-as-PNG tool: {unsaveable}"

        sizes = {level: {shown.split(" ", 1)[0] for tab in seen.values() for shown in tab["headings"][level]} for level in ("H2", "H3")}
        assert all(len(found) == 1 for found in sizes.values()), f"one heading size per level across tabs: {seen}"
        assert not errors, errors
