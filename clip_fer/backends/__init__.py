"""Model backends and the machinery around them.

Loading a model (:func:`load_model`, one process-wide cache), reading any image
input as RGB, the one batched encoding loop, int8 quantisation and the embedding
caches. A model family lives in a module of its own here, behind the interface of
``_base.LoadedModel``: ``openai`` (OpenAI's ``clip``), ``open_clip`` and ``hf``
(``transformers``: CLIP, SigLIP, SigLIP 2).
"""
