"""``seia upload``: the file lands at <tenant>/<model>/<kind>/<name>, large files with progress on stderr."""

import io
import json
import os

import boto3
import pytest
from moto import mock_aws

from seia_admin import cli
from seia_client import upload

BUCKET = "seia-files"


@pytest.fixture
def s3(monkeypatch, tmp_path):
    from seia.config import get_settings

    monkeypatch.setenv("SEIA_HOME", str(tmp_path / "home"))  # no .local/env of a running stack
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("SEIA_BUCKET", BUCKET)
    get_settings.cache_clear()
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client
    get_settings.cache_clear()


def test_a_large_file_is_uploaded_in_parts_with_progress(s3, tmp_path, capsys):
    path = tmp_path / "big.csv"
    path.write_bytes(b"prediction_id\n" + b"x" * (20 << 20))
    assert (
        cli.main(
            [
                "upload",
                str(path),
                "--tenant",
                "acme",
                "--model",
                "churn",
                "--kind",
                "predictions",
                "--name",
                "2026/11/big.csv",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["key"] == "acme/churn/predictions/2026/11/big.csv"
    assert out["result_key"] == "acme/churn/_results/predictions/2026/11/big.csv.json"
    assert out["etag"].endswith("-2")  # multipart
    assert s3.head_object(Bucket=BUCKET, Key=out["key"])["ContentLength"] == os.path.getsize(path)


def test_progress_reaches_100_percent_on_stderr(s3, tmp_path, capsys):
    path = tmp_path / "big.csv"
    path.write_bytes(b"y" * (9 << 20))
    location = upload.target_key(str(path), "acme", "churn", "predictions")
    upload.upload(s3, str(path), BUCKET, location, progress=True)
    err = capsys.readouterr().err
    assert "seia upload:" in err and "(100%" in err and err.endswith("\n")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_shows_on_a_terminal_only_and_not_with_no_progress(s3, tmp_path, capsys, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_bytes(b"y" * (9 << 20))
    argv = ["upload", str(path), "--tenant", "acme", "--model", "churn", "--kind", "predictions"]
    assert cli.main(argv) == 0
    assert capsys.readouterr().err == ""  # stderr is captured: not a terminal
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert cli.main(argv) == 0
    assert "(100%" in terminal.getvalue()
    terminal.seek(0)
    terminal.truncate()
    assert cli.main([*argv, "--no-progress"]) == 0
    assert terminal.getvalue() == ""


@pytest.mark.parametrize(
    "kind, name, text", [("predictions", "a.xlsx", "unsupported file name"), ("predictions", "a.csv", None)]
)
def test_a_name_the_function_would_refuse_is_not_uploaded(s3, tmp_path, capsys, kind, name, text):
    path = tmp_path / "a.xlsx"
    path.write_text("x")
    code = cli.main(["upload", str(path), "--tenant", "acme", "--model", "churn", "--kind", kind, "--name", name])
    if text is None:
        assert code == 0
    else:
        assert code == 2 and text in capsys.readouterr().err
        assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_wait_returns_the_result_of_this_upload(s3, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("prediction_id\n")
    uploaded = upload.upload(s3, str(path), BUCKET, upload.target_key(str(path), "acme", "churn", "predictions"))
    assert upload.wait_for_result(s3, uploaded, timeout_s=0, poll_s=0) is None
    result = {"status": "loaded", "rows": 0, "object": {"etag": uploaded.etag}}
    s3.put_object(Bucket=BUCKET, Key=uploaded.result_key, Body=json.dumps(result))
    assert upload.wait_for_result(s3, uploaded, timeout_s=1, poll_s=0) == result
