"""Settings: defaults, the TOML file, QUARTIER_<SECTION>_<KEY> overrides and the error messages.

Every call passes ``environ`` explicitly so the real environment never leaks in.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from moderation.policy import FederationMode
from node.config import CommunityKind, load_settings
from node.errors import ConfigError

FULL_CONFIG = """\
[server]
base_url = "https://lilas.example"
host = "192.168.1.20"
port = 9001
max_body_bytes = 2048
log_level = "DEBUG"

[storage]
data_dir = "/srv/quartier"
database_url = "postgres://quartier:secret@localhost:5432/quartier"

[community]
name = "Rue des Lilas"
description = "The lilac street residents"
area = "Rue des Lilas, 75020 Paris"
languages = ["fr", "en", "pt-BR"]
federation_mode = "allowlist"

[accounts]
invite_ttl_hours = 24
session_ttl_days = 7
login_max_attempts = 3
login_window_seconds = 60
"""


def write(directory: Path, text: str, name: str = "quartier.toml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path | None, text: str | None = None, **environ: str) -> str:
    """Load ``text`` (written to ``path``) with ``environ``; return the ConfigError message."""
    if text is not None and path is not None:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ=environ)
    return str(info.value)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "quartier.toml"


# Loading


def test_defaults_apply_without_any_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.server.base_url == "http://127.0.0.1:8080"
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8080
    assert settings.server.max_body_bytes == 1_048_576
    assert settings.server.log_level == "INFO"
    assert settings.storage.data_dir == "data"
    assert settings.community.name == "My neighbourhood"
    assert settings.community.languages == ("en",)
    assert settings.community.federation_mode is FederationMode.OPEN
    assert settings.community.kind is CommunityKind.NEIGHBOURHOOD
    assert settings.accounts.invite_ttl_hours == 168
    assert settings.accounts.session_ttl_days == 30
    assert settings.accounts.login_max_attempts == 5
    assert settings.accounts.login_window_seconds == 900
    # Without a file, relative paths are relative to the working directory.
    assert settings.data_path == (tmp_path / "data").resolve()


def test_default_file_in_working_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, '[community]\nname = "Cour Carrée"\n')
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}).community.name == "Cour Carrée"


def test_full_file_loads_every_setting(config_path: Path) -> None:
    config_path.write_text(FULL_CONFIG, encoding="utf-8")
    settings = load_settings(config_path, environ={})
    assert settings.server.base_url == "https://lilas.example"
    assert settings.server.host == "192.168.1.20"
    assert settings.server.port == 9001
    assert settings.server.max_body_bytes == 2048
    assert settings.server.log_level == "DEBUG"
    assert settings.storage.data_dir == "/srv/quartier"
    assert settings.database_url == "postgres://quartier:secret@localhost:5432/quartier"
    assert settings.community.name == "Rue des Lilas"
    assert settings.community.description == "The lilac street residents"
    assert settings.community.area == "Rue des Lilas, 75020 Paris"
    assert settings.community.languages == ("fr", "en", "pt-BR")
    assert settings.community.federation_mode is FederationMode.ALLOWLIST
    assert settings.accounts.invite_ttl_hours == 24
    assert settings.accounts.session_ttl_days == 7
    assert settings.accounts.login_max_attempts == 3
    assert settings.accounts.login_window_seconds == 60
    assert settings.data_path == Path("/srv/quartier")


def test_partial_file_keeps_defaults_for_the_rest(config_path: Path) -> None:
    config_path.write_text("[server]\nport = 9000\n", encoding="utf-8")
    settings = load_settings(config_path, environ={})
    assert settings.server.port == 9000
    assert settings.server.host == "127.0.0.1"
    assert settings.community.name == "My neighbourhood"


def test_base_url_trailing_slash_is_dropped(config_path: Path) -> None:
    config_path.write_text('[server]\nbase_url = "https://lilas.example/"\n', encoding="utf-8")
    settings = load_settings(config_path, environ={})
    assert settings.server.base_url == "https://lilas.example"


def test_quartier_config_variable_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "etc", '[community]\nname = "Via QUARTIER_CONFIG"\n')
    settings = load_settings(environ={"QUARTIER_CONFIG": str(path)})
    assert settings.community.name == "Via QUARTIER_CONFIG"


# Environment overrides


@pytest.mark.parametrize(
    ("variable", "raw", "section", "field", "expected"),
    [
        ("QUARTIER_SERVER_BASE_URL", "https://env.example", "server", "base_url", None),
        ("QUARTIER_SERVER_HOST", "::1", "server", "host", None),
        ("QUARTIER_SERVER_PORT", "9100", "server", "port", 9100),
        ("QUARTIER_SERVER_MAX_BODY_BYTES", "4096", "server", "max_body_bytes", 4096),
        ("QUARTIER_SERVER_LOG_LEVEL", "WARNING", "server", "log_level", None),
        ("QUARTIER_STORAGE_DATA_DIR", "/var/lib/quartier", "storage", "data_dir", None),
        (
            "QUARTIER_STORAGE_DATABASE_URL",
            "postgresql://q:pw@db.internal/q",
            "storage",
            "database_url",
            None,
        ),
        ("QUARTIER_COMMUNITY_NAME", "Env Street", "community", "name", None),
        ("QUARTIER_COMMUNITY_DESCRIPTION", "from env", "community", "description", None),
        ("QUARTIER_COMMUNITY_AREA", "Block 7", "community", "area", None),
        (
            "QUARTIER_COMMUNITY_LANGUAGES",
            "de, it ,fr",
            "community",
            "languages",
            ("de", "it", "fr"),
        ),
        (
            "QUARTIER_COMMUNITY_FEDERATION_MODE",
            "local",
            "community",
            "federation_mode",
            FederationMode.LOCAL,
        ),
        ("QUARTIER_ACCOUNTS_INVITE_TTL_HOURS", "12", "accounts", "invite_ttl_hours", 12),
        ("QUARTIER_ACCOUNTS_SESSION_TTL_DAYS", "2", "accounts", "session_ttl_days", 2),
        ("QUARTIER_ACCOUNTS_LOGIN_MAX_ATTEMPTS", "9", "accounts", "login_max_attempts", 9),
        ("QUARTIER_ACCOUNTS_LOGIN_WINDOW_SECONDS", "30", "accounts", "login_window_seconds", 30),
    ],
)
def test_environment_variable_wins_over_the_file(
    config_path: Path,
    variable: str,
    raw: str,
    section: str,
    field: str,
    expected: object,
) -> None:
    config_path.write_text(FULL_CONFIG, encoding="utf-8")
    from_file = getattr(getattr(load_settings(config_path, environ={}), section), field)
    settings = load_settings(config_path, environ={variable: raw})
    value = getattr(getattr(settings, section), field)
    assert value == (raw if expected is None else expected)
    assert value != from_file
    if isinstance(expected, int):
        assert type(value) is int


def test_environment_overrides_apply_without_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(
        environ={"QUARTIER_SERVER_PORT": "9200", "QUARTIER_COMMUNITY_LANGUAGES": "fr,en"}
    )
    assert settings.server.port == 9200
    assert settings.community.languages == ("fr", "en")


def test_unrelated_environment_variables_are_ignored(config_path: Path) -> None:
    config_path.write_text("", encoding="utf-8")
    settings = load_settings(config_path, environ={"HOME": "/root", "QUARTIERX": "1"})
    assert settings.server.port == 8080


# Errors: wrong values in the file


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [
        ('[server]\nport = "abc"\n', "server.port", "'abc'"),
        ('[server]\nport = "8080"\n', "server.port", "'8080'"),
        ("[server]\nport = 8080.0\n", "server.port", "integer"),
        ("[server]\nport = 0\n", "server.port", "greater than or equal to 1"),
        ("[server]\nport = 70000\n", "server.port", "less than or equal to 65535"),
        ('[server]\nbase_url = "https://lilas.example/app"\n', "server.base_url", "no path"),
        ('[server]\nbase_url = "ftp://lilas.example"\n', "server.base_url", "http(s)"),
        ('[server]\nbase_url = "lilas.example"\n', "server.base_url", "http(s)"),
        ('[server]\nlog_level = "LOUD"\n', "server.log_level", "'LOUD'"),
        ('[community]\nlanguages = ["english"]\n', "community.languages", "'english'"),
        ("[community]\nlanguages = []\n", "community.languages", "at least one language"),
        ('[community]\nname = ""\n', "community.name", "community.name"),
        ('[storage]\ndatabase_url = "mysql://x/y"\n', "storage.database_url", "postgres://"),
        ("[accounts]\ninvite_ttl_hours = 0\n", "accounts.invite_ttl_hours", "greater than"),
    ],
)
def test_invalid_value_in_file_names_field_and_file(
    config_path: Path, text: str, field: str, fragment: str
) -> None:
    message = config_error(config_path, text)
    assert field in message
    assert str(config_path) in message
    assert fragment in message


def test_invalid_federation_mode_lists_the_choices(config_path: Path) -> None:
    message = config_error(config_path, '[community]\nfederation_mode = "closed"\n')
    assert "community.federation_mode" in message
    assert str(config_path) in message
    for choice in FederationMode:
        assert choice.value in message


def test_invalid_community_kind_lists_the_choices(config_path: Path) -> None:
    message = config_error(config_path, '[community]\nkind = "city"\n')
    assert "community.kind" in message
    for choice in CommunityKind:
        assert choice.value in message


def test_unknown_key_in_section_lists_known_keys(config_path: Path) -> None:
    message = config_error(config_path, "[server]\nprott = 8080\n")
    assert "server.prott" in message
    assert "unknown setting" in message
    assert str(config_path) in message
    for known in ("base_url", "host", "port", "max_body_bytes", "log_level"):
        assert known in message


def test_unknown_section_is_refused(config_path: Path) -> None:
    message = config_error(config_path, "[sever]\nport = 8080\n")
    assert "sever" in message
    assert "unknown setting" in message
    assert str(config_path) in message
    for known in ("server", "storage", "community", "accounts"):
        assert known in message


def test_internal_root_key_cannot_be_set_from_the_file(config_path: Path) -> None:
    message = config_error(config_path, 'root = "/"\n')
    assert "root" in message
    assert str(config_path) in message


def test_invalid_toml_syntax_names_the_file(config_path: Path) -> None:
    message = config_error(config_path, "[server\nport = 8080\n")
    assert str(config_path) in message
    assert "not valid TOML" in message
    assert "line 1" in message


def test_explicitly_named_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "quartier.toml"
    message = config_error(missing)
    assert str(missing) in message
    assert "no such file" in message


def test_missing_file_named_by_quartier_config_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "absent.toml"
    message = config_error(None, QUARTIER_CONFIG=str(missing))
    assert str(missing) in message
    assert "no such file" in message


# Errors: wrong environment variables


def test_unknown_environment_variable_is_refused(config_path: Path) -> None:
    message = config_error(config_path, "", QUARTIER_SERVER_PROTT="8080")
    assert "QUARTIER_SERVER_PROTT" in message
    assert "server.prott" in message


def test_environment_variable_with_unknown_section_is_refused(config_path: Path) -> None:
    message = config_error(config_path, "", QUARTIER_SEVER_PORT="8080")
    assert "QUARTIER_SEVER_PORT" in message
    assert "unknown" in message


def test_environment_integer_that_is_not_an_integer(config_path: Path) -> None:
    message = config_error(config_path, "", QUARTIER_SERVER_PORT="eighty")
    assert "QUARTIER_SERVER_PORT" in message
    assert "integer" in message
    assert "'eighty'" in message


@pytest.mark.parametrize(
    ("variable", "raw", "field", "fragment"),
    [
        ("QUARTIER_SERVER_PORT", "70000", "server.port", "65535"),
        ("QUARTIER_SERVER_BASE_URL", "http://lilas.example/sub", "server.base_url", "no path"),
        ("QUARTIER_SERVER_BASE_URL", "ftp://lilas.example", "server.base_url", "http(s)"),
        ("QUARTIER_COMMUNITY_FEDERATION_MODE", "closed", "community.federation_mode", "allowlist"),
        ("QUARTIER_COMMUNITY_LANGUAGES", "fr,English", "community.languages", "'English'"),
        ("QUARTIER_COMMUNITY_LANGUAGES", "", "community.languages", "at least one"),
    ],
)
def test_invalid_environment_value_names_field_and_variable(
    config_path: Path, variable: str, raw: str, field: str, fragment: str
) -> None:
    # The file is valid: the error must blame the variable, not the file.
    message = config_error(config_path, FULL_CONFIG, **{variable: raw})
    assert field in message
    assert f"environment variable {variable}" in message
    assert fragment in message


# Paths


def test_relative_data_dir_is_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "etc" / "quartier", '[storage]\ndata_dir = "var/data"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(path, environ={})
    assert settings.data_path == (tmp_path / "etc" / "quartier" / "var" / "data").resolve()
    assert settings.data_path.is_absolute()


def test_relative_config_path_resolves_against_its_own_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "conf", '[storage]\ndata_dir = "d"\n')
    monkeypatch.chdir(tmp_path)
    settings = load_settings(Path("conf/quartier.toml"), environ={})
    assert settings.data_path == (tmp_path / "conf" / "d").resolve()


def test_absolute_data_dir_is_kept(tmp_path: Path, config_path: Path) -> None:
    target = tmp_path / "absolute" / "data"
    config_path.write_text(f"[storage]\ndata_dir = {str(target)!r}\n", encoding="utf-8")
    assert load_settings(config_path, environ={}).data_path == target.resolve()


def test_database_url_defaults_to_sqlite_inside_data_dir(tmp_path: Path) -> None:
    path = write(tmp_path / "conf", '[storage]\ndata_dir = "state"\n')
    settings = load_settings(path, environ={})
    expected = (tmp_path / "conf" / "state").resolve() / "quartier.sqlite3"
    assert settings.database_url == f"sqlite://{expected}"


def test_configured_database_url_is_used_as_is(config_path: Path) -> None:
    config_path.write_text("", encoding="utf-8")
    url = "postgres://quartier:pw@127.0.0.1:5432/quartier"
    settings = load_settings(config_path, environ={"QUARTIER_STORAGE_DATABASE_URL": url})
    assert settings.database_url == url


# Immutability


def test_settings_are_frozen(config_path: Path) -> None:
    config_path.write_text(FULL_CONFIG, encoding="utf-8")
    settings = load_settings(config_path, environ={})
    with pytest.raises(ValidationError):
        settings.server.port = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        settings.community.name = "Changed"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        settings.server = settings.server  # type: ignore[misc]
    assert settings.server.port == 9001
    assert settings.community.name == "Rue des Lilas"
    # Derived values still work on the frozen object.
    assert settings.uris.base_url == "https://lilas.example"


# Hardening


def test_quartier_variables_that_are_not_settings_are_accepted(config_path: Path) -> None:
    # ./run exports QUARTIER_VENV and the test suite QUARTIER_TEST_POSTGRES: neither is a typo.
    config_path.write_text("", encoding="utf-8")
    settings = load_settings(
        config_path,
        environ={
            "QUARTIER_VENV": "/opt/quartier/.venv",
            "QUARTIER_TEST_POSTGRES": "postgres://postgres:pw@127.0.0.1/postgres",
        },
    )
    assert settings.server.port == 8080
    assert settings.storage.database_url == ""


def test_an_invalid_database_url_is_reported_without_its_password(config_path: Path) -> None:
    message = config_error(config_path, "", QUARTIER_STORAGE_DATABASE_URL="mysql://u:s3cret@h/db")
    assert "storage.database_url" in message
    assert "environment variable QUARTIER_STORAGE_DATABASE_URL" in message
    assert "***" in message
    assert "s3cret" not in message


def test_trusted_proxies_accept_addresses_and_networks(config_path: Path) -> None:
    config_path.write_text('[server]\ntrusted_proxies = ["10.0.0.0/8", "::1"]\n', encoding="utf-8")
    settings = load_settings(config_path, environ={})
    assert settings.server.trusted_proxies == ("10.0.0.0/8", "::1")
    assert [str(n) for n in settings.server.trusted_networks] == ["10.0.0.0/8", "::1/128"]


def test_trusted_proxies_from_the_environment(config_path: Path) -> None:
    config_path.write_text("", encoding="utf-8")
    settings = load_settings(
        config_path, environ={"QUARTIER_SERVER_TRUSTED_PROXIES": "127.0.0.1, fd00::/8"}
    )
    assert settings.server.trusted_proxies == ("127.0.0.1", "fd00::/8")


def test_trusted_proxies_refuse_what_is_not_an_address(config_path: Path) -> None:
    message = config_error(config_path, '[server]\ntrusted_proxies = ["not-an-ip"]\n')
    assert "server.trusted_proxies" in message
    assert "'not-an-ip'" in message
    assert str(config_path) in message


def test_a_language_tag_with_a_trailing_newline_is_refused(config_path: Path) -> None:
    message = config_error(config_path, '[community]\nlanguages = ["en\\n"]\n')
    assert "community.languages" in message
    assert str(config_path) in message


# The public URL: configured, or derived from host and port


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", "8080", "http://127.0.0.1:8080"),
        ("127.0.0.1", "9000", "http://127.0.0.1:9000"),
        ("localhost", "80", "http://localhost"),
        ("::1", "8080", "http://[::1]:8080"),
        ("192.168.1.20", "8443", "http://192.168.1.20:8443"),
    ],
)
def test_unset_base_url_follows_host_and_port(
    config_path: Path, host: str, port: str, expected: str
) -> None:
    environ = {"QUARTIER_SERVER_HOST": host, "QUARTIER_SERVER_PORT": port}
    settings = load_settings(write(config_path.parent, ""), environ=environ)
    assert settings.server.base_url == expected
    assert settings.server.base_url_derived
    assert settings.uris.instance_actor == f"{expected}/actor"


def test_an_empty_base_url_in_the_file_is_derived_too(config_path: Path) -> None:
    write(config_path.parent, '[server]\nbase_url = ""\nport = 9001\n')
    settings = load_settings(config_path, environ={})
    assert settings.server.base_url == "http://127.0.0.1:9001"
    assert settings.server.base_url_derived


def test_a_configured_base_url_is_not_derived(config_path: Path) -> None:
    settings = load_settings(write(config_path.parent, FULL_CONFIG), environ={})
    assert settings.server.base_url == "https://lilas.example"
    assert not settings.server.base_url_derived
    assert settings.server.port_mismatch() is None  # a proxy in front: other host, other port


@pytest.mark.parametrize("host", ["0.0.0.0", "::", ""])  # noqa: S104 (no socket is opened)
def test_listening_everywhere_needs_a_base_url(config_path: Path, host: str) -> None:
    message = config_error(config_path, f'[server]\nhost = "{host}"\n')
    assert message.startswith("invalid configuration: server.base_url (host in ")
    assert "\n" not in message
    assert "QUARTIER_SERVER_BASE_URL" in message


def test_command_line_overrides_win_and_are_named_in_errors(config_path: Path) -> None:
    write(config_path.parent, "[server]\nport = 9001\n")
    settings = load_settings(
        config_path, environ={"QUARTIER_SERVER_PORT": "9002"}, overrides={"server.port": 9003}
    )
    assert settings.server.base_url == "http://127.0.0.1:9003"
    with pytest.raises(ConfigError, match=r"server\.port \(in the command line\)"):
        load_settings(config_path, environ={}, overrides={"server.port": 0})


def test_a_loopback_base_url_at_another_port_is_a_mismatch(config_path: Path) -> None:
    write(config_path.parent, '[server]\nbase_url = "http://localhost:8080"\nport = 9000\n')
    warning = load_settings(config_path, environ={}).server.port_mismatch()
    assert warning is not None
    assert "http://localhost:8080" in warning
    assert "port 9000" in warning
