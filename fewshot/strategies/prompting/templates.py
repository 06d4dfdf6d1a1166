"""Templates and verbalizers: how an input becomes a prompt and a label becomes the words that follow it.

A template is a format string with ``{text}`` (and ``{text_pair}`` for pairs); a verbalizer maps
each label to its words (a string or alternatives). This module picks the default template for a
task, checks templates and verbalizers, and renders prompts. No tokenizer and no torch here.

Example::

    from fewshot.strategies.prompting.templates import render, resolve_verbalizations

    render("Review: {text}\\nSentiment:", "a joy to watch")  # 'Review: a joy to watch\\nSentiment:'
    resolve_verbalizations(None, ["neg", "pos"], "Review: {text}\\nSentiment:")  # [[' neg'], [' pos']]
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

#: Default templates per kind of task (sentiment labels, other single texts, text pairs); any template
#: with ``{text}`` works, and a template that names the task usually works better.
DEFAULT_TEMPLATES = {
    "sentiment": "Review: {text}\nSentiment:",
    "text": "Text: {text}\nLabel:",
    "pair": "Text: {text}\nSecond text: {text_pair}\nLabel:",
}
#: Label names that make a task a sentiment task for the default template.
SENTIMENT_LABELS = {"positive", "negative", "neutral", "mixed", "very positive", "very negative"}
#: The placeholders a template may use.
FIELDS = ("text", "text_pair")


def template_fields(template: Any) -> set[str]:
    """The placeholders of ``template``; a ValueError says what is wrong with a template that is not usable."""
    if not isinstance(template, str):
        raise ValueError(f"template must be a string with {{text}}; got {template!r}.")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"template {template!r} is not a valid format string ({exc}); double literal braces: {{{{ }}}}.") from exc
    fields = {name for _, name, _, _ in parsed if name is not None}
    unknown = sorted(fields - set(FIELDS))
    if unknown:
        raise ValueError(
            f"template {template!r} has unknown placeholder(s) {unknown}; only {{text}} and {{text_pair}} are "
            "filled (double literal braces: {{ }})."
        )
    if "text" not in fields:
        raise ValueError(f"template {template!r} has no {{text}} placeholder; add one, e.g. 'Review: {{text}}\\nSentiment:'.")
    return fields


def resolve_template(template: str | None, classes: list, pairs: bool) -> str:
    """The template to use: the given one, checked against the kind of input, or a default for the task."""
    if template is None:
        sentiment = {str(c).lower() for c in classes} <= SENTIMENT_LABELS
        template = DEFAULT_TEMPLATES["pair" if pairs else "sentiment" if sentiment else "text"]
    fields = template_fields(template)
    if pairs and "text_pair" not in fields:
        raise ValueError(
            f"X holds (text, text_pair) pairs but the template {template!r} has no {{text_pair}}; add it, "
            "e.g. 'Question: {text}\\nAnswer: {text_pair}\\nLabel:'."
        )
    if not pairs and "text_pair" in fields:
        raise ValueError(
            f"the template {template!r} uses {{text_pair}} but X holds single texts; remove it or pass "
            "(text, text_pair) pairs."
        )
    return template


def trailing_space(template: str) -> bool:
    return template != template.rstrip()


def template_tail(template: str) -> str:
    """The template's trailing whitespace: scored as the start of the label words, not as the prompt's end."""
    return template[len(template.rstrip()):]


def render(template: str, x) -> str:
    """The prompt for one input (a text or a ``(text, text_pair)`` tuple), without the template's trailing whitespace."""
    stem = template.rstrip()
    text, pair = (x if isinstance(x, tuple) else (x, None))
    values = {"text": text, "text_pair": pair}
    for name in FIELDS:
        if values[name] is not None and stem.endswith("{" + name + "}"):
            values[name] = values[name].rstrip()
    return stem.format(**values)


def default_label_words(classes) -> list[str]:
    """The default words of each label: its name, with underscores as spaces unless two names would then collide.

    >>> default_label_words(["card_arrival", "card_linking"])
    ['card arrival', 'card linking']
    >>> default_label_words(["a_b", "a b"])
    ['a_b', 'a b']
    """
    names = [str(c) for c in classes]
    spaced = [" ".join(n.replace("_", " ").split()) or n for n in names]
    return spaced if len(set(spaced)) == len(spaced) else names


def check_verbalizer(verbalizer: dict) -> None:
    """Every label's words are a string or a non-empty list of strings (before any data is seen)."""
    for label, words in verbalizer.items():
        alts = [words] if isinstance(words, str) else words
        if not isinstance(alts, (list, tuple)) or not alts or not all(isinstance(w, str) for w in alts):
            raise ValueError(
                f"verbalizer[{label!r}] is {words!r}; give the label's words as a string or a non-empty "
                "list of strings."
            )


def resolve_verbalizations(verbalizer: dict | None, classes, template: str) -> list[list[str]]:
    """The words of each class (alternatives), as they follow the template's trailing whitespace.

    ``verbalizer`` None gives each label its :func:`default_label_words` after a space (none when the
    template ends in whitespace); a dict must name every label (or ``str(label)``) and no other, and
    two labels may not share words.
    """
    classes = [c.item() if isinstance(c, np.generic) else c for c in classes]
    if verbalizer is None:
        lead = "" if trailing_space(template) else " "
        return [[lead + words] for words in default_label_words(classes)]
    given = dict(verbalizer)
    out, used = [], set()
    for c in classes:
        key = c if c in given else str(c) if str(c) in given else None
        if key is None:
            missing = [repr(k) for k in classes if k not in given and str(k) not in given]
            raise ValueError(
                f"the verbalizer has no words for label(s) {', '.join(missing)}; give every label its words, "
                f"e.g. verbalizer={{{missing[0]}: ' word', ...}}."
            )
        used.add(key)
        words = given[key]
        out.append([words] if isinstance(words, str) else list(words))
    extra = [k for k in given if k not in used]
    if extra:
        raise ValueError(
            f"the verbalizer names label(s) {extra} that are not in y (labels: {classes}); fix the keys "
            "or drop them."
        )
    owner: dict[str, Any] = {}
    for c, alternatives in zip(classes, out, strict=True):
        for words in alternatives:
            if words in owner and owner[words] != c:
                raise ValueError(
                    f"labels {owner[words]!r} and {c!r} have the same words ({words!r}); give each label "
                    "distinct words in the verbalizer."
                )
            owner[words] = c
    return out
