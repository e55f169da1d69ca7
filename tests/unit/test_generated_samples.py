"""etc/kingsync's samples are generated (tox -e genconfig, tox -e genpolicy),
and regenerated whenever an option or a policy rule is added."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kingsync import policies
from kingsync.conf import opts

ETC = Path(__file__).resolve().parents[2] / "etc" / "kingsync"


def _sample_options() -> dict[str, set[str]]:
    """Group -> the option names the sample config shows (commented out)."""
    groups: dict[str, set[str]] = {}
    group = "DEFAULT"
    for line in (ETC / "kingsync.conf.sample").read_text().splitlines():
        if header := re.fullmatch(r"\[(\w+)\]", line):
            group = header.group(1)
        elif option := re.match(r"#(\w+) =", line):
            groups.setdefault(group, set()).add(option.group(1))
    return groups


@pytest.mark.parametrize(
    ("group", "name"), [(group.name, opt.dest) for group, group_opts in opts.list_opts() for opt in group_opts]
)
def test_sample_config_shows_every_kingsync_option(group: str, name: str) -> None:
    assert name in _sample_options().get(group, set()), "run tox -e genconfig"


def test_sample_policy_shows_every_rule() -> None:
    sample = (ETC / "policy.yaml.sample").read_text()
    missing = [rule.name for rule in policies.list_rules() if f'#"{rule.name}":' not in sample]
    assert missing == [], "run tox -e genpolicy"
