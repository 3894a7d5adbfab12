"""The one settings object. Built at the edges (CLI, web app) and passed down."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from citeqa.core import bundled, places
from citeqa.core.errors import ConfigError

RetrievalMode = Literal["dense", "bm25", "hybrid"]
RETRIEVAL_MODES: tuple[RetrievalMode, ...] = get_args(RetrievalMode)
EmbedBackend = Literal["torch", "onnx-int8"]
GenerateMode = Literal["auto", "always", "never"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CITEQA_", env_file=".env", extra="ignore", frozen=True
    )

    # Per-user (citeqa.core.places): the same index from every directory and every edge.
    data_dir: Path = Field(default_factory=places.default_data_dir)
    milvus_uri: str | None = Field(
        None, description="Milvus server or Zilliz Cloud URI; empty means embedded milvus-lite in the data dir"
    )
    milvus_token: SecretStr | None = Field(
        None,
        description="token sent to CITEQA_MILVUS_URI (Milvus: user:password); `citeqa serve-db` requires "
        "it of every client when set",
    )
    collection: str = Field("docs", description="the collection commands use when not told (see `citeqa collections`)")

    embed_model: str | None = Field(None, description="sentence-transformers name or path; empty means the bundled all-MiniLM-L6-v2")
    embed_batch: int = 16
    embed_backend: EmbedBackend = Field(
        "onnx-int8",
        description="onnx-int8: an int8 copy of the embedding model, exported once into the cache dir "
        "(about 2x faster on CPU); torch: the model as shipped. Models other than mean-pooling "
        "sentence-transformers folders always use torch",
    )
    embed_threads: int | None = Field(None, ge=1, description="embedding threads; empty means all cores")
    cache_dir: Path = Field(
        default_factory=places.user_cache_dir, description="derived files shared by every data dir (exported models)"
    )
    chunk_tokens: int = Field(200, ge=32, description="chunk size bound in embedding-model tokens")
    chunk_overlap: int = Field(30, ge=0)

    model: Path | None = Field(None, description="GGUF chat model; empty means the bundled SmolLM2-135M demo model")
    chat_format: str | None = Field(None, description="llama-cpp-python chat format; empty means the GGUF's own template")
    n_ctx: int = Field(4096, ge=512)
    n_threads: int | None = Field(None, ge=1)
    n_gpu_layers: int | None = None
    temperature: float = Field(0.1, ge=0.0, le=2.0)
    max_tokens: int = Field(384, ge=16)
    stop: tuple[str, ...] = ()
    generate: GenerateMode = Field(
        "auto",
        description="whether the chat model writes an answer from the evidence: always; never (the "
        "evidence answer alone, no chat model loaded); auto: always, except with the bundled demo "
        "model, whose sentences rarely pass the support check",
    )

    # A chat model served elsewhere (llama.cpp's server, vLLM, Ollama: the OpenAI chat API) instead
    # of the local GGUF. The token budget still uses n_ctx and max_tokens above.
    llm_url: str | None = Field(
        None,
        description="OpenAI-compatible server to generate with, e.g. http://127.0.0.1:8000/v1 (a URL "
        "without a path gets /v1); empty means the local GGUF (CITEQA_MODEL)",
    )
    llm_api_key: SecretStr | None = Field(None, description="API key sent to CITEQA_LLM_URL as a bearer token")
    llm_model: str | None = Field(None, description="model name at CITEQA_LLM_URL; empty means the first it serves")
    llm_concurrency: int = Field(
        4, ge=1, le=256, description="questions generated at once through CITEQA_LLM_URL (the local model: one)"
    )
    llm_timeout: float = Field(
        120.0, gt=0, description="seconds to wait for CITEQA_LLM_URL to connect, or to send the next piece"
    )

    app_password: SecretStr | None = Field(
        None,
        description="the web app asks for it before showing anything; needed to let it listen on a "
        "non-loopback address (or Streamlit's own [auth] login)",
    )

    top_k: int = Field(4, ge=1, le=100)
    retrieval: RetrievalMode = "hybrid"
    # Calibrated with `citeqa eval --answers never` on SQuAD 2.0 paragraphs (hybrid, top_k 4): the
    # highest threshold at which every reason to abstain together (this one, a subject the documents
    # never mention, no sentence stating what was asked: citeqa.answer.asked) wrongly abstains on at
    # most 5% of answerable questions. 0.44: 4.7% (0.45: 4.9%), 13.4% of the unanswerable ones, and
    # 97.8% of questions about articles not indexed (bench/offcorpus.py). Alone, before the other
    # two reasons existed, it was 0.47. 0 never abstains.
    min_score: float = Field(
        0.44,
        description="abstain, without calling the model, when the best cosine of the question with a "
        "sentence of the retrieved passages is below this",
    )
    reranker: str | None = Field(
        None, description="sentence-transformers CrossEncoder (local folder or cached name) to rerank with; empty: none"
    )

    max_file_mb: float = Field(100.0, gt=0)
    # Zip-based formats (Word, PowerPoint, EPUB) are checked against these from the zip's directory
    # before any member is read: a 400 KB .docx can hold a 400 MB zero-filled image (a zip bomb).
    # Photos and fonts are stored about as large as they are; text XML compresses 5-20 times.
    max_unzipped_mb: float = Field(
        256.0, gt=0, description="total uncompressed size of a .docx, .pptx or .epub's members"
    )
    max_zip_ratio: float = Field(
        100.0,
        gt=1,
        description="how many times larger than stored a member of a .docx, .pptx or .epub over 1 MB may unpack",
    )
    max_zip_entries: int = Field(10_000, ge=1, description="members of a .docx, .pptx or .epub")
    max_page_pixels: int = Field(
        50_000_000,
        ge=1,
        description="pixels of a PDF page rendered for OCR or the web app's page view (a letter page at "
        "OCR's 200 dpi is 3.7 million); a larger page is not rendered",
    )
    parse_timeout: float = Field(
        120.0,
        ge=0,
        description="seconds a file's reader may go without progress (a PDF: a page read or OCR'd) "
        "before the page, or the file, fails and the ingest goes on; 0: no limit",
    )
    ocr: bool = Field(
        True,
        description="read PDF pages without a text layer (scans) with Tesseract, where it is installed; "
        "off: such pages are left out",
    )
    ocr_lang: str = Field(
        "eng", pattern=r"^[A-Za-z_]+(\+[A-Za-z_]+)*$", description="Tesseract language(s) for OCR, e.g. deu+eng"
    )

    workers: int | None = Field(
        None,
        ge=1,
        description="parser processes (with CITEQA_PARSE_TIMEOUT 0, 1 parses in a thread of the ingesting "
        "process instead); empty means one per four cores (at least 1): embedding needs the rest, and "
        "parsing is the far cheaper half",
    )

    # The servers (citeqa serve, citeqa mcp): their key, and the chat model's waiting line.
    api_key: SecretStr | None = Field(
        None,
        description="bearer token that `citeqa serve` and `citeqa mcp --http` require of every request; "
        "needed to listen on an address other than loopback",
    )
    max_waiting: int = Field(
        8, ge=0, description="questions that may wait for the chat model; more are refused (HTTP 429)"
    )
    # What one request to the servers may carry: checked before the body is read (its declared
    # length) and while it is read, so that no request can fill the memory or the disk.
    max_request_kb: int = Field(
        1024, ge=1, description="size of a JSON request body (chat, search); larger ones get HTTP 413"
    )
    max_upload_files: int = Field(20, ge=1, description="files in one upload request (each up to CITEQA_MAX_FILE_MB)")
    max_query_chars: int = Field(4000, ge=1, description="characters in a search query")
    max_messages: int = Field(100, ge=1, description="messages in one chat request, the history included")
    max_message_chars: int = Field(
        100_000, ge=1, description="characters in all the messages of one chat request together"
    )
    max_sources: int = Field(32, ge=0, description="`sources` globs in one request")
    max_source_chars: int = Field(256, ge=1, description="characters in one `sources` glob")
    max_top_k: int = Field(100, ge=1, le=1000, description="the largest `top_k` a request may ask for")
    max_failed_logins: int = Field(
        10,
        ge=1,
        description="wrong passwords or API keys a client address may send in a minute (ten times that "
        "from all together) before each further one locks it out for twice as long",
    )
    max_ingest_waiting: int = Field(
        8, ge=0, description="uploads and removals that may wait behind the one running; more get HTTP 429"
    )

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        from citeqa.core.collections import BadCollectionName, check_name

        try:
            return check_name(value)
        except BadCollectionName as exc:
            raise ValueError(str(exc)) from None

    @field_validator("api_key", mode="before")
    @classmethod
    def _no_empty_key(cls, value: Any) -> Any:
        # CITEQA_API_KEY= (empty) means no key, not a key that an empty token would match.
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        return None if isinstance(raw, str) and not raw.strip() else value

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Settings from CITEQA_* variables and .env, with `overrides` on top; an invalid value is
        a ConfigError naming its variable, as every edge reports it."""
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(x) for x in first["loc"]) or "settings"
            raise ConfigError(f"invalid setting CITEQA_{field.upper()}: {first['msg']}") from exc

    @property
    def uploads_dir(self) -> Path:
        """Where files added to this collection through the web app or the HTTP API are kept."""
        from citeqa.core.collections import uploads_dir

        return uploads_dir(self.data_dir, self.collection)

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 2**20)

    @property
    def milvus_path(self) -> Path:
        return self.data_dir / "milvus.db"

    @property
    def embedded(self) -> bool:
        return not self.milvus_uri

    def resolved_milvus_uri(self) -> str:
        return self.milvus_uri or str(self.milvus_path)

    def resolved_embed_model(self) -> str:
        return self.embed_model or str(bundled.embedder_path())

    def embed_model_name(self) -> str:
        """The name recorded with the collection: stable across machines for the bundled model."""
        return self.embed_model or bundled.EMBED_NAME

    def resolved_model(self) -> Path:
        return self.model or bundled.llm_path()

    @property
    def uses_demo_model(self) -> bool:
        return self.model is None and not self.llm_url

    @property
    def generation_slots(self) -> int:
        """Questions the chat model may answer at once: a local llama.cpp context serves one."""
        return self.llm_concurrency if self.llm_url else 1

    def resolved_threads(self) -> int:
        return self.n_threads or os.cpu_count() or 1

    def resolved_workers(self) -> int:
        # Measured on 2 cores: 37 s in one process, 43 s with two parser processes fighting
        # the embedder for the same cores.
        return self.workers or max(1, (os.cpu_count() or 1) // 4)
