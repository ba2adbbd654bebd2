"""The sign-in form says what is wrong: an empty or half-filled form names what is missing."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("form", "missing"),
    [
        ({}, ["Enter your e-mail address.", "Enter your password."]),
        ({"email": "ana@example.test"}, ["Enter your password."]),
        ({"password": "password123"}, ["Enter your e-mail address."]),
    ],
)
def test_an_incomplete_sign_in_names_what_is_missing(app, client, form, missing):
    resp = client.post("/login", data=form)
    assert resp.status_code == 200
    assert "Enter your e-mail and password to sign in." in resp.text
    for message in missing:
        assert message in resp.text
    assert client.get("/queue").status_code == 302  # not signed in


def test_a_wrong_password_says_so(app, client, make_staff):
    ana = make_staff("employee")
    resp = client.post("/login", data={"email": ana.email, "password": "wrong-password"})
    assert "don&#39;t match an active account" in resp.text
    assert client.get("/queue").status_code == 302
