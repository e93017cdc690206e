"""The replay and dashboard pages are served like the live page: HTML with the strict CSP, and every file
they reference exists here (nothing external)."""
from __future__ import annotations

import re

import pytest

from .api import api_client


@pytest.mark.parametrize("path", ["/replay", "/dashboard"])
async def test_page_and_its_assets_are_served_locally(random_model, tmp_path, path):
    async with api_client(random_model, tmp_path / "data") as client:
        resp = await client.get(path)
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/html")
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        html = await resp.text()
        assert "<script>" not in html and "style=" not in html  # nothing inline: the CSP would block it
        refs = re.findall(r'(?:src|href)="([^"]+)"', html)
        assets = [r for r in refs if r.startswith("/static/")]
        assert {"/static/style.css", "/static/nav.css", "/static/pages.css"} <= set(assets)
        assert all(r.startswith(("/", "data:")) for r in refs), refs
        seen: set[str] = set()
        while assets:
            asset = assets.pop()
            if asset in seen:
                continue
            seen.add(asset)
            static = await client.get(asset)
            assert static.status == 200, asset
            if asset.endswith(".js"):  # the module's own imports are served too, and theirs
                assets += [f"/static/{dep}" for dep in re.findall(r'from "\./([^"]+)"', await static.text())]
        if path == "/replay":  # the replay page is split into modules by job
            assert {"/static/replay-player.js", "/static/replay-plot.js", "/static/replay-upload.js"} <= seen
