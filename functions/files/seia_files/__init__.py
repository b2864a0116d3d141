"""Bulk files: an object dropped at ``s3://<bucket>/<tenant>/<model>/<kind>/<name>`` is loaded into the
tenant's database, and a result object is written next to it under ``_results/``.

The modules, from the edge inwards:

* ``events``: SQS records and the S3 notifications in their bodies, as small dataclasses.
* ``keys``: what an object key means (tenant, model, kind, format) and where its result goes.
* ``storage``: reading the object as a stream, writing the result; S3 errors sorted into
  transient (retry) and final.
* ``formats``: CSV, JSONL and Parquet read in chunks with pyarrow (imported lazily).
* ``columns``: the file's columns checked against the model, column-wise, with row numbers.
* ``encoding``: validated chunks as PostgreSQL binary ``COPY`` data.
* ``repository``: the SQL: staging tables, the final inserts, the ingest log.
* ``loader``: one file, chunk by chunk, into one transaction.
* ``service``: ``FileIngestService``, what the Lambda handler calls.
* ``upload``: ``seia upload``.

Nothing here imports pyarrow at module level, so ``file_ingest_app`` imports fast.
"""
