"""Request hashing and the SQLite response cache (threads and processes)."""
import multiprocessing as mp
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from evo.llm.base import LLMRequest, LLMResponse
from evo.llm.cache import CachedBackend, ResponseCache
from evo.llm.scripted import ScriptedBackend


def req(text="hi", **kw):
    return LLMRequest(messages=(("user", text),), **kw)


def test_request_key_is_canonical_and_sensitive():
    a, b = req(), req()
    assert a == b and a.key("fp") == b.key("fp")
    assert a.key("fp") != a.key("other")
    for change in ({"temperature": 0.5}, {"max_tokens": 5}, {"system": "s"}, {"seed": 1},
                   {"sample_index": 1}, {"stop": ("\n",)}, {"model": "m"}):
        assert req(**change).key("fp") != a.key("fp"), change
    assert req("other").key("fp") != a.key("fp")


def test_request_key_is_stable_across_processes():
    code = ("from evo.llm.base import LLMRequest;"
            "print(LLMRequest(messages=(('user','hi'),)).key('fp'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert out.stdout.strip() == req().key("fp")


def test_cached_backend_hits_after_first_call(tmp_path):
    inner = ScriptedBackend(lambda r: r.messages[-1][1].upper())
    backend = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    first = backend.complete(req("abc"))
    second = backend.complete(req("abc"))
    assert first.text == second.text == "ABC"
    assert not first.cached and second.cached
    assert inner.calls == 1 and backend.stats()["hits"] == 1 and backend.stats()["misses"] == 1
    backend.flush()
    # a new cache object on the same file (a rerun) makes zero backend calls
    inner2 = ScriptedBackend(lambda r: "WRONG")
    again = CachedBackend(inner2, ResponseCache(tmp_path / "c.sqlite"))
    assert again.complete(req("abc")).text == "ABC" and inner2.calls == 0


def test_failures_are_not_cached(tmp_path):
    from evo.errors import BackendError
    import pytest
    inner = ScriptedBackend(lambda r: "x", fail_on=lambda r: True)
    backend = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    for _ in range(2):
        with pytest.raises(BackendError):
            backend.complete(req())
    assert inner.calls == 2 and len(backend.cache) == 0


def test_cache_is_thread_safe(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite", flush_every=7)
    backend = CachedBackend(ScriptedBackend(lambda r: r.messages[-1][1]), cache)
    with ThreadPoolExecutor(8) as pool:
        texts = list(pool.map(lambda i: backend.complete(req(str(i % 50))).text, range(400)))
    assert texts == [str(i % 50) for i in range(400)]
    assert len(cache) == 50


def _writer(path, start, n):
    cache = ResponseCache(path, flush_every=5)
    for i in range(start, start + n):
        cache.put(f"k{i}", "fp", LLMResponse(text=str(i)))
    cache.flush()


def test_cache_is_process_safe(tmp_path):
    path = tmp_path / "c.sqlite"
    ResponseCache(path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, k * 100, 100)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = ResponseCache(path)
    assert len(cache) == 400
    assert cache.get("k250").text == "250"


def _opener(path, barrier):
    barrier.wait(10)
    cache = ResponseCache(path)
    cache.put("k", "fp", LLMResponse(text="x"))
    cache.flush()


def test_many_processes_opening_a_fresh_cache_at_once(tmp_path):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(6)
    path = tmp_path / "fresh.sqlite"
    procs = [ctx.Process(target=_opener, args=(path, barrier)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 6


def test_a_backend_that_refines_its_fingerprint_per_request_keys_the_cache_by_it(tmp_path):
    """A local backend's `model` gene may name another model whose chat format changed: the cache must
    not answer such a request with a reply the old format produced (through the rate limiter too)."""
    from evo.evaluation.rate_limit import RateLimitedBackend

    class Limiter:
        def reserve(self, tokens):
            return 0.0

        def pause(self, seconds):
            pass

    inner = ScriptedBackend(lambda r: "new")
    inner.fingerprint_for = lambda r: inner.fingerprint + ("|other:v2" if r.model == "other" else "")
    path = tmp_path / "c.sqlite"
    stale = ScriptedBackend(lambda r: "old")
    old = CachedBackend(stale, ResponseCache(path))  # what an earlier version stored, unrefined
    for model in ("", "other"):
        old.complete(LLMRequest(messages=(("user", "q"),), model=model))
    old.flush()
    backend = CachedBackend(RateLimitedBackend(inner, Limiter()), ResponseCache(path))
    assert backend.complete(LLMRequest(messages=(("user", "q"),))).text == "old"  # unchanged key: a hit
    assert backend.complete(LLMRequest(messages=(("user", "q"),), model="other")).text == "new"
    assert backend.complete_batch([LLMRequest(messages=(("user", "q"),), model="other")])[0].cached
    assert inner.calls == 1
