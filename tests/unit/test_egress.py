"""Which addresses Seia refuses to call (seia.egress), class by class, with and without the local allowance."""

from __future__ import annotations

import ipaddress

import pytest

from seia import egress


@pytest.mark.parametrize(
    ("address", "strict", "allowed"),
    [
        ("127.0.0.1", "is loopback", None),
        ("::1", "is loopback", None),
        ("10.0.0.1", "is private", None),
        ("172.31.255.255", "is private", None),
        ("192.168.1.1", "is private", None),
        ("100.64.0.1", "is private", None),
        ("fd00::1", "is unique-local", None),
        (
            "169.254.169.254",
            "is link-local (the metadata service lives there)",
            "is link-local (the metadata service lives there)",
        ),
        (
            "fe80::1",
            "is link-local (the metadata service lives there)",
            "is link-local (the metadata service lives there)",
        ),
        ("224.0.0.251", "is multicast", "is multicast"),
        ("ff02::1", "is multicast", "is multicast"),
        ("0.0.0.0", "is unspecified", "is unspecified"),
        ("::", "is unspecified", "is unspecified"),
        (
            "::ffff:169.254.169.254",
            "is link-local (the metadata service lives there)",
            "is link-local (the metadata service lives there)",
        ),
        ("240.0.0.1", "is reserved", "is reserved"),
        ("93.184.216.34", None, None),
        ("2606:2800:220:1:248:1893:25c8:1946", None, None),
    ],
)
def test_each_class_of_address(address, strict, allowed):
    ip = ipaddress.ip_address(address)
    assert egress.address_problem(ip, allow_private=False) == strict
    assert egress.address_problem(ip, allow_private=True) == allowed


def test_credentials_in_a_url_and_bad_ports_are_refused():
    with pytest.raises(egress.Refused, match="user name or password"):
        egress.check_url("https://user:pw@93.184.216.34/", env={}, database=[])
    with pytest.raises(egress.Refused, match="invalid port"):
        egress.check_url("https://93.184.216.34:99999/", env={}, database=[])


def test_a_checked_target_keeps_the_name_for_the_host_header_and_the_address_for_the_connection(monkeypatch):
    monkeypatch.setattr(egress, "_resolve", lambda host, port: {"hooks.example": ["93.184.216.34"]}[host])
    monkeypatch.setattr(egress, "database_addresses", lambda env=None: [("10.0.0.9", 5432)])
    t = egress.target("https://hooks.example/a/b?token=1", env={})
    assert (t.scheme, t.host, t.port, t.path, t.address) == (
        "https",
        "hooks.example",
        443,
        "/a/b?token=1",
        "93.184.216.34",
    )
