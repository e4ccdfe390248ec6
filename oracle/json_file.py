"""Reading a JSON file the harness keeps (a corpus case, a replay's results, a hunt's
records, a triage) so that a broken one is one line, not a traceback.

These files are edited by hand and copied between machines: one may be truncated, not
UTF-8, nested past Python's recursion limit, a FIFO or gigabytes.  Each of those is a
`JsonFileError` naming the file and what is wrong with it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from oracle.regular_file import read_regular

JSON_FILE_LIMIT = 64 << 20  # far past any case.json or replay the harness writes


class JsonFileError(ValueError):
    """A JSON file that cannot be read; the message is one line naming the file."""


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON value in the file at `path`, or JsonFileError."""
    where = os.fspath(path)
    try:
        text = read_regular(path, JSON_FILE_LIMIT).decode("utf-8")
        return json.loads(text)
    except FileNotFoundError:
        raise
    except OSError as e:
        raise JsonFileError(f"{where}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise JsonFileError(f"{where}: not UTF-8 (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise JsonFileError(f"{where}: not JSON: {e}") from None
    except RecursionError:
        raise JsonFileError(f"{where}: not JSON the harness reads: nested too deeply") from None
