"""The two Milvus collections citeqa keeps: chunks (dense vector + BM25) and the document manifest.

The chunk collection records the embedding model and schema version it was built with, so an
index is never searched with vectors of another model, and an older layout is named as such.
"""

from __future__ import annotations

from typing import Any

from citeqa.core.errors import EmbedderMismatch, SchemaOutdated, StoreError

TEXT_MAX = 16_384  # bytes; chunks are bounded in tokens, far below this
PATH_MAX = 4_096
LOCATION_MAX = 512
# 3: a `location` field ("slide 7", "section 'Warranty'") for formats without pages.
SCHEMA_VERSION = "3"
CHUNK_FIELDS = ["text", "source", "page", "location", "chunk_index", "doc_hash"]
MANIFEST_FIELDS = ["path", "content_hash", "pending_hash", "pages", "chunks", "ingested_at"]
REINDEX_HINT = "run `citeqa reindex` to rebuild it from your files, or set CITEQA_COLLECTION to a new name"


def create_chunks(client: Any, name: str, *, embed_name: str, dim: int) -> None:
    from pymilvus import DataType, Function, FunctionType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
    s.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX, enable_analyzer=True)
    s.add_field("source", DataType.VARCHAR, max_length=PATH_MAX)
    s.add_field("page", DataType.INT64)  # 0: the file has no pages
    s.add_field("location", DataType.VARCHAR, max_length=LOCATION_MAX)  # "" unless a slide or section
    s.add_field("chunk_index", DataType.INT64)
    s.add_field("char_start", DataType.INT64)
    s.add_field("char_end", DataType.INT64)
    s.add_field("doc_hash", DataType.VARCHAR, max_length=64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_function(
        Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"])
    )
    idx = client.prepare_index_params()
    idx.add_index("vector", index_type="AUTOINDEX", metric_type="COSINE")
    idx.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection(
        name,
        schema=s,
        consistency_level="Strong",
        properties={"citeqa.embed_model": embed_name, "citeqa.dim": str(dim), "citeqa.schema": SCHEMA_VERSION},
    )
    # pymilvus polls a new index's state every 0.5 s until it is built; on a collection that
    # is still empty there is nothing to build, and those polls were 1.5 s of a first ingest.
    client.create_index(name, idx, sync=False)


def create_manifest(client: Any, name: str) -> None:
    from pymilvus import DataType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("path", DataType.VARCHAR, is_primary=True, max_length=PATH_MAX)
    s.add_field("content_hash", DataType.VARCHAR, max_length=64)
    s.add_field("pending_hash", DataType.VARCHAR, max_length=64)
    s.add_field("pages", DataType.INT64)
    s.add_field("chunks", DataType.INT64)
    s.add_field("ingested_at", DataType.DOUBLE)
    # Milvus requires a vector field in every collection; this one is never searched.
    s.add_field("_unused", DataType.FLOAT_VECTOR, dim=2)
    idx = client.prepare_index_params()
    idx.add_index("_unused", index_type="AUTOINDEX", metric_type="L2")
    client.create_collection(name, schema=s, consistency_level="Strong")
    client.create_index(name, idx, sync=False)


def check_chunks(client: Any, name: str, *, embed_name: str, dim: int) -> None:
    """Raise unless collection `name` was built by this citeqa's schema with this embedding model."""
    desc = client.describe_collection(name)
    props = desc.get("properties") or {}
    names = {f["name"] for f in desc.get("fields", [])}
    recorded = props.get("citeqa.embed_model")
    if recorded is None and "vector" not in names:
        raise StoreError(f"collection {name!r} was not created by citeqa; choose another CITEQA_COLLECTION")
    if props.get("citeqa.schema") != SCHEMA_VERSION:
        raise SchemaOutdated(f"collection {name!r} was built by an older citeqa; {REINDEX_HINT}")
    recorded_dim = int(props.get("citeqa.dim", -1))
    if recorded != embed_name or recorded_dim != dim:
        raise EmbedderMismatch(
            f"collection {name!r} was built with embedding model {recorded!r} (dim {recorded_dim}), "
            f"but {embed_name!r} (dim {dim}) is configured; set CITEQA_EMBED_MODEL={recorded}, "
            f"or {REINDEX_HINT}"
        )
