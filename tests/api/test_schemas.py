"""schemas.schema(): response shapes from a typed field list."""

from __future__ import annotations

from rest_framework import serializers as s

from quaysquash.api.schemas import PlatformSchema, schema


def test_it_builds_a_shape_from_its_field_list():
    shape = schema(
        "ExampleSchema",
        "name:str size:int? tags:[str] labels:{str} kind:a|b platforms:[PlatformSchema] more:int",
        optional="more",
        help={"size": "bytes"},
    )
    fields = shape().fields
    assert shape.__name__ == "ExampleSchema"
    assert list(fields) == ["name", "size", "tags", "labels", "kind", "platforms", "more"]
    assert isinstance(fields["name"], s.CharField) and fields["name"].required
    assert fields["size"].allow_null and fields["size"].help_text == "bytes"
    assert isinstance(fields["tags"].child, s.CharField)
    assert isinstance(fields["labels"], s.DictField)
    assert list(fields["kind"].choices) == ["a", "b"]
    assert isinstance(fields["platforms"].child, PlatformSchema)
    assert fields["more"].required is False
    answer = shape(data={"name": "n", "size": None, "tags": [], "labels": {}, "kind": "c"})
    assert not answer.is_valid()
    assert set(answer.errors) == {"kind", "platforms"}  # a choice outside the list; required
