"""Reading the page an action led to.

A click that submits a form returns once the next page has begun to load, not once it has been
parsed: reading it straight away can see an empty or half-built document (a CI run found
`.public-result` missing on a result page whose stylesheets were still loading)."""


def page_text(page) -> str:
    """The visible text of the current page, after its load event."""
    page.wait_for_load_state()
    return page.locator("body").inner_text()
