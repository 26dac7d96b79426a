"""What a Russian operator reads: the visible text of a page, with any word in Latin
letters that is not a product name or an id the test expects."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from playwright.sync_api import Page

# Product and channel names people write in Latin letters, and the zone abbreviation.
ALLOWED = frozenset(
    {"Forecall", "SMS", "VK", "Telegram", "WhatsApp", "Viber", "ID", "UTC", "F1", "ROC"}
)
SHOTS = Path(os.environ.get("FORECALL_SHOTS", "/tmp/shots"))

# Visible text nodes only, leaving out what is marked as English on purpose (the
# language switch, the rule trace behind its toggle).
_VISIBLE_TEXT = """(skip) => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    if (!parent || parent.closest('[lang="en"], script, style, title, option')) continue;
    if (skip && parent.closest(skip)) continue;
    if (!parent.checkVisibility()) continue;
    out.push(node.textContent);
  }
  for (const select of document.querySelectorAll("select")) {
    const chosen = select.selectedOptions[0];
    if (select.checkVisibility() && chosen) out.push(chosen.text);
  }
  return out.join(" ");
}"""


def english_words(page: Page, allow: Iterable[str] = (), skip: str = "") -> list[str]:
    """Latin-letter words on screen outside the allow-list; a word with a digit is an id.
    `skip`: a CSS selector of parts whose words another test answers for."""
    allowed = ALLOWED | set(allow)
    text = page.evaluate(_VISIBLE_TEXT, skip)
    words = re.findall(r"[A-Za-z0-9][A-Za-z0-9._:@-]*", text)
    return sorted(
        {
            w.strip("._:-")
            for w in words
            if re.search(r"[A-Za-z]{2}", w)
            and not re.search(r"\d", w)
            and w.strip("._:-") not in allowed
        }
    )


def snap(page: Page, name: str) -> Path:
    """A full-page PNG in the screenshots folder (default /tmp/shots) to look at."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
