"""Stream URLs are stored encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with a key kept in a file outside the
database and outside the data folder, so a copy of either alone shows no camera password.

The key file (0600) is made on first use. Lose it and the stored streams cannot be restored (they are kept,
skipped with a warning: add them again); replace it and the same happens. Its default place is beside the
data folder: ``data/`` -> ``data.key``."""
from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ..runtime.private import FILE_MODE, open_private, private_dir

PREFIX = "enc1:"


class SecretError(Exception):
    pass


def default_key_file(data_dir: Path) -> Path:
    return data_dir.absolute().with_name(data_dir.absolute().name + ".key")


class SecretBox:
    def __init__(self, key_file: Path):
        self.key_file = key_file
        if key_file.exists():
            key_file.chmod(FILE_MODE)
            key = key_file.read_bytes().strip()
        else:
            if not key_file.parent.exists():
                private_dir(key_file.parent)
            key = Fernet.generate_key()
            with open_private(key_file) as fh:
                fh.write(key + b"\n")
        try:
            self._fernet = Fernet(key)
        except ValueError as exc:
            raise SecretError(f"{key_file} is not a key file of deepfake-streamer") from exc

    @staticmethod
    def is_sealed(value: str) -> bool:
        return value.startswith(PREFIX)

    def seal(self, text: str) -> str:
        return PREFIX + self._fernet.encrypt(text.encode()).decode()

    def open(self, value: str) -> str:
        """The plain text of a sealed value (a plain one is returned as it is); SecretError with another key."""
        if not self.is_sealed(value):
            return value
        try:
            return self._fernet.decrypt(value[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise SecretError(f"it was encrypted with another key than {self.key_file}") from None
