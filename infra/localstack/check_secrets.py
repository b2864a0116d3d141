#!/usr/bin/env python3
"""Check: Secrets Manager create/get/update/describe/delete on LocalStack.

Usage: python3 infra/localstack/check_secrets.py   (LocalStack must be up)
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lscommon import check, client, suffix

sm = client("secretsmanager")
name = f"seia/check/db-{suffix()}"
value = {"host": "127.0.0.1", "port": 5432, "username": "seia", "password": "p@ss w=rd", "dbname": "seia"}
created = sm.create_secret(Name=name, SecretString=json.dumps(value), Description="check_secrets")
print("ARN:", created["ARN"])
check(
    created["ARN"].startswith(f"arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-"),
    "ARN has AWS shape (name + '-' + 6 random chars)",
)
got = sm.get_secret_value(SecretId=name)
check(json.loads(got["SecretString"]) == value, "get_secret_value by name returns the JSON")
check(sm.get_secret_value(SecretId=created["ARN"])["SecretString"] == got["SecretString"], "get by full ARN")
check("AWSCURRENT" in got["VersionStages"], f"VersionStages {got['VersionStages']}")
sm.put_secret_value(SecretId=name, SecretString=json.dumps({**value, "password": "new"}))
check(json.loads(sm.get_secret_value(SecretId=name)["SecretString"])["password"] == "new", "put_secret_value rotates")
prev = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
check(json.loads(prev["SecretString"])["password"] == value["password"], "AWSPREVIOUS keeps the old value")
sm.create_secret(Name=name + "-bin", SecretBinary=b"\x00\x01")
check(sm.get_secret_value(SecretId=name + "-bin")["SecretBinary"] == b"\x00\x01", "binary secret")
try:
    sm.get_secret_value(SecretId=name + "-missing")
    check(False, "missing secret raises")
except sm.exceptions.ResourceNotFoundException:
    check(True, "missing secret -> ResourceNotFoundException")
sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
sm.delete_secret(SecretId=name + "-bin", ForceDeleteWithoutRecovery=True)
print("check_secrets: PASS")
