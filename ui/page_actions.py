"""The page's own small deeds in the browser: say a cue aloud, scroll, set the sign-in cookie.

One Streamlit component (st.components.v2: a module script, not inline) instead of `<script>` tags in st.html or
an st.iframe: the page's Content-Security-Policy (formcheck/web/csp.py, under serve.py) refuses inline scripts.
Each call site has its own key; the deed is done when the element first shows or its data changes.
"""

from __future__ import annotations

import streamlit as st

JS = """
export default function ({data}) {
  if (data.say && window.speechSynthesis) speechSynthesis.speak(new SpeechSynthesisUtterance(data.say));
  if (data.scroll_top)
    for (const el of [document.querySelector('[data-testid="stMain"]'), document.scrollingElement])
      el && el.scrollTo(0, 0);
  if (data.scroll_to) {
    const el = document.querySelector(data.scroll_to);
    el && el.scrollIntoView({block: "start"});
  }
  if (data.cookie)
    document.cookie = data.cookie + (location.protocol === "https:" ? "; Secure" : "");
}
"""

_deed = st.components.v2.component("formcheck_page_action", js=JS)


def say(text: str, seq: int) -> None:
    """Say `text` with the browser's speech synthesis (`seq`: the cue's number, so the same text is said again)."""
    _deed(key="page-action-say", data={"say": text, "seq": seq})


def scroll_top() -> None:
    """The page scrolled to its top (the camera fills the first screen of a phone)."""
    _deed(key="page-action-scroll-top", data={"scroll_top": True})


def scroll_to(selector: str) -> None:
    """The page scrolled to the first element matching the CSS `selector`."""
    _deed(key="page-action-scroll-to", data={"scroll_to": selector})


def set_cookie(cookie: str) -> None:
    """`document.cookie = cookie` (with `; Secure` over HTTPS): Streamlit has no HTTP response to set it on."""
    _deed(key="page-action-cookie", data={"cookie": cookie})
