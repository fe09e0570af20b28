"""The Models tab of the served app in headless Chromium: pick two models, compare, read the table and the verdict."""

from browser import needs_chromium, open_page

pytestmark = needs_chromium

#: The nearest ancestor (across shadow roots) narrower than its content: its tag, overflow-x and widths; null if none.
CLIPPING_ANCESTOR = """(element) => {
  let node = element.parentNode;
  while (node) {
    if (node instanceof ShadowRoot) { node = node.host; continue; }
    if (node.nodeType === 1 && node.scrollWidth > node.clientWidth + 1) {
      return {tag: node.tagName, overflowX: getComputedStyle(node).overflowX, scrollWidth: node.scrollWidth, clientWidth: node.clientWidth};
    }
    node = node.parentNode;
  }
  return null;
}"""


def test_pick_two_models_and_compare(served_committee):
    with open_page(served_committee) as (page, errors):
        page.get_by_text("Models", exact=True).first.click()
        page.get_by_text("Models to compare").first.wait_for(timeout=30_000)
        page.locator("select:has(option[value='rm-5'])").nth(1).select_option("rm-5")  # model B
        page.get_by_role("button", name="Compare").click()
        page.get_by_text("agrees with people better").first.wait_for(timeout=60_000)
        for header in ("n_human_ties", "accuracy", "pearson_r", "alpha_with_model"):  # the metrics table of the picked models
            page.locator("th", has_text=header).first.wait_for(timeout=10_000)
        page.locator("td", has_text="rm-2").first.wait_for(timeout=10_000)
        assert page.get_by_text("all: rm-1 agrees with people better").count() >= 1
        # the table is wider than its column: whatever clips it must scroll, so the last metrics can be reached
        header = page.locator("th", has_text="alpha_with_model").first
        clipper = header.evaluate(CLIPPING_ANCESTOR)
        assert clipper is not None and clipper["overflowX"] in ("auto", "scroll"), clipper
        header.scroll_into_view_if_needed()
        box = header.bounding_box()
        assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= page.viewport_size["width"], box
        assert not errors, errors


def test_train_held_out_and_read_the_verdict_sign(served_committee):
    with open_page(served_committee) as (page, errors):
        page.get_by_text("Models", exact=True).first.click()
        page.get_by_text("Models to compare").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Train").click()
        page.get_by_text("compared on held out: 40 items (20 % at random by item, seed 0)").first.wait_for(timeout=60_000)
        selects = page.locator("select:has(option[value='rm-5'])")
        selects.nth(0).select_option("rm-1")  # model A
        selects.nth(1).select_option("rm-5")  # model B: the worse one, so B − A is negative
        page.get_by_role("button", name="Compare").click()
        page.get_by_text("all: rm-1 agrees with people better").first.wait_for(timeout=60_000)
        verdict = page.get_by_text("all: rm-1 agrees with people better").first.inner_text()
        assert "(rm-5 − rm-1)" in verdict and "Δr = -" in verdict, verdict
        page.locator("th", has_text="rm-5 − rm-1").first.wait_for(timeout=10_000)
        cell = page.locator("td", has_text="pearson_r").first.locator("xpath=following-sibling::td").nth(3).inner_text()
        assert cell.startswith("-"), cell  # the table's B − A has the verdict's sign
        assert page.locator("option", has_text="trained: raw (held out 20 %, seed 0)").count() >= 1
        assert not errors, errors
