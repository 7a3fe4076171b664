from __future__ import annotations

from pathlib import Path

from publisher.feeds.writer import write_if_changed


def test_writes_only_on_change_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "a" / "rss.xml"
    assert write_if_changed(target, b"one") is True
    stamp = target.stat().st_mtime_ns
    assert write_if_changed(target, b"one") is False
    assert target.stat().st_mtime_ns == stamp
    assert write_if_changed(target, b"one", force=True) is True
    assert write_if_changed(target, b"two!") is True
    assert target.read_bytes() == b"two!"
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in target.parent.iterdir()) == ["rss.xml"]
