"""nerflow: reproducible fine-tuning of Transformer encoders for named-entity recognition.

Library modules (no DVC, no command line): conll, tags, align, metrics, params, files, inference.
Stage modules (thin, one per DVC stage, each with main()): download, preprocess, tokenize, train, evaluate.
"""
