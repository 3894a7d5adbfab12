"""Answering: evidence from the passages, the chat model, the prompt, and support checks.

Import from the modules themselves (`citeqa.answer.answerer`, `citeqa.answer.llm`, ...): this
package imports nothing, so that using one part (the turn queue, the citation rules) never loads
the model runtime.
"""
