"""The built wheel carries everything: templates, static files, migrations, the rule pack."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from hub.deploy import FILES as DEPLOY_FILES

REPO = Path(__file__).resolve().parents[2]


def test_wheel_installs_into_a_fresh_venv_and_renders_the_login_page(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    [wheel] = dist.glob("engagement_hub-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "templates/base.html",
        "templates/auth/login.html",
        "hub/static/htmx.min.js",
        "migrations/env.py",
        "policies/packs/culture.yaml",
        "hub/demo_data.json",
        *(f"hub/deploy/{name}" for name in DEPLOY_FILES),
    ):
        assert needed in names, f"{needed} is missing from the wheel"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "no LICENSE in the wheel"
    # training code is a developer's tool: it needs scikit-learn and the shared data set
    assert not [n for n in names if "train_offensive" in n]

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True
    )
    script = (
        "import hub, templates; from hub import create_app;"
        "app = create_app({'DATABASE_URL': 'sqlite://', 'SECRET_KEY': 'x', "
        "'SANDBOX_URL': 'sqlite://'});"
        "assert 'site-packages' in templates.__file__, templates.__file__;"
        "r = app.test_client().get('/login');"
        "assert r.status_code == 200, r.status_code;"
        "assert b'Sign in' in r.data and b'csrf_token' in r.data;"
        "print('ok')"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_INSTANCE_PATH"] = str(tmp_path / "instance")
    out = subprocess.run(
        [str(py), "-c", script], cwd=tmp_path, env=env, check=True, capture_output=True, text=True
    )
    assert out.stdout.strip() == "ok"
