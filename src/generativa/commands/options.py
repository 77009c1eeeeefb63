"""Parsing shared by the verbs: a model's sampling options given as ``--NAME VALUE``."""

from __future__ import annotations


class OptionError(ValueError):
    """A malformed option on the command line."""


def parse_sample_options(tokens: list[str]) -> dict[str, str]:
    """``--temperature 0.7``, ``--temperature=0.7`` or ``temperature=0.7`` -> {"temperature": "0.7"}."""
    out: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--"):
            name, eq, value = token[2:].partition("=")
            if not eq:
                if i + 1 >= len(tokens):
                    raise OptionError(f"option --{name} needs a value")
                value = tokens[i + 1]
                i += 1
        elif "=" in token:
            name, _, value = token.partition("=")
        else:
            raise OptionError(f"unexpected argument {token!r}; sampling options are written --NAME VALUE")
        out[name.replace("-", "_")] = value
        i += 1
    return out
