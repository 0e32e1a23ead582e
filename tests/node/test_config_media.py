"""The [media] settings: defaults, the file, the environment, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.config import load_settings
from node.errors import ConfigError

TEMPLATE = Path(__file__).parents[2] / "node" / "default_config.toml"


def test_media_defaults(tmp_path: Path) -> None:
    path = tmp_path / "quartier.toml"
    path.write_text("")
    media = load_settings(path, environ={}).media
    assert media.max_upload_bytes == 10 * 1_048_576
    assert media.max_pixels == 50_000_000
    assert (media.max_side, media.thumbnail_side) == (1600, 400)
    assert media.photos_per_listing == 4
    assert media.uploads_per_hour == 60
    assert media.remote_cache_bytes == 1024 * 1_048_576
    assert media.orphan_hours == 24


def test_media_settings_come_from_the_file_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "quartier.toml"
    path.write_text("[media]\nmax_side = 1200\nphotos_per_listing = 6\n")
    settings = load_settings(path, environ={"QUARTIER_MEDIA_REMOTE_CACHE_BYTES": "0"})
    assert settings.media.max_side == 1200
    assert settings.media.photos_per_listing == 6
    assert settings.media.remote_cache_bytes == 0
    assert settings.media_path == (tmp_path / "data" / "media").resolve()


def test_the_written_template_documents_every_media_setting() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    section = text[text.index("[media]") :]
    for name in (
        "max_upload_bytes", "max_pixels", "max_side", "thumbnail_side", "photos_per_listing",
        "uploads_per_hour", "remote_cache_bytes", "orphan_hours",
    ):  # fmt: skip
        assert f"\n{name} = " in section, name


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"QUARTIER_MEDIA_THUMBNAIL_SIDE": "2000"}, "media.thumbnail_side"),
        ({"QUARTIER_MEDIA_MAX_PIXELS": "200000000"}, "media.max_pixels"),
        ({"QUARTIER_MEDIA_MAX_UPLOAD_BYTES": "ten"}, "QUARTIER_MEDIA_MAX_UPLOAD_BYTES"),
        ({"QUARTIER_MEDIA_PHOTOS_PER_LISTING": "0"}, "media.photos_per_listing"),
        ({"QUARTIER_MEDIA_SIZE": "1"}, "unknown setting media.size"),
    ],
)
def test_invalid_media_settings_name_the_field(tmp_path: Path, env, expected) -> None:
    path = tmp_path / "quartier.toml"
    path.write_text("")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ=env)
    assert expected in str(info.value)


def test_a_thumbnail_larger_than_the_photo_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "quartier.toml"
    path.write_text("[media]\nmax_side = 300\nthumbnail_side = 400\n")
    with pytest.raises(
        ConfigError, match=r"thumbnail_side .*must not exceed media.max_side \(300\)"
    ):
        load_settings(path, environ={})
