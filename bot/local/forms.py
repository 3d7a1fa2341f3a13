"""A Slack modal of several inputs, asked in the terminal one field at a time."""

from __future__ import annotations

from typing import Any


class PromptedForm:
    """A modal of several inputs as a terminal form: one question per field, select
    fields answered with one of their options, then submitted like Slack submits it."""

    def __init__(self, view: dict[str, Any], only: set[str] | None = None) -> None:
        self.view = view
        self.fields = [
            b
            for b in view["blocks"]
            if b.get("type") == "input" and (not only or b["block_id"] in only)
        ]
        self.answers: dict[str, str | None] = {}
        self.previous: dict[str, str | None] = {}

    @property
    def done(self) -> bool:
        return len(self.answers) == len(self.fields)

    def _current(self) -> dict[str, Any]:
        return self.fields[len(self.answers)]

    def question(self) -> str:
        field = self._current()
        label = field["label"]["text"]
        options = field["element"].get("options")
        choices = f" — one of: {', '.join(o['value'] for o in options)}" if options else ""
        optional = " (optional, `-` to skip)" if field.get("optional") else ""
        return f"  {label}{choices}{optional}:"

    def answer(self, line: str) -> str | None:
        """Takes the answer for the current field; returns a problem to show, if any."""
        field = self._current()
        text = line.strip()
        if text in ("", "-"):
            if not field.get("optional"):
                return "this field is required"
            self.answers[field["block_id"]] = None
            return None
        options = field["element"].get("options")
        if options and text not in {o["value"] for o in options}:
            return f"`{text}` is not one of: {', '.join(o['value'] for o in options)}"
        self.answers[field["block_id"]] = text
        return None

    def values(self) -> dict[str, dict[str, str | None]]:
        merged = {**self.previous, **self.answers}
        return {
            b["block_id"]: {b["element"]["action_id"]: merged.get(b["block_id"])}
            for b in self.view["blocks"]
            if b.get("type") == "input"
        }

    def again(self, errors: dict[str, str]) -> PromptedForm:
        """The same form asking only the fields the app refused (the rest are kept)."""
        retry = PromptedForm(self.view, set(errors))
        retry.previous = {**self.previous, **self.answers}
        return retry
