"""ragd's OpenAI-compatible routes through OpenAI's own client library.

Usage: python client.py BASE_URL   (e.g. http://127.0.0.1:8080/v1)
Exits non-zero with the failed check's message.
"""
import sys

import openai
from openai import OpenAI

base = sys.argv[1]
# ragd here runs without keys; the client insists on one, and sends it.
client = OpenAI(base_url=base, api_key="unused", max_retries=0, timeout=60)


def check(cond, what):
    if not cond:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


models = [m.id for m in client.models.list()]
check(models == ["kb"], f"models.list() names the collections: {models}")

r = client.chat.completions.create(
    model="kb",
    messages=[{"role": "user", "content": "Which volcano in Sicily is active?"}],
    temperature=0,
)
answer = r.choices[0].message.content
check(r.object == "chat.completion", "a completion object")
check("Etna" in answer and "[1]" in answer, f"the answer states the fact and cites it: {answer!r}")
citations = (r.model_extra or {}).get("citations") or []
check(citations and citations[0]["document_id"] == "volcano", "citations ride along in the extension field")
check(r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens, "usage adds up")

stream = client.chat.completions.create(
    model="kb:hybrid",
    messages=[{"role": "user", "content": "How long does sourdough rise?"}],
    stream=True,
)
pieces, finish, first_extra = [], None, None
for chunk in stream:
    if first_extra is None:
        first_extra = chunk.model_extra or {}
    delta = chunk.choices[0].delta
    if delta.content:
        pieces.append(delta.content)
    finish = chunk.choices[0].finish_reason or finish
streamed = "".join(pieces)
check("hours" in streamed, f"a streamed answer arrives in pieces: {streamed!r}")
check(finish == "stop", "the stream ends with finish_reason stop")
check(first_extra.get("citations", [{}])[0].get("document_id") == "bread", "the first chunk carries the citations")

follow = client.chat.completions.create(
    model="kb",
    messages=[
        {"role": "user", "content": "Tell me about tennis sets."},
        {"role": "assistant", "content": "A set is won with six games [1]."},
        {"role": "user", "content": "by how many games?"},
    ],
)
cited = (follow.model_extra or {}).get("citations") or [{}]
check(cited[0].get("document_id") == "tennis", "a follow-up turn retrieves with the turn before it")

try:
    client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "q"}])
    check(False, "an unknown model is refused")
except openai.NotFoundError as e:
    check("nope" in str(e), f"an unknown model is the client's NotFoundError: {e}")

try:
    client.chat.completions.create(model="kb:fast", messages=[{"role": "user", "content": "q"}])
    check(False, "an unknown retrieval mode is refused")
except openai.UnprocessableEntityError as e:
    check("fast" in str(e), f"an unknown mode is the client's 422: {e}")
print("all OpenAI client checks passed")
