"""CSV, JSONL and Parquet read in chunks, never whole; problems with the file itself are rejections."""

import gzip
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from seia_files import formats
from seia_files.errors import FileRejected


def csv(n: int) -> bytes:
    return ("a,b\n" + "".join(f"{i},x{i}\n" for i in range(n))).encode()


def chunks(fmt, data, compression=None, chunk_rows=10_000, text=()):
    reader = formats.open_chunks(fmt, compression, data, ["a", "b"], chunk_rows, list(text))
    return reader, list(reader)


def test_a_csv_is_read_in_chunks_with_data_row_numbers():
    reader, parts = chunks("csv", io.BytesIO(csv(250_000)), chunk_rows=50_000)
    assert len(parts) >= 4 and all(t.num_rows < 100_000 for _, t in parts)
    firsts = [first for first, _ in parts]
    sizes = [t.num_rows for _, t in parts]
    assert firsts == [1 + sum(sizes[:i]) for i in range(len(sizes))]
    assert sum(sizes) == reader.rows_read == 250_000
    assert parts[0][1].schema.field("a").type == pa.string()  # checked later, with row numbers


def test_a_gzipped_csv_is_decompressed_as_it_streams():
    _, parts = chunks("csv", io.BytesIO(gzip.compress(csv(1000))), "gzip")
    assert sum(t.num_rows for _, t in parts) == 1000


def test_a_truncated_gzip_fails_while_reading():
    with pytest.raises(OSError):
        chunks("csv", io.BytesIO(gzip.compress(csv(50_000))[:-100]), "gzip")


def test_a_row_with_the_wrong_number_of_values_is_named():
    data = csv(5).replace(b"2,x2\n", b"2,x2,extra\n")
    with pytest.raises(FileRejected) as caught:
        chunks("csv", io.BytesIO(data))
    assert (caught.value.errors[0].row, caught.value.errors[0].message) == (3, "expected 2 values, found 3")


def test_an_empty_csv_is_rejected():
    with pytest.raises(FileRejected, match="empty"):
        chunks("csv", io.BytesIO(b""))


def test_jsonl_rows_count_records_and_parse_errors_name_theirs():
    lines = b"".join(b'{"a": %d, "b": "x"}\n' % i for i in range(10))
    reader, parts = chunks("jsonl", io.BytesIO(lines + b"\n" + lines), text=["b"])
    assert sum(t.num_rows for _, t in parts) == 20
    with pytest.raises(FileRejected) as caught:
        chunks("jsonl", io.BytesIO(lines + b'{"a": 1, "b": 2}\n'), text=["b"])
    assert caught.value.errors[0].row == 11


def test_parquet_is_read_batch_by_batch(tmp_path):
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({"a": list(range(100_000)), "b": ["x"] * 100_000}), path, row_group_size=30_000)
    reader, parts = chunks("parquet", str(path), chunk_rows=8_192)
    assert max(t.num_rows for _, t in parts) <= 8_192
    assert sum(t.num_rows for _, t in parts) == 100_000 and parts[-1][0] + parts[-1][1].num_rows == 100_001


def test_a_file_that_is_not_parquet_is_rejected(tmp_path):
    path = tmp_path / "f.parquet"
    path.write_bytes(b"a,b\n1,2\n")
    with pytest.raises(FileRejected, match="not a Parquet file"):
        chunks("parquet", str(path))
