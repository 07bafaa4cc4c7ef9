"""Measuring the referee's rating form in Chromium, whatever its shape (one page, or steps): complete
it by keyboard only (Tab to each unanswered question, arrows or Space to choose, typing for text) or by
touch, counting the key presses, the requests the browser makes, and each page's height; axe-core on
every page. The same routines measure the form before and after it was split into steps."""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.e2e.pages import AXE

TEXT = {
    "relationship_years": "2",
    "attestation_name": "Cole League",
    "endorsement_number": "",
    "for_reviewers": "",
}
DEFAULT_TEXT = "Seen weekly on home visits."
SCORE = "4"  # every statement is rated "4 – Consistent"


@dataclass
class Run:
    """What one completion of the form took."""

    keys: int = 0  # Tab, arrows, Space, Enter
    typed: int = 0  # characters typed into text fields
    requests: int = 0  # documents and fetches the page asked the portal for
    pages: list[dict] = field(default_factory=list)  # per page: its path, height, axe violations

    def as_dict(self) -> dict:
        return {"keys": self.keys, "typed": self.typed, "requests": self.requests, "pages": self.pages}


def count_requests(page, run: Run, base_url: str) -> None:
    def seen(request):
        if request.url.startswith(base_url) and request.resource_type in ("document", "fetch", "xhr"):
            run.requests += 1

    page.on("request", seen)


def press(page, run: Run, key: str) -> None:
    page.keyboard.press(key)
    run.keys += 1


def tab_to(page, run: Run, selector: str, limit: int = 400) -> None:
    """Tab until `selector` has the focus (no key at all when it has it already)."""
    if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
        return
    for _ in range(limit):
        press(page, run, "Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def record_page(page, run: Run, name: str, axe: bool = True) -> None:
    height = page.evaluate("document.documentElement.scrollHeight")
    violations = AXE.run(page).violations_count if axe else None
    run.pages.append({"page": name, "height": height, "axe": violations})


# What still needs an answer on the page, in the order Tab reaches it (inside the form that saves).
TARGETS = """() => {
  const form = document.querySelector("main form[method=post]:not([action$='/submit'])");
  if (!form) return [];
  const out = [], seen = new Set();
  for (const el of form.querySelectorAll("input, textarea, select")) {
    if (el.type === "hidden" || el.disabled) continue;
    if (el.type === "radio") {
      if (seen.has(el.name)) continue;
      seen.add(el.name);
      const group = [...form.querySelectorAll(`input[type=radio][name="${el.name}"]`)];
      if (group.some(r => r.checked)) continue;
      out.push({kind: "radio", name: el.name, values: group.map(r => r.value)});
    } else if (el.type === "checkbox") {
      if (!el.checked) out.push({kind: "checkbox", id: el.id});
    } else if (el.tagName === "SELECT") {
      continue;
    } else if (!el.value) {
      out.push({kind: "text", id: el.id});
    }
  }
  return out;
}"""


def page_name(page) -> str:
    heading = page.inner_text("main h1")
    progress = page.locator("main .progress strong")
    return f"{progress.inner_text()}: {heading}" if progress.count() else heading


def answer_by_keyboard(page, run: Run) -> None:
    """Every unanswered question on this page, by keyboard only."""
    for target in page.evaluate(TARGETS):
        if target["kind"] == "radio":
            name = target["name"]
            values = target["values"]
            wanted = SCORE if name.startswith("item_") else values[0]
            tab_to(page, run, f"input[name='{name}']")
            index = values.index(wanted)
            if index == 0:
                press(page, run, "Space")
            for _ in range(index):  # from the first (unchecked) choice, each arrow checks the next
                press(page, run, "ArrowDown")
        elif target["kind"] == "checkbox":
            tab_to(page, run, f"#{target['id']}")
            press(page, run, "Space")
        else:
            text = TEXT.get(target["id"], DEFAULT_TEXT)
            if not text:
                continue
            tab_to(page, run, f"#{target['id']}")
            page.keyboard.type(text)
            run.typed += len(text)


def answer_by_touch(page, run: Run) -> None:
    """Every unanswered question on this page, by tapping (the label of each choice) and typing."""
    for target in page.evaluate(TARGETS):
        if target["kind"] == "radio":
            name = target["name"]
            wanted = SCORE if name.startswith("item_") else target["values"][0]
            page.tap(f"label[for='{page.get_attribute(f'input[name={name!r}][value={wanted!r}]', 'id')}']")
        elif target["kind"] == "checkbox":
            page.tap(f"#{target['id']}")
        else:
            text = TEXT.get(target["id"], DEFAULT_TEXT)
            if text:
                page.tap(f"#{target['id']}")
                page.keyboard.type(text)
                run.typed += len(text)


# The button that goes on: "Save and continue" / "Save and check your answers" on a step, "Review and
# submit" on the one-page form, "Submit the rating" on the summary.
GO_ON = "main button[value=next], main button[value=review], main form[action$='/submit'] button[type=submit]"


def complete(page, run: Run, *, keyboard: bool = True, axe: bool = True, max_pages: int = 20) -> None:  # noqa: C901
    """From the page the link opened to the thank-you page."""
    for _ in range(max_pages):
        if page.locator(GO_ON).count() == 0:  # the thank-you page
            return
        record_page(page, run, page_name(page), axe)
        if keyboard:
            answer_by_keyboard(page, run)
            tab_to(page, run, GO_ON)
            with page.expect_navigation():
                press(page, run, "Enter")
        else:
            answer_by_touch(page, run)
            with page.expect_navigation():
                page.tap(GO_ON)
    raise AssertionError("the form never ended")
