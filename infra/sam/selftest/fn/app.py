import json

import selftest_shared


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"pong": selftest_shared.VALUE})}
