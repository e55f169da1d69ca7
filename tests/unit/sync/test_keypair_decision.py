"""The keypair decision: create, unchanged, conflict, or replace with force."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from kingsync.sync.keypair import Action, Keypair, decide, key_material, same_key

_B64 = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", min_size=8, max_size=80)
_ALGORITHMS = st.sampled_from(["ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256"])
_COMMENTS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz@.-_", max_size=20)
_SPACE = st.sampled_from([" ", "  ", "\t"])


@st.composite
def ssh_keys(draw: st.DrawFn) -> Keypair:
    """An SSH keypair as nova holds it: algorithm, base64 key, maybe a comment."""
    algorithm, blob, comment = draw(_ALGORITHMS), draw(_B64), draw(_COMMENTS)
    text = algorithm + draw(_SPACE) + blob + (draw(_SPACE) + comment if comment else "")
    return Keypair("key", text + draw(st.sampled_from(["", "\n"])), "ssh")


@st.composite
def relabelled(draw: st.DrawFn, keypair: Keypair) -> Keypair:
    """The same SSH key with another comment and other spacing."""
    algorithm, blob = keypair.public_key.split()[:2]
    return Keypair(keypair.name, algorithm + draw(_SPACE) + blob + " " + draw(_COMMENTS), keypair.type)


@given(ssh_keys(), st.booleans())
def test_nothing_in_the_target_means_create_with_or_without_force(source: Keypair, force: bool) -> None:
    assert decide(source, None, force) is Action.CREATE


@given(st.data(), ssh_keys(), st.booleans())
def test_the_same_key_under_another_comment_is_unchanged(data: st.DataObject, source: Keypair, force: bool) -> None:
    target = data.draw(relabelled(source))
    assert decide(source, target, force) is Action.UNCHANGED


@given(ssh_keys(), ssh_keys())
def test_a_different_key_is_a_conflict_without_force_and_a_replace_with_it(source: Keypair, target: Keypair) -> None:
    assume(key_material(source) != key_material(target))
    assert decide(source, target, force=False) is Action.CONFLICT
    assert decide(source, target, force=True) is Action.REPLACE


@given(ssh_keys())
def test_the_same_text_as_another_type_is_a_different_keypair(source: Keypair) -> None:
    target = Keypair(source.name, source.public_key, "x509")
    assert decide(source, target, force=False) is Action.CONFLICT


@given(ssh_keys(), ssh_keys())
def test_sameness_is_symmetric(a: Keypair, b: Keypair) -> None:
    assert same_key(a, b) == same_key(b, a)


def test_x509_certificates_compare_without_their_line_breaks() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\nAAAA\n-----END CERTIFICATE-----\n"
    rewrapped = Keypair("cert", pem.replace("\n", "\r\n"), "x509")
    assert decide(Keypair("cert", pem, "x509"), rewrapped, force=False) is Action.UNCHANGED


def test_x509_certificates_differing_in_content_conflict() -> None:
    one = Keypair("cert", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", "x509")
    two = Keypair("cert", "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----", "x509")
    assert decide(one, two, force=False) is Action.CONFLICT
