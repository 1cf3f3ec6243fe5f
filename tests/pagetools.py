"""Reading the pages' forms as a browser would: their action, every field to send back, the CSRF token."""
from __future__ import annotations

import html as htmllib
import re

_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_INPUT = re.compile(r"<input\b([^>]*)>", re.I)
_ATTR = re.compile(r'([a-zA-Z_:-]+)="([^"]*)"')


def _attrs(text: str) -> dict[str, str]:
    return {name.lower(): htmllib.unescape(value) for name, value in _ATTR.findall(text)}


def forms(page: str) -> list[tuple[str, dict[str, str]]]:
    """(action path, hidden fields) of each ``<form method="post">`` of a page, in order."""
    found = []
    for head, body in _FORM.findall(page):
        attrs = _attrs(head)
        fields = {}
        for tag in _INPUT.findall(body):
            field = _attrs(tag)
            if field.get("type") == "hidden" and "name" in field:
                fields[field["name"]] = field.get("value", "")
        found.append((attrs.get("action", ""), fields))
    return found


def form_to(page: str, action_part: str) -> tuple[str, dict[str, str]]:
    """The form whose action contains ``action_part`` (the first when several do)."""
    for action, fields in forms(page):
        if action_part in action:
            return action.replace("https://portal.test", ""), fields
    raise AssertionError(f"no form posting to {action_part!r}")


_CSRF_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(page: str) -> str:
    """The CSRF token of the first form of a page."""
    return _CSRF_TOKEN.search(page).group(1)


_ERROR_CODE = re.compile(r'<h1 data-error="([a-z0-9_]+)"')


def refusal(response) -> tuple[int, str | None]:
    """``(status, error code)`` of a refusal, from the JSON error shape or the error page's ``data-error``."""
    if response.is_json:
        return response.status_code, (response.get_json().get("error") or {}).get("code")
    found = _ERROR_CODE.search(response.get_data(as_text=True))
    return response.status_code, found.group(1) if found else None
