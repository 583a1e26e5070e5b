"""A batch as a CSV file: a `phone` column, and a call's script variables either in `var1`..`varN`
columns or in one `variables` column (joined by `||`, as the provider's VariableListStr).

Every bad row is reported at once, by line number, and nothing is sent: a half-sent file is
harder to fix than a refused one."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from esms_calls_cli.errors import BadInput

VARIABLES_SEPARATOR = "||"
_NUMBERED = re.compile(r"var([1-9][0-9]*)")
MAX_REPORTED = 20


@dataclass(frozen=True)
class BatchRow:
    line: int
    phone: str
    variables: list[str]


def read_batch_file(path: Path) -> list[BatchRow]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets write a BOM
    except OSError as error:
        raise BadInput(f"{path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text (save the CSV as UTF-8)") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in next(reader, [])]
    var_columns = _check_header(path, header)
    rows: list[BatchRow] = []
    problems: list[str] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, trailing ones especially
        line = reader.line_num
        if len(cells) > len(header):
            problems.append(f"line {line}: {len(cells)} cells, the header has {len(header)}")
            continue
        values = dict(zip(header, (cell.strip() for cell in cells), strict=False))
        phone = values.get("phone", "")
        if not phone:
            problems.append(f"line {line}: phone is empty")
            continue
        variables, problem = _variables(values, var_columns)
        if problem:
            problems.append(f"line {line}: {problem}")
            continue
        rows.append(BatchRow(line, phone, variables))
    if problems:
        shown = problems[:MAX_REPORTED]
        more = len(problems) - len(shown)
        shown += [f"… and {more} more"] if more else []
        raise BadInput(
            f"{path}: {len(problems)} bad row(s), nothing sent:\n  " + "\n  ".join(shown)
        )
    if not rows:
        raise BadInput(f"{path}: no rows under the header")
    return rows


def _check_header(path: Path, header: list[str]) -> list[str]:
    """The variable columns in order (`var1`, `var2`, … or `variables`); refuses a bad header."""
    if "phone" not in header:
        raise BadInput(f"{path}: the first line must be a header with a `phone` column")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise BadInput(f"{path}: column(s) given twice: {', '.join(duplicates)}")
    numbered = sorted(
        (int(m.group(1)) for name in header if (m := _NUMBERED.fullmatch(name))), key=int
    )
    unknown = [
        name
        for name in header
        if name not in ("phone", "variables") and not _NUMBERED.fullmatch(name)
    ]
    if unknown:
        raise BadInput(
            f"{path}: unknown column(s) {', '.join(unknown)} (phone, var1..varN or variables)"
        )
    if numbered and "variables" in header:
        raise BadInput(f"{path}: give the variables as var1..varN or as `variables`, not both")
    if numbered != list(range(1, len(numbered) + 1)):
        raise BadInput(f"{path}: variable columns must be var1, var2, … with none missing")
    return [f"var{n}" for n in numbered] or (["variables"] if "variables" in header else [])


def _variables(values: dict[str, str], columns: list[str]) -> tuple[list[str], str | None]:
    if columns == ["variables"]:
        joined = values.get("variables", "")
        return (
            [part.strip() for part in joined.split(VARIABLES_SEPARATOR)] if joined else []
        ), None
    given = [values.get(column, "") for column in columns]
    while given and not given[-1]:
        given.pop()  # a script with fewer variables leaves the last columns empty
    if "" in given:
        missing = columns[given.index("")]
        return [], f"{missing} is empty but a later variable is given"
    return given, None
