"""LocalGenerator against the real bundled GGUF (SmolLM2-135M, ChatML template in its metadata)."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.answer.llm import LocalGenerator, is_llama2, llama2_prompt
from citeqa.core import bundled
from citeqa.core.errors import ConfigError, ModelError
from citeqa.core.settings import Settings

# One thread: llama.cpp's worker threads spin-wait, so on a busy 2-core machine two threads
# can be 10x slower than one; a 135M model gains nothing from the second.
THREADS = 1


@pytest.fixture(scope="module")
def gen() -> LocalGenerator:
    return LocalGenerator(
        bundled.llm_path(), n_ctx=2048, n_threads=THREADS, n_gpu_layers=None, max_tokens=32, temperature=0.0
    )


def test_render_uses_the_gguf_template(gen: LocalGenerator) -> None:
    prompt = gen.render("Be brief.", [("user", "Hi"), ("assistant", "Hello."), ("user", "What is 2+2?")])
    assert gen.chat_format_name == "gguf-template"
    assert prompt.startswith("<|im_start|>system\nBe brief.<|im_end|>\n")
    assert prompt.index("Hello.") < prompt.index("What is 2+2?")
    assert prompt.endswith("<|im_start|>assistant\n")
    assert "<|im_end|>" in gen.stop_sequences


def test_render_needs_a_final_user_turn(gen: LocalGenerator) -> None:
    with pytest.raises(ValueError):
        gen.render("sys", [("user", "q"), ("assistant", "a")])
    with pytest.raises(ValueError):
        gen.render("sys", [])


def test_llama2_prompt_format() -> None:
    assert llama2_prompt("SYS", [("user", "Hi")]) == "[INST] <<SYS>>\nSYS\n<</SYS>>\n\nHi [/INST]"
    multi = llama2_prompt("SYS", [("user", "q1"), ("assistant", "a1"), ("user", "q2")])
    assert multi.startswith("[INST] <<SYS>>\nSYS\n<</SYS>>\n\nq1 [/INST]")
    assert multi.endswith(" a1 </s><s>[INST] q2 [/INST]")


@pytest.mark.parametrize(
    ("metadata", "name", "expected"),
    [
        ({"general.name": "LLaMA v2", "general.architecture": "llama"}, "model.gguf", True),
        ({"general.name": "Llama-2-7b-chat-hf"}, "x.gguf", True),
        ({"general.architecture": "llama"}, "llama-2-7b-chat.Q4_K_M.gguf", True),
        ({"general.architecture": "llama"}, "Meta-Llama-3-8B-Instruct.Q4_K_M.gguf", False),
        ({"general.architecture": "llama"}, "Llama-3.2-1B.gguf", False),
        ({"general.architecture": "falcon"}, "llama-2-lookalike.gguf", False),
        ({"general.name": "Smollm2 135M", "general.architecture": "llama"}, "SmolLM2.gguf", False),
    ],
)
def test_is_llama2(metadata: dict[str, str], name: str, expected: bool) -> None:
    assert is_llama2(metadata, Path(name)) is expected


def test_chat_format_override() -> None:
    g = LocalGenerator(bundled.llm_path(), n_ctx=512, n_threads=THREADS, n_gpu_layers=0, chat_format="llama-2")
    assert g.chat_format_name == "llama-2"
    assert g.render("SYS", [("user", "Hi")]).startswith("[INST] <<SYS>>\nSYS\n<</SYS>>")
    assert "</s>" in g.stop_sequences
    g.close()


def test_unknown_chat_format_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no-such-format"):
        LocalGenerator(
            bundled.llm_path(), n_ctx=512, n_threads=THREADS, n_gpu_layers=0, chat_format="no-such-format"
        )


def test_from_settings() -> None:
    s = Settings(_env_file=None, n_ctx=1024, n_threads=THREADS, max_tokens=64, temperature=0.3, stop=("END",))
    g = LocalGenerator.from_settings(s)
    assert (g.name, g.n_ctx, g.max_tokens, g.temperature) == (bundled.LLM_FILE, 1024, 64, 0.3)
    assert "END" in g.stop_sequences
    # No GPU offload in a CPU build: None must mean 0 layers there, not -1.
    assert g._llm.model_params.n_gpu_layers == 0
    g.close()


def test_count_tokens(gen: LocalGenerator) -> None:
    assert gen.count_tokens("") == 0
    assert gen.count_tokens("<|im_start|>") == 1  # special tokens are parsed, as in prompts
    assert 0 < gen.count_tokens("hello world") < gen.count_tokens("hello world, and a much longer text")
    assert gen.count_prompt_tokens("hello") == gen.count_tokens("hello")  # SmolLM2 adds no BOS


def test_stream_yields_pieces(gen: LocalGenerator) -> None:
    pieces = list(
        gen.stream(gen.render("You are helpful.", [("user", "Name three colours.")]), max_tokens=12)
    )
    assert len(pieces) >= 2
    assert all(isinstance(p, str) and p for p in pieces)
    assert "".join(pieces).strip()
    assert not gen.lock.locked()


def test_stream_closed_early_releases_the_lock(gen: LocalGenerator) -> None:
    it = gen.stream(gen.render("You are helpful.", [("user", "Count to twenty.")]), max_tokens=30)
    next(it)
    assert gen.lock.locked()
    it.close()
    assert not gen.lock.locked()


def test_second_prompt_reuses_the_cached_system_prefix(gen: LocalGenerator) -> None:
    system = "You answer from the given passages and cite them like [1]. " * 4
    list(gen.stream(gen.render("Something else entirely.", [("user", "Hi")]), max_tokens=2))
    first = gen.render(system, [("user", "What colour is the sky?")])
    list(gen.stream(first, max_tokens=4))
    cold = gen.last_prompt_eval_tokens
    second = gen.render(system, [("user", "How many legs does a spider have?")])
    list(gen.stream(second, max_tokens=4))
    warm = gen.last_prompt_eval_tokens
    system_tokens = gen.count_tokens(gen.render(system, [("user", "")]).split("<|im_start|>user")[0])
    assert cold is not None and warm is not None
    assert cold >= system_tokens
    assert warm <= gen.count_prompt_tokens(second) - system_tokens
    assert warm < cold / 2


def test_prompt_over_the_context_is_a_model_error(gen: LocalGenerator) -> None:
    with pytest.raises(ModelError, match="CITEQA_N_CTX"):
        list(gen.stream("word " * 3000))
    assert not gen.lock.locked()


def test_missing_model_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.gguf"
    with pytest.raises(ModelError, match="CITEQA_MODEL") as e:
        LocalGenerator(path, n_ctx=512, n_threads=1, n_gpu_layers=0)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_non_gguf_file(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"this is not a model at all" * 10)
    with pytest.raises(ModelError, match="not a GGUF file") as e:
        LocalGenerator(path, n_ctx=512, n_threads=1, n_gpu_layers=0)
    assert str(path) in str(e.value) and "CITEQA_MODEL" in str(e.value)


def test_corrupt_gguf_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 64)
    with pytest.raises(ModelError, match="cannot load") as e:
        LocalGenerator(path, n_ctx=512, n_threads=1, n_gpu_layers=0)
    assert str(path) in str(e.value) and "CITEQA_MODEL" in str(e.value)


def test_template_bos_is_not_doubled() -> None:
    g = LocalGenerator(bundled.llm_path(), n_ctx=512, n_threads=THREADS, n_gpu_layers=0, chat_format="llama-3")
    bos = g._bos
    assert g.render("SYS", [("user", "Hi")]).startswith(bos + "<|start_header_id|>system")
    # For a model whose tokenizer adds BOS itself, the template's spelled-out BOS must go.
    g._adds_bos = True
    assert g.render("SYS", [("user", "Hi")]).startswith("<|start_header_id|>system")
    g.close()


def test_template_without_system_role_gets_it_in_the_first_user_turn() -> None:
    g = LocalGenerator(
        bundled.llm_path(), n_ctx=512, n_threads=THREADS, n_gpu_layers=0, chat_format="mistral-instruct"
    )
    assert g.render("SYS", [("user", "Hi")]).endswith("[INST] SYS\n\nHi [/INST]")
    g.close()
