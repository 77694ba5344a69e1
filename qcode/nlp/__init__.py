"""Norwegian Bokmål language processing for qcode.

Submodules (import them explicitly; this package imports nothing, so ``import qcode.nlp``
stays fast and never loads spaCy):

- ``qcode.nlp.lemmatizer``: the three-level lookup lemmatiser ``LemmaLookup`` (treebank
  table, Norsk Ordbank tables, compound/hyphen fallback) and the spaCy component
  ``qcode_lemmatizer`` (registered by ``register()``).
- ``qcode.nlp.stopwords``: ``STOP_WORDS`` for spoken Bokmål.
- ``qcode.nlp.evaluate``: accuracy of a pipeline against a gold CoNLL-U file.

Package data: ``data/`` (lemma tables and their NOTICE.md) and ``models/nb_qcode_sm``
(the trained pipeline; see docs/nlp-training.md for how it is built).
"""
