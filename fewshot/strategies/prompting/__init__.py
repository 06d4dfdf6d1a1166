"""The building blocks of :class:`~fewshot.strategies.prompt.PromptClassifier`, one idea per module.

- :mod:`.templates`: templates and verbalizers (defaults, checks, rendering a prompt);
- :mod:`.tokens`: tokenization (label token sequences and their tree, prompt encoding and truncation,
  padded batches);
- :mod:`.icl`: in-context demonstrations (choosing, rendering, fitting them to the context);
- :mod:`.lora`: LoRA adapters (adding, training, loading) and class weights;
- :mod:`.scoring`: the fast label-scoring engine (one pass per prompt batch, a prefix tree of labels).

Importing this package imports no torch; ``scoring`` does.
"""
