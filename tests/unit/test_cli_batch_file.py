"""`esms-calls batch FILE.csv`: the file read into POST /batches, every bad row reported at once
with its line number, and nothing sent from a bad file."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from esms_calls_cli.batch_file import BatchRow, read_batch_file
from esms_calls_cli.errors import BadInput
from tests.support.cli import run_cli

pytestmark = pytest.mark.unit


def csv_file(tmp_path: Path, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "numbers.csv"
    path.write_text(text, encoding=encoding)
    return path


def refusal(path: Path) -> str:
    with pytest.raises(BadInput) as refused:
        read_batch_file(path)
    return str(refused.value)


def test_numbered_variable_columns_become_each_rows_variables(tmp_path: Path) -> None:
    # Given a spreadsheet export: a BOM, a header in any case, a blank line, a short script row
    path = csv_file(
        tmp_path,
        "\ufeffPhone,Var1,var2\r\n0912345678,Lan,14:00\r\n\r\n+84 987 654 321,Minh,\r\n",
    )
    # When it is read
    rows = read_batch_file(path)
    # Then each row keeps its line, its number and its variables in order
    assert rows == [
        BatchRow(2, "0912345678", ["Lan", "14:00"]),
        BatchRow(4, "+84 987 654 321", ["Minh"]),
    ]


def test_one_variables_column_is_split_on_the_providers_separator(tmp_path: Path) -> None:
    path = csv_file(tmp_path, 'phone,variables\n0912345678,"Nguyễn Văn An||1.250.000 đồng"\n')
    assert read_batch_file(path) == [BatchRow(2, "0912345678", ["Nguyễn Văn An", "1.250.000 đồng"])]


def test_every_bad_row_is_reported_with_its_line(tmp_path: Path) -> None:
    # Given a file with an empty phone, a gap in the variables and a row too long
    path = csv_file(
        tmp_path, "phone,var1,var2\n,1,2\n0912345678,,2\n0912345679,1,2,3\n0912345670\n"
    )
    # When it is read
    message = refusal(path)
    # Then all three are named by line, and the file is refused as a whole
    assert message == (
        f"{path}: 3 bad row(s), nothing sent:\n"
        "  line 2: phone is empty\n"
        "  line 3: var1 is empty but a later variable is given\n"
        "  line 4: 4 cells, the header has 3"
    )


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "the first line must be a header with a `phone` column"),
        ("number,var1\n0912345678,1\n", "the first line must be a header with a `phone` column"),
        ("phone,name\n0912345678,Lan\n", "unknown column(s) name (phone, var1..varN or variables)"),
        ("phone,var1,var3\n0912345678,1,3\n", "variable columns must be var1, var2, … with none"),
        ("phone,var1,variables\n0912345678,1,2\n", "as var1..varN or as `variables`, not both"),
        ("phone,phone\n0912345678,0912345679\n", "column(s) given twice: phone"),
        ("phone\n\n", "no rows under the header"),
    ],
)
def test_a_bad_header_or_an_empty_file_is_refused(
    tmp_path: Path, text: str, complaint: str
) -> None:
    assert complaint in refusal(csv_file(tmp_path, text))


def test_a_file_that_is_not_utf8_or_not_there_is_one_clear_line(tmp_path: Path) -> None:
    latin1 = csv_file(tmp_path, "phone,var1\n0912345678,Hà Noi\n", encoding="latin-1")
    assert refusal(latin1).endswith("not UTF-8 text (save the CSV as UTF-8)")
    assert refusal(tmp_path / "missing.csv").endswith("No such file or directory")


def test_a_script_batch_sends_the_script_as_defaults_and_each_rows_variables(
    tmp_path: Path,
) -> None:
    # Given three numbers, two with their variables
    path = csv_file(
        tmp_path, "phone,var1,var2\n0912345678,Lan,14:00\n0912345679\n0912345670,Minh,9:00\n"
    )
    answer = {"batch_id": "b1", "accepted": 3, "invalid": [], "skipped": []}
    # When they are sent as one batch for the REMIND1 script
    result = run_cli(
        "batch", str(path), "--tts-template", "REMIND1", "--voice", "hatieumai",
        "--batch-id", "reminders-1", "--name", "reminders",
        answer=lambda r: httpx.Response(202, json=answer),
    )  # fmt: skip
    # Then POST /batches gets the script once and each entry its own variables
    assert result.code == 0, result.stderr
    assert result.requests[0].url.path == "/batches"
    assert result.body() == {
        "batch_id": "reminders-1",
        "name": "reminders",
        "defaults": {"tts": {"template_id": "REMIND1", "voice": "hatieumai"}},
        "calls": [
            {"phone": "0912345678", "tts": {"variables": ["Lan", "14:00"]}},
            "0912345679",
            {"phone": "0912345670", "tts": {"variables": ["Minh", "9:00"]}},
        ],
    }
    assert result.stdout == "batch b1: 3 accepted, 0 invalid, 0 skipped\n"
    assert result.stderr == "follow it: esms-calls watch --batch b1\n"


def test_entries_the_api_finds_invalid_are_shown_by_their_line_in_the_file(
    tmp_path: Path,
) -> None:
    # Given a recording batch whose second number the API refuses
    path = csv_file(tmp_path, "phone\n0912345678\n\n12345\n")
    invalid = [
        {"index": 1, "errors": [{"field": "phone", "message": "must be a Vietnamese phone number"}]}
    ]
    answer = {"batch_id": "b2", "accepted": 1, "invalid": invalid, "skipped": []}
    # When it is sent
    result = run_cli(
        "batch", str(path), "--template-id", "123",
        answer=lambda r: httpx.Response(202, json=answer),
    )  # fmt: skip
    # Then the refusal points at line 4 of the file, where that number is
    assert result.body()["defaults"] == {"template_id": "123"}
    assert result.body()["calls"] == ["0912345678", "12345"]
    assert result.stdout.splitlines() == [
        "batch b2: 1 accepted, 1 invalid, 0 skipped",
        "  invalid line 4: phone: must be a Vietnamese phone number",
    ]
    # And the batch id sent was the client's own, fit for the API's 36 characters
    assert 0 < len(result.body()["batch_id"]) <= 36


def test_variables_for_a_recording_are_refused_before_sending(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "phone,var1\n0912345678,1\n0912345679,\n")
    result = run_cli("batch", str(path), "--template-id", "123")
    assert (result.code, result.requests) == (1, [])
    assert result.stderr == (
        f"error: {path}: variables on line(s) 2 need --tts-template (a recording has none)\n"
    )


def test_a_bad_file_sends_nothing_and_exits_1(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "phone\n\n,\n")
    result = run_cli("batch", str(path), "--template-id", "123")
    assert (result.code, result.requests) == (1, [])
    assert result.stderr == "error: " + f"{path}: no rows under the header\n"
