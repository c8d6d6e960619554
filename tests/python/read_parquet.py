"""Read every Parquet file of a fleetlog export with pyarrow (an independent reader) and
print, as JSON: per file its row count, its Arrow schema (column name -> type text) and
its rows (bytes as hex, timestamps as text), plus the Parquet `created_by` and row-group counts.

Usage: read_parquet.py DIR
"""

import json
import pathlib
import sys

import pyarrow.parquet as pq


def main() -> None:
    root = pathlib.Path(sys.argv[1])
    files = []
    for path in sorted(root.rglob("*.parquet")):
        parquet = pq.ParquetFile(path)
        table = parquet.read()
        files.append(
            {
                "path": path.relative_to(root).as_posix(),
                "num_rows": table.num_rows,
                "row_groups": parquet.metadata.num_row_groups,
                "created_by": parquet.metadata.created_by,
                "schema": {f.name: str(f.type) for f in table.schema},
                "rows": table.to_pylist(),
            }
        )
    # Whole-dataset read, as a data-lake query would do (hive partitioning by date).
    total = sum(f["num_rows"] for f in files)
    print(json.dumps({"files": files, "total_rows": total}, default=plain, sort_keys=True))


def plain(value):
    """bytes as lowercase hex, anything else (timestamps) as its text."""
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


if __name__ == "__main__":
    main()
