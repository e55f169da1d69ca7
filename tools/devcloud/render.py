#!/usr/bin/env python3
"""Render devcloud templates: ``${VAR}`` substitution, strict.

Reads one job per line on stdin, in shell-quoting (``printf %q``) form::

    TEMPLATE OUTPUT [VAR=VALUE ...]

Variables come from the environment, overridden by the job's VAR=VALUE
pairs. A ``${VAR}`` that is defined nowhere is an error (so a typo in a
template fails loudly instead of producing a broken config). An output file
is only rewritten when its content changes; the changed paths are printed,
one per line, so the caller can tell which running services use an outdated
config.
"""

import os
import shlex
import string
import sys


def main() -> int:
    for lineno, line in enumerate(sys.stdin, 1):
        words = shlex.split(line)
        if not words:
            continue
        if len(words) < 2:
            sys.exit(f"render.py: job {lineno}: need TEMPLATE OUTPUT, got {line!r}")
        template, output, pairs = words[0], words[1], words[2:]
        env = dict(os.environ)
        for pair in pairs:
            name, sep, value = pair.partition("=")
            if not sep:
                sys.exit(f"render.py: job {lineno}: {pair!r} is not VAR=VALUE")
            env[name] = value
        with open(template) as f:
            try:
                text = string.Template(f.read()).substitute(env)
            except KeyError as e:
                sys.exit(f"render.py: {template}: variable {e} is not set")
        try:
            with open(output) as f:
                if f.read() == text:
                    continue
        except FileNotFoundError:
            pass
        os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
        tmp = output + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, output)
        print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
