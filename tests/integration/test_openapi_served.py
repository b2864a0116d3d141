"""The query function serves the OpenAPI document (through the real handler, which needs the database)."""

from seia_query import openapi


def test_the_query_function_serves_the_document_without_a_key(api):
    reply = api.get("/v1/openapi.json")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.body == openapi.document()
