"""Each chapter's experiments, one module per chapter, parameterised by :func:`dmfnb.params`.

The notebooks call these and draw the figures; ``python -m dmfnb reproduce`` runs them headless.
"""
