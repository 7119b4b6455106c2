"""nerflow: reproducible fine-tuning of Transformer encoders (named-entity recognition, text and pair
classification) as a DVC pipeline. The package, from the top layer down; each imports only from the layers
below it:

  stages/    the five DVC stages (download, preprocess, tokenize, train, evaluate): main() reads params.yaml
             and the paths, asks the registry for the task, calls the library
  tools/     the `nerflow` command: predict (a trained model on new texts), report (a revision's changes)
  tasks/     one class per task behind one interface (base.Task), a registry by params' `task`:
             ner/ (readers, tags, windows, decoding, entity metrics, error analysis, the Tagger),
             classification (text and pair classification), card (the model card)
  training/  the engine every task shares: token-budget batches, the fit loop and its captured GPU step,
             the base model and LoRA, checkpoints, batched inference, threads and devices
  data/      where the data come from (sources), raw files and their formats (rawfiles, textfiles, tables),
             splits and record counts, atomic files, the stored splits (store)
  paths.py, params.py   every path of the pipeline, once; params.yaml read with YAML 1.2 numbers

The library (all but stages/ and tools/) knows nothing of DVC or the command line.
"""
