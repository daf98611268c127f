"""Options of the `files` connector: where the exports are, how to read them, how old they may be."""

from __future__ import annotations

import codecs
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.sdk import EntityMapBase
from connectors.sdk.regions import Region

__all__ = ["AsOf", "FilesEntityMap", "FilesOptions", "Format"]

Format = Literal["csv", "tsv", "jsonl", "parquet", "fixed"]
_CLOSED = ConfigDict(extra="forbid", frozen=True)


class FilesEntityMap(EntityMapBase):
    """One entity read from the export's rows: `column` names a header (or a `columns` name)."""


class AsOf(BaseModel):
    """Where the export time comes from: the file's modification time, its name, or a column."""

    model_config = _CLOSED
    source: Literal["mtime", "filename", "column"] = Field(default="mtime", alias="from")
    pattern: str | None = None  # strftime pattern of the file name, e.g. txns_%Y%m%d.csv
    column: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> AsOf:
        if self.source == "filename" and not self.pattern:
            raise ValueError("as_of from filename needs 'pattern', e.g. 'txns_%Y%m%d.csv'")
        if self.source == "column" and not self.column:
            raise ValueError("as_of from column needs 'column', the column holding the export time")
        return self

    def from_name(self, name: str) -> datetime | None:
        """The export time a file name carries, or None when the name does not fit the pattern."""
        base = name.removesuffix(".gz")
        try:
            return datetime.strptime(base, str(self.pattern))
        except ValueError:
            return None


class FilesOptions(BaseModel):
    """A folder (or one file) and a glob of export files, read whole into one table per snapshot."""

    model_config = _CLOSED
    path: str  # a folder, relative to the config file's folder; or one file
    pattern: str = "*"  # glob of file names inside `path`
    files: Literal["latest", "all"] = "latest"  # the newest matching file, or every one unioned
    format: Format = "csv"
    encoding: str = "utf-8"
    compression: Literal["auto", "gzip", "none"] = "auto"  # auto: gzip when the name ends .gz
    header: bool = True
    delimiter: str | None = None  # csv: ',' and tsv: a tab, unless given
    quote: str = '"'
    columns: tuple[str, ...] = ()  # names of the columns of a file without a header
    positions: dict[str, tuple[int, int]] = Field(default_factory=dict)  # fixed: name -> [from, to], 1-based
    as_of: AsOf = AsOf()
    max_age: float | None = Field(default=None, gt=0, description="seconds; older data is served as stale")
    poll_interval: float = Field(default=5.0, gt=0, description="seconds between looks at the files")
    settle: float = Field(default=2.0, ge=0, description="seconds a file must be unchanged before it is read")
    bad_rows_shown: int = Field(default=5, ge=0, description="skipped rows per file that `check` names")
    region: Region | None = None
    entities: dict[str, FilesEntityMap]

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise ValueError(f"unknown encoding '{value}' (valid: utf-8, cp1252, latin-1, utf-16, …)") from None

    @field_validator("positions")
    @classmethod
    def _positions(cls, value: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        bad = [f"{n}: [{a}, {b}]" for n, (a, b) in value.items() if a < 1 or b < a]
        if bad:
            raise ValueError(f"positions are [first, last] character, 1-based, first <= last: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _format_fits(self) -> FilesOptions:
        if self.format == "fixed" and not self.positions:
            raise ValueError("format fixed needs 'positions': {column: [first, last]} (1-based characters)")
        if self.format != "fixed" and self.positions:
            raise ValueError(f"'positions' is for format fixed, not {self.format}")
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ValueError("delimiter must be one character")
        return self

    @property
    def separator(self) -> str:
        return self.delimiter or ("\t" if self.format == "tsv" else ",")
